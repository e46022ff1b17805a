"""Articles in: ``fetch`` (every due source), ``ingest`` (newspaper issue
files given by hand) and ``parse`` (issue files as JSON lines, no database).

``parse`` reads a file exactly as ``ingest`` and a folder source do; a file in
which it finds no article (empty, or no line that reads as an article's text)
is one line on stderr saying why, and the exit status is non-zero."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from digests.cli.common import EXIT_ERROR, EXIT_OK, open_engine, run_fetch, say_error
from digests.config import Settings
from digests.errors import InputError
from digests.sources.folders import IssueRead, inspect_issue_file


def _no_article(path: str, issue: IssueRead) -> str:
    """Why ``parse`` found no article in a file: ingesting it would store none."""
    if not issue.account.chars_in:
        return f"no article found in {path}: it holds no text"
    return (
        f"no article found in {path}: no line reads as an article's text (in a newspaper "
        f"issue, paragraphs whose sentences end with a full stop); {issue.account.report()}"
    )


def cmd_parse(args: argparse.Namespace, settings: Settings) -> int:
    failed = False
    for path in args.files:
        try:
            zone = settings.fetch.timezone or settings.digest.timezone
            issue = inspect_issue_file(Path(path), args.encoding, zone)
        except InputError as exc:
            say_error(f"newsdigest: {exc}")
            failed = True
            continue
        if args.report:
            say_error(
                f"{path}: {len(issue.articles)} articles ({issue.encoding}), {issue.dated()}; "
                f"{issue.account.report()}"
            )
        if not issue.articles:
            say_error(f"newsdigest: {_no_article(path, issue)}")
            failed = True
        for article in issue.articles:
            record = {
                "file": str(path),
                "title": article.title,
                "subtitle": article.subtitle,
                "byline": article.byline,
                "lead": article.lead,
                "paragraphs": list(article.paragraphs),
                "subheads": list(article.subheads),
                "published": article.published.isoformat() if article.published else None,
            }
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    return EXIT_ERROR if failed else EXIT_OK


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    totals, errors = open_engine(settings).ingest_files(
        [Path(p) for p in args.files], source_name=args.source, encoding=args.encoding
    )
    for line in errors:
        say_error(f"newsdigest: {line}")
    print(
        f"stored {totals.new} new, {totals.updated} updated, {totals.unchanged} unchanged "
        f"articles ({totals.same_story} joined an existing story)"
    )
    return EXIT_ERROR if errors else EXIT_OK


def cmd_fetch(args: argparse.Namespace, settings: Settings) -> int:
    outcomes = run_fetch(open_engine(settings), force=args.all)
    for outcome in outcomes:
        if outcome.error:
            status = f"error: {outcome.error}"
        elif outcome.not_modified:
            status = "not modified"
        else:
            saved = outcome.saved
            status = f"{saved.new} new, {saved.updated} updated, {saved.unchanged} unchanged"
        print(f"#{outcome.source_id} {outcome.name}: {status}")
    if not outcomes:
        print("no source is due (use --all to fetch every source now)")
    return EXIT_OK


def register(commands: Any, groups: dict[str, Any]) -> None:
    parse = commands.add_parser(
        "parse", help="print the articles in newspaper issue files as JSON lines"
    )
    parse.add_argument("files", nargs="+", metavar="FILE")
    parse.add_argument("--encoding", help="force the file encoding (default: detect)")
    parse.add_argument(
        "--report",
        action="store_true",
        help="print per file on stderr: characters in, kept and dropped (and why)",
    )
    parse.set_defaults(run=cmd_parse, needs_settings=False)

    ingest = commands.add_parser("ingest", help="store the articles of newspaper issue files")
    ingest.add_argument("files", nargs="+", metavar="FILE")
    ingest.add_argument("--source", default="newspaper", help="source name to file them under")
    ingest.add_argument("--encoding", help="force the file encoding (default: detect)")
    ingest.set_defaults(run=cmd_ingest)

    fetch = commands.add_parser("fetch", help="fetch every due source now")
    fetch.add_argument("--all", action="store_true", help="fetch every source, due or not")
    fetch.set_defaults(run=cmd_fetch)
