"""``newsdigest db``: ``upgrade`` (migrate the schema) and ``migrate-to URL``
(copy the configured database into another: SQLite to PostgreSQL, or SQLite to
a fresh, compact SQLite file)."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from digests.cli.common import EXIT_ERROR, EXIT_OK, open_engine, progress_bar
from digests.config import Settings
from digests.engine import Engine, Migration
from digests.errors import InputError
from digests.redact import register_secret
from digests.store.copy import BATCH_ROWS

ENGINE_NAMES = {
    "tantivy": "tantivy",
    "fts5": "SQLite FTS5",
    "postgresql": "PostgreSQL full text",
}


def cmd_db_upgrade(_args: argparse.Namespace, settings: Settings) -> int:
    open_engine(settings).close()
    print("database schema is up to date")
    return EXIT_OK


def _register_password(url: str) -> None:
    """A password given on the command line is a secret from the start."""
    try:
        password = make_url(url).password
    except ArgumentError:
        return
    if password:
        register_secret(str(password))


def migrate_with_progress(engine: Engine, url: str, batch: int = BATCH_ROWS) -> Migration:
    """``engine.migrate_to(url)`` with a progress bar per table and for the
    search index (on stderr, when it is a terminal; gone when done)."""
    # The table of counts says it all when done; errors stay one line.
    with progress_bar("{task.description:<16}") as progress:
        tasks: dict[str, Any] = {}

        def started(table: str, rows: int) -> None:
            tasks[table] = progress.add_task(table, total=rows)

        def copied(table: str, rows: int) -> None:
            progress.advance(tasks[table], rows)

        def indexing(total: int) -> None:
            tasks["search index"] = progress.add_task("search index", total=total)

        def indexed(done: int, _total: int) -> None:
            progress.update(tasks["search index"], completed=done)

        return engine.migrate_to(
            url,
            batch=batch,
            on_table=started,
            on_rows=copied,
            on_index_total=indexing,
            on_index_progress=indexed,
        )


def _counts_table(migration: Migration) -> Table:
    table = Table(title="Rows copied")
    table.add_column("table")
    table.add_column("source", justify="right")
    table.add_column("target", justify="right")
    table.add_column("")
    for count in migration.report.tables:
        table.add_row(
            count.table,
            f"{count.source:,}",
            f"{count.target:,}",
            "ok" if count.matches else "MISMATCH",
        )
    return table


def cmd_migrate_to(args: argparse.Namespace, settings: Settings) -> int:
    if args.batch_size < 1:
        raise InputError("--batch-size must be at least 1")
    _register_password(settings.database_url)
    _register_password(args.url)
    engine = Engine.open_as_is(settings)  # the source is only read, never upgraded
    try:
        migration = migrate_with_progress(engine, args.url, args.batch_size)
    finally:
        engine.close()
    report, search = migration.report, migration.search
    Console(highlight=False).print(_counts_table(migration))
    print(f"copied {migration.source} into {migration.target} (schema revision {report.revision})")
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
        f"next: set NEWSDIGEST_DATABASE_URL (or database_url in config.toml) to {migration.target} "
        "and restart newsdigest; the source is left as it was"
    )
    return EXIT_OK


def register(commands: Any, groups: dict[str, Any]) -> None:
    db = commands.add_parser("db", help="database maintenance")
    actions = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    groups["db"] = actions
    upgrade = actions.add_parser("upgrade", help="migrate the schema to the newest version")
    upgrade.set_defaults(run=cmd_db_upgrade)
    migrate = actions.add_parser(
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
