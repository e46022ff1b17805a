"""The runtime's jobs on python-telegram-bot's JobQueue (a real Application; no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from telegram.ext import ApplicationBuilder

from bot.app import JobQueueHost
from digests.config import ScheduleSettings, Settings
from digests.editions.schedule import next_slot
from digests.engine import Engine
from digests.runtime import Runtime
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
    runtime = Runtime(Engine(settings, db), JobQueueHost(job_queue))
    await runtime.start()
    await runtime.start()  # again: replaced, not doubled
    await job_queue.start()
    try:
        jobs = {job.name: job.job for job in job_queue.jobs()}
        assert len(job_queue.jobs()) == 6
        assert sorted(jobs) == [
            "edition:daily:07:30",
            "edition:daily:18:00",
            "edition:us:06:00",
            "editions:check",
            "ingest:due",
            "schedules:sync",
        ]
        now = datetime.now(UTC)
        for name, spec in (
            ("edition:daily:18:00", settings.schedules[0]),
            ("edition:us:06:00", settings.schedules[1]),
        ):
            job = jobs[name]
            assert job.misfire_grace_time == settings.misfire_grace
            assert str(job.trigger.timezone) == spec.timezone
            one_time = spec.model_copy(update={"times": [name[-5:]]})
            assert job.next_run_time.astimezone(UTC) == next_slot(one_time, now).fire_at
        # Ingest runs at once (and builds due editions after it); the periodic check later.
        ingest_next = jobs["ingest:due"].next_run_time
        assert ingest_next.astimezone(UTC) - now < timedelta(seconds=5)
        check_next = jobs["editions:check"].next_run_time
        assert check_next.astimezone(UTC) - now > timedelta(minutes=4)
        # A schedule paused elsewhere loses its jobs at the next sync; nothing else changes.
        runtime.engine.pause_schedule("us", True)
        assert await runtime.sync_schedules() == 1
        assert "edition:us:06:00" not in {job.name for job in job_queue.jobs()}
        assert await runtime.sync_schedules() == 0
    finally:
        await job_queue.stop()
