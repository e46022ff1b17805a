"""``newsdigest db migrate-to URL``: a database filled through the engine's own
paths is copied, as a process, into PostgreSQL (and into SQLite), and the copy
holds the same rows, takes new ones and answers searches."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, create_engine, func, select, text
from sqlalchemy.engine import make_url

from bot.sandbox import Sandbox
from digests.config import FetchSettings, Settings
from digests.feedserver import FeedServer
from digests.sources.refresh import fetch_due
from digests.store.copy import mapped_tables
from digests.store.db import Database
from digests.store.models import Source
from digests.store.sources import add_source
from digests.store.subscribers import subscribe
from tests.botkit import add_subscribers, bot_settings, build, now_utc, store_news
from tests.conftest import CORPUS, POSTGRES_ENV
from tests.test_bot_alerts import arrive
from tests.test_cli import assert_one_line_error, newsdigest
from tests.test_migrations import upgrade_to

READER = 7001
PASSWORD = "hunter2-not-shown"  # the test server trusts local connections: any password works
FILLED = (
    "sources",
    "articles",
    "ingested_files",
    "term_stats",
    "editions",
    "subscribers",
    "alerts",
    "word_filters",
    "edition_renders",
    "deliveries",
    "saved_searches",
)


async def _use_the_bot(settings: Settings, db: Database) -> None:
    """What subscribers leave in the store: alerts, filters, saved searches,
    an edition delivered through the ledger, an alert pushed."""
    async with Sandbox(settings, db) as sandbox:
        await sandbox.say(READER, "/start")
        await sandbox.say(READER, "/alert 航线")
        await sandbox.say(READER, "/mute 货轮")
        await sandbox.say(READER, "/follow 步道")
        await sandbox.say(READER, "/search 临江")  # more than a page: saved for its buttons
        build(db, settings, now_utc())
        await sandbox.deliver_now()
        arrive(db, [("江州港新航线首航", "江州港至临江港的新航线今天首航。")])
        await sandbox.deliver_now()


@pytest.fixture(scope="module")
def source_url(tmp_path_factory: pytest.TempPathFactory, feed_server: FeedServer) -> str:
    """A SQLite database filled the way a running newsdigest fills it."""
    home = tmp_path_factory.mktemp("source")
    url = f"sqlite:///{home / 'source.db'}"
    settings = bot_settings(url)
    db = Database(url)
    db.upgrade()
    issues = home / "issues"
    issues.mkdir()
    shutil.copy(CORPUS / "issue_2026-11-20.txt", issues)
    with db.write() as session:
        for name in ("zh_city.json", "zh_wire.xml", "en_world.xml"):
            add_source(
                session,
                kind="feed",
                location=feed_server.url(f"files/{name}"),
                name=name.split(".")[0],
                interval_seconds=900,
            )
        add_source(
            session, kind="folder", location=str(issues), name="paper", interval_seconds=3600
        )
    fetch = FetchSettings(allowed_networks=["127.0.0.0/8"])
    outcomes = asyncio.run(fetch_due(db, fetch, force=True))
    assert [o.error for o in outcomes] == [None] * 4
    store_news(db, now_utc() - timedelta(hours=1))
    add_subscribers(db, [-100500, -100501], created_at=now_utc(), chat_type="group")
    asyncio.run(_use_the_bot(settings, db))
    db.close()
    return url


def contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every mapped table's rows in id order, as the models read them; JSON
    columns also say whether they are SQL NULL (JSON null reads as None too)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: [
                    tuple(row)
                    for row in connection.execute(
                        select(
                            *table.columns,
                            *(c.is_(None) for c in table.columns if isinstance(c.type, JSON)),
                        ).order_by(*table.primary_key.columns)
                    )
                ]
                for table in mapped_tables()
            }
    finally:
        engine.dispose()


def migrate(source: str, target: str, *args: str, cwd: Path) -> Any:
    return newsdigest(
        "db", "migrate-to", target, *args, cwd=cwd, env={"NEWSDIGEST_DATABASE_URL": source}
    )


def search_titles(url: str, query: str, cwd: Path) -> list[str]:
    found = newsdigest("search", query, "--json", cwd=cwd, env={"NEWSDIGEST_DATABASE_URL": url})
    assert found.returncode == 0, found.stderr
    return [json.loads(line)["title"] for line in found.stdout.splitlines()]


def assert_migrated(source: str, target: str, cwd: Path, *args: str) -> dict[str, Any]:
    """Migrate, then: same rows everywhere, a search finds an article, a new
    source and subscriber take the next ids; returns the source's contents."""
    before = contents(source)
    for name in FILLED:
        assert before[name], f"the source has no {name}: the test fills too little"
    result = migrate(source, target, *args, cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    for name in FILLED:
        assert re.search(rf"\b{name}\b.*\b{len(before[name]):,}\b.*ok", result.stdout), name
    assert "search index rebuilt on the target" in result.stdout
    assert "next: set NEWSDIGEST_DATABASE_URL" in result.stdout
    assert contents(target) == before
    assert contents(source) == before  # only read

    assert "临江港新开两条航线" in search_titles(target, "航线", cwd)
    added = newsdigest(
        "sources",
        "add",
        "https://late.example/feed",
        cwd=cwd,
        env={"NEWSDIGEST_DATABASE_URL": target},
    )
    assert added.returncode == 0, added.stderr
    assert f"added source #{max(row[0] for row in before['sources']) + 1}:" in added.stdout
    db = Database(target)
    try:
        with db.write() as session:
            subscriber, _ = subscribe(
                session, chat_id=9009, chat_type="private", title=None, schedule="daily",
                language="en",
            )  # fmt: skip
            assert subscriber.id == max(row[0] for row in before["subscribers"]) + 1
    finally:
        db.close()
    return before


def test_sqlite_to_sqlite_copies_every_row(source_url: str, tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'copy' / 'compact.db'}"
    assert_migrated(source_url, target, tmp_path, "--batch-size", "2")
    assert (tmp_path / "copy" / "compact.db.search").is_dir()  # its own tantivy index
    again = migrate(source_url, target, cwd=tmp_path)
    assert_one_line_error(again)
    assert "already holds data" in again.stderr


def _files(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


def test_the_sources_search_index_is_never_touched(source_url: str, tmp_path: Path) -> None:
    """search.index_dir naming the source's tantivy index: the target's index
    is built beside the target instead, and the operator is told."""
    index = Path(make_url(source_url).database or "").with_suffix(".db.search")
    before = _files(index)
    assert before
    target = tmp_path / "copy.db"
    result = newsdigest(
        "db",
        "migrate-to",
        f"sqlite:///{target}",
        cwd=tmp_path,
        env={"NEWSDIGEST_DATABASE_URL": source_url, "NEWSDIGEST_SEARCH__INDEX_DIR": str(index)},
    )
    assert result.returncode == 0, result.stderr
    moved = tmp_path / "copy.db.search"
    assert f"search.index_dir names the source's index: set it to {moved}" in result.stdout
    assert _files(index) == before
    found = newsdigest(
        "search",
        "航线",
        "--json",
        cwd=tmp_path,
        env={
            "NEWSDIGEST_DATABASE_URL": f"sqlite:///{target}",
            "NEWSDIGEST_SEARCH__INDEX_DIR": str(moved),
        },
    )
    assert "临江港新开两条航线" in found.stdout, found.stderr


@contextmanager
def another_postgres_database() -> Iterator[str]:
    server = os.environ[POSTGRES_ENV]
    name = f"newsdigest_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _with_password(url: str) -> str:
    return make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)


def test_sqlite_to_postgresql(source_url: str, postgres_url: str, tmp_path: Path) -> None:
    target = _with_password(postgres_url)
    before = assert_migrated(source_url, target, tmp_path, "--batch-size", "3")

    engine = create_engine(target)
    try:
        with engine.connect() as connection:
            for table in mapped_tables():
                column = table.autoincrement_column
                if column is None:
                    continue
                sequence = connection.scalar(
                    select(func.pg_get_serial_sequence(table.name, column.name))
                )
                highest = connection.scalar(select(func.max(column)))
                last = connection.execute(text(f"SELECT last_value, is_called FROM {sequence}"))
                value, called = last.one()
                if highest is not None:
                    assert (value, called) == (highest, True), table.name
                else:
                    assert not called, table.name
    finally:
        engine.dispose()

    again = migrate(source_url, target, cwd=tmp_path)
    assert_one_line_error(again)
    assert "already holds data" in again.stderr
    assert PASSWORD not in again.stderr

    # PostgreSQL to PostgreSQL comes with it.
    with another_postgres_database() as second:
        result = migrate(target, second, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        copied = contents(second)
        assert copied == contents(target)
        assert len(copied["sources"]) == len(before["sources"]) + 1


def test_a_failed_copy_leaves_the_target_empty(source_url: str, tmp_path: Path) -> None:
    """A row the target refuses (here: a trigger) stops the copy midway; the
    transaction leaves no row, and once the cause is gone a retry works."""
    target = f"sqlite:///{tmp_path / 'target.db'}"
    db = Database(target)
    db.upgrade()
    with db.write_statements() as connection:
        connection.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON deliveries "
            "BEGIN SELECT RAISE(ABORT, 'deliveries are refused here'); END"
        )
    failed = migrate(source_url, target, cwd=tmp_path)
    assert_one_line_error(failed)
    assert "deliveries" in failed.stderr and "left empty" in failed.stderr
    assert not any(contents(target).values())
    with db.write_statements() as connection:
        connection.exec_driver_sql("DROP TRIGGER refuse")
    db.close()
    retried = migrate(source_url, target, cwd=tmp_path)
    assert retried.returncode == 0, retried.stderr
    assert contents(target) == contents(source_url)


def test_a_value_postgresql_refuses_leaves_it_empty(postgres_url: str, tmp_path: Path) -> None:
    """SQLite does not enforce VARCHAR lengths; PostgreSQL does: the error names
    the table and the target keeps no row."""
    source = f"sqlite:///{tmp_path / 'long.db'}"
    db = Database(source)
    db.upgrade()
    store_news(db, now_utc())
    with db.write() as session:
        session.get_one(Source, 1).name = "长" * 300  # the column is String(200)
    db.close()
    failed = migrate(source, postgres_url, cwd=tmp_path)
    assert_one_line_error(failed)
    assert "table sources" in failed.stderr and "left empty" in failed.stderr
    assert not any(contents(postgres_url).values())


@pytest.mark.parametrize(
    ("source", "target", "needle"),
    [
        ("{tmp}/source.db", "postgresql+psycopg://u:{pw}@127.0.0.1:1/db", "127.0.0.1:1"),
        ("{tmp}/source.db", "not a url {pw}", "not a valid database URL"),
        ("{tmp}/source.db", "mysql://u:{pw}@127.0.0.1/db", "only sqlite and postgresql"),
        ("{tmp}/source.db", "sqlite:///{tmp}/source.db", "configured database itself"),
        ("{tmp}/missing.db", "sqlite:///{tmp}/t.db", "no database to copy"),
        ("{tmp}/old.db", "sqlite:///{tmp}/t.db", "not the newest"),
    ],
    ids=["unreachable", "bad-url", "unsupported", "itself", "no-source", "source-not-at-head"],
)
def test_problems_are_one_line_without_the_password(
    tmp_path: Path, source: str, target: str, needle: str
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'source.db'}")
    db.upgrade()
    db.close()
    old = Database(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade_to(old, "0003")
    old.close()
    result = migrate(
        "sqlite:///" + source.format(tmp=tmp_path),
        target.format(tmp=tmp_path, pw=PASSWORD),
        cwd=tmp_path,
    )
    assert_one_line_error(result)
    assert needle in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert not (tmp_path / "missing.db").exists()  # never created by looking
