"""Item-by-item conversion shared by the feed adapters: one bad item never sinks a feed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice
from typing import TypeVar

from digests.ingest import limits
from digests.ingest.dates import EARLIEST_DATE
from digests.records import RawArticle

Item = TypeVar("Item")


@dataclass(frozen=True, slots=True)
class ItemNotes:
    """What the source's log should say about one feed document's items: those
    that did not become articles, by reason, and the dates that were not kept."""

    malformed: int = 0  # could not be read, dropped alone
    empty: int = 0  # neither a title nor any text
    beyond_cap: int = 0  # past ``MAX_ITEMS_PER_FEED``, not read this poll
    future_dates: int = 0  # later than the fetch time: set to it
    implausible_dates: int = 0  # before ``dates.EARLIEST_DATE``: taken as no date

    def lines(self) -> list[str]:
        """One line per reason an item was dropped, and one for all dates changed."""
        reasons = (
            (self.malformed, "malformed item(s) skipped"),
            (self.empty, "item(s) with neither a title nor any text dropped"),
            (
                self.beyond_cap,
                f"item(s) beyond the first {limits.MAX_ITEMS_PER_FEED} of the feed not read",
            ),
        )
        lines = [f"{count} {what}" for count, what in reasons if count]
        dates = (
            (self.future_dates, "in the future set to the fetch time"),
            (self.implausible_dates, f"before {EARLIEST_DATE.year} taken as missing"),
        )
        changed = [f"{count} {what}" for count, what in dates if count]
        if changed:
            lines.append("item dates: " + ", ".join(changed))
        return lines


@dataclass(frozen=True, slots=True)
class FeedContent:
    """What an adapter read from one feed document."""

    title: str | None
    articles: list[RawArticle] = field(default_factory=list)
    notes: ItemNotes = field(default_factory=ItemNotes)


def convert_items(
    items: Iterable[Item], convert: Callable[[Item], RawArticle | None]
) -> tuple[list[RawArticle], ItemNotes]:
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
    return articles, ItemNotes(malformed, empty, beyond_cap)
