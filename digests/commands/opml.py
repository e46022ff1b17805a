"""``newsdigest sources import FILE.opml`` and ``sources export [FILE]``.

Import adds each feed through the same path as ``sources add``
(``digests.sources.adding``, feeds only), skips URLs already present, and
reports each unusable entry in one line without stopping. The exit status is
non-zero when the file cannot be used at all: unreadable, not OPML, no feed in
it, or every feed in it invalid (nothing could ever be imported from it).
Export writes every feed source as OPML 2.0; newspaper folders are not feeds
and are left out (their number goes to stderr).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from digests.cli import EXIT_ERROR, EXIT_OK, open_database, progress_bar, say_error
from digests.config import Settings, format_duration, parse_duration
from digests.errors import BlockedAddress, InputError
from digests.ingest.limits import MAX_URL_CHARS
from digests.ingest.opml import OpmlFeed, parse_opml, render_opml
from digests.sources.adding import MAX_NAME_CHARS, add_from_location, source_kind
from digests.store.db import Database
from digests.store.sources import list_sources

MAX_OPML_BYTES = 16 * 1024 * 1024


@dataclass
class ImportCounts:
    added: int = 0
    present: int = 0
    invalid: int = 0


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


def _problem(feed: OpmlFeed) -> str | None:
    """Why ``sources add`` would refuse this feed's URL, or None. A file never
    names a local folder: only feeds come in this way."""
    if len(feed.url) > MAX_URL_CHARS:
        return f"URL longer than {MAX_URL_CHARS} characters"
    try:
        source_kind(feed.url, folders=False)
    except (InputError, BlockedAddress) as exc:
        return str(exc)
    return None


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


def _add(db: Database, feed: OpmlFeed, interval: int) -> bool:
    """Add one feed; False when it turned out to be present already."""
    name = (feed.title or feed.url)[:MAX_NAME_CHARS]
    try:
        with db.write() as session:
            add_from_location(
                session, feed.url, name=name, interval_seconds=interval, folders=False
            )
    except InputError:  # added meanwhile by someone else
        return False
    return True


def cmd_sources_import(args: argparse.Namespace, settings: Settings) -> int:
    try:
        interval = parse_duration(args.every) if args.every else settings.fetch.default_interval
    except ValueError as exc:
        raise InputError(f"--every: {exc}") from exc
    data = _read(args.file)
    try:
        document = parse_opml(data)
    except InputError as exc:
        raise InputError(f"{args.file}: {exc}") from exc
    if not document.feeds:
        raise InputError(f"{args.file}: no feeds in it (no outline has an xmlUrl)")
    db = None if args.dry_run and _no_database_yet(settings) else open_database(settings)
    present: set[str] = set()
    if db is not None:
        with db.read() as session:
            present = {row.location for row in list_sources(session)}
    counts = ImportCounts()
    with progress_bar("importing feeds") as progress:
        task = progress.add_task("import", total=len(document.feeds))
        for feed in document.feeds:
            if feed.url in present:
                counts.present += 1
            elif (problem := _problem(feed)) is not None:
                counts.invalid += 1
                say_error(f"newsdigest: {args.file}: {feed.title or feed.url}: {problem}")
            elif args.dry_run:
                counts.added += 1
                print(f"would add: {feed.title or feed.url} <{feed.url}>")
            elif db is not None and _add(db, feed, interval):
                counts.added += 1
            else:
                counts.present += 1
            present.add(feed.url)
            progress.advance(task)
    verb = "would add" if args.dry_run else "added"
    summary = (
        f"{verb} {counts.added}, already present {counts.present}, invalid {counts.invalid}"
        f" (every {format_duration(interval)})"
    )
    if document.duplicates:
        summary += f"; {document.duplicates} repeated in the file, counted once"
    print(summary)
    if counts.invalid == len(document.feeds):
        say_error(f"newsdigest: {args.file}: nothing to import: every feed in it is invalid")
        return EXIT_ERROR
    return EXIT_OK


def cmd_sources_export(args: argparse.Namespace, settings: Settings) -> int:
    db = open_database(settings)
    with db.read() as session:
        rows = list_sources(session)
    feeds = [
        OpmlFeed(url=row.location, title=None if row.name == row.location else row.name)
        for row in rows
        if row.kind == "feed"
    ]
    data = render_opml(feeds, title="newsdigest sources", created=datetime.now(UTC))
    if args.file in (None, "-"):
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        try:
            Path(args.file).write_bytes(data)
        except OSError as exc:
            raise InputError(f"{args.file}: cannot write ({exc.strerror or exc})") from exc
    skipped = len(rows) - len(feeds)
    note = f"exported {len(feeds)} feeds"
    if skipped:
        note += f"; left out {skipped} newspaper-folder source(s), which are not feeds"
    say_error(f"newsdigest: {note}")
    return EXIT_OK


def register(commands: Any, groups: dict[str, Any]) -> None:
    sources = groups["sources"]
    importing = sources.add_parser(
        "import", help="add the feeds of an OPML file (exported by another feed reader)"
    )
    importing.add_argument("file", metavar="FILE.opml", help="an OPML 1.0/2.0 file, or -")
    importing.add_argument(
        "--dry-run", action="store_true", help="show what would be added; change nothing"
    )
    importing.add_argument("--every", help="fetch interval, e.g. 30m, 2h (default from config)")
    importing.set_defaults(run=cmd_sources_import)
    exporting = sources.add_parser("export", help="write every feed source as OPML 2.0")
    exporting.add_argument("file", nargs="?", metavar="FILE", help="where to write (default: -)")
    exporting.set_defaults(run=cmd_sources_export)
