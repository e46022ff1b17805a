"""``newsdigest articles``: the latest stored articles."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console
from rich.table import Table

from digests.cli.common import EXIT_OK, open_engine
from digests.config import Settings


def cmd_articles(args: argparse.Namespace, settings: Settings) -> int:
    rows = open_engine(settings).recent_articles(limit=args.limit)
    if args.json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False, default=str))
        return EXIT_OK
    table = Table(title=f"Latest {len(rows)} stored articles")
    for column in ("id", "source", "title", "story", "chars"):
        table.add_column(column)
    for row in rows:
        story = "" if row["story_id"] == row["id"] else f"same as #{row['story_id']}"
        table.add_row(str(row["id"]), row["source"], row["title"], story, str(row["chars"]))
    Console().print(table)
    return EXIT_OK


def register(commands: Any, groups: dict[str, Any]) -> None:
    articles = commands.add_parser("articles", help="list the latest stored articles")
    articles.add_argument("--limit", type=int, default=20)
    articles.add_argument("--json", action="store_true")
    articles.set_defaults(run=cmd_articles)
