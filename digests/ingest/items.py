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
class FeedContent:
    """What an adapter read from one feed document."""

    title: str | None
    articles: list[RawArticle] = field(default_factory=list)
    skipped: int = 0  # items that could not be read (malformed), dropped alone


def convert_items(
    items: Iterable[Item], convert: Callable[[Item], RawArticle | None]
) -> tuple[list[RawArticle], int]:
    """Articles from the first ``MAX_ITEMS_PER_FEED`` items, and how many were malformed."""
    articles: list[RawArticle] = []
    skipped = 0
    for item in islice(items, limits.MAX_ITEMS_PER_FEED):
        try:
            article = convert(item)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError):
            skipped += 1
            continue
        if article is not None:
            articles.append(article)
    return articles, skipped
