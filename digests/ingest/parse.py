"""Bytes of a fetched feed -> articles: decode, sniff, dispatch, settle dates. No network."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime

from digests.ingest.dates import settle_dates
from digests.ingest.feeds import parse_xml_feed
from digests.ingest.format import FeedFormat, sniff_format
from digests.ingest.items import ItemNotes
from digests.ingest.jsonfeed import parse_json_feed
from digests.records import RawArticle
from digests.text.encoding import decode_bytes


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    format: FeedFormat
    encoding: str
    articles: list[RawArticle]
    notes: ItemNotes = field(default_factory=ItemNotes)


def parse_feed_bytes(
    body: bytes,
    *,
    content_type: str | None = None,
    charset: str | None = None,
    base_url: str | None = None,
    default_zone: str = "UTC",
    fetched_at: datetime | None = None,
) -> ParsedFeed:
    """The feed's articles, every date in UTC: a date written without a zone is
    in the offset most of the document's other dates carry, else in
    ``default_zone`` (an IANA name); one later than ``fetched_at`` is set to it
    (none is without ``fetched_at``); see ``digests.ingest.dates``."""
    text, encoding = decode_bytes(body, declared=charset)
    feed_format = sniff_format(text, content_type)
    parse = parse_json_feed if feed_format is FeedFormat.JSON else parse_xml_feed
    content = parse(text, base_url)
    articles = [without_nul(article) for article in content.articles]
    dates = settle_dates(articles, default_zone=default_zone, fetched_at=fetched_at)
    return ParsedFeed(
        title=content.title.replace("\x00", "") if content.title else content.title,
        format=feed_format,
        encoding=encoding,
        articles=dates.articles,
        notes=replace(
            content.notes, future_dates=dates.future, implausible_dates=dates.implausible
        ),
    )


def without_nul(article: RawArticle) -> RawArticle:
    """``article`` without NUL characters in any of its text: a JSON feed can
    write one (``\\u0000``) in a link, an id or a tag, which decoding the bytes
    cannot see, and PostgreSQL's text cannot store."""
    changes: dict[str, object] = {}
    for attribute in fields(article):
        value = getattr(article, attribute.name)
        if isinstance(value, str) and "\x00" in value:
            changes[attribute.name] = value.replace("\x00", "")
        elif isinstance(value, tuple) and any(isinstance(v, str) and "\x00" in v for v in value):
            changes[attribute.name] = tuple(
                v.replace("\x00", "") if isinstance(v, str) else v for v in value
            )
    return replace(article, **changes) if changes else article  # type: ignore[arg-type]
