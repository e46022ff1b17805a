"""Schema upgrades with data in the tables: a database built at the first
migration and filled with plain SQL is upgraded one revision at a time to the
newest; every row is intact and the engine reads and uses it. On SQLite, and
on PostgreSQL when TEST_POSTGRES_URL names a server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import JSON, Boolean, Date, bindparam, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeEngine

from digests.config import SearchSettings
from digests.search.factory import open_search_index
from digests.search.service import search
from digests.store.db import MIGRATIONS, Database
from digests.store.deliveries import ledger_counts
from digests.store.models import Base, UTCDateTime, is_mapped_table
from digests.store.queries import recent_articles
from digests.store.sources import list_sources
from digests.store.subscribers import find_subscriber, word_filters
from digests.summarize.stage import summarize_stored

REVISIONS = [
    script.revision for script in reversed(list(ScriptDirectory(str(MIGRATIONS)).walk_revisions()))
]
AT = datetime(2026, 11, 20, 7, 30, 15, 123456, tzinfo=UTC)
LATER = AT + timedelta(hours=5, microseconds=1)

# (revision, table, rows): written with plain SQL right after upgrading to
# ``revision``, with the columns that revision has. Ids are left to the
# database (1, 2, ... in order), as the engine does. Steps of a revision not
# (yet) in the migrations are skipped.
STEPS: list[tuple[str, str, list[dict[str, Any]]]] = [
    ("0001", "sources", [
        {"kind": "feed", "location": "https://city.example/feed.xml", "name": "临江晚报",
         "interval_seconds": 900, "enabled": True, "feed_title": "临江晚报 · 城市",
         "etag": '"abc-1"', "last_modified": "Thu, 19 Nov 2026 23:00:00 GMT",
         "created_at": AT, "last_checked_at": LATER, "last_success_at": LATER,
         "next_check_at": LATER + timedelta(minutes=15), "last_error": None,
         "error_count": 0},
        {"kind": "folder", "location": "/srv/issues", "name": "paper",
         "interval_seconds": 3600, "enabled": False, "created_at": AT,
         "last_error": "issue_1.txt: not UTF-8 text", "error_count": 3, "removed_at": LATER},
    ]),
    ("0001", "articles", [
        {"source_id": 1, "identity": "g:port-1", "guid": "port-1",
         "url": "https://city.example/port", "link": "https://city.example/port?utm=x",
         "title": "临江港新开两条航线", "subtitle": None, "byline": "本报记者",
         "author": "王明", "lead": True,
         "body": "临江港至江州港的内河集装箱航线开通。新航线每周开行三班。",
         "subheads": ["航线", "货运"], "tags": ["港口"], "published_at": AT,
         "fetched_at": AT, "updated_at": AT, "content_hash": "h1" * 32,
         "sketch": "0f0f", "story_id": 1},
        {"source_id": 2, "identity": "t:library", "title": "Library reopens with maker space",
         "lead": False, "body": "The Pell Street Library reopened on Saturday.",
         "subheads": [], "tags": [], "fetched_at": LATER, "updated_at": LATER,
         "content_hash": "h2" * 32, "story_id": 2},
    ]),
    ("0001", "ingested_files", [
        {"source_id": 2, "name": "issue_2026-11-20.txt", "sha256": "ab" * 32, "size": 2048,
         "article_count": 1, "error": None, "ingested_at": LATER},
    ]),
    ("0002", "articles", [
        {"source_id": 1, "identity": "g:walk", "guid": "walk", "title": "临江沿江步道首段建成",
         "lead": False, "body": "临江区滨江步道青石湾段正式开放。步道全长约二点八公里。",
         "subheads": [], "tags": [], "fetched_at": LATER, "updated_at": LATER,
         "content_hash": "h3" * 32, "story_id": 3, "language": "zh",
         "summary_line": "临江区滨江步道青石湾段正式开放。",
         "summary": ["临江区滨江步道青石湾段正式开放。"], "keywords": ["步道", "临江"],
         "summarized_hash": "h3" * 32},
    ]),
    ("0002", "term_stats", [{"term": "航线", "documents": 4}, {"term": "步道", "documents": 1}]),
    ("0003", "editions", [
        {"schedule": "daily", "edition_date": date(2026, 11, 20), "slot": "07:30",
         "since": AT - timedelta(days=1), "cutoff": AT, "built_at": AT, "article_count": 2,
         "content": {"items": [{"id": 1, "line": "航线开通"}], "language": "zh"}},
    ]),
    ("0004", "subscribers", [
        {"chat_id": 7001, "chat_type": "private", "title": "Reader", "schedule": "daily",
         "language": "zh", "delivery_time": "08:15", "timezone": "Asia/Shanghai",
         "sources": [1], "active": True, "created_at": AT, "updated_at": LATER},
        {"chat_id": -1001234567890, "chat_type": "supergroup", "title": "港口群",
         "schedule": "daily", "language": "en", "active": False,
         "inactive_reason": "blocked by the user", "created_at": AT, "updated_at": AT},
    ]),
    ("0004", "alerts", [
        {"subscriber_id": 1, "query": "航线 -货轮", "last_article_id": 1, "created_at": AT},
    ]),
    ("0004", "word_filters", [
        {"subscriber_id": 1, "kind": "mute", "text": "货轮", "created_at": AT},
        {"subscriber_id": 1, "kind": "follow", "text": "步道", "created_at": LATER},
    ]),
    ("0004", "edition_renders", [
        {"edition_id": 1, "variant": "zh|Asia/Shanghai|1", "parts": ["<b>临江</b>", "第二部分"]},
    ]),
    ("0004", "deliveries", [
        {"edition_id": 1, "subscriber_id": 1, "render_id": 1, "part": 0, "parts": 2,
         "state": "sent", "attempts": 1, "chat_id": 7001, "message_id": 42,
         "not_before": AT, "created_at": AT, "updated_at": AT, "sent_at": AT},
        {"edition_id": 1, "subscriber_id": 1, "render_id": 1, "part": 1, "parts": 2,
         "state": "failed", "attempts": 5, "last_error": "Bad Request: can't parse entities",
         "not_before": AT, "created_at": AT, "updated_at": LATER},
        {"alert_id": 1, "article_id": 1, "body": "🔔 临江港新开两条航线", "subscriber_id": 1,
         "part": 0, "parts": 1, "state": "unknown", "attempts": 1, "not_before": LATER,
         "created_at": LATER, "updated_at": LATER},
    ]),
    ("0005", "saved_searches", [
        {"chat_id": 7001, "text": "航线 source:临江晚报", "created_at": AT},
    ]),
    ("0007", "schedules", [
        {"name": "evening", "times": ["18:00", "21:30"], "timezone": "Asia/Shanghai",
         "sources": ["临江晚报"], "paused": True, "removed": False, "effective_from": AT,
         "updated_at": LATER},
    ]),
    ("0007", "broadcasts", [
        {"body": "维护通知：今晚十点暂停服务。", "sent_by": 99, "created_at": AT},
    ]),
    ("0008", "ingested_files", [
        {"source_id": 2, "name": "issue_2026-11-21.txt", "sha256": "cd" * 32,
         "size": 19_000_000, "article_count": 29_000, "articles_done": 1_500,
         "state": "in_progress", "error": None, "ingested_at": LATER},
    ]),
]  # fmt: skip
# Columns a migration fills in for the rows already there, from the row as written.
BACKFILLED: dict[tuple[str, str], Callable[[dict[str, Any]], Any]] = {
    # 0008: a file read before it was stored whole, in one transaction.
    ("ingested_files", "articles_done"): lambda row: row["article_count"],
    ("ingested_files", "state"): lambda row: "complete",
}


def _type(value: object) -> TypeEngine[Any] | None:
    if isinstance(value, datetime):
        return UTCDateTime()
    if isinstance(value, bool):
        return Boolean()
    if isinstance(value, date):
        return Date()
    if isinstance(value, list | dict):
        return JSON()
    return None


def insert_rows(connection: Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """Plain INSERTs, parameters typed only so each driver stores them as the engine does."""
    for row in rows:
        statement = text(
            f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join(':' + k for k in row)})"
        ).bindparams(*(bindparam(key, type_=_type(value)) for key, value in row.items()))
        connection.execute(statement, row)


def upgrade_to(db: Database, revision: str, *, down: bool = False) -> None:
    """``alembic upgrade REVISION`` (or ``downgrade``) on ``db``, set up as
    ``Database.upgrade`` does."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.connect() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)
        connection.commit()


