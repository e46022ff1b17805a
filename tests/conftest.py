"""Shared fixtures: the ../shared data, real 127.0.0.1 feed servers, a fresh real
database per test (SQLite, or PostgreSQL with TEST_DATABASE_BACKEND=postgresql),
and a guard that fails any connection leaving this machine.

The whole suite runs on either backend. A test about SQLite itself (WAL, the
file, the tantivy directory beside it, FTS5) is marked
``@pytest.mark.sqlite_only("why")`` and is skipped, with that reason, on the
PostgreSQL run."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from digests.config import FetchSettings, Settings
from digests.feedserver import FeedServer, prepare_costly_bodies
from digests.store.db import Database

# python-telegram-bot 22 deprecates integer RetryAfter.retry_after; opt in to
# the timedelta form the next major version will use.
os.environ.setdefault("PTB_TIMEDELTA", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_FEEDS = SHARED / "eval" / "feeds"
SAMPLE_ISSUE = SHARED / "samples" / "000_e18894c7c2b3da60.txt"
CORPUS = REPO / "digests" / "demo_corpus"

needs_shared = pytest.mark.skipif(
    not SHARED_FEEDS.is_dir(), reason="../shared (evaluation data) is not present"
)

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check_destination(address: object) -> None:
    if isinstance(address, tuple) and address:
        host = str(address[0]).split("%", 1)[0]
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            raise AssertionError(f"test tried to connect to unresolved host {host!r}") from None
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not ip.is_loopback:
            raise AssertionError(f"test tried to leave the machine: connect to {address!r}")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check_destination(address)
    return _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check_destination(address)
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True, scope="session")
def no_outbound_connections() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def shared_feed_server() -> Iterator[FeedServer]:
    if not SHARED_FEEDS.is_dir():
        pytest.skip("../shared (evaluation data) is not present")
    with FeedServer(root=SHARED_FEEDS) as server:
        yield server


@pytest.fixture(scope="session")
def feed_server() -> Iterator[FeedServer]:
    """Serves the project's own demo corpus, in-memory documents and every misbehaviour."""
    prepare_costly_bodies()  # before any test's client starts its clock
    with FeedServer(root=CORPUS) as server:
        yield server


@pytest.fixture
def fetch_settings() -> FetchSettings:
    return FetchSettings(
        allowed_networks=["127.0.0.0/8", "::1/128"],
        connect_timeout=2,
        read_timeout=2,
        total_deadline=3,
        max_bytes=2 * 1024 * 1024,
        max_redirects=3,
    )


POSTGRES_ENV = "TEST_POSTGRES_URL"
# Not NEWSDIGEST_*: the product's configuration refuses unknown keys in that namespace.
BACKEND_ENV = "TEST_DATABASE_BACKEND"
BACKENDS = ("sqlite", "postgresql")
BACKEND = os.environ.get(BACKEND_ENV, "").strip() or "sqlite"
ON_POSTGRES = BACKEND == "postgresql"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sqlite_only(reason): a test about SQLite itself; skipped with the reason on the "
        "PostgreSQL run",
    )
    if BACKEND not in BACKENDS:
        raise pytest.UsageError(f"{BACKEND_ENV}={BACKEND!r}: expected one of {', '.join(BACKENDS)}")
    if ON_POSTGRES and not os.environ.get(POSTGRES_ENV):
        # The PostgreSQL run must not pass by skipping everything.
        raise pytest.UsageError(
            f"{BACKEND_ENV}=postgresql needs {POSTGRES_ENV} (a server URL; "
            "`bash scripts/postgres.sh start` starts one and prints it)"
        )


def pytest_report_header(config: pytest.Config) -> str:
    return f"database backend: {BACKEND} ({BACKEND_ENV})"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is None:
            continue
        reason = marker.args[0] if marker.args else marker.kwargs.get("reason", "")
        if not reason:
            raise pytest.UsageError(f"{item.nodeid}: sqlite_only needs a reason")
        if ON_POSTGRES:
            item.add_marker(pytest.mark.skip(reason=f"SQLite-specific: {reason}"))


