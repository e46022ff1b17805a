"""The same jobs on python-telegram-bot's JobQueue (a real Application; no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from telegram.ext import ApplicationBuilder

from bot.jobs import register_jobs
from digests.config import ScheduleSettings, Settings
from digests.schedule import EditionRunner, next_slot
from digests.store.db import Database


async def test_job_queue_jobs_zones_grace_and_replacement(db: Database) -> None:
    settings = Settings(
        schedules=[
            ScheduleSettings(name="daily", times=["07:30", "18:00"], timezone="Asia/Shanghai"),
            ScheduleSettings(name="us", times=["06:00"], timezone="America/New_York"),
        ]
    )
    application = ApplicationBuilder().token("123456:TEST").build()
    job_queue = application.job_queue
    assert job_queue is not None
    runner = EditionRunner(db, settings)

    async def ingest() -> None:
        return None

    register_jobs(job_queue, runner, settings, ingest=ingest)
    register_jobs(job_queue, runner, settings, ingest=ingest)  # again: replaced, not doubled
    await job_queue.start()
    try:
        jobs = {job.name: job for job in job_queue.jobs()}
        assert sorted(jobs) == [
            "edition:daily:07:30",
            "edition:daily:18:00",
            "edition:us:06:00",
            "editions:check",
            "ingest:due",
            "schedules:sync",
        ]
        assert len(job_queue.jobs()) == 6
        now = datetime.now(UTC)
        for name, spec in (
            ("edition:daily:18:00", settings.schedules[0]),
            ("edition:us:06:00", settings.schedules[1]),
        ):
            job = jobs[name]
            assert job.job.misfire_grace_time == settings.misfire_grace
            assert str(job.job.trigger.timezone) == spec.timezone
            one_time = spec.model_copy(update={"times": [name[-5:]]})
            assert job.next_t is not None
            assert job.next_t.astimezone(UTC) == next_slot(one_time, now).fire_at
        # Ingest runs at once (and checks editions after it); the periodic check later.
        ingest_next = jobs["ingest:due"].next_t
        assert ingest_next is not None and ingest_next.astimezone(UTC) - now < timedelta(seconds=5)
        check_next = jobs["editions:check"].next_t
        assert check_next is not None and check_next.astimezone(UTC) - now > timedelta(minutes=4)
    finally:
        await job_queue.stop()
