"""Copy every row of one newsdigest database into another, empty one.

The way from one SQLite file to PostgreSQL (``newsdigest db migrate-to``),
and also SQLite to SQLite (compaction) or PostgreSQL to PostgreSQL:

1. the source must be at the newest schema revision; it is only read, in one
   snapshot (one read transaction), so a running bot may keep writing to it;
2. the target must hold no rows; it is brought to the newest revision by the
   same Alembic migrations as every database;
3. the mapped tables are copied in foreign-key order, streamed from the
   source and inserted in batches, all in one target transaction: a failure
   leaves the target without a row (its schema stays, so a retry just works);
4. PostgreSQL sequences are moved past the copied ids;
5. row counts are compared per table, and the target's revision checked.

The search index is engine-specific (FTS5 tables or a tantivy directory on
SQLite, tsvector documents on PostgreSQL; migrations 0005 and 0006) and is not
copied: the articles arrive marked unindexed (``indexed_hash`` NULL) and
``rebuild_search`` builds the target's own index the way ``newsdigest reindex``
does.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import JSON, Table, func, inspect, null, select
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from digests.config import SearchSettings
from digests.errors import InputError, StoreError
from digests.store.db import MIGRATIONS, Database, describe_url
from digests.store.models import Base

BATCH_ROWS = 1000
BACKENDS = ("sqlite", "postgresql")
# Columns whose value describes the source's own search index, not the data:
# the target's index starts empty.
RESET_COLUMNS: dict[str, dict[str, Any]] = {"articles": {"indexed_hash": None}}


@dataclass(frozen=True, slots=True)
class TableCount:
    table: str
    source: int
    target: int

    @property
    def matches(self) -> bool:
        return self.source == self.target


@dataclass(frozen=True, slots=True)
class CopyReport:
    tables: list[TableCount]
    revision: str  # the target's schema revision after the copy

    @property
    def matches(self) -> bool:
        return all(count.matches for count in self.tables)


@dataclass(frozen=True, slots=True)
class SearchRebuild:
    engine: str  # "tantivy" | "fts5" | "postgresql"
    indexed: int
    directory: Path | None  # a tantivy index's directory
    moved: bool  # the configured search.index_dir is the source's: built beside the target


def mapped_tables() -> list[Table]:
    """Every table the models map, parents before children."""
    return list(Base.metadata.sorted_tables)


def schema_head() -> str:
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def _one_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return " ".join(str(orig).split())


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """Driver and Alembic errors as one StoreError line naming what failed."""
    try:
        yield
    except (DBAPIError, CommandError) as exc:
        raise StoreError(f"{what}: {_one_line(exc)}") from exc


def open_target(url: str) -> Database:
    """The target database, from a URL given on the command line."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        # Not chained: the parser's message repeats the URL, password and all,
        # before the password could be registered as a secret.
        raise InputError("the target is not a valid database URL") from None
    backend = parsed.get_backend_name()
    if backend not in BACKENDS:
        raise InputError(
            f"cannot migrate to {describe_url(url)}: only sqlite and postgresql are supported"
        )
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise InputError("the target SQLite URL names no file")
    return Database(url)


def _sqlite_path(db: Database) -> Path | None:
    database = db.engine.url.database
    if not db.is_sqlite or not database or database == ":memory:":
        return None
    return Path(database).expanduser().resolve()


def _same_database(source: Database, target: Database) -> bool:
    if source.is_sqlite or target.is_sqlite:
        return source.is_sqlite == target.is_sqlite and _sqlite_path(source) == _sqlite_path(target)
    a, b = source.engine.url, target.engine.url
    return (a.get_backend_name(), a.host, a.port or 5432, a.database) == (
        b.get_backend_name(),
        b.host,
        b.port or 5432,
        b.database,
    )


def current_revision(connection: Connection) -> str | None:
    heads = MigrationContext.configure(connection).get_current_heads()
    return heads[0] if len(heads) == 1 else None


def check_source(source: Database) -> None:
    """The source exists and its schema is the newest (it is never upgraded here)."""
    path = _sqlite_path(source)
    if source.is_sqlite and (path is None or not path.is_file()):
        raise InputError(f"no database to copy at {describe_url(source.url)}")
    opening = f"cannot open the database {describe_url(source.url)}"
    with _translated(opening), source.engine.connect() as connection:
        revision = current_revision(connection)
    head = schema_head()
    if revision is None:
        raise StoreError(
            f"{describe_url(source.url)} holds no newsdigest schema: nothing to migrate"
        )
    if revision != head:
        raise StoreError(
            f"{describe_url(source.url)} is at schema revision {revision}, not the newest "
            f"({head}): run `newsdigest db upgrade` first"
        )


def _tables_with_rows(connection: Connection) -> list[str]:
    present = set(inspect(connection).get_table_names())
    return [
        table.name
        for table in mapped_tables()
        if table.name in present
        and connection.execute(select(1).select_from(table).limit(1)).first() is not None
    ]


def prepare_target(target: Database) -> None:
    """Refuse a target holding rows (before migrating it), then bring it to head."""
    shown = describe_url(target.url)
    with _translated(f"cannot use the target {shown}"), target.engine.connect() as connection:
        occupied = _tables_with_rows(connection)
    if occupied:
        raise StoreError(
            f"the target {shown} already holds data ({', '.join(occupied)}): "
            "migrate-to only fills an empty database"
        )
    # Alembic's CommandError: e.g. a schema revision this version does not know
    with _translated(f"cannot migrate the target {shown}"):
        target.upgrade()


