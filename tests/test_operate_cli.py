"""Operators on the command line: ``schedules``, ``editions`` and ``subscribers``,
as real processes against the test's database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, update

from digests.store.db import Database
from digests.store.models import Delivery, Edition, Subscriber
from tests.botkit import EARLIER, add_subscribers, store_news
from tests.test_cli import assert_one_line_error, newsdigest


def run(database_url: str, cwd: Path, *args: str) -> str:
    result = newsdigest(*args, cwd=cwd, env={"NEWSDIGEST_DATABASE_URL": database_url})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout + result.stderr


def fails(database_url: str, cwd: Path, *args: str) -> str:
    result = newsdigest(*args, cwd=cwd, env={"NEWSDIGEST_DATABASE_URL": database_url})
    assert_one_line_error(result)
    return result.stderr


def schedules(database_url: str, cwd: Path) -> dict[str, dict[str, object]]:
    lines = run(database_url, cwd, "schedules", "list", "--json").splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    return {str(record["name"]): record for record in records}


def test_schedules_are_changed_and_stored_over_the_config(
    tmp_path: Path, database_url: str
) -> None:
    daily = schedules(database_url, tmp_path)["daily"]
    assert daily["times"] == ["07:30"] and daily["origin"] == "config" and daily["next_run"]

    out = run(database_url, tmp_path, "schedules", "set", "daily", "06:45,19:00", "Europe/Paris")
    assert "06:45, 19:00" in out and "Europe/Paris" in out
    daily = schedules(database_url, tmp_path)["daily"]
    assert daily["times"] == ["06:45", "19:00"] and daily["timezone"] == "Europe/Paris"
    assert daily["origin"] == "changed at run time"
    assert str(daily["next_run"]).endswith(("+01:00", "+02:00"))  # shown in its own zone

    run(database_url, tmp_path, "schedules", "add", "weekly-en", "08:00", "--sources", "wire")
    added = schedules(database_url, tmp_path)["weekly-en"]
    assert added["sources"] == ["wire"] and added["timezone"] == "Asia/Shanghai"

    run(database_url, tmp_path, "schedules", "pause", "weekly-en")
    paused = schedules(database_url, tmp_path)["weekly-en"]
    assert paused["paused"] is True and paused["next_run"] is None
    run(database_url, tmp_path, "schedules", "resume", "weekly-en")
    assert schedules(database_url, tmp_path)["weekly-en"]["next_run"]

    run(database_url, tmp_path, "schedules", "remove", "daily")
    assert list(schedules(database_url, tmp_path)) == ["weekly-en"]
    plain = run(database_url, tmp_path, "schedules")  # the table, by default
    assert "weekly-en" in plain and "next edition" in plain


def test_schedule_mistakes_are_one_line_naming_the_problem(
    tmp_path: Path, database_url: str
) -> None:
    assert "'24:00' is not a time" in fails(
        database_url, tmp_path, "schedules", "set", "daily", "24:00"
    )
    assert "unknown time zone 'Moon/Base'" in fails(
        database_url, tmp_path, "schedules", "set", "daily", "07:00", "Moon/Base"
    )
    assert "no schedule named 'nosuch'" in fails(
        database_url, tmp_path, "schedules", "pause", "nosuch"
    )
    assert "exists already" in fails(database_url, tmp_path, "schedules", "add", "daily", "09:00")
    assert "schedule name" in fails(
        database_url, tmp_path, "schedules", "add", "bad name!", "09:00"
    )
    assert schedules(database_url, tmp_path)["daily"]["origin"] == "config"  # nothing stored


def test_editions_send_list_show_and_subscriber_stats(tmp_path: Path, database_url: str) -> None:
    db = Database(database_url)
    now = datetime.now(UTC)
    store_news(db, now - EARLIER)
    add_subscribers(db, [11, 12, 13], created_at=now - EARLIER)
    with db.write() as session:
        session.execute(
            update(Subscriber)
            .where(Subscriber.chat_id == 13)
            .values(active=False, inactive_reason="forbidden: bot was blocked by the user")
        )

    out = run(database_url, tmp_path, "editions", "send")
    assert "built now" in out and "the running bot delivers it" in out
    with db.read() as session:
        [edition] = session.scalars(select(Edition)).all()
    assert "already" in run(database_url, tmp_path, "editions", "send")  # not built twice

    listing = [
        json.loads(line)
        for line in run(database_url, tmp_path, "editions", "list", "--json").splitlines()
    ]
    assert [(e["id"], e["schedule"], e["deliveries"]) for e in listing] == [
        (edition.id, "daily", {})
    ]
    shown = run(database_url, tmp_path, "editions", "show", str(edition.id))
    assert "今日要闻" in shown and "no deliveries planned yet" in shown
    assert "no edition #999" in fails(database_url, tmp_path, "editions", "show", "999")

    # As the bot leaves the ledger after delivering: two sent.
    with db.write() as session:
        subscribers = session.scalars(select(Subscriber).where(Subscriber.active)).all()
        for subscriber in subscribers:
            session.add(
                Delivery(
                    edition_id=edition.id,
                    subscriber_id=subscriber.id,
                    part=0,
                    parts=1,
                    state="sent",
                    not_before=now,
                    sent_at=now,
                )
            )
    stats = json.loads(run(database_url, tmp_path, "subscribers", "stats", "--json"))
    assert (stats["active"], stats["blocked"], stats["stopped"]) == (2, 1, 0)
    assert stats["by_schedule"] == {"daily": 2}
    assert stats["last_edition"]["deliveries"] == {"sent": 2}
    assert stats["last_edition"]["chats"] == 2
    table = run(database_url, tmp_path, "subscribers", "stats")
    assert "blocked the bot" in table and "sent 2 to 2 chats" in table
    db.close()


def test_an_unreachable_database_is_one_line_naming_the_key(tmp_path: Path) -> None:
    url = "postgresql+psycopg://operator:hunter2secret@127.0.0.1:9/newsdigest"
    result = newsdigest("schedules", cwd=tmp_path, env={"NEWSDIGEST_DATABASE_URL": url})
    assert_one_line_error(result)
    assert result.stderr.startswith("newsdigest: error: database_url: cannot open ")
    assert "hunter2secret" not in result.stderr + result.stdout
