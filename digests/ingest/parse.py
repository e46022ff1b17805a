"""Bytes of a fetched feed -> articles: decode, sniff, dispatch. No network."""

from __future__ import annotations

from dataclasses import dataclass, field

from digests.ingest.feeds import parse_xml_feed
from digests.ingest.format import FeedFormat, sniff_format
from digests.ingest.items import DroppedItems
from digests.ingest.jsonfeed import parse_json_feed
from digests.records import RawArticle
from digests.text.encoding import decode_bytes


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    format: FeedFormat
    encoding: str
    articles: list[RawArticle]
    dropped: DroppedItems = field(default_factory=DroppedItems)


def parse_feed_bytes(
    body: bytes,
    *,
    content_type: str | None = None,
    charset: str | None = None,
    base_url: str | None = None,
) -> ParsedFeed:
    text, encoding = decode_bytes(body, declared=charset)
    feed_format = sniff_format(text, content_type)
    parse = parse_json_feed if feed_format is FeedFormat.JSON else parse_xml_feed
    content = parse(text, base_url)
    return ParsedFeed(
        title=content.title,
        format=feed_format,
        encoding=encoding,
        articles=content.articles,
        dropped=content.dropped,
    )
