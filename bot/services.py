"""What every handler and job of one bot process shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from telegram.ext import ContextTypes

from digests.config import ScheduleSettings, Settings
from digests.schedule import current_schedules
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
    # Makes the running timed jobs match the stored schedules (set by the app
    # when it runs timed jobs; a no-op otherwise).
    reschedule: Callable[[], object] = lambda: None

    def schedules(self) -> list[ScheduleSettings]:
        """The schedules in force (run-time changes applied), paused ones too."""
        return [state.spec for state in current_schedules(self.db, self.settings)]

    def schedule(self, name: str) -> ScheduleSettings | None:
        return next((spec for spec in self.schedules() if spec.name == name), None)

    def default_schedule(self) -> ScheduleSettings:
        found = self.schedule(self.settings.bot.default_schedule)
        if found is not None:
            return found
        schedules = self.schedules()
        # Every schedule removed at run time: the config's default still names one.
        return schedules[0] if schedules else self.settings.schedules[0]

    def wake_delivery(self) -> None:
        if self.deliverer is not None:
            self.deliverer.wake.set()


def services(context: ContextTypes.DEFAULT_TYPE | Any) -> BotServices:
    found = context.bot_data["services"]
    assert isinstance(found, BotServices)
    return found
