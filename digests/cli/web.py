"""``newsdigest web``: the addresses of the edition pages, and revoking a
schedule's links (its private pages' old links then 404)."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from digests.cli.common import EXIT_OK, open_engine
from digests.config import Settings
from digests.errors import InputError


def cmd_web_link(args: argparse.Namespace, settings: Settings) -> int:
    engine = open_engine(settings)
    schedule = engine.find_schedule(args.schedule).name
    if args.date is None:
        print(engine.archive_link(schedule))
        return EXIT_OK
    if not settings.web.base_url:
        raise InputError("web.base_url is not set: editions have no address to link to")
    edition = engine.day_edition(schedule, args.date)
    if edition is None:
        raise InputError(f"no edition of {schedule!r} on {args.date.isoformat()}")
    print(engine.edition_link(edition, engine.web_language(args.lang)))
    return EXIT_OK


def cmd_web_revoke(args: argparse.Namespace, settings: Settings) -> int:
    engine = open_engine(settings)
    schedule = engine.find_schedule(args.schedule).name
    engine.revoke_web_links(schedule)
    note = (
        " (it is public: its pages stay open to anyone while it is in web.public)"
        if engine.is_public(schedule)
        else ""
    )
    print(
        f"{schedule}: every link to its pages made so far now opens nothing; "
        f"editions from now on carry new ones{note}"
    )
    return EXIT_OK


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-12-05") from None


def register(commands: Any, groups: dict[str, Any]) -> None:
    web = commands.add_parser("web", help="edition pages: their links, revoking them")
    actions = web.add_subparsers(dest="web_command", required=True, metavar="ACTION")
    groups["web"] = actions
    link = actions.add_parser(
        "link", help="the archive's address (with its token when private), or an edition's"
    )
    link.add_argument("schedule")
    link.add_argument("--date", type=_day, help="an edition's date: its page's address")
    link.add_argument("--lang", choices=("zh", "en"), help="the page's language")
    link.set_defaults(run=cmd_web_link)
    revoke = actions.add_parser(
        "revoke", help="a new key for the schedule: every link to its private pages 404s"
    )
    revoke.add_argument("schedule")
    revoke.set_defaults(run=cmd_web_revoke)
