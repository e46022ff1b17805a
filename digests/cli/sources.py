"""``newsdigest sources``: add, list, remove, enable (resume a paused source),
import (OPML) and export (OPML).

Import adds each feed through the same path as ``sources add`` (feeds only),
skips URLs already present, and reports each unusable entry in one line
without stopping. The exit status is non-zero when the file cannot be used at
all: unreadable, not OPML, no feed in it, or every feed in it invalid (nothing
could ever be imported from it). Export writes every feed source as OPML 2.0;
newspaper folders are not feeds and are left out (their number goes to stderr).

``list`` shows every value whole: in a terminal a table whose cells wrap (a
long URL folds over lines, never cut), in a pipe one tab-separated line per
source after a header line, and with ``--json`` one JSON object per line.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from digests.cli.common import EXIT_ERROR, EXIT_OK, open_engine, progress_bar, say_error
from digests.config import Settings, format_duration, parse_duration
from digests.engine import Engine, FeedImport
from digests.errors import InputError
from digests.ingest.netguard import parse_networks
from digests.ingest.opml import parse_opml, render_opml
from digests.plurals import counted
from digests.sources.adding import source_kind
from digests.store.sources import SourceRow

MAX_OPML_BYTES = 16 * 1024 * 1024
# The columns of ``sources list`` in a pipe, named in its header line.
FIELDS = tuple("id name kind location every articles last_check next_check state".split())
_NOT_IN_A_FIELD = re.compile(r"[\t\r\n]+")


def _interval(every: str | None, settings: Settings) -> int:
    try:
        return parse_duration(every) if every else settings.fetch.default_interval
    except ValueError as exc:
        raise InputError(f"--every: {exc}") from exc


def cmd_sources_add(args: argparse.Namespace, settings: Settings) -> int:
    # A bad location is reported before the database is opened.
    source_kind(args.location, allowed_networks=parse_networks(settings.fetch.allowed_networks))
    interval = _interval(args.every, settings)
    source = open_engine(settings).add_source(
        args.location, name=args.name, interval_seconds=interval
    )
    print(
        f"added source #{source.id}: {source.name} "
        f"({source.kind}, every {format_duration(interval)})"
    )
    return EXIT_OK


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else "-"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _as_json(row: SourceRow) -> str:
    return json.dumps(
        {
            "id": row.id,
            "kind": row.kind,
            "name": row.name,
            "location": row.location,
            "interval_seconds": row.interval_seconds,
            "articles": row.articles,
            "last_checked_at": _iso(row.last_checked_at),
            "next_check_at": _iso(row.next_check_at),
            "last_error": row.last_error,
            "error_count": row.error_count,
            "enabled": row.enabled,
            "paused_reason": row.disabled_reason if row.paused else None,
            "paused_at": _iso(row.disabled_at) if row.paused else None,
        },
        ensure_ascii=False,
    )


def _state(row: SourceRow) -> str:
    if row.paused:
        return f"paused {_when(row.disabled_at)}: {row.disabled_reason}"
    if row.last_error:
        return f"failing: {row.last_error} (x{row.error_count})"
    return "ok" if row.last_checked_at else "not fetched yet"


def _fields(row: SourceRow) -> dict[str, str]:
    """One source as the list shows it, by column."""
    return {
        "id": str(row.id),
        "name": row.name,
        "kind": row.kind,
        "location": row.location,
        "every": format_duration(row.interval_seconds),
        "articles": str(row.articles),
        "last_check": _when(row.last_checked_at),
        "next_check": "-" if row.paused else _when(row.next_check_at),
        "state": _state(row),
    }


def _table(rows: list[SourceRow]) -> Table:
    """The sources for a terminal: every cell wraps, a long word (a URL) folds;
    nothing is cut. A source's location is under its name when they differ."""
    table = Table(title="Sources")
    columns = ("id", "source", "kind", "every", "articles", "last check", "next check", "state")
    for column in columns:
        table.add_column(column, overflow="fold", no_wrap=False)
    for row in rows:
        fields = _fields(row)
        source = Text(fields["name"])
        if row.location != row.name:
            source.append(f"\n{row.location}", style="dim")
        later = ("kind", "every", "articles", "last_check", "next_check", "state")
        table.add_row(fields["id"], source, *(fields[key] for key in later))
    return table


def _tab_separated(values: Iterable[str]) -> str:
    return "\t".join(_NOT_IN_A_FIELD.sub(" ", value) for value in values)


def cmd_sources_list(args: argparse.Namespace, settings: Settings) -> int:
    rows = open_engine(settings).sources()
    if args.json:
        for row in rows:
            print(_as_json(row))
        return EXIT_OK
    console = Console()
    paused = sum(row.paused for row in rows)
    hint = f"{paused} paused: `newsdigest sources enable ID` resumes one" if paused else ""
    if console.is_terminal:
        console.print(_table(rows))
        if hint:
            print(hint)
        return EXIT_OK
    # A pipe: whole values, one source a line, for grep, cut and awk.
    print(_tab_separated(FIELDS))
    for row in rows:
        fields = _fields(row)
        print(_tab_separated(fields[key] for key in FIELDS))
    if hint:
        print(hint, file=sys.stderr)
    return EXIT_OK


def cmd_sources_enable(args: argparse.Namespace, settings: Settings) -> int:
    source, was_paused = open_engine(settings).enable_source(args.source)
    if was_paused is None:
        print(f"source #{source.id}: {source.name} is not paused; nothing changed")
    else:
        print(
            f"resumed source #{source.id}: {source.name} (it was paused: {was_paused}); "
            "it is fetched in the next round"
        )
    return EXIT_OK


