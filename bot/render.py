"""Render a ``Digest`` for Telegram (HTML parse mode) and as plain text. Pure.

Telegram counts a message's length after entity parsing, in UTF-16 code
units, and refuses more than 4096. Messages are split between items (a
section heading travels with its first item), never inside a tag or an
entity; an item too long for one message is shortened, not broken. Every
piece of external text is escaped; links are http(s) only.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import tzinfo
from zoneinfo import ZoneInfo

from digests.editions.compose import Digest, Item
from digests.editions.links import web_address
from digests.editions.pages import Strings, is_latin, item_meta, strings_for
from digests.search.base import Hit
from digests.search.snippet import SNIPPET_CHARS, highlight, snippet

MESSAGE_LIMIT = 4096
_TAG = re.compile(r"<[^>]+>")
UTC = ZoneInfo("UTC")


def plain_text(message_html: str) -> str:
    """What the reader sees of a message: its text after Telegram parses the HTML."""
    return html.unescape(_TAG.sub("", message_html))


def telegram_length(message_html: str) -> int:
    """The length Telegram checks: text after entity parsing, in UTF-16 code units."""
    return len(plain_text(message_html).encode("utf-16-le")) // 2


def _e(text: str) -> str:
    return html.escape(text, quote=False)


def safe_href(link: str | None) -> str | None:
    """``link`` escaped for an href attribute, when it is an http(s) address."""
    address = web_address(link)
    return html.escape(address, quote=True) if address else None


def hit_html(
    hit: Hit, needles: Sequence[str], *, snippet_width: int = SNIPPET_CHARS, with_time: bool = False
) -> str:
    """A found article: its linked title, source and date, and a snippet, with
    the searched words in bold (search pages, inline results, alerts)."""
    title = f"<b>{highlight(hit.title, needles)}</b>"
    href = safe_href(hit.link)
    if href:
        title = f'<a href="{href}">{title}</a>'
    when = f"{hit.when:%Y-%m-%d %H:%M}" if with_time else f"{hit.when:%Y-%m-%d}"
    return f"{title}\n<i>{_e(hit.source)} · {when}</i>\n{snippet(hit.body, needles, snippet_width)}"


def _linked(text: str, link: str | None, *, bold: bool = False) -> str:
    inner = f"<b>{_e(text)}</b>" if bold else _e(text)
    href = safe_href(link)
    return f'<a href="{href}">{inner}</a>' if href else inner


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(1, limit - 1)].rstrip() + "…"


def _item_html(item: Item, number: int, strings: Strings, tz: tzinfo, limit: int) -> str:
    """One item; shortened (summary sentences dropped, then text cut) to fit ``limit``."""
    meta = item_meta(item, tz)
    also = ", ".join(_linked(link.name, link.link) for link in item.also)
    title, summary = item.title, list(item.summary)
    while True:
        parts = [f"{number}. {_linked(title, item.link, bold=True)}"]
        if summary:
            parts.append(_e(" ".join(summary) if is_latin(summary) else "".join(summary)))
        tail = f"<i>{_e(meta)}</i>"
        if also:
            tail += f" · {_e(strings.also)}: {also}"
        parts.append(tail)
        block = "\n".join(parts)
        if telegram_length(block) <= limit:
            return block
        if len(summary) > 1:
            summary.pop()
        elif summary and len(summary[0]) > 20:
            summary = [_shorten(summary[0], len(summary[0]) // 2)]
        elif summary:
            summary = []
        elif len(title) > 20:
            title = _shorten(title, len(title) // 2)
        elif also:
            also = ""
        elif len(meta) > 20:
            meta = _shorten(meta, len(meta) // 2)
        else:  # only with an absurdly small limit: the title alone, as text
            return _e(_shorten(title, max(1, limit // 4)))


def _header_html(digest: Digest, strings: Strings, title: str, limit: int) -> str:
    """Edition name, articles read, topics: within half a message whatever the input."""
    heading = strings.edition.format(schedule=_shorten(title, 60), date=digest.edition_date)
    lines = [
        f"<b>{_e(heading)}</b>",
        _e(strings.articles_read(digest.articles_read)),
    ]
    topics = [_shorten(k, 20) for k in digest.top_keywords]
    while topics:
        line = f"{_e(strings.topics)}: " + " ".join(_e(k) for k in topics)
        if telegram_length("\n".join([*lines, line])) <= limit // 2:
            lines.append(line)
            break
        topics.pop()
    return "\n".join(lines)


def render_html(
    digest: Digest,
    *,
    language: str = "zh",
    title: str | None = None,
    tz: tzinfo = UTC,
    limit: int = MESSAGE_LIMIT,
    web_link: str | None = None,
) -> list[str]:
    """The edition as Telegram HTML messages, each within ``limit``; with
    ``web_link``, the last one ends with a link to the edition's page."""
    strings = strings_for(language)
    header = _header_html(digest, strings, title or digest.schedule, limit)
    if digest.empty:
        return [header + "\n\n" + _e(strings.nothing_new)]  # no page worth a link
    blocks: list[str] = []
    number = 0
    for section in digest.sections:
        heading = f"<b>{_e(_shorten(section.name, 40))}</b>\n" if section.name else ""
        for position, item in enumerate(section.items):
            number += 1
            prefix = heading if position == 0 else ""
            room = limit - telegram_length(prefix)
            blocks.append(prefix + _item_html(item, number, strings, tz, room))
    if digest.left_out:
        blocks.append(f"<i>{_e(strings.not_listed(digest.left_out))}</i>")
    href = safe_href(web_link)
    if href:
        blocks.append(f'<a href="{href}">{_e(strings.read_online)}</a>')
    messages: list[str] = []
    current = header
    for block in blocks:
        candidate = f"{current}\n\n{block}"
        if telegram_length(candidate) <= limit:
            current = candidate
        else:
            messages.append(current)
            current = block
    messages.append(current)
    return messages


def alert_html(query: str, hit: Hit, needles: list[str]) -> str:
    """An alert's push: the alert's words, then the found article."""
    found = hit_html(hit, needles, snippet_width=160, with_time=True)
    return f"🔔 {_e(query[:100])}\n{found}"


class TelegramRenderer:
    """The engine's ``Renderer`` for Telegram: editions and alerts as HTML messages."""

    def edition(
        self,
        digest: Digest,
        *,
        language: str,
        title: str,
        tz: tzinfo,
        web_link: str | None = None,
    ) -> list[str]:
        return render_html(digest, language=language, title=title, tz=tz, web_link=web_link)

    def alert(self, query: str, hit: Hit, needles: list[str]) -> str:
        return alert_html(query, hit, needles)