def revision_of(db: Database) -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgresql":
        yield request.getfixturevalue("postgres_url")
        return
    yield f"sqlite:///{tmp_path / 'upgraded.db'}"


@pytest.fixture
def upgraded(url: str) -> Iterator[Database]:
    """A database built at the first revision, filled and upgraded step by step."""
    db = Database(url)
    for revision in REVISIONS:
        upgrade_to(db, revision)
        assert revision_of(db) == revision
        with db.write_statements() as connection:
            for _revision, table, rows in (s for s in STEPS if s[0] == revision):
                insert_rows(connection, table, rows)
    yield db
    db.close()


def test_the_steps_start_at_the_first_revision() -> None:
    assert REVISIONS[0] == "0001" and len(REVISIONS) == len(set(REVISIONS)) >= 6


def written_rows(table: str) -> list[dict[str, Any]]:
    return [row for rev, name, rows in STEPS if name == table and rev in REVISIONS for row in rows]


def in_key_order(rows: list[dict[str, Any]], keys: list[str]) -> list[dict[str, Any]]:
    """By primary key; rows written without their id keep their order (ids come in order)."""
    return sorted(rows, key=lambda row: [row.get(k, 0) for k in keys])


def test_every_row_is_intact_at_head(upgraded: Database) -> None:
    assert revision_of(upgraded) == REVISIONS[-1]
    with upgraded.engine.connect() as connection:
        for name in {step[1] for step in STEPS if step[0] in REVISIONS}:
            table = Base.metadata.tables[name]
            keys = [column.name for column in table.primary_key.columns]
            written = in_key_order(written_rows(name), keys)
            query = select(table).order_by(*table.primary_key.columns)
            stored = in_key_order([dict(row._mapping) for row in connection.execute(query)], keys)
            assert len(stored) == len(written), name
            for number, (row, values) in enumerate(zip(stored, written, strict=True), start=1):
                assert row.get("id", number) == number, name  # ids given out in order
                # every column as written; one the row was written without (added
                # later) is NULL, or what its migration filled in
                expected = {
                    column: values[column]
                    if column in values
                    else BACKFILLED.get((name, column), lambda _row: None)(values)
                    for column in row
                    if column != "id"
                }
                assert {k: row[k] for k in expected} == expected, (name, number)