def cmd_sources_remove(args: argparse.Namespace, settings: Settings) -> int:
    source = open_engine(settings).remove_source(args.source, purge=args.purge)
    kept = "its articles deleted" if args.purge else "its articles kept"
    print(f"removed source #{source.id}: {source.name} ({kept})")
    return EXIT_OK


# -- OPML ----------------------------------------------------------------------


def _read(path: str) -> bytes:
    try:
        if path == "-":
            data = sys.stdin.buffer.read(MAX_OPML_BYTES + 1)
        else:
            with open(path, "rb") as handle:
                data = handle.read(MAX_OPML_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if len(data) > MAX_OPML_BYTES:
        raise InputError(f"{path}: larger than {MAX_OPML_BYTES // (1024 * 1024)} MiB, not OPML")
    return data


def _no_database_yet(settings: Settings) -> bool:
    """A SQLite file not created yet: a dry run has nothing to compare with and
    must not create it."""
    try:
        url = make_url(settings.database_url)
    except ArgumentError:
        return False  # opening it says what is wrong
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return False
    return not Path(url.database).expanduser().exists()


def cmd_sources_import(args: argparse.Namespace, settings: Settings) -> int:
    interval = _interval(args.every, settings)
    data = _read(args.file)
    try:
        document = parse_opml(data)
    except InputError as exc:
        raise InputError(f"{args.file}: {exc}") from exc
    if not document.feeds:
        raise InputError(f"{args.file}: no feeds in it (no outline has an xmlUrl)")
    outcomes: Iterator[FeedImport]
    if args.dry_run and _no_database_yet(settings):
        allowed = parse_networks(settings.fetch.allowed_networks)
        outcomes = Engine.check_feeds(document.feeds, present=set(), allowed=allowed)
    else:
        outcomes = open_engine(settings).import_feeds(
            document.feeds, interval_seconds=interval, dry_run=args.dry_run
        )
    counts = dict.fromkeys(("added", "present", "invalid"), 0)
    with progress_bar("importing feeds") as progress:
        task = progress.add_task("import", total=len(document.feeds))
        for done in outcomes:
            counts[done.outcome] += 1
            feed = done.feed
            if done.outcome == "invalid":
                say_error(f"newsdigest: {args.file}: {feed.title or feed.url}: {done.problem}")
            elif done.outcome == "added" and args.dry_run:
                print(f"would add: {feed.title or feed.url} <{feed.url}>")
            progress.advance(task)
    verb = "would add" if args.dry_run else "added"
    summary = (
        f"{verb} {counts['added']}, already present {counts['present']}, "
        f"invalid {counts['invalid']} (every {format_duration(interval)})"
    )
    if document.duplicates:
        summary += f"; {document.duplicates} repeated in the file, counted once"
    print(summary)
    if counts["invalid"] == len(document.feeds):
        say_error(f"newsdigest: {args.file}: nothing to import: every feed in it is invalid")
        return EXIT_ERROR
    return EXIT_OK


def cmd_sources_export(args: argparse.Namespace, settings: Settings) -> int:
    feeds, skipped = open_engine(settings).export_feeds()
    data = render_opml(feeds, title="newsdigest sources", created=datetime.now(UTC))
    if args.file in (None, "-"):
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        try:
            Path(args.file).write_bytes(data)
        except OSError as exc:
            raise InputError(f"{args.file}: cannot write ({exc.strerror or exc})") from exc
    note = f"exported {counted('en', len(feeds), 'feed', 'feeds')}"
    if skipped:
        note += f"; left out {skipped} newspaper-folder source(s), which are not feeds"
    say_error(f"newsdigest: {note}")
    return EXIT_OK


def register(commands: Any, groups: dict[str, Any]) -> None:
    sources = commands.add_parser(
        "sources", help="add, list, remove, enable, import or export sources"
    )
    actions = sources.add_subparsers(dest="sources_command", required=True, metavar="ACTION")
    groups["sources"] = actions

    add = actions.add_parser("add", help="add a feed URL or a folder of newspaper issues")
    add.add_argument("location", metavar="URL_OR_FOLDER")
    add.add_argument("--name", help="display name")
    add.add_argument("--every", help="fetch interval, e.g. 30m, 2h (default from config)")
    add.set_defaults(run=cmd_sources_add)
    listing = actions.add_parser("list", help="list sources with their state")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(run=cmd_sources_list)
    remove = actions.add_parser("remove", help="stop fetching a source")
    remove.add_argument("source", metavar="ID_OR_URL")
    remove.add_argument("--purge", action="store_true", help="also delete its stored articles")
    remove.set_defaults(run=cmd_sources_remove)
    enable = actions.add_parser(
        "enable", help="resume a source paused after permanent failures (410, repeated errors)"
    )
    enable.add_argument("source", metavar="ID_OR_URL")
    enable.set_defaults(run=cmd_sources_enable)

    importing = actions.add_parser(
        "import", help="add the feeds of an OPML file (exported by another feed reader)"
    )
    importing.add_argument("file", metavar="FILE.opml", help="an OPML 1.0/2.0 file, or -")
    importing.add_argument(
        "--dry-run", action="store_true", help="show what would be added; change nothing"
    )
    importing.add_argument("--every", help="fetch interval, e.g. 30m, 2h (default from config)")
    importing.set_defaults(run=cmd_sources_import)
    exporting = actions.add_parser("export", help="write every feed source as OPML 2.0")
    exporting.add_argument("file", nargs="?", metavar="FILE", help="where to write (default: -)")
    exporting.set_defaults(run=cmd_sources_export)
