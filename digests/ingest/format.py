"""Which parser a response body needs: pure sniffing, no parsing."""

from __future__ import annotations

import re
from enum import Enum

from digests.errors import UnsupportedFormat


class FeedFormat(Enum):
    XML = "xml"  # RSS 0.9x/1.0/2.0, RDF, Atom 0.3/1.0: feedparser
    JSON = "json"  # JSON Feed 1.0/1.1: digests.ingest.jsonfeed


_XML_ROOTS = re.compile(r"<(?:[A-Za-z0-9_-]+:)?(?:rss|feed|RDF|channel)[\s>/]", re.IGNORECASE)
_HTML_ROOT = re.compile(r"<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.IGNORECASE)
_JSON_TYPES = ("application/feed+json", "application/json", "text/json")


def sniff_format(text: str, content_type: str | None = None) -> FeedFormat:
    """The feed format of a decoded body; ``UnsupportedFormat`` if it has none."""
    head = text[:4096].lstrip("\ufeff \t\r\n")
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if head.startswith("{") or (media_type in _JSON_TYPES and head.startswith("[")):
        return FeedFormat.JSON
    if media_type in _JSON_TYPES and not head.startswith("<"):
        raise UnsupportedFormat("declared JSON but the body is not a JSON object")
    if head.startswith("<"):
        if _XML_ROOTS.search(text[:65536]):
            return FeedFormat.XML
        if _HTML_ROOT.search(head):
            raise UnsupportedFormat("an HTML page, not a feed")
        raise UnsupportedFormat("XML without an RSS, RDF or Atom root element")
    if not head:
        raise UnsupportedFormat("empty body")
    raise UnsupportedFormat("neither XML nor JSON")
