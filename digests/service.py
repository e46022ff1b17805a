"""``newsdigest run-scheduler``: the engine's timed work without a bot.

APScheduler (3.x, the scheduler python-telegram-bot's JobQueue wraps) runs the
edition jobs in each schedule's own time zone, a periodic due-editions check,
and ingest of due sources. Misfire grace is set explicitly (APScheduler's
default is one second); the database-driven catch-up is the real guarantee.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from digests.config import Settings
from digests.pipeline import fetch_due
from digests.schedule import (
    CHECK_EVERY_SECONDS,
    INGEST_EVERY_SECONDS,
    EditionRunner,
    current_schedules,
    edition_jobs,
)
from digests.store.db import Database

log = logging.getLogger("newsdigest.service")


def build_scheduler(settings: Settings, runner: EditionRunner, db: Database) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(
        timezone=UTC,
        job_defaults={
            "misfire_grace_time": settings.misfire_grace,
            "coalesce": True,
            "max_instances": 1,
        },
    )
    states = current_schedules(db, settings)
    for job in edition_jobs([state.spec for state in states if not state.paused]):
        trigger = CronTrigger(hour=job.hour, minute=job.minute, timezone=ZoneInfo(job.timezone))
        scheduler.add_job(runner.catch_up, trigger, id=job.id, replace_existing=True)
    scheduler.add_job(
        runner.catch_up,
        IntervalTrigger(seconds=CHECK_EVERY_SECONDS),
        id="editions:check",
        replace_existing=True,
    )

    async def ingest() -> None:
        try:
            await fetch_due(db, settings.fetch)
        except asyncio.CancelledError:
            # Shutting down mid-fetch: what was stored is committed, the rest is
            # fetched next time. A quiet line, not a traceback.
            log.info("ingest interrupted by shutdown")

    scheduler.add_job(
        ingest,
        IntervalTrigger(seconds=INGEST_EVERY_SECONDS),
        id="ingest:due",
        replace_existing=True,
        next_run_time=datetime.now(UTC),
    )
    return scheduler


async def run_scheduler(settings: Settings, db: Database, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set: catch up at once, then on every job."""
    runner = EditionRunner(db, settings)
    scheduler = build_scheduler(settings, runner, db)
    scheduler.start()
    log.info("scheduler started: %s", ", ".join(job.id for job in scheduler.get_jobs()))
    runner.catch_up()
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)


def serve(settings: Settings, db: Database) -> None:
    """Blocking entry for the command line; SIGINT/SIGTERM stop it cleanly."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await run_scheduler(settings, db, stop)

    asyncio.run(main())