def _database_name(kind: str) -> str:
    return f"newsdigest_{kind}_{uuid.uuid4().hex[:12]}"


class _Server:
    """The PostgreSQL server of $TEST_POSTGRES_URL: creates and drops databases."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.admin = create_engine(url, isolation_level="AUTOCOMMIT")

    def url_of(self, name: str) -> str:
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def create(self, kind: str, template: str | None = None) -> str:
        name = _database_name(kind)
        clause = f' TEMPLATE "{template}"' if template else ""
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        return name

    def drop(self, name: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def _postgres_server() -> Iterator[_Server]:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: no PostgreSQL server for this test")
    server = _Server(url)
    yield server
    server.admin.dispose()


class FreshDatabases:
    """Fresh databases at the newest schema on the chosen backend, copied from one
    migrated per session (running every migration per test costs more than the
    copy). SQLite: a template file copied into the test's directory; PostgreSQL:
    CREATE DATABASE ... TEMPLATE, dropped afterwards with any connection still open."""

    def __init__(self, template: str, server: _Server | None) -> None:
        self.template = template
        self.server = server

    @contextmanager
    def fresh(self, directory: Path) -> Iterator[str]:
        if self.server is None:
            path = directory / "test.db"
            shutil.copyfile(self.template, path)
            yield f"sqlite:///{path}"
            return
        name = self.server.create("test", template=self.template)
        try:
            yield self.server.url_of(name)
        finally:
            self.server.drop(name)


@pytest.fixture(scope="session")
def fresh_databases(request: pytest.FixtureRequest) -> Iterator[FreshDatabases]:
    """For fixtures wider than one test (``with fresh_databases.fresh(dir) as url``)."""
    if not ON_POSTGRES:
        path = request.getfixturevalue("tmp_path_factory").mktemp("template") / "template.db"
        database = Database(f"sqlite:///{path}")
        database.upgrade()
        database.close()  # the last connection checkpoints the WAL into the file
        yield FreshDatabases(str(path), None)
        return
    server: _Server = request.getfixturevalue("_postgres_server")
    name = server.create("template")
    try:
        database = Database(server.url_of(name))
        database.upgrade()
        database.close()  # a template must have no open connections
        yield FreshDatabases(name, server)
    finally:
        server.drop(name)


@pytest.fixture
def database_url(tmp_path: Path, fresh_databases: FreshDatabases) -> Iterator[str]:
    """A fresh database at the newest schema for one test, on the backend that
    $TEST_DATABASE_BACKEND names: a SQLite file in tmp_path (the default), or a
    database of its own on the server of $TEST_POSTGRES_URL."""
    with fresh_databases.fresh(tmp_path) as url:
        yield url


@pytest.fixture
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Like ``database_url`` but with no schema at all (for tests of migrations)."""
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server: _Server = request.getfixturevalue("_postgres_server")
    name = server.create("empty")
    try:
        yield server.url_of(name)
    finally:
        server.drop(name)


@pytest.fixture
def settings(database_url: str, fetch_settings: FetchSettings) -> Settings:
    return Settings(database_url=database_url, fetch=fetch_settings)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    """The test's database, at the newest schema."""
    database = Database(settings.database_url)
    database.upgrade()  # a no-op on the fixture's copy; for tests that bring their own settings
    yield database
    database.close()


@pytest.fixture
def postgres_url(_postgres_server: _Server) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test about PostgreSQL itself (on
    either run), on the server of $TEST_POSTGRES_URL (e.g.
    postgresql+psycopg://user@127.0.0.1:5432/postgres); skipped when it is not set."""
    name = _postgres_server.create("test")
    try:
        yield _postgres_server.url_of(name)
    finally:
        _postgres_server.drop(name)
