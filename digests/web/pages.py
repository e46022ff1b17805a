"""The edition, archive and search pages as HTML. Pure: results in, HTML out.

Jinja2 renders them with autoescaping on, so every piece of external text
(titles, summaries, source names, a query) arrives as text; the only markup
that passes is the search highlighting, which ``digests.search.snippet``
escapes itself. Links are kept only when they are http(s). No script, no
inline style: the pages hold under ``Content-Security-Policy: default-src 'none'``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from digests.editions.links import web_address
from digests.editions.pages import is_latin, strings_for
from digests.search.snippet import highlight, snippet

if TYPE_CHECKING:
    from digests.search.service import SearchPage

HERE = Path(__file__).parent
STYLESHEET = (HERE / "static" / "style.css").read_bytes()
# The stylesheet's address changes with its content: it is cached for a year.
STYLESHEET_NAME = f"style-{hashlib.sha256(STYLESHEET).hexdigest()[:12]}.css"


@dataclass(frozen=True, slots=True)
class WebStrings:
    search: str
    archive: str
    by_hand: str
    topics: str
    nothing_new: str
    no_editions: str
    not_found: str
    not_found_why: str
    previous: str
    next: str
    archive_title: str
    found: str
    nothing_found: str
    search_hint: str


WEB_STRINGS = {
    "zh": WebStrings(
        search="搜索",
        archive="往期",
        by_hand="临时",
        topics="今日话题",
        nothing_new="这一期没有新的文章。",
        no_editions="还没有往期。",
        not_found="找不到这一页",
        not_found_why="链接可能不完整或已失效。",
        previous="上一页",
        next="下一页",
        archive_title="{title} · 往期",
        found="「{query}」：{total} 篇（第 {page}/{pages} 页）",
        nothing_found="没有找到与「{query}」相关的文章。",
        search_hint='输入关键词；"带引号的短语"，-排除词，source:来源，since:7d。',
    ),
    "en": WebStrings(
        search="Search",
        archive="Archive",
        by_hand="extra",
        topics="Topics of the day",
        nothing_new="Nothing new in this edition.",
        no_editions="No editions yet.",
        not_found="Page not found",
        not_found_why="The link may be incomplete or no longer valid.",
        previous="Previous",
        next="Next",
        archive_title="{title} · archive",
        found="“{query}”: {total} found (page {page}/{pages})",
        nothing_found="Nothing found for “{query}”.",
        search_hint='Type words; "a quoted phrase", -exclude, source:name, since:7d.',
    ),
}


def web_strings(language: str) -> WebStrings:
    return WEB_STRINGS.get(language, WEB_STRINGS["en"])


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _render(template: str, language: str, **values: Any) -> str:
    return (
        _environment()
        .get_template(template)
        .render(
            lang_tag="zh-Hans" if language == "zh" else language,
            lang=language,
            s=web_strings(language),
            stylesheet=STYLESHEET_NAME,
            **values,
        )
    )


def _local(moment: datetime, zone: tzinfo, with_date: bool) -> tuple[str, str]:
    local = moment.astimezone(zone)
    return (f"{local:%Y-%m-%d %H:%M}" if with_date else f"{local:%H:%M}"), local.isoformat()


def edition_html(
    page: Any, *, page_url: str | None = None, archive_path: str | None, search_open: bool = False
) -> str:
    """An edition's page (``page``: a ``digests.engine.web.WebEdition``)."""
    strings = strings_for(page.language)
    zone = ZoneInfo(page.timezone)
    heading = strings.edition.format(schedule=page.title, date=page.edition_date.isoformat())
    details = iter(zip(page.summaries, page.sources, strict=True))
    sections = []
    for section in page.digest.sections:
        stories = []
        for item in section.items:
            summary, sources = next(details)
            shown_sources = []
            for source in sources:
                time_text, iso = ("", "")
                if source.time is not None:
                    same_day = source.time.astimezone(zone).date() == page.edition_date
                    time_text, iso = _local(source.time, zone, with_date=not same_day)
                shown_sources.append(
                    {
                        "name": source.name,
                        "href": web_address(source.link),
                        "time": time_text,
                        "iso": iso,
                    }
                )
            latin = is_latin([item.title, *summary])
            stories.append(
                {
                    # A story in another language than the page says so: its
                    # text is then laid out (hyphenated, never letter-spaced) as such.
                    "lang": ("en" if latin else "zh-Hans")
                    if latin != (page.language == "en")
                    else None,
                    "title": item.title,
                    "href": web_address(item.link),
                    "summary": (" " if is_latin(list(summary)) else "").join(summary),
                    "keywords": item.keywords,
                    "sources": shown_sources,
                }
            )
        sections.append({"name": section.name, "stories": stories})
    titles = [story["title"] for section in sections for story in section["stories"]]
    description = ("; " if page.language == "en" else "；").join(titles[:3])
    return _render(
        "edition.html",
        page.language,
        page_title=heading,
        indexable=page.public,
        description=description or strings.nothing_new,
        page_url=page_url,
        og_locale="zh_CN" if page.language == "zh" else "en_US",
        read_line=strings.articles_read(page.digest.articles_read),
        slot=page.slot,
        others=page.others,
        topics=page.digest.top_keywords,
        empty=page.digest.empty,
        sections=sections,
        left_out=strings.not_listed(page.digest.left_out) if page.digest.left_out else "",
        archive_path=archive_path,
        search_open=search_open,
    )