def test_the_engine_reads_and_uses_the_upgraded_rows(upgraded: Database) -> None:
    with upgraded.read() as session:
        sources = list_sources(session)  # a removed source is not listed
        assert [(s.name, s.articles, s.interval_seconds) for s in sources] == [("临江晚报", 2, 900)]
        titles = [row["title"] for row in recent_articles(session, limit=10)]
        assert sorted(titles) == sorted(
            ["临江港新开两条航线", "Library reopens with maker space", "临江沿江步道首段建成"]
        )
        reader = find_subscriber(session, 7001)
        assert reader is not None and reader.sources == [1] and reader.timezone == "Asia/Shanghai"
        group = find_subscriber(session, -1001234567890)
        assert group is not None and group.sources is None and not group.active
        assert word_filters(session, [reader.id]) == {reader.id: (("货轮",), ("步道",))}
        assert ledger_counts(session) == {"sent": 1, "failed": 1, "unknown": 1}
    # The two articles written before summaries existed are summarized and indexed now.
    index = open_search_index(SearchSettings(engine="tantivy"), upgraded)
    assert summarize_stored(upgraded, index) == 2
    found = search(upgraded, index, "航线")
    assert [hit.title for hit in found.results.hits] == ["临江港新开两条航线"]


def _schema(db: Database) -> dict[str, Any]:
    """Tables, columns, indexes, triggers and every mapped row, for comparison."""
    with db.engine.connect() as connection:
        inspector = inspect(connection)
        names = sorted(inspector.get_table_names())
        found: dict[str, Any] = {
            "columns": {
                name: [
                    (c["name"], str(c["type"]), c["nullable"], c["default"])
                    for c in inspector.get_columns(name)
                ]
                for name in names
            },
            "indexes": {
                name: sorted(str(sorted(i.items())) for i in inspector.get_indexes(name))
                for name in names
            },
            "revision": MigrationContext.configure(connection).get_current_heads(),
        }  # fmt: skip
        if db.is_sqlite:
            found["objects"] = connection.execute(
                text("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
            ).all()
        else:
            found["objects"] = connection.execute(
                text(
                    "SELECT event_object_table, trigger_name, event_manipulation, action_statement"
                    " FROM information_schema.triggers ORDER BY 1, 2, 3"
                )
            ).all()
        found["rows"] = {
            table.name: connection.execute(select(table).order_by(*table.primary_key)).all()
            for table in Base.metadata.sorted_tables
        }
    return found


def test_upgrading_at_head_changes_nothing(upgraded: Database) -> None:
    before = _schema(upgraded)
    upgraded.upgrade()
    Database(upgraded.url).upgrade()  # a second process's start, too
    assert _schema(upgraded) == before


def test_the_migrated_schema_is_what_the_models_say(upgraded: Database) -> None:
    """Autogenerate finds nothing to add: migrations and models agree (types too)."""
    with upgraded.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_name": lambda name, kind, _parent: (
                    kind != "table" or (is_mapped_table(name) and name != "alembic_version")
                ),
            },
        )
        assert compare_metadata(context, Base.metadata) == []
