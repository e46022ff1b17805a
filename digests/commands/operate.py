"""Operators' commands: ``schedules``, ``editions`` and ``subscribers``.

Schedule changes are stored in the database (they override the config file);
a running bot picks them up within ``bot.jobs.SYNC_EVERY_SECONDS``.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from digests.cli import EXIT_OK, open_engine, say_error
from digests.config import Settings
from digests.editions.compose import digest_from_dict
from digests.editions.pages import render_text
from digests.editions.reports import DeliveryReport
from digests.editions.schedule import upcoming_slot
from digests.store.schedules import ScheduleState, split_times

# -- schedules ---------------------------------------------------------------


def schedule_record(state: ScheduleState, now: datetime) -> dict[str, Any]:
    upcoming = upcoming_slot(state, now)
    local = upcoming.fire_at.astimezone(ZoneInfo(state.spec.timezone)) if upcoming else None
    return {
        "name": state.name,
        "times": list(state.spec.times),
        "timezone": state.spec.timezone,
        "sources": list(state.spec.sources),
        "paused": state.paused,
        "origin": "changed at run time" if state.changed else "config",
        "next_run": local.isoformat() if local else None,
    }


def _print_schedules(states: list[ScheduleState], now: datetime, as_json: bool) -> None:
    records = [schedule_record(state, now) for state in states]
    if as_json:
        for record in records:
            print(json.dumps(record, ensure_ascii=False))
        return
    table = Table(title="Schedules")
    for column in ("name", "times", "time zone", "sources", "state", "next edition (local)"):
        table.add_column(column)
    for record in records:
        table.add_row(
            record["name"],
            ", ".join(record["times"]),
            record["timezone"],
            ", ".join(record["sources"]) or "all",
            ("paused" if record["paused"] else "active") + f" ({record['origin']})",
            record["next_run"][:16].replace("T", " ") if record["next_run"] else "-",
        )
    Console().print(table)


def cmd_schedules_list(args: argparse.Namespace, settings: Settings) -> int:
    engine = open_engine(settings)
    _print_schedules(engine.schedule_states(), engine.clock(), args.json)
    return EXIT_OK


def _sources(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [name.strip() for name in text.split(",") if name.strip()]


def cmd_schedules_change(args: argparse.Namespace, settings: Settings) -> int:
    engine = open_engine(settings)
    action = args.schedules_command
    if action == "set":
        state = engine.set_schedule(
            args.name,
            times=split_times(args.times) if args.times else None,
            timezone=args.timezone,
            sources=_sources(args.sources),
        )
    elif action == "add":
        state = engine.add_schedule(
            args.name,
            times=split_times(args.times),
            timezone=args.timezone,
            sources=_sources(args.sources) or [],
        )
    elif action == "remove":
        state = engine.remove_schedule(args.name)
    else:
        state = engine.pause_schedule(args.name, action == "pause")
    if action == "remove":
        say_error(f"newsdigest: schedule {state.name!r} removed; no new editions will be built")
        return EXIT_OK
    _print_schedules([state], engine.clock(), as_json=False)
    return EXIT_OK


# -- editions ----------------------------------------------------------------


def _state_counts(counts: dict[str, int]) -> str:
    order = ("sent", "pending", "sending", "failed", "unknown", "skipped")
    return ", ".join(f"{state} {counts[state]}" for state in order if counts.get(state))


def cmd_editions_list(args: argparse.Namespace, settings: Settings) -> int:
    engine = open_engine(settings)
    reports = [engine.delivery_report(e) for e in engine.recent_editions(args.limit)]
    if args.json:
        for report in reports:
            print(
                json.dumps(
                    {
                        "id": report.edition_id,
                        "schedule": report.schedule,
                        "date": report.edition_date,
                        "slot": report.slot,
                        "built_at": report.built_at.isoformat(),
                        "deliveries": report.counts,
                    }
                )
            )
        return EXIT_OK
    table = Table(title="Editions (newest first)")
    for column in ("id", "schedule", "date", "slot", "built (UTC)", "deliveries"):
        table.add_column(column)
    for report in reports:
        table.add_row(
            str(report.edition_id),
            report.schedule,
            report.edition_date,
            report.slot or "by hand",
            f"{report.built_at:%Y-%m-%d %H:%M}",
            _state_counts(report.counts) or "not planned yet",
        )
    Console().print(table)
    return EXIT_OK


def cmd_editions_show(args: argparse.Namespace, settings: Settings) -> int:
    engine = open_engine(settings)
    edition = engine.edition(args.id)
    report = engine.delivery_report(edition)
    digest = digest_from_dict(edition.content)
    print(
        render_text(
            digest,
            language=settings.digest.language,
            title=settings.digest.title,
            tz=ZoneInfo(settings.digest.timezone),
        )
    )
    print()
    print(f"edition #{report.edition_id}: {_delivery_line(report)}")
    return EXIT_OK


def _delivery_line(report: DeliveryReport) -> str:
    counts = _state_counts(report.counts) or "no deliveries planned yet"
    duration = report.duration_seconds
    took = f"; last message {duration:.0f}s after the build" if duration is not None else ""
    return f"{counts} to {report.chats} chats{took}"


def cmd_editions_send(args: argparse.Namespace, settings: Settings) -> int:
    state, slot, built = open_engine(settings).release_next_edition(args.schedule)
    what = "built now" if built.created else "was built already"
    say_error(
        f"newsdigest: edition {state.name} {slot.edition_date} {slot.slot} {what} "
        f"({len(built.digest.items)} items); the running bot delivers it within seconds"
    )
    return EXIT_OK


# -- subscribers -------------------------------------------------------------


def cmd_subscribers_stats(args: argparse.Namespace, settings: Settings) -> int:
    engine = open_engine(settings)
    stats = engine.subscriber_stats()
    report = engine.last_delivery_report()
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
            f"{report.slot or 'by hand'}): {_delivery_line(report)}",
            markup=False,
        )
    return EXIT_OK


# -- wiring ------------------------------------------------------------------


def register(commands: Any, groups: dict[str, Any]) -> None:
    schedules = commands.add_parser(
        "schedules", help="list or change edition schedules (stored; overrides the config)"
    )
    schedules.set_defaults(run=cmd_schedules_list, json=False)
    actions = schedules.add_subparsers(dest="schedules_command", metavar="ACTION")
    listing = actions.add_parser("list", help="schedules with their next run (the default)")
    listing.add_argument("--json", action="store_true", help="one JSON object per schedule")
    listing.set_defaults(run=cmd_schedules_list)
    for name, about in (
        ("set", "change a schedule's times, time zone or sources"),
        ("add", "add a schedule"),
    ):
        change = actions.add_parser(name, help=about)
        change.add_argument("name", metavar="NAME")
        change.add_argument(
            "times", nargs="?" if name == "set" else None, metavar="TIMES", help="07:30[,18:00]"
        )
        change.add_argument("timezone", nargs="?", metavar="ZONE", help="IANA, e.g. Asia/Shanghai")
        change.add_argument("--sources", help="source names, comma-separated ('' for all)")
        change.set_defaults(run=cmd_schedules_change)
    for name, about in (
        ("remove", "remove a schedule (its editions and subscribers stay)"),
        ("pause", "build no editions until resumed"),
        ("resume", "build editions again from the next time on"),
    ):
        action = actions.add_parser(name, help=about)
        action.add_argument("name", metavar="NAME")
        action.set_defaults(run=cmd_schedules_change)

    editions = commands.add_parser("editions", help="list, show or send editions")
    edition_actions = editions.add_subparsers(
        dest="editions_command", required=True, metavar="ACTION"
    )
    listing = edition_actions.add_parser("list", help="recent editions and their deliveries")
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=cmd_editions_list)
    show = edition_actions.add_parser("show", help="print an edition and its delivery counts")
    show.add_argument("id", type=int, metavar="ID")
    show.set_defaults(run=cmd_editions_show)
    send = edition_actions.add_parser(
        "send", help="build the next edition now and release it to subscribers"
    )
    send.add_argument("--schedule", help="schedule name (default: bot.default_schedule)")
    send.set_defaults(run=cmd_editions_send)

    subscribers = commands.add_parser("subscribers", help="subscriber counts")
    subscriber_actions = subscribers.add_subparsers(
        dest="subscribers_command", required=True, metavar="ACTION"
    )
    stats = subscriber_actions.add_parser(
        "stats", help="active, blocked and unsubscribed chats; the last edition's delivery"
    )
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(run=cmd_subscribers_stats)
