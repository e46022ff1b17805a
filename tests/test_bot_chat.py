"""``newsdigest chat`` as an operator runs it: a real process typing into the
real bot, offline, over a database of its own; the configured one is left as
it was (a /start there would be a subscriber the real bot delivers to)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from digests.store.copy import mapped_tables
from digests.store.db import Database, describe_url
from digests.store.models import Subscriber
from tests.botkit import store_news
from tests.conftest import ON_POSTGRES
from tests.test_cli import assert_one_line_error, newsdigest

READER = 10001
SANDBOX = re.compile(r"^sandbox database: sqlite:///(\S+) \((.*)\)$", re.MULTILINE)


def _rows(database_url: str) -> dict[str, int]:
    """How many rows each table of the database holds."""
    db = Database(database_url)
    try:
        with db.read() as session:
            return {
                table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
                for table in mapped_tables()
            }
    finally:
        db.close()


def _subscribed(database_url: str, chat_id: int) -> bool:
    db = Database(database_url)
    try:
        with db.read() as session:
            found = session.scalar(select(Subscriber.id).where(Subscriber.chat_id == chat_id))
            return found is not None
    finally:
        db.close()


def _files(directory: Path) -> dict[str, str]:
    """Every file below ``directory`` (the SQLite file, its search index) by digest."""
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def configured(database_url: str) -> str:
    """The configured database, with two sources' summarized articles in it."""
    db = Database(database_url)
    try:
        store_news(db, datetime.now(UTC))
    finally:
        db.close()  # the last connection checkpoints the WAL into the file
    return database_url


def chat(
    configured: str, cwd: Path, *args: str, typed: str, env: dict[str, str] | None = None
) -> str:
    """What ``newsdigest chat ARGS`` printed, with ``typed`` as its input."""
    environment = {"NEWSDIGEST_DATABASE_URL": configured, "COLUMNS": "100"} | (env or {})
    result = newsdigest("chat", *args, cwd=cwd, env=environment, typed=typed)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def sandbox_named(said: str) -> tuple[Path, str]:
    """The sandbox database the session named, and what it said it was made from."""
    found = SANDBOX.search(said)
    assert found is not None, said
    return Path(found[1]), found[2]


def test_a_chat_session_leaves_the_configured_database_as_it_was(
    tmp_path: Path, configured: str
) -> None:
    rows, files = _rows(configured), _files(tmp_path)
    assert rows["articles"] == 4 and rows["subscribers"] == 0

    said = chat(configured, tmp_path, typed="/start\n")

    assert "已订阅「daily」" in said  # the reader subscribed, but not here:
    assert not _subscribed(configured, READER)
    assert _rows(configured) == rows  # no new row anywhere
    if not ON_POSTGRES:
        assert _files(tmp_path) == files  # the file and its search index, byte for byte
    sandbox, made_from = sandbox_named(said)
    assert made_from.startswith("new and empty;")
    assert "The sandbox database holds no articles" in said
    assert sandbox.name == "sandbox.db" and tmp_path not in sandbox.parents
    assert not sandbox.parent.exists()  # deleted when the session ended


def test_copy_database_sees_the_configured_articles_and_changes_nothing(
    tmp_path: Path, configured: str
) -> None:
    rows, files = _rows(configured), _files(tmp_path)
    # a configured tantivy directory belongs to the configured database: not the copy's
    index_dir = tmp_path / "configured-index"
    env = {"NEWSDIGEST_SEARCH__INDEX_DIR": str(index_dir)}

    said = chat(
        configured,
        tmp_path,
        "--copy-database",
        typed="/start\nharbor ferry\n临江 航线\n",
        env=env,
    )

    # found by searching the copy: its articles, and the search index built for it
    assert "Harbor Town opens new ferry pier" in said
    assert "临江港新开两条航线" in said
    assert "已订阅「daily」" in said
    assert not _subscribed(configured, READER)
    assert _rows(configured) == rows
    if not ON_POSTGRES:
        assert _files(tmp_path) == files
    assert not index_dir.exists()
    sandbox, made_from = sandbox_named(said)
    assert made_from.startswith(f"a copy of {describe_url(configured)}, which is only read;")
    assert "holds no articles" not in said
    assert not sandbox.parent.exists()


@pytest.mark.sqlite_only("a SQLite file that does not exist")
def test_copy_database_of_no_database_is_one_line_and_creates_none(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    result = newsdigest(
        "chat",
        "--copy-database",
        cwd=tmp_path,
        env={"NEWSDIGEST_DATABASE_URL": f"sqlite:///{missing}"},
        typed="/start\n",
    )
    assert_one_line_error(result)
    assert result.stderr.startswith(
        f"newsdigest: error: no database to copy at sqlite:///{missing}"
    )
    assert not missing.exists()
