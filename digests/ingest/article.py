"""The engine's article record as parsers produce it, before it is stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RawArticle:
    """One article as a parser read it: untrusted plain text, no HTML.

    Identity is fixed here (see ``digests.dedup.identity_key``): ``guid`` when
    the source gives one, else the canonical ``url``, else title + body.
    """

    title: str
    paragraphs: tuple[str, ...]
    url: str | None = None
    guid: str | None = None
    subtitle: str | None = None
    byline: str | None = None
    author: str | None = None
    published: datetime | None = None
    lead: bool = False
    subheads: tuple[str, ...] = ()
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def body(self) -> str:
        return "\n\n".join(self.paragraphs)
