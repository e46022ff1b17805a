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
import logging

from telegram import Bot
from telegram.request import HTTPXRequest

from bot.app import finish, telegram_engine, telegram_start_errors
from bot.delivery import Deliverer
from digests.engine import Engine
from digests.errors import ConfigError
from digests.runtime import Runtime, SchedulerHost
from digests.store.db import Database

log = logging.getLogger("newsdigest.worker")


def require_shared_database(db: Database) -> None:
    if db.is_sqlite:
        raise ConfigError(
            "workers share a PostgreSQL database; on SQLite `newsdigest run` does "
            "everything in one process (see README: Moving to PostgreSQL)"
        )


async def run_worker(
    engine: Engine,
    token: str,
    stop: asyncio.Event,
    *,
    api_url: str | None = None,
    ingest: bool = True,
    poll_seconds: float = 5.0,
) -> None:
    """Fetch, build and deliver until ``stop``; unsent rows stay for the next run."""
    settings = telegram_engine(engine).settings
    request = HTTPXRequest(connection_pool_size=max(256, settings.delivery.concurrency + 32))
    bot = Bot(token, base_url=api_url or settings.bot.api_url, request=request)
    with telegram_start_errors():
        await bot.initialize()
    engine.warm_up(parser=ingest)
    deliverer = Deliverer(bot, engine, poll_seconds=poll_seconds)
    host = SchedulerHost()
    runtime = Runtime(engine, host, ingest=ingest, on_built=deliverer.wake.set)
    await runtime.start()
    host.scheduler.start()
    log.info("worker %d started", deliverer.presence.id)
    tasks = [asyncio.create_task(deliverer.run(stop), name="delivery")]
    try:
        await stop.wait()
    finally:
        stop.set()
        await host.stop()
        await finish(tasks)
        await bot.shutdown()
        log.info("worker %d stopped", deliverer.presence.id)
