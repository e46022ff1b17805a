"""`newsdigest doctor` as a process: each check's row, the exit status, and that
it only looks (no database created or upgraded, nothing recorded on sources)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, select, text

from bot.fake_telegram import FakeTelegram
from digests.feedserver import FeedServer
from digests.store.db import MIGRATIONS, Database
from digests.store.models import Source
from digests.store.sources import add_source
from tests.test_cli import newsdigest

WRONG_TOKEN = "987654:WRONGtokenWRONGtokenWRONG"
MALFORMED_TOKEN = "not-a-token-but-secret-1234"


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


def healthy_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {
        "NEWSDIGEST_DATABASE_URL": database_url,
        "NEWSDIGEST_BOT_TOKEN": FakeTelegram().token,
        "NEWSDIGEST_BOT__ADMIN_IDS": "[1001]",
        "NEWSDIGEST_METRICS__PORT": "0",
        "NEWSDIGEST_FETCH__ALLOWED_NETWORKS": "127.0.0.0/8",
        "NEWSDIGEST_FETCH__TOTAL_DEADLINE": "5",
    }
    env.update(extra)
    return env


def doctor(
    *args: str, cwd: Path, env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], dict[str, dict[str, str]]]:
    result = newsdigest("doctor", "--json", *args, cwd=cwd, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    return result, {row["check"]: row for row in rows}


def statuses(rows: dict[str, dict[str, str]]) -> dict[str, str]:
    return {name: row["status"] for name, row in rows.items()}


def revision(database_url: str) -> str | None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def test_a_healthy_setup_passes_every_check(tmp_path: Path, database_url: str) -> None:
    folder = tmp_path / "issues"
    folder.mkdir()
    with Database(database_url).write() as session:
        add_source(session, kind="folder", location=str(folder), name="paper", interval_seconds=60)
    result, rows = doctor(cwd=tmp_path, env=healthy_env(database_url))
    assert result.returncode == 0, result.stdout
    assert statuses(rows) == {
        "configuration": "ok",
        "database": "ok",
        "schema": "ok",
        "bot token": "ok",
        "admins": "ok",
        "metrics": "ok",
        "sources": "ok",
    }
    assert "(the newest)" in rows["schema"]["detail"]
    assert "1 enabled" in rows["sources"]["detail"]
    assert FakeTelegram().token not in result.stdout + result.stderr


def test_the_table_names_each_check(tmp_path: Path, database_url: str) -> None:
    env = healthy_env(database_url, COLUMNS="250")
    result = newsdigest("doctor", cwd=tmp_path, env=env)
    assert result.returncode == 0 and "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    for check in ("configuration", "database", "schema", "bot token", "admins", "metrics"):
        row = next(line for line in lines if f" {check} " in line)
        assert " ok " in row, row
    assert "warn" in next(line for line in lines if " sources " in line)  # none yet


def test_a_bad_config_is_a_fail_row_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[fetch]\nconcurency = 3\n", encoding="utf-8")
    result = newsdigest("doctor", cwd=tmp_path, env={"COLUMNS": "250"})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and result.stderr == ""
    row = next(line for line in result.stdout.splitlines() if "configuration" in line)
    assert "FAIL" in row and "fetch.concurency" in row and "config.toml" in row
    _, rows = doctor(cwd=tmp_path, env={})
    assert statuses(rows)["configuration"] == "FAIL"
    assert {status for name, status in statuses(rows).items() if name != "configuration"} == {
        "skip"
    }


def test_a_bad_value_from_the_environment_names_the_key(tmp_path: Path) -> None:
    result, rows = doctor(cwd=tmp_path, env={"NEWSDIGEST_DELIVERY__ON_AMBIGUOUS": "maybe"})
    assert result.returncode == 1
    assert rows["configuration"]["status"] == "FAIL"
    assert "delivery.on_ambiguous" in rows["configuration"]["detail"]


@pytest.mark.sqlite_only("a missing database file is a SQLite matter")
def test_a_missing_database_file_fails_and_stays_missing(tmp_path: Path) -> None:
    database = tmp_path / "data" / "newsdigest.db"
    result, rows = doctor(cwd=tmp_path, env=healthy_env(f"sqlite:///{database}"))
    assert result.returncode == 1
    assert rows["database"]["status"] == "FAIL"
    assert "no database file" in rows["database"]["detail"]
    assert rows["schema"]["status"] == "skip" and rows["sources"]["status"] == "skip"
    assert rows["bot token"]["status"] == "ok"  # the other checks still ran
    assert rows["admins"]["status"] == "ok"
    assert not database.exists() and not database.parent.exists()


@pytest.mark.sqlite_only("a file that is not a database is a SQLite matter")
def test_a_file_that_is_not_a_database_fails(tmp_path: Path) -> None:
    database = tmp_path / "junk.db"
    database.write_bytes(b"this is not a database file at all" * 100)
    result, rows = doctor(cwd=tmp_path, env=healthy_env(f"sqlite:///{database}"))
    assert result.returncode == 1
    assert rows["database"]["status"] == "FAIL"
    assert "not a database" in rows["database"]["detail"]
    assert rows["bot token"]["status"] == "ok"


def test_a_database_behind_head_is_a_warning_and_is_not_upgraded(
    tmp_path: Path, empty_database_url: str
) -> None:
    database = Database(empty_database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with database.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
        connection.commit()
    database.close()
    result, rows = doctor(cwd=tmp_path, env=healthy_env(empty_database_url))
    assert result.returncode == 0, result.stdout  # the bot upgrades at start: a warning
    assert rows["schema"]["status"] == "warn"
    assert "behind: at 0003" in rows["schema"]["detail"]
    assert "newsdigest db upgrade" in rows["schema"]["detail"]
    assert rows["sources"]["status"] == "skip"
    assert revision(empty_database_url) == "0003"


def test_an_empty_database_and_an_unknown_revision_fail(
    tmp_path: Path, empty_database_url: str, database_url: str
) -> None:
    engine = create_engine(empty_database_url)
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))  # creates the (empty) SQLite file
    engine.dispose()
    result, rows = doctor(cwd=tmp_path, env=healthy_env(empty_database_url))
    assert result.returncode == 1
    assert rows["schema"]["status"] == "FAIL" and "no schema" in rows["schema"]["detail"]
    assert revision(empty_database_url) is None

    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    result, rows = doctor(cwd=tmp_path, env=healthy_env(database_url))
    assert result.returncode == 1
    assert rows["schema"]["status"] == "FAIL" and "9999" in rows["schema"]["detail"]


def test_a_malformed_token_fails_without_showing_it(tmp_path: Path, database_url: str) -> None:
    env = healthy_env(database_url, NEWSDIGEST_BOT_TOKEN=MALFORMED_TOKEN)
    result, rows = doctor(cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert rows["bot token"]["status"] == "FAIL"
    assert "malformed" in rows["bot token"]["detail"]
    assert MALFORMED_TOKEN not in result.stdout + result.stderr
    table = newsdigest("doctor", cwd=tmp_path, env={**env, "COLUMNS": "250"})
    assert MALFORMED_TOKEN not in table.stdout + table.stderr


def test_no_admins_and_a_busy_metrics_port_are_warnings(tmp_path: Path, database_url: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = healthy_env(database_url, NEWSDIGEST_METRICS__PORT=str(port))
        del env["NEWSDIGEST_BOT__ADMIN_IDS"]
        result, rows = doctor(cwd=tmp_path, env=env)
    assert result.returncode == 0
    assert rows["admins"]["status"] == "warn" and "refuse everyone" in rows["admins"]["detail"]
    assert rows["metrics"]["status"] == "warn" and "in use" in rows["metrics"]["detail"]
    # With no source yet, that is the one warning: counted in the singular.
    table = newsdigest("doctor", cwd=tmp_path, env={**healthy_env(database_url), "COLUMNS": "250"})
    assert table.stdout.strip().splitlines()[-1] == "0 failed, 1 warning"


def test_online_get_me_shows_the_bot(
    tmp_path: Path, database_url: str, telegram: FakeTelegram
) -> None:
    env = healthy_env(database_url, NEWSDIGEST_BOT__API_URL=telegram.api_url)
    result, rows = doctor("--online", cwd=tmp_path, env=env)
    assert rows["bot token"]["status"] == "ok"
    assert "@newsdigest_bot" in rows["bot token"]["detail"]
    assert result.returncode == 0
    assert telegram.token not in result.stdout + result.stderr


def test_online_a_rejected_token_fails_without_showing_it(
    tmp_path: Path, database_url: str, telegram: FakeTelegram
) -> None:
    env = healthy_env(
        database_url, NEWSDIGEST_BOT__API_URL=telegram.api_url, NEWSDIGEST_BOT_TOKEN=WRONG_TOKEN
    )
    result, rows = doctor("--online", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert rows["bot token"]["status"] == "FAIL"
    assert "rejected" in rows["bot token"]["detail"]
    assert WRONG_TOKEN not in result.stdout + result.stderr


def test_online_an_unreachable_bot_api_fails(tmp_path: Path, database_url: str) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        env = healthy_env(database_url, NEWSDIGEST_BOT__API_URL=f"http://127.0.0.1:{port}/bot")
        result, rows = doctor("--online", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert rows["bot token"]["status"] == "FAIL"
    assert "cannot reach the Bot API" in rows["bot token"]["detail"]


def _add_sources(database_url: str, sources: dict[str, tuple[str, str]]) -> dict[str, int]:
    ids = {}
    with Database(database_url).write() as session:
        for name, (kind, location) in sources.items():
            source = add_source(
                session, kind=kind, location=location, name=name, interval_seconds=60
            )
            ids[name] = source.id
    return ids


def test_sources_reachable_and_unreachable(
    tmp_path: Path, database_url: str, feed_server: FeedServer
) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    ids = _add_sources(
        database_url,
        {
            "Harbor Gazette": ("feed", feed_server.url("files/en_world.xml")),
            "Missing": ("feed", feed_server.url("status/404")),
            "A web page": ("feed", feed_server.url("html")),
            "Removed folder": ("folder", str(gone)),
        },
    )
    shutil.rmtree(gone)
    env = healthy_env(database_url)

    result, rows = doctor(cwd=tmp_path, env=env)  # without --sources: nothing fetched
    assert rows["sources"]["status"] == "ok" and "not fetched" in rows["sources"]["detail"]
    assert feed_server.hits("/files/en_world.xml") == 0

    result, rows = doctor("--sources", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert rows["sources"]["status"] == "FAIL"
    assert rows["sources"]["detail"] == "3 of 4 enabled sources unreachable"
    assert f"source #{ids['Harbor Gazette']}" not in rows
    assert "404" in rows[f"source #{ids['Missing']}"]["detail"]
    assert "not a feed" in rows[f"source #{ids['A web page']}"]["detail"]
    assert "does not exist" in rows[f"source #{ids['Removed folder']}"]["detail"]
    assert rows["bot token"]["status"] == "ok"
    with Database(database_url).read() as session:  # the doctor records nothing
        checked = session.scalars(select(Source.last_checked_at)).all()
    assert checked == [None, None, None, None]

    for name in ("Missing", "A web page", "Removed folder"):
        removed = newsdigest("sources", "remove", str(ids[name]), cwd=tmp_path, env=env)
        assert removed.returncode == 0, removed.stderr
    result, rows = doctor("--sources", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout
    assert rows["sources"] == {
        "check": "sources",
        "status": "ok",
        "detail": "all 1 enabled sources reachable",
    }


def test_sources_on_private_addresses_are_refused_unless_allowed(
    tmp_path: Path, database_url: str, feed_server: FeedServer
) -> None:
    ids = _add_sources(database_url, {"Local": ("feed", feed_server.url("files/en_world.xml"))})
    env = healthy_env(database_url)
    del env["NEWSDIGEST_FETCH__ALLOWED_NETWORKS"]
    result, rows = doctor("--sources", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "non-public address" in rows[f"source #{ids['Local']}"]["detail"]


def test_an_unreachable_database_fails_without_its_password(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        url = f"postgresql+psycopg://newsdigest:s3cret-passw0rd@127.0.0.1:{port}/newsdigest"
        result, rows = doctor(cwd=tmp_path, env=healthy_env(url))
    assert result.returncode == 1
    assert rows["database"]["status"] == "FAIL"
    assert "cannot connect" in rows["database"]["detail"]
    assert "newsdigest:***@127.0.0.1" in rows["database"]["detail"]
    assert "s3cret-passw0rd" not in result.stdout + result.stderr
    assert rows["bot token"]["status"] == "ok"
