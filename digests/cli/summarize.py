"""``newsdigest summarize``: summaries and keywords of the articles in a text
or newspaper file, or of a JSONL batch. Touches no database.

A text is read as a newspaper issue; one with no article laid out as an issue's
(a single line, a few lines with no full stop) is summarized as one article,
since the summarizer takes a sentence without a full stop as a sentence. Input
with nothing to summarize (empty, or blank) is one line on stderr and exit 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from digests.cli.common import EXIT_ERROR, EXIT_OK, say_error
from digests.config import Settings
from digests.errors import InputError, NewsdigestError
from digests.ingest.newspaper import fallback_title
from digests.records import RawArticle
from digests.sources.folders import inspect_issue
from digests.text.encoding import decode_bytes

NOTHING = "nothing to summarize"  # said of empty input


def _summarize_jsonl(args: argparse.Namespace) -> int:
    from digests.summarize.jsonl import BadLine, jsonl_records, read_jsonl

    source = sys.stdin if args.jsonl == "-" else None
    try:
        handle = source or open(args.jsonl, encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise InputError(f"{args.jsonl}: cannot read ({exc.strerror or exc})") from exc
    items = []
    bad = 0
    with handle:
        try:
            for entry in read_jsonl(handle):
                if isinstance(entry, BadLine):
                    say_error(f"newsdigest: {args.jsonl}: line {entry.number}: {entry.reason}")
                    bad += 1
                else:
                    items.append(entry)
        except UnicodeDecodeError as exc:
            raise InputError(f"{args.jsonl}: not UTF-8 text") from exc
    if not items and not bad:
        raise InputError(f"empty input: {NOTHING} in {_named(args.jsonl)}")
    for record in jsonl_records(items, sentences=args.sentences, chars=args.chars):
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    return EXIT_ERROR if bad else EXIT_OK


def _named(file: str) -> str:
    return "standard input" if file == "-" else file


def _read(file: str) -> bytes:
    if file == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(file).read_bytes()
    except OSError as exc:
        raise InputError(f"{file}: cannot read ({exc.strerror or exc})") from exc


def _articles(file: str, encoding: str | None) -> list[RawArticle]:
    """The articles of ``file`` (``-``: standard input) read as a newspaper
    issue; a text with none laid out as an issue's is one article."""
    name = _named(file)
    data = _read(file)
    try:
        issue = inspect_issue(data, "stdin" if file == "-" else Path(file).name, encoding)
        if issue.articles:
            return issue.articles
        text, _used = decode_bytes(data, forced=issue.encoding)
    except NewsdigestError as exc:
        raise InputError(f"{name}: {exc}") from exc
    lines = tuple(line.strip() for line in text.splitlines() if line.strip())
    if not lines:
        raise InputError(f"empty input: {NOTHING} in {name}")
    return [RawArticle(title=fallback_title(lines[0]), paragraphs=lines)]


def cmd_summarize(args: argparse.Namespace, _settings: Settings) -> int:
    from digests.summarize.analysis import summary_products
    from digests.summarize.keywords import keywords
    from digests.summarize.rank import prepare, summarize_document

    if args.sentences is not None and args.sentences < 1:
        raise InputError("--sentences must be at least 1")
    if args.chars is not None and args.chars < 1:
        raise InputError("--chars must be at least 1")
    if args.jsonl:
        return _summarize_jsonl(args)
    if args.file is None:
        raise InputError("give a FILE (or - for standard input), or --jsonl IN.jsonl")
    for article in _articles(args.file, args.encoding):
        document = prepare(article.body, article.title)
        if args.sentences or args.chars:
            summary = summarize_document(document, sentences=args.sentences, chars=args.chars)
            line = summary[0] if summary else ""
        else:
            line, summary = summary_products(document)
        if args.json:
            print(
                json.dumps(
                    {
                        "title": article.title,
                        "line": line,
                        "summary": summary,
                        "keywords": keywords(document),
                    },
                    ensure_ascii=False,
                )
            )
            continue
        print(f"# {article.title}")
        for sentence in summary:
            print(f"  - {sentence}")
        print(f"  keywords: {', '.join(keywords(document))}")
        print()
    return EXIT_OK


def register(commands: Any, groups: dict[str, Any]) -> None:
    summarize = commands.add_parser(
        "summarize", help="summarize the articles of a text/newspaper file, or a JSONL batch"
    )
    summarize.add_argument("file", nargs="?", metavar="FILE", help="a text or newspaper file, or -")
    summarize.add_argument(
        "--jsonl", metavar="IN.jsonl", help='lines {"id","text","title"?}; - for stdin'
    )
    budget = summarize.add_mutually_exclusive_group()
    budget.add_argument("--sentences", type=int, help="summary length in sentences")
    budget.add_argument("--chars", type=int, help="summary length in visible characters")
    summarize.add_argument("--encoding", help="force the file encoding (default: detect)")
    summarize.add_argument("--json", action="store_true", help="one JSON object per article")
    summarize.set_defaults(run=cmd_summarize)
