"""The plain records that cross stages (no behaviour beyond a lookup, no I/O):

- ``RawArticle``: an article as a parser read it, before it is stored;
- ``EditionArticle``: a stored article as composing an edition needs it;
- ``IdfTable``: the stored corpus's document frequencies, for keywords.

They live apart from the stages so that the store and the pure stages can
share them without importing each other.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RawArticle:
    """One article as a parser read it: untrusted plain text, no HTML.

    Identity comes from these fields (see ``digests.ingest.dedup.identity_keys``):
    ``guid`` when the source gives one, else the canonical ``url`` (with the
    title when other items of the document share it), else title + body.
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


@dataclass(frozen=True, slots=True)
class EditionArticle:
    """What composing needs of a stored article (summaries are computed once, at ingest)."""

    id: int
    source_id: int
    source_name: str
    title: str
    link: str | None
    summary_line: str
    summary: tuple[str, ...]
    keywords: tuple[str, ...]
    story_id: int
    fetched_at: datetime
    published_at: datetime | None = None
    # From a newspaper issue (a folder or files source): its time is the issue's
    # date, and its fetch time is when the file was read, neither a time of day.
    from_issue: bool = False


@dataclass(frozen=True, slots=True)
class IdfTable:
    """Document frequencies of terms in the stored corpus. Below ``min_documents``
    articles every term weighs the same (too few to tell common from rare).

    The IDF sinks common words (发布, 数据, 显示 are in a fifth of news
    articles) but does not reward rarity: a term in fewer than ``RARE_SHARE``
    of the articles counts as being in that share. A news store holds each
    story many times over (every feed that covers it), so a story's own words
    are in several articles; full IDF would rank a one-off name or typo above
    them (on the headline sets of benchmarks/keywords.py full IDF scored below
    no IDF at all, and below jieba's TF-IDF)."""

    documents: int = 0
    frequencies: Mapping[str, int] = field(default_factory=dict)
    min_documents: int = 20

    def idf(self, term: str) -> float:
        if self.documents < self.min_documents:
            return 1.0
        counted = max(self.frequencies.get(term, 0), RARE_SHARE * self.documents)
        return math.log((self.documents + 1) / (counted + 1)) + 1.0


# See ``IdfTable``: rarer than one article in twenty is rare enough.
RARE_SHARE = 0.05
