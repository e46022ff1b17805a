"""The runtime's jobs on a bare APScheduler (``worker``, ``run-scheduler``)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, time, timedelta, tzinfo

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from digests.engine import Engine
from digests.runtime.jobs import Runtime, Work, job_options


class SchedulerHost:
    """The runtime's jobs on a bare APScheduler ``AsyncIOScheduler``."""

    def __init__(self, scheduler: AsyncIOScheduler | None = None) -> None:
        self.scheduler = scheduler or AsyncIOScheduler(timezone=UTC)

    def every(self, name: str, seconds: float, first: float, work: Work, grace: int) -> None:
        self.scheduler.add_job(
            work,
            IntervalTrigger(seconds=seconds),
            next_run_time=datetime.now(UTC) + timedelta(seconds=first),
            name=name,
            **job_options(name, grace),
        )

    def daily(self, name: str, at: time, work: Work, grace: int) -> None:
        trigger = CronTrigger(hour=at.hour, minute=at.minute, timezone=at.tzinfo)
        self.scheduler.add_job(work, trigger, name=name, **job_options(name, grace))

    def daily_jobs(self) -> dict[str, tzinfo | None]:
        return {
            job.id: getattr(job.trigger, "timezone", None)
            for job in self.scheduler.get_jobs()
            if isinstance(job.trigger, CronTrigger)
        }

    def remove(self, name: str) -> None:
        with contextlib.suppress(JobLookupError):
            self.scheduler.remove_job(name)

    async def stop(self, timeout: float = 30) -> None:
        """Stop: no new runs; a running job may finish within ``timeout`` (what it
        stored stays), then it is cancelled (as PTB's JobQueue does on stop)."""
        if not self.scheduler.running:
            return
        self.scheduler.pause()
        running = [
            future
            for executor in self.scheduler._executors.values()
            for future in getattr(executor, "_pending_futures", ())
        ]
        if running:
            await asyncio.wait(running, timeout=timeout)
        self.scheduler.shutdown(wait=False)


async def run_scheduler(engine: Engine, stop: asyncio.Event) -> None:
    """``newsdigest run-scheduler``: the runtime's jobs without a bot, until ``stop``."""
    engine.warm_up()
    host = SchedulerHost()
    runtime = Runtime(engine, host)
    await runtime.start()
    host.scheduler.start()
    try:
        await runtime.editions_round()  # what fell due while nothing ran
        await stop.wait()
    finally:
        await host.stop()
