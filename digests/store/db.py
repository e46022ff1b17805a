"""Engine, sessions and schema upgrades.

SQLite runs in WAL mode with a busy timeout. In WAL a transaction that reads
and then writes fails at once with "database is locked" whatever the timeout,
so write transactions start with ``BEGIN IMMEDIATE`` (they take the write lock
up front and wait for it); read transactions use a plain ``BEGIN``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session

from digests.errors import ConfigError, StoreError
from digests.redact import register_secret

MIGRATIONS = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS = 15_000
# PostgreSQL advisory lock keys are (namespace, id); ids below 16 are jobs one
# process at a time does (see digests.store.workers), the rest worker ids.
ADVISORY_LOCK_NAMESPACE = 0x6E64  # "nd"
MIGRATION_LOCK_ID = 2


def _sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def describe_url(url: str) -> str:
    """The database URL with any password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid database url>"


def _without_jit(url: URL) -> str:
    """The connection's ``options`` with JIT off (after any the URL gives)."""
    given = url.query.get("options", "")
    given = " ".join(given) if isinstance(given, tuple) else given
    return f"{given} -c jit=off".strip()


class Database:
    """One per process: owns the engine; hands out read and write sessions."""

    def __init__(self, url: str) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError:
            # Neither the parser's message nor its chain: both repeat the URL,
            # password and all, before the password could be registered.
            raise ConfigError("database_url is not a valid database URL") from None
        if parsed.password:
            register_secret(str(parsed.password))  # kept out of every log and error
        self.url = url
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite and parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine = create_engine(
                parsed,
                pool_pre_ping=not self.is_sqlite,
                # JIT compiling costs 100-500 ms on a query the planner deems big
                # (ranking a common word's matches), which short queries never repay
                connect_args={} if self.is_sqlite else {"options": _without_jit(parsed)},
            )
        except (ArgumentError, ImportError) as exc:
            raise ConfigError(f"database_url: cannot use {describe_url(url)}: {exc}") from exc
        if self.is_sqlite:
            _sqlite_events(self.engine)
        self._write_engine = self.engine.execution_options(sqlite_immediate=True)

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (idempotent)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self._write_engine.connect() as connection:
                if not self.is_sqlite:
                    # Processes starting together (a bot and its workers) migrate
                    # one after the other; the rest then find it at head.
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:ns, :id)"),
                        {"ns": ADVISORY_LOCK_NAMESPACE, "id": MIGRATION_LOCK_ID},
                    )
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                connection.commit()
        except OperationalError as exc:
            raise StoreError(
                f"database_url: cannot open {describe_url(self.url)}: {exc.orig}"
            ) from exc

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in one write transaction, committed on success."""
        with Session(self._write_engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def write_statements(self) -> Iterator[Connection]:
        """A bare connection in one write transaction: for hot paths of plain
        Core statements (the delivery ledger), without an ORM session's cost."""
        with self._write_engine.begin() as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    def problem(self) -> str | None:
        """Why the database cannot be used now, or None: it answers ``SELECT 1``
        and a SQLite file is still there (a pooled connection keeps answering
        from a deleted file's inode, while every new write would be lost with it)."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # any failure is "unhealthy", whatever the driver raises
            return f"the database does not answer ({type(exc).__name__})"
        if self.is_sqlite:
            path = make_url(self.url).database
            if path and path != ":memory:" and not Path(path).expanduser().exists():
                return f"the database file {path} is gone"
        return None

    def close(self) -> None:
        self.engine.dispose()
