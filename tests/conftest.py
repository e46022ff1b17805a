"""Shared fixtures: the ../shared data, real 127.0.0.1 feed servers, real SQLite files,
and a guard that fails any connection leaving this machine."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from digests.config import FetchSettings, Settings
from digests.feedserver import FeedServer
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


@pytest.fixture
def settings(tmp_path: Path, fetch_settings: FetchSettings) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'test.db'}", fetch=fetch_settings)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.database_url)
    database.upgrade()
    yield database
    database.close()


POSTGRES_ENV = "TEST_POSTGRES_URL"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, on the server named by
    $TEST_POSTGRES_URL (e.g. postgresql+psycopg://user@127.0.0.1:5432/postgres);
    skipped when it is not set."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(f"{POSTGRES_ENV} is not set: no PostgreSQL server for this test")
    name = f"newsdigest_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(server).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
