"""When editions are due, and the jobs that build them.

Schedules are data (config); built editions are unique rows. The scheduler
only picks what is due: every job — the timed ones and a periodic check —
calls ``EditionRunner.catch_up``, which builds the latest due slot of each
schedule if its row does not exist yet. So an edition due while the process
was down is built at start, a job that fired late or not at all (a busy loop,
a DST gap) is made good at the next check, and nothing is built twice.

Local times are resolved in each schedule's IANA zone: on the day clocks go
back, a slot in the repeated hour fires once (the first time the clock shows
it); on the day they jump forward, a slot in the skipped hour fires once, at
the same offset past the jump. One slot a day, never zero, never two.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from digests.config import ScheduleSettings, Settings
from digests.editions.build import BuiltEdition, build_edition
from digests.metrics import record_edition_built
from digests.store.db import Database
from digests.store.schedules import ScheduleState, schedules_in_force

log = logging.getLogger("newsdigest.schedule")

CHECK_EVERY_SECONDS = 300
INGEST_EVERY_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Slot:
    schedule: str
    edition_date: date  # the local date of the slot
    slot: str  # the local time, "07:30"
    fire_at: datetime  # the UTC instant it is due


def local_instant(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``clock`` on ``day`` in ``zone`` (first
    occurrence when it repeats; just past the jump when it does not exist)."""
    return datetime.combine(day, clock).replace(tzinfo=zone, fold=0).astimezone(UTC)


def next_local_time(after: datetime, clock: str, zone: ZoneInfo) -> datetime:
    """The first instant at or after ``after`` when the clock in ``zone`` shows ``clock``."""
    day = after.astimezone(zone).date() - timedelta(days=1)
    while True:
        instant = local_instant(day, _clock(clock), zone)
        if instant >= after:
            return instant
        day += timedelta(days=1)


def edition_instant(
    schedule_zone: str, edition_date: date, slot: str, built_at: datetime
) -> datetime:
    """When an edition is due to go out: its slot's instant, or when it was built
    if that was earlier (by hand, or released ahead of its slot by an operator)."""
    if not slot:
        return built_at
    return min(local_instant(edition_date, _clock(slot), ZoneInfo(schedule_zone)), built_at)


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def slots_between(spec: ScheduleSettings, start: datetime, end: datetime) -> list[Slot]:
    """Every slot of ``spec`` due in (start, end], in order."""
    zone = ZoneInfo(spec.timezone)
    first_day = start.astimezone(zone).date() - timedelta(days=1)
    last_day = end.astimezone(zone).date() + timedelta(days=1)
    slots = []
    day = first_day
    while day <= last_day:
        for text in spec.times:
            fire_at = local_instant(day, _clock(text), zone)
            if start < fire_at <= end:
                slots.append(Slot(spec.name, day, text, fire_at))
        day += timedelta(days=1)
    return sorted(slots, key=lambda s: s.fire_at)


def latest_slot(spec: ScheduleSettings, now: datetime) -> Slot | None:
    """The most recent slot at or before ``now``."""
    slots = slots_between(spec, now - timedelta(days=3), now)
    return slots[-1] if slots else None


def next_slot(spec: ScheduleSettings, now: datetime) -> Slot:
    return slots_between(spec, now, now + timedelta(days=3))[0]


def current_schedules(db: Database, settings: Settings) -> list[ScheduleState]:
    """The schedules in force now: the config's with run-time changes applied."""
    with db.read() as session:
        return schedules_in_force(session, settings.schedules)


def due_slot(state: ScheduleState, now: datetime) -> Slot | None:
    """The slot ``catch_up`` builds now: the latest one, unless the schedule is
    paused or the slot fell before the schedule's last change."""
    if state.paused:
        return None
    slot = latest_slot(state.spec, now)
    if slot is None or (state.effective_from is not None and slot.fire_at < state.effective_from):
        return None
    return slot


def upcoming_slot(state: ScheduleState, now: datetime) -> Slot | None:
    """When the schedule builds next; None while it is paused."""
    return None if state.paused else next_slot(state.spec, now)


class EditionRunner:
    """Builds due editions; owns no timer (the caller's scheduler drives it)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_built: Callable[[Slot, BuiltEdition], None] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.on_built = on_built

    def catch_up(self) -> list[tuple[Slot, BuiltEdition]]:
        """Build the latest due slot of every schedule unless it exists already."""
        now = self.clock()
        built = []
        for state in current_schedules(self.db, self.settings):
            spec = state.spec
            slot = due_slot(state, now)
            if slot is None:
                continue
            try:
                result = build_edition(
                    self.db,
                    self.settings.digest,
                    now=now,
                    schedule=spec.name,
                    edition_date=slot.edition_date,
                    slot=slot.slot,
                    sources=list(spec.sources) or None,
                )
            except Exception:  # one schedule's failure never stops the others
                log.exception(
                    "edition %s %s %s: not built", spec.name, slot.edition_date, slot.slot
                )
                continue
            if result.created:
                log.info(
                    "edition %s %s %s built: %d items",
                    spec.name,
                    slot.edition_date,
                    slot.slot,
                    len(result.digest.items),
                )
                built.append((slot, result))
                record_edition_built(spec.name)
                if self.on_built is not None:
                    self.on_built(slot, result)
        return built


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A timed job as any APScheduler-like scheduler takes it."""

    id: str
    hour: int
    minute: int
    timezone: str


def edition_jobs(schedules: Sequence[ScheduleSettings]) -> list[JobSpec]:
    """One job per schedule and local time, with stable ids (re-adding replaces)."""
    return [
        JobSpec(
            f"edition:{spec.name}:{text}", _clock(text).hour, _clock(text).minute, spec.timezone
        )
        for spec in schedules
        for text in spec.times
    ]
