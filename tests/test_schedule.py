"""Schedules: slots in real time zones (DST included), catch-up, the scheduler and its command."""

from __future__ import annotations

import signal
import time as wall
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from digests.config import DigestSettings, ScheduleSettings, SearchSettings, Settings
from digests.editions.schedule import EditionRunner, latest_slot, next_slot, slots_between
from digests.search.factory import open_search_index
from digests.store.articles import save_articles
from digests.store.db import Database
from digests.store.models import Edition
from digests.store.sources import get_or_create_source
from digests.summarize.stage import summarize_stored
from tests.builders import article
from tests.test_cli import start_newsdigest

NEW_YORK = "America/New_York"


def _spec(times: list[str], zone: str, name: str = "daily") -> ScheduleSettings:
    return ScheduleSettings(name=name, times=times, timezone=zone)


@pytest.mark.parametrize(
    ("clock", "start", "transition_day", "expected_utc"),
    [
        (
            "02:30",
            datetime(2026, 3, 6, tzinfo=UTC),
            date(2026, 3, 8),
            datetime(2026, 3, 8, 7, 30, tzinfo=UTC),
        ),
        (
            "01:30",
            datetime(2026, 10, 30, tzinfo=UTC),
            date(2026, 11, 1),
            datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
        ),
        (
            "07:30",
            datetime(2026, 3, 6, tzinfo=UTC),
            date(2026, 3, 8),
            datetime(2026, 3, 8, 11, 30, tzinfo=UTC),
        ),
    ],
    ids=["spring-forward-gap", "fall-back-repeat", "ordinary-time"],
)
def test_daylight_saving_neither_skips_nor_doubles(
    clock: str, start: datetime, transition_day: date, expected_utc: datetime
) -> None:
    slots = slots_between(_spec([clock], NEW_YORK), start, start + timedelta(days=5))
    days = [s.edition_date for s in slots]
    assert len(days) == len(set(days)) == 5  # one a day, every day
    assert days == [days[0] + timedelta(days=i) for i in range(5)]
    [on_the_day] = [s for s in slots if s.edition_date == transition_day]
    assert on_the_day.fire_at == expected_utc


def test_two_schedules_in_different_zones() -> None:
    now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # 16:00 Shanghai, 08:00 London
    shanghai = latest_slot(_spec(["07:30"], "Asia/Shanghai"), now)
    london = latest_slot(_spec(["07:30", "18:00"], "Europe/London", "uk"), now)
    assert shanghai is not None and london is not None
    assert shanghai.fire_at == datetime(2026, 11, 24, 23, 30, tzinfo=UTC)
    assert (london.edition_date, london.slot) == (date(2026, 11, 25), "07:30")
    assert next_slot(_spec(["07:30", "18:00"], "Europe/London"), now).slot == "18:00"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _store(db: Database, title: str, at: datetime) -> None:
    with db.write() as session:
        source = get_or_create_source(
            session, kind="feed", location="https://w.example/", name="wire"
        )
        save_articles(
            session, source.id, [article(title, f"{title}的正文。第二句。", guid=title)], at
        )
    summarize_stored(db, open_search_index(SearchSettings(), db))


def _editions(db: Database) -> list[tuple[str, date, str, int]]:
    with db.read() as session:
        rows = session.scalars(select(Edition).order_by(Edition.id))
        return [(e.schedule, e.edition_date, e.slot, e.article_count) for e in rows]


def test_catch_up_builds_each_due_edition_once_and_only_the_latest_after_downtime(
    db: Database,
) -> None:
    settings = Settings(
        schedules=[_spec(["07:30"], "Asia/Shanghai")], digest=DigestSettings(sections="none")
    )
    day_one = datetime(2026, 11, 24, 23, 45, tzinfo=UTC)  # 07:45 on the 25th in Shanghai
    clock = Clock(day_one)
    runner = EditionRunner(db, settings, clock=clock)
    _store(db, "寒潮来袭", day_one - timedelta(hours=2))
    assert len(runner.catch_up()) == 1
    assert runner.catch_up() == []  # already built
    _store(db, "图书馆夜间开放", day_one + timedelta(days=1))
    _store(db, "地铁站改造", day_one + timedelta(days=2))
    clock.now = day_one + timedelta(days=3, minutes=30)  # down for three days
    [(slot, built)] = runner.catch_up()
    assert slot.edition_date == date(2026, 11, 28)
    assert sorted(i.title for i in built.digest.items) == ["图书馆夜间开放", "地铁站改造"]
    assert _editions(db) == [
        ("daily", date(2026, 11, 25), "07:30", 1),
        ("daily", date(2026, 11, 28), "07:30", 2),
    ]


def test_several_schedules_and_slots(db: Database) -> None:
    settings = Settings(
        schedules=[
            _spec(["07:30", "18:00"], "Asia/Shanghai"),
            _spec(["07:00"], "Europe/London", "uk"),
        ],
        digest=DigestSettings(sections="none"),
    )
    evening = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)  # 18:30 Shanghai, 10:30 London
    _store(db, "航线开通", evening - timedelta(hours=1))
    built = EditionRunner(db, settings, clock=Clock(evening)).catch_up()
    assert sorted((s.schedule, s.slot) for s, _ in built) == [("daily", "18:00"), ("uk", "07:00")]


async def test_scheduler_jobs_have_stable_ids_zones_and_grace(db: Database) -> None:
    from digests.engine import Engine
    from digests.runtime import Runtime, SchedulerHost

    settings = Settings(
        schedules=[_spec(["07:30"], "Asia/Shanghai"), _spec(["06:00"], NEW_YORK, "us")]
    )
    host = SchedulerHost()
    scheduler = host.scheduler
    runtime = Runtime(Engine(settings, db), host)
    await runtime.start()
    await runtime.start()  # again: replaced, not doubled
    scheduler.start(paused=True)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {
            "edition:daily:07:30",
            "edition:us:06:00",
            "editions:check",
            "ingest:due",
            "schedules:sync",
        }
        assert len(scheduler.get_jobs()) == 5
        job = jobs["edition:daily:07:30"]
        assert job.misfire_grace_time == settings.misfire_grace and job.coalesce
        assert str(job.trigger.timezone) == "Asia/Shanghai"
        expected = next_slot(settings.schedules[0], datetime.now(UTC)).fire_at
        assert job.next_run_time.astimezone(UTC) == expected
    finally:
        scheduler.shutdown(wait=False)


def test_run_scheduler_builds_the_due_edition_at_start(tmp_path: Path, database_url: str) -> None:
    db = Database(database_url)
    _store(db, "开机补发的新闻", datetime.now(UTC) - timedelta(minutes=5))
    (tmp_path / "config.toml").write_text(
        '[[schedules]]\nname = "hourly"\ntimes = ["00:00"]\ntimezone = "UTC"\n', "utf-8"
    )
    process = start_newsdigest(
        "run-scheduler", cwd=tmp_path, env={"NEWSDIGEST_DATABASE_URL": database_url}
    )
    try:
        deadline = wall.monotonic() + 60
        while wall.monotonic() < deadline and not _editions(db):
            assert process.poll() is None, process.communicate()
            wall.sleep(0.1)  # polling a real database with a deadline
        assert [e[0] for e in _editions(db)] == ["hourly"]
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err
