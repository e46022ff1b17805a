"""Use cases about schedules: the ones in force, and operators' changes to them."""

from __future__ import annotations

from collections.abc import Sequence

from digests.config import ScheduleSettings
from digests.editions.schedule import current_schedules
from digests.engine.work import PeriodicWork
from digests.errors import InputError
from digests.store import schedules as stored_schedules
from digests.store.schedules import ScheduleState


class ScheduleCases(PeriodicWork):
    def schedule_states(self) -> list[ScheduleState]:
        """The schedules in force (run-time changes applied), paused ones too."""
        return current_schedules(self.db, self.settings)

    def schedule(self, name: str | None) -> ScheduleSettings | None:
        if not name:
            return None
        return next((s.spec for s in self.schedule_states() if s.name == name), None)

    def default_schedule(self) -> ScheduleSettings:
        states = self.schedule_states()
        wanted = self.settings.bot.default_schedule
        found = next((s.spec for s in states if s.name == wanted), None)
        if found is not None:
            return found
        # Every schedule removed at run time: the config's default still names one.
        return states[0].spec if states else self.settings.schedules[0]

    def find_schedule(self, name: str | None) -> ScheduleState:
        """A schedule in force by name; the bot's default one when no name is given."""
        states = self.schedule_states()
        wanted = name or self.settings.bot.default_schedule
        for state in states:
            if state.name == wanted:
                return state
        if name is None and states:
            return states[0]
        names = ", ".join(state.name for state in states) or "none"
        raise InputError(f"no schedule named {wanted!r} (schedules: {names})")

    def set_schedule(
        self,
        name: str,
        *,
        times: Sequence[str] | None = None,
        timezone: str | None = None,
        sources: Sequence[str] | None = None,
    ) -> ScheduleState:
        with self.db.write() as session:
            return stored_schedules.set_schedule(
                session,
                self.settings.schedules,
                name,
                times=times,
                timezone=timezone,
                sources=sources,
                now=self.clock(),
            )

    def add_schedule(
        self,
        name: str,
        *,
        times: Sequence[str],
        timezone: str | None = None,
        sources: Sequence[str] = (),
    ) -> ScheduleState:
        with self.db.write() as session:
            return stored_schedules.add_schedule(
                session,
                self.settings.schedules,
                name,
                times=times,
                timezone=timezone or self.settings.digest.timezone,
                sources=sources,
                now=self.clock(),
            )

    def remove_schedule(self, name: str) -> ScheduleState:
        with self.db.write() as session:
            return stored_schedules.remove_schedule(
                session, self.settings.schedules, name, now=self.clock()
            )

    def pause_schedule(self, name: str, paused: bool) -> ScheduleState:
        with self.db.write() as session:
            return stored_schedules.set_paused(
                session, self.settings.schedules, name, paused, now=self.clock()
            )
