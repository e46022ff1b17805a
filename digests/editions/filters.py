"""A subscriber's word filters on a digest: /mute drops, /follow puts first. Pure.

Words and quoted phrases match on the same analyzed words as search (a word
inside a longer compound too); no user-supplied regular expressions, so no
pathological patterns. A phrase must also appear as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from digests.editions.compose import Digest, Item, Section
from digests.search.terms import expand, query_words

MAX_FILTERS = 30
MAX_FILTER_CHARS = 100


@dataclass(frozen=True, slots=True)
class Matcher:
    text: str
    words: frozenset[str]

    @classmethod
    def of(cls, text: str) -> Matcher | None:
        words = frozenset(query_words(text))
        return cls(" ".join(text.split()), words) if words else None

    def matches(self, words: frozenset[str], raw: str) -> bool:
        if not self.words <= words:
            return False
        return " " not in self.text or self.text.casefold() in " ".join(raw.split()).casefold()


def matchers(texts: Sequence[str]) -> list[Matcher]:
    return [m for text in texts if (m := Matcher.of(text)) is not None]


def text_words(raw: str) -> frozenset[str]:
    """The analyzed words of ``raw`` with their sub-words, as the index has them."""
    return frozenset(expand(query_words(raw)))


def _item_text(item: Item) -> str:
    return "\n".join([item.title, *item.summary, " ".join(item.keywords)])


def apply_filters(
    digest: Digest, mutes: Sequence[str], follows: Sequence[str], following: str
) -> Digest:
    """``digest`` without muted stories, followed ones first in a ``following`` section."""
    muted, followed = matchers(mutes), matchers(follows)
    if not muted and not followed:
        return digest
    first: list[Item] = []
    sections: list[Section] = []
    dropped = 0
    for section in digest.sections:
        kept: list[Item] = []
        for item in section.items:
            raw = _item_text(item)
            words = text_words(raw)
            if any(m.matches(words, raw) for m in muted):
                dropped += 1
            elif any(m.matches(words, raw) for m in followed):
                first.append(item)
            else:
                kept.append(item)
        if kept:
            sections.append(Section(section.name, tuple(kept)))
    if first:
        sections.insert(0, Section(following, tuple(first)))
    return replace(digest, sections=tuple(sections), left_out=digest.left_out + dropped)


def article_muted(title: str, body: str, mutes: Sequence[str]) -> bool:
    muted = matchers(mutes)
    if not muted:
        return False
    raw = f"{title}\n{body}"
    words = text_words(raw)
    return any(m.matches(words, raw) for m in muted)
