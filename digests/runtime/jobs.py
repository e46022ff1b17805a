"""The runtime's jobs, declared once: what runs, in which order, how often."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import time, tzinfo
from typing import Any, Protocol
from zoneinfo import ZoneInfo

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


def job_options(name: str, grace: int) -> dict[str, Any]:
    """APScheduler's options for every job of the runtime: a stable id (adding
    again replaces), the configured misfire grace (APScheduler's default is one
    second; the database catch-up is the real guarantee), missed runs coalesced
    and never two runs of one job at once."""
    return {
        "id": name,
        "replace_existing": True,
        "misfire_grace_time": grace,
        "coalesce": True,
        "max_instances": 1,
    }


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
