"""Editions as people read them outside Telegram: plain text for the terminal
and logs, a standalone HTML page for operators to check. Pure. The UI strings
(Chinese and English) live here and are shared with the Telegram renderer.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import tzinfo
from zoneinfo import ZoneInfo

from digests.editions.compose import Digest, Item
from digests.editions.links import web_address
from digests.plurals import Plural

UTC = ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class Strings:
    language: str  # whose plural rules the counted phrases follow
    edition: str
    read: Plural
    topics: str
    also: str
    left_out: Plural
    nothing_new: str
    following: str
    read_online: str  # the link to the edition's web page

    def articles_read(self, count: int) -> str:
        return self.read.format(self.language, count=count)

    def not_listed(self, count: int) -> str:
        return self.left_out.format(self.language, count=count)


STRINGS = {
    "zh": Strings(
        language="zh",
        edition="{schedule} · {date}",
        read=Plural("今日阅读 {count} 篇文章"),
        topics="今日话题",
        also="另见",
        left_out=Plural("另有 {count} 条未列出"),
        nothing_new="今天没有新的文章。",
        following="你关注的",
        read_online="在网页上阅读完整一期 →",
    ),
    "en": Strings(
        language="en",
        edition="{schedule} · {date}",
        read=Plural("{count} articles read", one="{count} article read"),
        topics="Topics of the day",
        also="also",
        left_out=Plural("{count} more stories not listed", one="{count} more story not listed"),
        nothing_new="Nothing new today.",
        following="You follow",
        read_online="Read the whole edition on the web →",
    ),
}


def strings_for(language: str) -> Strings:
    return STRINGS.get(language, STRINGS["en"])


def item_meta(item: Item, tz: tzinfo) -> str:
    """Where an item is from and when: ``Harbor Gazette · 07:05``; a newspaper
    issue's item shows its paper only (the time it holds is when the file was read)."""
    if item.time is None:
        return item.source
    return f"{item.source} · {item.time.astimezone(tz):%H:%M}"


def is_latin(sentences: list[str]) -> bool:
    """English-like sentences are joined with spaces, Chinese ones without."""
    return all(s.isascii() for s in sentences)


def render_text(
    digest: Digest, *, language: str = "zh", title: str | None = None, tz: tzinfo = UTC
) -> str:
    """The same edition as plain text, for the terminal and for logs."""
    strings = strings_for(language)
    lines = [
        strings.edition.format(
            schedule=title or digest.schedule, date=digest.edition_date.isoformat()
        )
    ]
    lines.append(strings.articles_read(digest.articles_read))
    if digest.top_keywords:
        lines.append(f"{strings.topics}: " + " ".join(digest.top_keywords))
    if digest.empty:
        lines += ["", strings.nothing_new]
        return "\n".join(lines)
    number = 0
    for section in digest.sections:
        if section.name:
            lines += ["", f"== {section.name} =="]
        for item in section.items:
            number += 1
            lines += ["", f"{number}. {item.title}"]
            if item.summary:
                lines.append(
                    "   " + (" " if is_latin(list(item.summary)) else "").join(item.summary)
                )
            meta = f"   {item_meta(item, tz)}"
            if item.also:
                meta += f" · {strings.also}: " + ", ".join(link.name for link in item.also)
            lines.append(meta)
            if item.link:
                lines.append(f"   {item.link}")
    if digest.left_out:
        lines += ["", strings.not_listed(digest.left_out)]
    return "\n".join(lines)


def render_page(
    digest: Digest, *, language: str = "zh", title: str | None = None, tz: tzinfo = UTC
) -> str:
    """A standalone HTML page of the edition (every piece of text escaped)."""
    strings = strings_for(language)
    heading = strings.edition.format(
        schedule=title or digest.schedule, date=digest.edition_date.isoformat()
    )
    body = [f"<h1>{html.escape(heading)}</h1>"]
    body.append(f"<p>{html.escape(strings.articles_read(digest.articles_read))}</p>")
    if digest.top_keywords:
        topics = " · ".join(html.escape(k) for k in digest.top_keywords)
        body.append(f"<p>{html.escape(strings.topics)}: {topics}</p>")
    if digest.empty:
        body.append(f"<p>{html.escape(strings.nothing_new)}</p>")
    for section in digest.sections:
        if section.name:
            body.append(f"<h2>{html.escape(section.name)}</h2>")
        body.append("<ol>")
        for item in section.items:
            address = web_address(item.link)
            href = html.escape(address, quote=True) if address else None
            title_html = html.escape(item.title)
            if href:
                title_html = f'<a href="{href}">{title_html}</a>'
            joiner = " " if is_latin(list(item.summary)) else ""
            meta = item_meta(item, tz)
            if item.also:
                meta += f" · {strings.also}: " + ", ".join(link.name for link in item.also)
            body.append(
                f"<li><p><b>{title_html}</b></p><p>{html.escape(joiner.join(item.summary))}</p>"
                f"<p><small>{html.escape(meta)}</small></p></li>"
            )
        body.append("</ol>")
    if digest.left_out:
        body.append(f"<p><i>{html.escape(strings.not_listed(digest.left_out))}</i></p>")
    return (
        '<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        "<title>{title}</title></head><body>\n{body}\n</body></html>\n"
    ).format(lang=html.escape(language), title=html.escape(heading), body="\n".join(body))
