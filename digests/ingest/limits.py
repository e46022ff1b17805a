"""Caps applied to every field that comes from a feed, before any parser sees it."""

from __future__ import annotations

MAX_TITLE_CHARS = 1_000
MAX_AUTHOR_CHARS = 200
MAX_URL_CHARS = 2_048
MAX_BODY_CHARS = 200_000
MAX_TAGS = 20
MAX_TAG_CHARS = 100
MAX_ITEMS_PER_FEED = 2_000


def cap(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    return text if len(text) <= limit else text[:limit]
