"""What every handler and job of one bot process shares: the engine, and hooks
into the running process (wake delivery, re-read the schedules)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, Protocol, TypeVar

from telegram.ext import ContextTypes

from digests.config import Settings
from digests.engine import Engine, utc_now

__all__ = ["BotServices", "offload", "services", "utc_now"]

P = ParamSpec("P")
R = TypeVar("R")


async def offload(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a blocking use case off the event loop: the loop only waits."""
    return await asyncio.to_thread(function, *args, **kwargs)


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
