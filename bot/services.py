"""What every handler and job of one bot process shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from telegram.ext import ContextTypes

from digests.config import ScheduleSettings, Settings
from digests.store.db import Database

if TYPE_CHECKING:
    from bot.delivery import Deliverer


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class BotServices:
    db: Database
    settings: Settings
    clock: Callable[[], datetime] = utc_now
    deliverer: Deliverer | None = None

    def schedule(self, name: str) -> ScheduleSettings | None:
        return next((spec for spec in self.settings.schedules if spec.name == name), None)

    def default_schedule(self) -> ScheduleSettings:
        return self.schedule(self.settings.bot.default_schedule) or self.settings.schedules[0]

    def wake_delivery(self) -> None:
        if self.deliverer is not None:
            self.deliverer.wake.set()


def services(context: ContextTypes.DEFAULT_TYPE | Any) -> BotServices:
    found = context.bot_data["services"]
    assert isinstance(found, BotServices)
    return found
