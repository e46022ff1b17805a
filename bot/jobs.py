"""The engine's timed work on python-telegram-bot's JobQueue (the bot process).

The same jobs ``newsdigest run-scheduler`` runs on a bare APScheduler: one per
schedule and local time (stable ids, so registering again replaces them, each
in its schedule's own zone), a periodic due-editions check, and ingest. PTB's
JobQueue keeps APScheduler's one-second ``misfire_grace_time``; it is set here
explicitly, and ``EditionRunner.catch_up`` (built from the database) is what
really guarantees an edition.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo

from telegram.ext import ContextTypes, Job, JobQueue

from digests.config import Settings
from digests.schedule import (
    CHECK_EVERY_SECONDS,
    INGEST_EVERY_SECONDS,
    EditionRunner,
    current_schedules,
    edition_jobs,
)

# Schedules changed by another process (the command line) are picked up this often;
# a change made in chat reschedules at once.
SYNC_EVERY_SECONDS = 30
EDITION_JOB_PREFIX = "edition:"

# PTB's JobQueue cannot start an interval job at 0 (APScheduler then waits a
# whole interval); a second from now is "at once" and still misfire-safe.
AT_ONCE = 1


def _job_kwargs(job_id: str, settings: Settings) -> dict[str, Any]:
    return {
        "id": job_id,
        "replace_existing": True,
        "misfire_grace_time": settings.misfire_grace,
        "coalesce": True,
        "max_instances": 1,
    }


def _catch_up(
    runner: EditionRunner,
) -> Callable[[ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
    """The job callback every edition job runs: build what is due."""

    async def editions(_context: ContextTypes.DEFAULT_TYPE) -> None:
        runner.catch_up()

    return editions


def sync_edition_jobs(job_queue: JobQueue[Any], runner: EditionRunner) -> int:
    """Make the timed edition jobs match the schedules in force (paused ones have
    none); jobs already right are left alone. Returns how many jobs changed."""
    states = current_schedules(runner.db, runner.settings)
    wanted = {spec.id: spec for spec in edition_jobs([s.spec for s in states if not s.paused])}
    changed = 0
    for job in job_queue.jobs():
        if job.name and job.name.startswith(EDITION_JOB_PREFIX) and job.name not in wanted:
            job.schedule_removal()
            changed += 1
    present = {job.name: job for job in job_queue.jobs()}

    editions = _catch_up(runner)
    for job_id, spec in wanted.items():
        at = time(spec.hour, spec.minute, tzinfo=ZoneInfo(spec.timezone))
        existing = present.get(job_id)
        # The job id holds the time; a zone change needs a new trigger too.
        if existing is not None and getattr(existing.job.trigger, "timezone", None) == at.tzinfo:
            continue
        job_queue.run_daily(
            editions, at, name=job_id, job_kwargs=_job_kwargs(job_id, runner.settings)
        )
        changed += 1
    return changed


def register_jobs(
    job_queue: JobQueue[Any],
    runner: EditionRunner,
    settings: Settings,
    *,
    ingest: Callable[[], Awaitable[None]] | None = None,
) -> list[Job[Any]]:
    editions = _catch_up(runner)

    async def sync(_context: ContextTypes.DEFAULT_TYPE) -> None:
        sync_edition_jobs(job_queue, runner)

    sync_edition_jobs(job_queue, runner)
    jobs = [
        job_queue.run_repeating(
            sync,
            SYNC_EVERY_SECONDS,
            first=SYNC_EVERY_SECONDS,
            name="schedules:sync",
            job_kwargs=_job_kwargs("schedules:sync", settings),
        )
    ]
    # With ingest, the first check comes after the first fetch (which ends by
    # checking): a fresh start must not build an empty edition before reading.
    jobs.append(
        job_queue.run_repeating(
            editions,
            CHECK_EVERY_SECONDS,
            first=CHECK_EVERY_SECONDS if ingest is not None else AT_ONCE,
            name="editions:check",
            job_kwargs=_job_kwargs("editions:check", settings),
        )
    )
    if ingest is not None:

        async def fetch(_context: ContextTypes.DEFAULT_TYPE) -> None:
            await ingest()
            runner.catch_up()

        jobs.append(
            job_queue.run_repeating(
                fetch,
                INGEST_EVERY_SECONDS,
                first=AT_ONCE,
                name="ingest:due",
                job_kwargs=_job_kwargs("ingest:due", settings),
            )
        )
    return jobs
