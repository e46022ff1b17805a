"""``newsdigest search`` (the chat's query language, from the command line)
and ``newsdigest reindex`` (rebuild the search index)."""

from __future__ import annotations

import argparse
import html
import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console

from digests.cli.common import EXIT_OK, open_engine, progress_bar, say_error
from digests.config import Settings
from digests.errors import InputError
from digests.plurals import counted

SEARCH_PROBLEMS = {
    "empty": "empty query: give a word to search for",
    "only_excluded": "only excluded words: add a word to search for",
    "nothing_searchable": "nothing to search for: the query has only punctuation or symbols",
}
# The options of ``newsdigest search``; every other word after the command is
# the query, even one that starts with a dash (``-柳家渡`` excludes a word).
_VALUED_OPTIONS = ("--page", "--limit")
_FLAGS = ("--json", "-h", "--help")


def query_words_as_typed(argv: Sequence[str]) -> list[str]:
    """``argv`` with the words of a ``search`` command moved after ``--``, so
    that argparse reads ``夜市 -柳家渡`` as the query, not as an unknown option."""
    words = list(argv)
    at = 0
    while at < len(words) and words[at].startswith("-"):  # global options
        at += 2 if words[at] == "--config" else 1
    if at >= len(words) or words[at] != "search":
        return words
    options: list[str] = []
    query: list[str] = []
    rest = iter(words[at + 1 :])
    for word in rest:
        if word == "--":
            query.extend(rest)
        elif word in _VALUED_OPTIONS:
            options += [word, next(rest, "")]
        elif word in _FLAGS or word.startswith(tuple(f"{o}=" for o in _VALUED_OPTIONS)):
            options.append(word)
        else:
            query.append(word)
    return [*words[: at + 1], *options, *(["--", *query] if query else [])]


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from digests.search.snippet import snippet

    if args.page < 1 or args.limit < 1:
        raise InputError("--page and --limit must be at least 1")
    engine = open_engine(settings)
    found = engine.search(" ".join(args.query), page=args.page - 1, per_page=args.limit)
    if found.problem == "past_end":
        pages = f"{found.pages} page" + ("" if found.pages == 1 else "s")
        raise InputError(f"page {args.page} is past the end: {found.total_label} found, {pages}")
    if found.problem is not None:
        raise InputError(SEARCH_PROBLEMS[found.problem])
    hits = found.results.hits
    if args.json:
        for hit in hits:
            record = {
                "id": hit.article_id,
                "title": hit.title,
                "source": hit.source,
                "link": hit.link,
                "date": hit.when.isoformat(),
            }
            print(json.dumps(record, ensure_ascii=False))
        return EXIT_OK
    console = Console()
    console.print(
        f"{found.total_label} found"
        + (" (by substring: no indexed word matched)" if found.results.fallback else "")
        + f"; page {found.page + 1} of {found.pages_label}",
        markup=False,
    )
    for number, hit in enumerate(hits, start=found.page * found.per_page + 1):
        plain = snippet(hit.body, found.results.needles).replace("<b>", "").replace("</b>", "")
        console.print(f"\n{number}. {hit.title}", style="bold", markup=False)
        console.print(f"   {hit.source} · {hit.when:%Y-%m-%d} · {hit.link or ''}", markup=False)
        console.print(f"   {html.unescape(plain)}", markup=False)
    return EXIT_OK


def cmd_reindex(_args: argparse.Namespace, settings: Settings) -> int:
    engine = open_engine(settings)
    with progress_bar("reindexing") as progress:
        task = progress.add_task("reindex", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        done = engine.reindex(on_progress=advance)
    say_error(f"newsdigest: reindexed {counted('en', done, 'article', 'articles')}")
    return EXIT_OK


def register(commands: Any, groups: dict[str, Any]) -> None:
    search = commands.add_parser("search", help="search stored articles")
    search.add_argument(
        "query", nargs="*", metavar="QUERY", help='words, "phrase", -not, OR, source:, since:'
    )
    search.add_argument("--page", type=int, default=1)
    search.add_argument("--limit", type=int, default=10, help="results per page")
    search.add_argument("--json", action="store_true", help="one JSON object per result")
    search.set_defaults(run=cmd_search)
    reindex = commands.add_parser("reindex", help="rebuild the search index")
    reindex.set_defaults(run=cmd_reindex)
