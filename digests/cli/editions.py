"""Editions and their schedules: ``digest`` (build or preview one and print
it), ``schedules`` (list or change them) and ``editions`` (list, show, send).

Schedule changes are stored in the database (they override the config file);
a running bot picks them up within ``digests.runtime``'s sync interval.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from digests.cli.common import EXIT_OK, open_engine, say_error
from digests.config import Settings
from digests.editions.pages import render_page, render_text
from digests.editions.reports import DeliveryReport
from digests.editions.schedule import upcoming_slot
from digests.engine import Engine
from digests.errors import InputError
from digests.plurals import counted
from digests.store.schedules import ScheduleState

# -- digest ------------------------------------------------------------------


def cmd_digest(args: argparse.Namespace, settings: Settings) -> int:
    built = open_engine(settings).due_edition(args.schedule, preview=args.preview)
    language = settings.digest.language
    title = settings.digest.title_for(language)
    zone = ZoneInfo(settings.digest.timezone)
    print(render_text(built.digest, language=language, title=title, tz=zone))
    if args.html:
        page = render_page(built.digest, language=language, title=title, tz=zone)
        try:
            Path(args.html).write_text(page, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"--html: cannot write {args.html} ({exc.strerror or exc})") from exc
    if args.preview:
        state = "preview, not saved"
    elif built.created:
        state = "built and saved"
    elif built.stored:
        state = "already built; shown as saved"
    else:
        state = "nothing new; no edition saved (digest.empty_edition = skip)"
    say_error(f"newsdigest: edition {args.schedule} {built.digest.edition_date}: {state}")
    return EXIT_OK


# -- schedules ---------------------------------------------------------------


def schedule_record(state: ScheduleState, now: datetime) -> dict[str, Any]:
    """A schedule in force (``Engine.schedule_states``) as shown and as JSON."""
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


def _print_schedules(engine: Engine, states: list[ScheduleState], as_json: bool) -> None:
    now = engine.clock()
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
    _print_schedules(engine, engine.schedule_states(), args.json)
    return EXIT_OK


def _times(text: str) -> list[str]:
    """ "07:30,18:00" or "07:30 18:00" -> ["07:30", "18:00"] (checked by the engine)."""
    return [part for part in text.replace(",", " ").split() if part]


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
            times=_times(args.times) if args.times else None,
            timezone=args.timezone,
            sources=_sources(args.sources),
        )
    elif action == "add":
        state = engine.add_schedule(
            args.name,
            times=_times(args.times),
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
    _print_schedules(engine, [state], as_json=False)
    return EXIT_OK


# -- editions ----------------------------------------------------------------


def _state_counts(counts: dict[str, int]) -> str:
    order = ("sent", "pending", "sending", "failed", "withheld", "unknown", "skipped")
    return ", ".join(f"{state} {counts[state]}" for state in order if counts.get(state))


def delivery_line(report: DeliveryReport) -> str:
    """How an edition's delivery went, in one line."""
    counts = _state_counts(report.counts) or "no deliveries planned yet"
    duration = report.duration_seconds
    took = f"; last message {duration:.0f}s after the build" if duration is not None else ""
    return f"{counts} to {counted('en', report.chats, 'chat', 'chats')}{took}"


def cmd_editions_list(args: argparse.Namespace, settings: Settings) -> int:
    reports = open_engine(settings).edition_reports(args.limit)
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
    digest, report = open_engine(settings).edition_with_report(args.id)
    print(
        render_text(
            digest,
            language=settings.digest.language,
            title=settings.digest.title_for(settings.digest.language),
            tz=ZoneInfo(settings.digest.timezone),
        )
    )
    print()
    print(f"edition #{report.edition_id}: {delivery_line(report)}")
    return EXIT_OK


def cmd_editions_send(args: argparse.Namespace, settings: Settings) -> int:
    state, slot, built = open_engine(settings).release_next_edition(args.schedule)
    what = "built now" if built.created else "was built already"
    say_error(
        f"newsdigest: edition {state.name} {slot.edition_date} {slot.slot} {what} "
        f"({len(built.digest.items)} items); the running bot delivers it within seconds"
    )
    return EXIT_OK


# -- wiring ------------------------------------------------------------------


def register(commands: Any, groups: dict[str, Any]) -> None:
    digest = commands.add_parser("digest", help="build (or preview) an edition and print it")
    digest.add_argument("--schedule", default="daily", help="schedule name (default: daily)")
    digest.add_argument("--preview", action="store_true", help="compose without saving")
    digest.add_argument("--html", metavar="FILE", help="also write the edition as an HTML page")
    digest.set_defaults(run=cmd_digest)

    schedules = commands.add_parser(
        "schedules", help="list or change edition schedules (stored; overrides the config)"
    )
    schedules.set_defaults(run=cmd_schedules_list, json=False)
    actions = schedules.add_subparsers(dest="schedules_command", metavar="ACTION")
    groups["schedules"] = actions
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
    groups["editions"] = edition_actions
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
