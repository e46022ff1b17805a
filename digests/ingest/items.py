"""Item-by-item conversion shared by the feed adapters: one bad item never sinks a feed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice
from typing import TypeVar

from digests.ingest import limits
from digests.records import RawArticle

Item = TypeVar("Item")


@dataclass(frozen=True, slots=True)
class DroppedItems:
    """Items of one feed document that did not become articles, by reason."""

    malformed: int = 0  # could not be read, dropped alone
    empty: int = 0  # neither a title nor any text
    beyond_cap: int = 0  # past ``MAX_ITEMS_PER_FEED``, not read this poll

    def lines(self) -> list[str]:
        """One line per reason there is, for the source's log."""
        reasons = (
            (self.malformed, "malformed item(s) skipped"),
            (self.empty, "item(s) with neither a title nor any text dropped"),
            (
                self.beyond_cap,
                f"item(s) beyond the first {limits.MAX_ITEMS_PER_FEED} of the feed not read",
            ),
        )
        return [f"{count} {what}" for count, what in reasons if count]


@dataclass(frozen=True, slots=True)
class FeedContent:
    """What an adapter read from one feed document."""

    title: str | None
    articles: list[RawArticle] = field(default_factory=list)
    dropped: DroppedItems = field(default_factory=DroppedItems)


def convert_items(
    items: Iterable[Item], convert: Callable[[Item], RawArticle | None]
) -> tuple[list[RawArticle], DroppedItems]:
    """Articles from the first ``MAX_ITEMS_PER_FEED`` items, and what was dropped."""
    articles: list[RawArticle] = []
    malformed = empty = 0
    remaining = iter(items)
    for item in islice(remaining, limits.MAX_ITEMS_PER_FEED):
        try:
            article = convert(item)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError):
            malformed += 1
            continue
        if article is None:
            empty += 1
        else:
            articles.append(article)
    beyond_cap = sum(1 for _ in remaining)
    return articles, DroppedItems(malformed, empty, beyond_cap)
