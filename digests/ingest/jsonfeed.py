"""JSON Feed 1.0/1.1 -> ``RawArticle`` (released feedparser cannot read it).

Every field is type-checked: a feed is untrusted JSON, and a wrong type drops
that field (or that item), never the whole feed.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from digests.errors import FeedError, UnsafeFeed
from digests.ingest import limits
from digests.ingest.dates import read_date
from digests.ingest.items import FeedContent, convert_items
from digests.ingest.urls import safe_link
from digests.records import RawArticle
from digests.text.html import html_to_paragraphs, html_to_text, text_to_paragraphs

_MAX_DEPTH = 32


def _depth_ok(text: str) -> bool:
    depth = 0
    in_string = False
    escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > _MAX_DEPTH:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _date(value: Any) -> datetime | None:
    """RFC 3339 says a date carries its offset; one written without stays naive
    here, for ``dates.settle_dates`` to give it the source's zone."""
    text = _str(value)
    return read_date(text) if text is not None else None


def _author(item: dict[str, Any], feed: dict[str, Any]) -> str | None:
    candidates: list[Any] = []
    for holder in (item, feed):
        authors = holder.get("authors")
        if isinstance(authors, list):
            candidates.extend(authors)
        candidates.append(holder.get("author"))
    for candidate in candidates:
        if isinstance(candidate, dict) and (name := _str(candidate.get("name"))):
            return limits.cap(html_to_text(name), limits.MAX_AUTHOR_CHARS)
    return None


def _item_to_article(item: Any, feed: dict[str, Any], base: str | None) -> RawArticle | None:
    if not isinstance(item, dict):
        return None
    html = _str(item.get("content_html"))
    plain = _str(item.get("content_text"))
    summary = _str(item.get("summary"))
    if html:
        paragraphs = html_to_paragraphs(limits.cap(html, limits.MAX_BODY_CHARS) or "")
    elif plain or summary:
        paragraphs = text_to_paragraphs(limits.cap(plain or summary, limits.MAX_BODY_CHARS) or "")
    else:
        paragraphs = []
    title = html_to_text(limits.cap(_str(item.get("title")) or "", limits.MAX_TITLE_CHARS) or "")
    if not title and not paragraphs:
        return None
    raw_id = item.get("id")
    guid = str(raw_id).strip() if isinstance(raw_id, str | int) and str(raw_id).strip() else None
    tags_value = item.get("tags")
    tags = tuple(
        limits.cap(tag.strip(), limits.MAX_TAG_CHARS) or ""
        for tag in (tags_value if isinstance(tags_value, list) else [])[: limits.MAX_TAGS]
        if isinstance(tag, str) and tag.strip()
    )
    return RawArticle(
        title=title or paragraphs[0][:80],
        paragraphs=tuple(paragraphs),
        url=safe_link(item.get("url"), base) or safe_link(item.get("external_url"), base),
        guid=limits.cap(guid, limits.MAX_URL_CHARS),
        author=_author(item, feed),
        published=_date(item.get("date_published")) or _date(item.get("date_modified")),
        tags=tags,
    )


def parse_json_feed(text: str, base_url: str | None = None) -> FeedContent:
    """The feed's title and its articles. ``FeedError`` when it is not a JSON Feed."""
    if not _depth_ok(text):
        raise UnsafeFeed(f"JSON nested deeper than {_MAX_DEPTH} levels")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise FeedError(f"invalid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise FeedError("a JSON Feed is an object, got " + type(document).__name__)
    version = document.get("version")
    items = document.get("items")
    if not (isinstance(version, str) and "jsonfeed.org/version/" in version) and not isinstance(
        items, list
    ):
        raise FeedError("JSON without a JSON Feed version or items")
    if not isinstance(items, list):
        raise FeedError("JSON Feed 'items' is not a list")
    base = safe_link(document.get("home_page_url"), base_url) or base_url
    articles, notes = convert_items(items, lambda item: _item_to_article(item, document, base))
    title = _str(document.get("title"))
    feed_title = limits.cap(html_to_text(title), limits.MAX_TITLE_CHARS) if title else None
    return FeedContent(feed_title, articles, notes)
