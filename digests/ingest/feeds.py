"""RSS 0.9x/1.0/2.0, RDF and Atom 0.3/1.0 bytes -> ``RawArticle`` via feedparser.

feedparser is handed UTF-8 bytes we decoded ourselves (so one bad byte cannot
make it re-decode the whole document as windows-1252), never a string (which
it may take for a URL or a path), and never a document that declares XML
entities (it expands them without bound).

feedparser runs an e-mail regex that is quadratic in the length of a person
field (author, dc:publisher, webMaster, ...): 80 KB of one word cost minutes.
So the text of every person element is cut to ``limits.MAX_AUTHOR_CHARS``
before feedparser sees the document, whatever the case, prefix, attributes or
CDATA; and text the guard cannot see as one run (split by comments, CDATA
sections or child elements, which feedparser joins) is cut again just before
that regex. Our XML declaration ends its own line: feedparser's encoding regex
backtracks over the whole first line (cubic in its length when ``encoding="``
repeats there). Anything else that runs away is stopped by the time budget of
``digests.ingest.isolation``.
"""

from __future__ import annotations

import calendar
import re
import time
from datetime import UTC, datetime
from typing import Any

import feedparser
from feedparser.mixin import _FeedParserMixin

from digests.errors import FeedError, UnsafeFeed
from digests.ingest import limits
from digests.ingest.dates import read_date
from digests.ingest.items import FeedContent, convert_items
from digests.ingest.urls import safe_link
from digests.records import RawArticle
from digests.text.html import html_to_paragraphs, html_to_text

_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_FIRST_ELEMENT = re.compile(r"<[A-Za-z_]")
_ENTITY_DECL = re.compile(r"<!ENTITY", re.IGNORECASE)
# Every element whose text reaches feedparser's person parsing (_end_author,
# _end_webmaster, _end_itunes_owner, _end_name, _end_email, dc:contributor),
# under any namespace prefix: feedparser maps the namespace, not the prefix, and
# lower-cases names (author, managingEditor, dc:creator, dc:author, itunes:author;
# webMaster, dc:publisher; itunes:owner, itunes:name, itunes:email; Atom author,
# contributor, name, email), plus media:credit, a person kept as it is.
_PERSON_TAGS = (
    "author|creator|publisher|contributor|managingeditor|webmaster|owner|name|email|credit"
)
_PERSON_FIELD = re.compile(
    rf"(<(?:[\w.-]+:)?(?:{_PERSON_TAGS})\b[^>]{{0,500}}(?<!/)>(?:\s*<!\[CDATA\[)?)"
    rf"([^<\]]{{{limits.MAX_AUTHOR_CHARS * 2},}})",
    re.IGNORECASE,
)
_PARTIAL_REFERENCE = re.compile(r"&[#\w]*$")


def _cut_person_text(match: re.Match[str]) -> str:
    kept = match.group(2)[: limits.MAX_AUTHOR_CHARS]
    return match.group(1) + _PARTIAL_REFERENCE.sub("", kept)


def _guard(text: str) -> str:
    first = _FIRST_ELEMENT.search(text)
    prolog = text[: first.start()] if first else text
    if _ENTITY_DECL.search(prolog):
        raise UnsafeFeed("the feed declares XML entities (refused: entity expansion)")
    return _PERSON_FIELD.sub(_cut_person_text, text)


def _capped_sync_author_detail(self: Any, key: str = "author") -> None:
    context = self._get_context()
    value = context.get(key)
    if isinstance(value, str) and len(value) > limits.MAX_AUTHOR_CHARS:
        context[key] = value[: limits.MAX_AUTHOR_CHARS]
    _sync_author_detail(self, key)


# feedparser's quadratic e-mail regex (its one call is in _sync_author_detail)
# gets at most MAX_AUTHOR_CHARS, even of text the guard cannot see as one run.
# A patch of a private method: feedparser is pinned (==6.0.14) and
# tests/test_isolation.py feeds it text split by markup.
_sync_author_detail = _FeedParserMixin._sync_author_detail
_FeedParserMixin._sync_author_detail = _capped_sync_author_detail


