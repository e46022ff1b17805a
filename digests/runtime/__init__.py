"""The one runtime: the periodic work, declared once, on APScheduler.

``newsdigest run`` (python-telegram-bot's JobQueue, which *is* an APScheduler
3 ``AsyncIOScheduler``), ``newsdigest worker`` and ``newsdigest run-scheduler``
(a bare ``AsyncIOScheduler``, ``SchedulerHost``) only decide where the jobs
run (a ``JobHost``); the jobs, their order and their intervals are declared
here once:

    ingest:due          every minute: refresh due sources -> summarize and
                        index what is new -> build due editions
    edition:NAME:HH:MM  at each schedule's local times: build due editions
    editions:check      every 5 minutes: build due editions (late or missed jobs)
    schedules:sync      every 30 s: schedules changed elsewhere get their jobs

Delivery is not a timed job: the bot side runs it as a task woken by
``on_built`` (a new edition) or its own poll.

The event loop only waits: every use case but the network part of ingest runs
in a worker thread (``asyncio.to_thread``), and ingest parses untrusted bytes
in worker processes it can stop. APScheduler decides *when*; the database
decides *what* (an edition is a unique row, so a job that fires twice, late or
in two processes builds it once), so jobs are rebuilt from the schedules at
every start and no job store is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from digests.editions.schedule import edition_jobs
from digests.engine import Engine

log = logging.getLogger("newsdigest.runtime")

INGEST_EVERY_SECONDS = 60
CHECK_EVERY_SECONDS = 300
# Schedules changed by another process (the command line) are picked up this
# often; a change made in chat reschedules at once.
SYNC_EVERY_SECONDS = 30
EDITION_JOB_PREFIX = "edition:"

Work = Callable[[], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    """One of the runtime's repeating jobs."""

    name: str
    every: float  # seconds
    first: float  # seconds from start to the first run (0: at once)


def periodic_jobs(*, ingest: bool) -> list[PeriodicJob]:
    """The repeating jobs in the order a fresh start runs them. With ingest, the
    first check comes after the first fetch (which ends by building what is
    due): a fresh start must not build an empty edition before reading."""
    jobs = [PeriodicJob("ingest:due", INGEST_EVERY_SECONDS, 0)] if ingest else []
    jobs.append(
        PeriodicJob("editions:check", CHECK_EVERY_SECONDS, CHECK_EVERY_SECONDS if ingest else 0)
    )
    jobs.append(PeriodicJob("schedules:sync", SYNC_EVERY_SECONDS, SYNC_EVERY_SECONDS))
    return jobs


class JobHost(Protocol):
    """Where the jobs run: a bare APScheduler (``SchedulerHost``) or PTB's JobQueue
    (``bot.app``). Registering a name again replaces that job."""

    def every(self, name: str, seconds: float, first: float, work: Work, grace: int) -> None: ...

    def daily(self, name: str, at: time, work: Work, grace: int) -> None:
        """``at`` carries the zone (an aware ``time``)."""
        ...

    def daily_jobs(self) -> dict[str, tzinfo | None]:
        """The daily jobs present: name -> the zone of their trigger."""
        ...

    def remove(self, name: str) -> None: ...


class SchedulerHost:
    """The runtime's jobs on a bare APScheduler ``AsyncIOScheduler``."""

    def __init__(self, scheduler: AsyncIOScheduler | None = None) -> None:
        self.scheduler = scheduler or AsyncIOScheduler(timezone=UTC)

    @staticmethod
    def _options(name: str, grace: int) -> dict[str, Any]:
        return {
            "id": name,
            "name": name,
            "replace_existing": True,
            "misfire_grace_time": grace,
            "coalesce": True,
            "max_instances": 1,
        }

    def every(self, name: str, seconds: float, first: float, work: Work, grace: int) -> None:
        self.scheduler.add_job(
            work,
            IntervalTrigger(seconds=seconds),
            next_run_time=datetime.now(UTC) + timedelta(seconds=first),
            **self._options(name, grace),
        )

    def daily(self, name: str, at: time, work: Work, grace: int) -> None:
        trigger = CronTrigger(hour=at.hour, minute=at.minute, timezone=at.tzinfo)
        self.scheduler.add_job(work, trigger, **self._options(name, grace))

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


class Runtime:
    """Drives one engine's periodic work on a job host."""

    def __init__(
        self,
        engine: Engine,
        host: JobHost,
        *,
        ingest: bool = True,
        on_built: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self.host = host
        self.ingest = ingest
        self.on_built = on_built

    async def start(self) -> None:
        """Add every job (again: names are stable, so a second start replaces them)."""
        work: dict[str, Work] = {
            "ingest:due": self.ingest_round,
            "editions:check": self.editions_round,
            "schedules:sync": self.sync_schedules,
        }
        grace = self.engine.settings.misfire_grace
        for job in periodic_jobs(ingest=self.ingest):
            self.host.every(
                job.name, job.every, job.first, _logged(job.name, work[job.name]), grace
            )
        await self.sync_schedules()

    async def ingest_round(self) -> None:
        """Refresh due sources, summarize and index what is new, build what is due."""
        await self.engine.refresh_sources()
        await asyncio.to_thread(self.engine.summarize_new)
        await self.editions_round()

    async def editions_round(self) -> int:
        """Build the latest due slot of every schedule unless it exists already."""
        built = await asyncio.to_thread(self.engine.build_due_editions)
        if built and self.on_built is not None:
            self.on_built()
        return len(built)

    async def sync_schedules(self) -> int:
        """Make the timed edition jobs match the schedules in force (paused ones
        have none); jobs already right are left alone. Returns how many changed."""
        states = await asyncio.to_thread(self.engine.schedule_states)
        wanted = {spec.id: spec for spec in edition_jobs([s.spec for s in states if not s.paused])}
        present = {
            name: zone
            for name, zone in self.host.daily_jobs().items()
            if name.startswith(EDITION_JOB_PREFIX)
        }
        changed = 0
        for name in present.keys() - wanted.keys():
            self.host.remove(name)
            changed += 1
        editions = _logged("editions", self.editions_round)
        grace = self.engine.settings.misfire_grace
        for name, spec in wanted.items():
            zone = ZoneInfo(spec.timezone)
            # The job name holds the time; a zone change needs a new trigger too.
            if name in present and present[name] == zone:
                continue
            self.host.daily(name, time(spec.hour, spec.minute, tzinfo=zone), editions, grace)
            changed += 1
        return changed


def _logged(name: str, work: Work) -> Work:
    """A job whose failure is one ERROR with its traceback, and the next run comes
    as usual; a shutdown mid-job is a quiet line."""

    async def job() -> None:
        try:
            await work()
        except asyncio.CancelledError:
            log.info("%s interrupted by shutdown", name)
        except Exception:
            log.exception("job %s failed", name)

    return job


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
