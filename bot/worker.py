"""``newsdigest worker``: fetching, editions and delivery without chat polling.

Several workers (and one ``newsdigest run``, which also answers chats: only
one process may poll Telegram per token) share one PostgreSQL database. They
never fetch one source at once (sources are claimed with ``SKIP LOCKED`` and a
lease), never send one message twice (ledger rows are claimed per chat, and a
row is taken ``pending -> sending`` by one conditional UPDATE), and settle
each other's rows when one dies (advisory-lock liveness, see
``digests.store.workers``). Editions are unique rows, so any worker may build
one; planning is serialized by a transaction lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from telegram import Bot
from telegram.request import HTTPXRequest

from bot.app import fetch_and_summarize, finish, telegram_start_errors
from bot.delivery import Deliverer
from bot.services import utc_now
from digests.config import Settings
from digests.errors import ConfigError
from digests.schedule import INGEST_EVERY_SECONDS, EditionRunner
from digests.store.db import Database

log = logging.getLogger("newsdigest.worker")

# Editions are checked this often (the bot process fires them at the exact
# minute; a worker alone is at most this late).
EDITION_CHECK_SECONDS = 30


def require_shared_database(db: Database) -> None:
    if db.is_sqlite:
        raise ConfigError(
            "workers share a PostgreSQL database; on SQLite `newsdigest run` does "
            "everything in one process (see README: Moving to PostgreSQL)"
        )


async def _every(seconds: float, stop: asyncio.Event, work: Callable[[], object]) -> None:
    """Run ``work`` now and then every ``seconds`` until ``stop``; a failed round
    is one log line and the next round comes as usual."""
    while not stop.is_set():
        try:
            result = work()
            if asyncio.iscoroutine(result):
                await result
        except Exception as exc:
            log.error("worker round failed: %s: %s", type(exc).__name__, exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)


async def run_worker(
    settings: Settings,
    db: Database,
    token: str,
    stop: asyncio.Event,
    *,
    api_url: str | None = None,
    clock: Callable[[], datetime] = utc_now,
    ingest: bool = True,
    poll_seconds: float = 5.0,
) -> None:
    """Fetch, build and deliver until ``stop``; unsent rows stay for the next run."""
    request = HTTPXRequest(connection_pool_size=max(256, settings.delivery.concurrency + 32))
    bot = Bot(token, base_url=api_url or settings.bot.api_url, request=request)
    with telegram_start_errors():
        await bot.initialize()
    deliverer = Deliverer(bot, db, settings, clock=clock, poll_seconds=poll_seconds)
    runner = EditionRunner(db, settings, clock=clock, on_built=lambda *_: deliverer.wake.set())
    log.info("worker %d started", deliverer.presence.id)
    tasks = [
        asyncio.create_task(deliverer.run(stop), name="delivery"),
        asyncio.create_task(_every(EDITION_CHECK_SECONDS, stop, runner.catch_up), name="editions"),
    ]
    if ingest:

        async def fetch() -> None:
            await fetch_and_summarize(db, settings)
            runner.catch_up()

        tasks.append(asyncio.create_task(_every(INGEST_EVERY_SECONDS, stop, fetch), name="ingest"))
    try:
        await stop.wait()
    finally:
        stop.set()
        await finish(tasks)
        await bot.shutdown()
        log.info("worker %d stopped", deliverer.presence.id)
