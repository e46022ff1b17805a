"""``newsdigest subscribers stats``: who receives the editions, and how the
last one's delivery went."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console
from rich.table import Table

from digests.cli.common import EXIT_OK, open_engine
from digests.cli.editions import delivery_line
from digests.config import Settings


def cmd_subscribers_stats(args: argparse.Namespace, settings: Settings) -> int:
    stats, report = open_engine(settings).subscriber_overview()
    if args.json:
        record: dict[str, Any] = {
            "active": stats.active,
            "blocked": stats.blocked,
            "stopped": stats.stopped,
            "other_inactive": stats.other_inactive,
            "by_schedule": stats.by_schedule,
            "by_chat_type": stats.by_chat_type,
            "by_language": stats.by_language,
            "last_edition": None,
        }
        if report is not None:
            record["last_edition"] = {
                "id": report.edition_id,
                "schedule": report.schedule,
                "deliveries": report.counts,
                "chats": report.chats,
                "duration_seconds": report.duration_seconds,
            }
        print(json.dumps(record))
        return EXIT_OK
    table = Table(title="Subscribers")
    table.add_column("")
    table.add_column("chats", justify="right")
    for label, value in (
        ("active", stats.active),
        ("blocked the bot / removed it", stats.blocked),
        ("unsubscribed (/stop)", stats.stopped),
        ("other inactive (e.g. moved)", stats.other_inactive),
    ):
        table.add_row(label, str(value))
    for name, count in sorted(stats.by_schedule.items()):
        table.add_row(f"  schedule {name}", str(count))
    for kind, count in sorted(stats.by_chat_type.items()):
        table.add_row(f"  {kind} chats", str(count))
    console = Console()
    console.print(table)
    if report is not None:
        console.print(
            f"Last edition #{report.edition_id} ({report.schedule} {report.edition_date} "
            f"{report.slot or 'by hand'}): {delivery_line(report)}",
            markup=False,
        )
    return EXIT_OK


def register(commands: Any, groups: dict[str, Any]) -> None:
    subscribers = commands.add_parser("subscribers", help="subscriber counts")
    actions = subscribers.add_subparsers(
        dest="subscribers_command", required=True, metavar="ACTION"
    )
    groups["subscribers"] = actions
    stats = actions.add_parser(
        "stats", help="active, blocked and unsubscribed chats; the last edition's delivery"
    )
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(run=cmd_subscribers_stats)
