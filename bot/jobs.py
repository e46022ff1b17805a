"""The engine's timed work on python-telegram-bot's JobQueue (the bot process).

The same jobs ``newsdigest run-scheduler`` runs on a bare APScheduler: one per
schedule and local time (stable ids, so registering again replaces them, each
in its schedule's own zone), a periodic due-editions check, and ingest. PTB's
JobQueue keeps APScheduler's one-second ``misfire_grace_time``; it is set here
explicitly, and ``EditionRunner.catch_up`` (built from the database) is what
really guarantees an edition.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo

from telegram.ext import ContextTypes, Job, JobQueue

from digests.config import Settings
from digests.schedule import CHECK_EVERY_SECONDS, INGEST_EVERY_SECONDS, EditionRunner, edition_jobs

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


def register_jobs(
    job_queue: JobQueue[Any],
    runner: EditionRunner,
    settings: Settings,
    *,
    ingest: Callable[[], Awaitable[None]] | None = None,
) -> list[Job[Any]]:
    async def editions(_context: ContextTypes.DEFAULT_TYPE) -> None:
        runner.catch_up()

    jobs = [
        job_queue.run_daily(
            editions,
            time(spec.hour, spec.minute, tzinfo=ZoneInfo(spec.timezone)),
            name=spec.id,
            job_kwargs=_job_kwargs(spec.id, settings),
        )
        for spec in edition_jobs(settings.schedules)
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
