"""Small builders for feeds and articles used across tests."""

from __future__ import annotations

from digests.records import RawArticle


def rss(*items: tuple[str, str, str, str], title: str = "Test feed") -> bytes:
    """RSS 2.0 bytes from (guid, link, title, description) tuples."""
    parts = [
        f"<item><guid>{guid}</guid><link>{link}</link><title>{item_title}</title>"
        f"<description><![CDATA[{body}]]></description></item>"
        for guid, link, item_title, body in items
    ]
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://example.org/</link>{''.join(parts)}"
        "</channel></rss>"
    ).encode()


def article(
    title: str, body: str, *, guid: str | None = None, url: str | None = None
) -> RawArticle:
    return RawArticle(title=title, paragraphs=tuple(body.split("\n\n")), guid=guid, url=url)