def _rows(connection: Connection, table: Table, batch: int) -> Iterator[list[dict[str, Any]]]:
    """The table's rows in primary-key order, ``batch`` at a time, read from a
    server-side cursor. JSON columns keep SQL NULL apart from JSON null."""
    json_columns = [c for c in table.columns if isinstance(c.type, JSON)]
    flags = [c.is_(None).label(f"_null_{c.name}") for c in json_columns]
    reset = RESET_COLUMNS.get(table.name, {})
    result = connection.execute(
        select(*table.columns, *flags).order_by(*table.primary_key.columns),
        execution_options={"stream_results": True, "yield_per": batch},
    )
    for part in result.partitions():
        rows = []
        for row in part:
            values = row._mapping
            record = {c.name: values[c.name] for c in table.columns}
            for column in json_columns:
                if values[f"_null_{column.name}"]:
                    record[column.name] = null()
            record.update(reset)
            rows.append(record)
        yield rows


def _reset_sequences(connection: Connection) -> None:
    """PostgreSQL: each serial id's sequence continues after the copied ids.
    (SQLite needs nothing: no table uses AUTOINCREMENT, a new rowid is max + 1.)"""
    for table in mapped_tables():
        column = table.autoincrement_column
        if column is None:
            continue
        sequence = connection.scalar(select(func.pg_get_serial_sequence(table.name, column.name)))
        if sequence is None:
            continue
        highest = connection.scalar(select(func.max(column)))
        connection.execute(select(func.setval(sequence, highest or 1, highest is not None)))


class _PipelineNoise(logging.Filter):
    """psycopg's executemany runs in pipeline mode; after a refused row it also
    logs "error ignored terminating <Pipeline>: pipeline aborted", a second
    account of the error the copy already reports in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("error ignored terminating")


@contextmanager
def _without_pipeline_noise() -> Iterator[None]:
    noise = _PipelineNoise()
    psycopg_log = logging.getLogger("psycopg")
    psycopg_log.addFilter(noise)
    try:
        yield
    finally:
        psycopg_log.removeFilter(noise)


@contextmanager
def _snapshot(source: Database) -> Iterator[Connection]:
    """One read transaction on the source: every table as of one moment."""
    with source.engine.connect() as connection:
        if not source.is_sqlite:
            connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        with connection.begin():
            yield connection


def _count(connection: Connection, table: Table) -> int:
    return int(connection.scalar(select(func.count()).select_from(table)) or 0)


def _copy_table(
    reader: Connection,
    writer: Connection,
    table: Table,
    batch: int,
    on_rows: Callable[[str, int], None] | None,
    shown: str,
) -> int:
    copied = 0
    for rows in _rows(reader, table, batch):
        with _translated(f"cannot copy table {table.name} into {shown} (the target is left empty)"):
            writer.execute(table.insert(), rows)
        copied += len(rows)
        if on_rows is not None:
            on_rows(table.name, len(rows))
    return copied


def copy_database(
    source: Database,
    target: Database,
    *,
    batch: int = BATCH_ROWS,
    on_table: Callable[[str, int], None] | None = None,
    on_rows: Callable[[str, int], None] | None = None,
) -> CopyReport:
    """Copy every mapped row of ``source`` into the empty ``target``.

    ``on_table(name, rows)`` before each table, ``on_rows(name, n)`` after
    each batch of n rows."""
    if batch < 1:
        raise InputError("the batch size must be at least 1")
    if _same_database(source, target):
        raise InputError("the target is the configured database itself")
    check_source(source)
    prepare_target(target)
    shown = describe_url(target.url)
    expected: dict[str, int] = {}
    failed = f"cannot copy {describe_url(source.url)} into {shown} (the target is left empty)"
    with (
        _without_pipeline_noise(),
        _translated(failed),
        _snapshot(source) as reader,
        target.write_statements() as writer,
    ):
        for table in mapped_tables():
            expected[table.name] = _count(reader, table)
            if on_table is not None:
                on_table(table.name, expected[table.name])
            copied = _copy_table(reader, writer, table, batch, on_rows, shown)
            if copied != expected[table.name]:
                raise StoreError(
                    f"table {table.name}: read {copied} rows of {expected[table.name]} "
                    "(the target is left empty)"
                )
        if writer.dialect.name == "postgresql":
            _reset_sequences(writer)
    with _translated(f"cannot verify {shown}"), target.engine.connect() as connection:
        counts = [
            TableCount(table.name, expected[table.name], _count(connection, table))
            for table in mapped_tables()
        ]
        revision = current_revision(connection)
    if revision != schema_head():
        raise StoreError(f"the target {shown} ended at schema revision {revision}, not the newest")
    return CopyReport(counts, revision)


def target_search(
    target: Database, search: SearchSettings, *, source_is_sqlite: bool
) -> tuple[SearchSettings, SearchRebuild]:
    """The target's own search settings, and what its index will be (``indexed``
    still 0: the engine builds it, as ``newsdigest reindex`` does).

    A SQLite target with tantivy: a configured ``search.index_dir`` belongs to
    a SQLite source, so the target's index goes to its default place beside
    the file (``<file>.search``) and the caller tells the operator."""
    engine = search.engine if target.is_sqlite else "postgresql"
    directory: Path | None = None
    moved = False
    if target.is_sqlite and search.engine == "tantivy":
        path = _sqlite_path(target)
        assert path is not None
        moved = bool(search.index_dir) and source_is_sqlite
        directory = Path(search.index_dir) if search.index_dir and not moved else None
        directory = directory or path.with_name(path.name + ".search")
    index_dir = str(directory) if directory else search.index_dir
    settings = search.model_copy(update={"index_dir": index_dir})
    return settings, SearchRebuild(engine, 0, directory, moved)


def copy_errors(what: str) -> contextlib.AbstractContextManager[None]:
    """Driver and Alembic errors inside the block as one ``StoreError`` naming ``what``."""
    return _translated(what)
