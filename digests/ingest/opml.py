"""OPML 1.0/2.0 subscription lists: bytes -> feeds, and feeds -> OPML 2.0 bytes.

Pure functions, no I/O. Parsing goes through defusedxml, which refuses entity
declarations and external references (no billion-laughs expansion, no file or
network reads through the file). Real-world exports are taken as they come:
folders nest to any depth, attribute names in any case (``xmlurl``), titles
missing (the URL stands in), ``type`` absent, duplicate URLs (the first one
counts), and outlines that are not feeds (links, notes) are counted, not
errors.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException, EntitiesForbidden

from digests.errors import InputError
from digests.text.encoding import decode_bytes

_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    url: str
    title: str | None = None
    html_url: str | None = None
    folder: tuple[str, ...] = ()  # enclosing folder names, outermost first


@dataclass(frozen=True, slots=True)
class OpmlDocument:
    title: str | None
    feeds: tuple[OpmlFeed, ...]
    duplicates: int = 0  # outlines repeating an earlier feed's URL (dropped)
    ignored: int = 0  # outlines that are neither a feed nor a folder


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    text = _SPACE.sub(" ", value).strip()
    return text or None


def _feed_url(raw: str) -> str:
    """``feed://host/x`` and ``feed:https://host/x``, as old readers wrote them, made plain."""
    url = raw.strip()
    lowered = url.lower()
    if lowered.startswith("feed:http://") or lowered.startswith("feed:https://"):
        return url[len("feed:") :]
    if lowered.startswith("feed://"):
        return "http://" + url[len("feed://") :]
    return url


def _category_folder(value: str | None) -> tuple[str, ...]:
    """OPML 2.0 ``category="/News/World,/Other"``: the first path, as folder names."""
    for path in (value or "").split(","):
        parts = tuple(part for part in (_clean(p) for p in path.split("/")) if part)
        if parts:
            return parts
    return ()


def _parse_xml(text: str) -> ET.Element:
    try:
        return SafeET.fromstring(text, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except EntitiesForbidden as exc:
        raise InputError("not a usable OPML file: it declares XML entities (refused)") from exc
    except DefusedXmlException as exc:
        raise InputError(f"not a usable OPML file: {type(exc).__name__} (refused)") from exc
    except ET.ParseError as exc:
        raise InputError(f"not well-formed XML: {exc}") from exc


def parse_opml(data: bytes) -> OpmlDocument:
    """The feeds of an OPML file; ``InputError`` (one line) if it is not one."""
    text, _encoding = decode_bytes(data)
    # The bytes are decoded already; a declared encoding would only confuse expat
    # (which cannot read GB2312 or Big5 itself).
    text = _XML_DECL.sub("", text.lstrip("\ufeff"), count=1)
    if not text.strip():
        raise InputError("empty file, not OPML")
    root = _parse_xml(text)
    if _local(root.tag) != "opml":
        raise InputError(f"not an OPML file: the root element is <{_local(root.tag)}>, not <opml>")
    head = next((child for child in root if _local(child.tag) == "head"), None)
    body = next((child for child in root if _local(child.tag) == "body"), None)
    if body is None:
        raise InputError("not a usable OPML file: it has no <body>")
    title_element = (
        next((c for c in head if _local(c.tag) == "title"), None) if head is not None else None
    )
    title = _clean(title_element.text) if title_element is not None else None

    feeds: list[OpmlFeed] = []
    seen: set[str] = set()
    duplicates = ignored = 0
    # An explicit stack: a pathologically deep file cannot exhaust recursion.
    stack: list[tuple[ET.Element, tuple[str, ...]]] = [
        (child, ()) for child in reversed(list(body))
    ]
    while stack:
        element, folder = stack.pop()
        if _local(element.tag) != "outline":
            continue
        attributes = {key.lower(): value for key, value in element.attrib.items()}
        label = _clean(attributes.get("title")) or _clean(attributes.get("text"))
        children = [child for child in element if _local(child.tag) == "outline"]
        url = _feed_url(attributes.get("xmlurl") or "")
        if url:
            if url in seen:
                duplicates += 1
            else:
                seen.add(url)
                feeds.append(
                    OpmlFeed(
                        url=url,
                        title=None if label == url else label,  # exports often repeat the URL
                        html_url=_clean(attributes.get("htmlurl")),
                        folder=folder or _category_folder(attributes.get("category")),
                    )
                )
        elif not children:
            ignored += 1
        inner = (*folder, label) if label else folder
        stack.extend((child, inner) for child in reversed(children))
    return OpmlDocument(title=title, feeds=tuple(feeds), duplicates=duplicates, ignored=ignored)


def _xml_text(value: str) -> str:
    return _NOT_XML.sub("", value)


def render_opml(feeds: Iterable[OpmlFeed], *, title: str, created: datetime | None = None) -> bytes:
    """OPML 2.0 in UTF-8: one outline per feed, inside nested folder outlines."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = _xml_text(title)
    if created is not None:
        stamp = format_datetime(created.astimezone(UTC), usegmt=True)
        ET.SubElement(head, "dateCreated").text = stamp
    body = ET.SubElement(root, "body")
    folders: dict[tuple[str, ...], ET.Element] = {(): body}
    for feed in feeds:
        parent = body
        for depth in range(1, len(feed.folder) + 1):
            path = feed.folder[:depth]
            if path not in folders:
                name = _xml_text(path[-1])
                folders[path] = ET.SubElement(parent, "outline", text=name, title=name)
            parent = folders[path]
        name = _xml_text(feed.title or feed.url)
        outline = ET.SubElement(
            parent, "outline", type="rss", text=name, title=name, xmlUrl=_xml_text(feed.url)
        )
        if feed.html_url:
            outline.set("htmlUrl", _xml_text(feed.html_url))
    ET.indent(root, space="  ")
    document = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
    return (document + "\n").encode("utf-8")