def archive_html(archive: Any, *, search_open: bool = False) -> str:
    """A schedule's past editions (``archive``: a ``digests.engine.web.WebArchive``)."""
    strings = web_strings(archive.language)
    entries = [
        {
            "date": entry.edition_date.isoformat(),
            "slot": entry.slot,
            "articles": strings_for(archive.language).articles_read(entry.articles),
            "path": entry.path,
        }
        for entry in archive.entries
    ]
    return _render(
        "archive.html",
        archive.language,
        page_title=strings.archive_title.format(title=archive.title),
        indexable=False,
        entries=entries,
        archive_path=None,
        search_open=search_open,
    )


def search_html(found: SearchPage | None, query: str, language: str, zone: tzinfo) -> str:
    """The search page: the form, and ``found`` (None: nothing asked yet)."""
    strings = web_strings(language)
    hits: list[dict[str, Any]] = []
    message = strings.search_hint
    previous_path = next_path = None
    first_number = 1
    if found is not None:
        results = found.results
        needles = results.needles
        if found.problem is not None or not results.hits:
            message = strings.nothing_found.format(query=query)
        else:
            message = strings.found.format(
                query=query,
                total=found.total_label,
                page=found.page + 1,
                pages=found.pages_label,
            )
            first_number = found.page * found.per_page + 1
            for hit in results.hits:
                when, iso = _local(hit.when, zone, with_date=True)
                hits.append(
                    {
                        "title": Markup(highlight(hit.title, needles)),
                        "href": web_address(hit.link),
                        "source": hit.source,
                        "when": when,
                        "iso": iso,
                        "snippet": Markup(snippet(hit.body, needles)),
                    }
                )

            def page_path(number: int) -> str:
                return "/search?" + urlencode({"q": query, "page": number + 1, "lang": language})

            if found.page > 0:
                previous_path = page_path(found.page - 1)
            if found.page + 1 < found.pages:
                next_path = page_path(found.page + 1)
    return _render(
        "search.html",
        language,
        page_title=f"{strings.search} · {query}" if query else strings.search,
        indexable=False,
        query=query,
        message=message,
        hits=hits,
        first_number=first_number,
        previous_path=previous_path,
        next_path=next_path,
        archive_path=None,
        search_open=True,
    )


def not_found_html(language: str, *, search_open: bool = False) -> str:
    return _render(
        "not_found.html",
        language,
        page_title=web_strings(language).not_found,
        indexable=False,
        archive_path=None,
        search_open=search_open,
    )
