"""``newsdigest db migrate-to URL``: copy the configured database into another
(SQLite to PostgreSQL, or SQLite to a fresh, compact SQLite file)."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from digests.config import Settings
from digests.errors import InputError
from digests.redact import register_secret
from digests.store.copy import (
    BATCH_ROWS,
    CopyReport,
    SearchRebuild,
    copy_database,
    open_target,
    rebuild_search,
)
from digests.store.db import Database, describe_url

ENGINE_NAMES = {
    "tantivy": "tantivy",
    "fts5": "SQLite FTS5",
    "postgresql": "PostgreSQL full text",
}


def _register_password(url: str) -> None:
    try:
        password = make_url(url).password
    except ArgumentError:
        return
    if password:
        register_secret(str(password))


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<16}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,  # the table of counts says it all when done; errors stay one line
        disable=not console.is_terminal,
    )


def _copy(source: Database, target: Database, batch: int, console: Console) -> CopyReport:
    with _progress(console) as progress:
        tasks: dict[str, Any] = {}

        def started(table: str, rows: int) -> None:
            tasks[table] = progress.add_task(table, total=rows)

        def copied(table: str, rows: int) -> None:
            progress.advance(tasks[table], rows)

        return copy_database(source, target, batch=batch, on_table=started, on_rows=copied)


def _reindex(
    target: Database, settings: Settings, source_is_sqlite: bool, console: Console
) -> SearchRebuild:
    with _progress(console) as progress:
        task = progress.add_task("search index", total=None)
        return rebuild_search(
            target,
            settings.search,
            source_is_sqlite=source_is_sqlite,
            on_total=lambda total: progress.update(task, total=total),
            on_progress=lambda done, _total: progress.update(task, completed=done),
        )


def _counts_table(report: CopyReport) -> Table:
    table = Table(title="Rows copied")
    table.add_column("table")
    table.add_column("source", justify="right")
    table.add_column("target", justify="right")
    table.add_column("")
    for count in report.tables:
        table.add_row(
            count.table,
            f"{count.source:,}",
            f"{count.target:,}",
            "ok" if count.matches else "MISMATCH",
        )
    return table


def cmd_migrate_to(args: argparse.Namespace, settings: Settings) -> int:
    from digests.cli import EXIT_ERROR, EXIT_OK, err_console

    if args.batch_size < 1:
        raise InputError("--batch-size must be at least 1")
    _register_password(settings.database_url)
    _register_password(args.url)
    source = Database(settings.database_url)
    target = open_target(args.url)
    shown = describe_url(args.url)
    try:
        report = _copy(source, target, args.batch_size, err_console)
        search = _reindex(target, settings, source.is_sqlite, err_console)
    finally:
        source.close()
        target.close()
    Console(highlight=False).print(_counts_table(report))
    print(
        f"copied {describe_url(settings.database_url)} into {shown} "
        f"(schema revision {report.revision})"
    )
    where = f" in {search.directory}" if search.directory else ""
    print(
        f"search index rebuilt on the target ({ENGINE_NAMES[search.engine]}{where}): "
        f"{search.indexed:,} articles indexed (the source's index is not copied)"
    )
    if not report.matches:
        print("row counts differ: do not switch to the target")
        return EXIT_ERROR
    if search.moved:
        print(
            f"search.index_dir names the source's index: set it to {search.directory} "
            "(or remove it) along with the database URL"
        )
    print(
        f"next: set NEWSDIGEST_DATABASE_URL (or database_url in config.toml) to {shown} "
        "and restart newsdigest; the source is left as it was"
    )
    return EXIT_OK


def register(commands: Any, groups: dict[str, Any]) -> None:
    migrate = groups["db"].add_parser(
        "migrate-to",
        help="copy every row of the configured database into another, empty one "
        "(e.g. postgresql+psycopg://user@host/db)",
    )
    migrate.add_argument(
        "url", metavar="URL", help="the target database (its password may come from PGPASSWORD)"
    )
    migrate.add_argument(
        "--batch-size",
        type=int,
        default=BATCH_ROWS,
        help=f"rows read and inserted at a time (default {BATCH_ROWS})",
    )
    migrate.set_defaults(run=cmd_migrate_to)
