"""What every handler and job of one bot process shares: the engine, and hooks
into the running process (wake delivery, re-read the schedules)."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ParamSpec, Protocol, TypeVar

from telegram.ext import ContextTypes

from digests.config import Settings
from digests.engine import Engine, utc_now

__all__ = ["BotServices", "offload", "services", "utc_now"]

P = ParamSpec("P")
R = TypeVar("R")


# Threads for what a chat or a delivery waits on. Background work (an ingest
# round stores every feed in asyncio's default threads) queues hundreds of calls
# at once; a reply's database read queued behind them would wait for seconds.
_FOREGROUND = ThreadPoolExecutor(max_workers=8, thread_name_prefix="foreground")


async def offload(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a blocking use case off the event loop, in threads kept for what a
    chat or a delivery waits on: the loop only waits, and never behind background work."""
    call = functools.partial(contextvars.copy_context().run, function, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_FOREGROUND, call)


class Wakeable(Protocol):
    """What the handlers need of the delivery loop: a way to wake it."""

    wake: asyncio.Event


async def _nothing() -> None:
    return None


@dataclass
class BotServices:
    engine: Engine
    deliverer: Wakeable | None = None
    # Makes the running timed jobs match the stored schedules (set by the runtime
    # when it runs timed jobs; a no-op otherwise).
    reschedule: Callable[[], Awaitable[object]] = field(default=lambda: _nothing())

    @property
    def settings(self) -> Settings:
        return self.engine.settings

    def wake_delivery(self) -> None:
        if self.deliverer is not None:
            self.deliverer.wake.set()


def services(context: ContextTypes.DEFAULT_TYPE | Any) -> BotServices:
    found = context.bot_data["services"]
    assert isinstance(found, BotServices)
    return found
