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

from digests.runtime.jobs import (
    CHECK_EVERY_SECONDS,
    INGEST_EVERY_SECONDS,
    SYNC_EVERY_SECONDS,
    JobHost,
    PeriodicJob,
    Runtime,
    Work,
    job_options,
    periodic_jobs,
)
from digests.runtime.scheduler import SchedulerHost, run_scheduler

__all__ = [
    "CHECK_EVERY_SECONDS",
    "INGEST_EVERY_SECONDS",
    "SYNC_EVERY_SECONDS",
    "JobHost",
    "PeriodicJob",
    "Runtime",
    "SchedulerHost",
    "Work",
    "job_options",
    "periodic_jobs",
    "run_scheduler",
]