def _as_utf8_document(text: str) -> bytes:
    text = text.lstrip("\ufeff")
    body = _XML_DECL.sub("", text, count=1)
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body).encode("utf-8")


def _datetime(parsed: Any) -> datetime | None:
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError, TypeError, OSError):
        return None


def _entry_date(entry: Any) -> datetime | None:
    """The entry's publication date (else its update date), naive when written
    without a zone. feedparser's ``*_parsed`` values are already moved to UTC,
    so they cannot tell a date without a zone from one in UTC: the text is read
    first, and feedparser's value serves for the formats only it reads."""
    for text_key, parsed_key in (("published", "published_parsed"), ("updated", "updated_parsed")):
        # ``in`` first: feedparser answers a missing "updated" with "published".
        text = entry.get(text_key) if text_key in entry else None
        date = read_date(text) if isinstance(text, str) else None
        if date is None and parsed_key in entry:
            date = _datetime(entry.get(parsed_key))
        if date is not None:
            return date
    return None


def _body_html(entry: Any) -> str:
    contents = [c.get("value") or "" for c in entry.get("content") or [] if isinstance(c, dict)]
    best = max(contents, key=len, default="")
    summary = entry.get("summary") or ""
    return best if len(best) >= len(summary) else summary


def _entry_to_article(entry: Any, base: str | None) -> RawArticle | None:
    title = html_to_text(limits.cap(entry.get("title") or "", limits.MAX_TITLE_CHARS) or "")
    paragraphs = tuple(
        html_to_paragraphs(limits.cap(_body_html(entry), limits.MAX_BODY_CHARS) or "")
    )
    if not title and not paragraphs:
        return None
    link = safe_link(entry.get("link"), base)
    guid = entry.get("id") if isinstance(entry.get("id"), str) else None
    guid = limits.cap(guid.strip(), limits.MAX_URL_CHARS) if guid and guid.strip() else None
    tags = tuple(
        limits.cap(term.strip(), limits.MAX_TAG_CHARS) or ""
        for tag in (entry.get("tags") or [])[: limits.MAX_TAGS]
        if isinstance(term := tag.get("term"), str) and term.strip()
    )
    author = limits.cap(entry.get("author"), limits.MAX_AUTHOR_CHARS * 4)
    author_text = limits.cap(html_to_text(author), limits.MAX_AUTHOR_CHARS) if author else None
    return RawArticle(
        title=title or (paragraphs[0][:80] if paragraphs else ""),
        paragraphs=paragraphs,
        url=link,
        guid=guid,
        author=author_text or None,
        published=_entry_date(entry),
        tags=tags,
    )


def parse_xml_feed(text: str, base_url: str | None = None) -> FeedContent:
    """The feed's title and its articles. ``FeedError`` when nothing feed-like was read."""
    document = _as_utf8_document(_guard(text))
    # No content-location: feedparser would resolve relative guids against it,
    # and a guid must stay what the feed says. Links are resolved by safe_link.
    headers = {"content-type": "application/xml; charset=utf-8"}
    started = time.monotonic()
    try:
        parsed = feedparser.parse(document, response_headers=headers, sanitize_html=True)
    except Exception as exc:  # feedparser's internals raise anything on hostile input
        raise FeedError(f"feed parser failed: {type(exc).__name__}") from exc
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception")
        raise FeedError(f"not a feed ({type(reason).__name__ if reason else 'no feed elements'})")
    del started
    feed = parsed.get("feed", {})
    base = safe_link(feed.get("link"), base_url) or base_url
    articles, notes = convert_items(parsed.entries, lambda entry: _entry_to_article(entry, base))
    feed_title = html_to_text(feed.get("title") or "") or None
    return FeedContent(limits.cap(feed_title, limits.MAX_TITLE_CHARS), articles, notes)
