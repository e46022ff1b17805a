"""Schedules in force: the config's, overridden by what operators changed at run time.

A change made in chat or on the command line is a row in ``schedules``; it
wins over the config file's schedule of the same name until it is removed
there too. Everything that needs the schedules (the edition runner, the timed
jobs, delivery planning, the chat) reads them through ``schedules_in_force``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from digests.config import ScheduleSettings
from digests.errors import InputError
from digests.store.models import ScheduleOverride


@dataclass(frozen=True, slots=True)
class ScheduleState:
    spec: ScheduleSettings
    paused: bool = False
    # Slots due before this are not built (a schedule added, moved or resumed).
    effective_from: datetime | None = None
    changed: bool = False  # overridden at run time (the database), not the config file

    @property
    def name(self) -> str:
        return self.spec.name


def schedules_in_force(
    session: Session, configured: Sequence[ScheduleSettings]
) -> list[ScheduleState]:
    """The config's schedules with the stored changes applied, in a stable order
    (config order, then schedules added at run time by name)."""
    overrides = {row.name: row for row in session.scalars(select(ScheduleOverride))}
    states: list[ScheduleState] = []
    for spec in configured:
        row = overrides.pop(spec.name, None)
        if row is None:
            states.append(ScheduleState(spec))
        elif not row.removed:
            states.append(_state(row))
    states.extend(_state(row) for _name, row in sorted(overrides.items()) if not row.removed)
    return states


def _state(row: ScheduleOverride) -> ScheduleState:
    spec = ScheduleSettings(
        name=row.name, times=list(row.times), timezone=row.timezone, sources=list(row.sources)
    )
    return ScheduleState(spec, paused=row.paused, effective_from=row.effective_from, changed=True)


def split_times(text: str) -> list[str]:
    """ "07:30,18:00" or "07:30 18:00" -> ["07:30", "18:00"] (checked by ``validated``)."""
    return [part for part in text.replace(",", " ").split() if part]


def validated(
    name: str, times: Sequence[str], timezone: str, sources: Sequence[str]
) -> ScheduleSettings:
    """A schedule checked by the config's own rules; ``InputError`` names what is wrong."""
    try:
        return ScheduleSettings(
            name=name, times=list(times), timezone=timezone, sources=list(sources)
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "schedule"
        message = str(first["msg"]).removeprefix("Value error, ")
        if field == "name":
            message = "use 1-40 letters, digits, - or _"
        raise InputError(f"schedule {field}: {message}") from exc


def _find(session: Session, configured: Sequence[ScheduleSettings], name: str) -> ScheduleState:
    for state in schedules_in_force(session, configured):
        if state.name == name:
            return state
    raise InputError(f"no schedule named {name!r}")


def _store(
    session: Session,
    spec: ScheduleSettings,
    now: datetime,
    *,
    paused: bool = False,
    removed: bool = False,
    effective_from: datetime | None = None,
) -> None:
    row = session.scalar(select(ScheduleOverride).where(ScheduleOverride.name == spec.name))
    if row is None:
        row = ScheduleOverride(name=spec.name)
        session.add(row)
    row.times = list(spec.times)
    row.timezone = spec.timezone
    row.sources = list(spec.sources)
    row.paused = paused
    row.removed = removed
    row.effective_from = effective_from or now
    row.updated_at = now
    session.flush()


def set_schedule(
    session: Session,
    configured: Sequence[ScheduleSettings],
    name: str,
    *,
    times: Sequence[str] | None = None,
    timezone: str | None = None,
    sources: Sequence[str] | None = None,
    now: datetime,
) -> ScheduleState:
    """Change an existing schedule; what is not given stays as it was."""
    current = _find(session, configured, name)
    spec = validated(
        name,
        current.spec.times if times is None else times,
        timezone or current.spec.timezone,
        current.spec.sources if sources is None else sources,
    )
    _store(session, spec, now, paused=current.paused)
    return _find(session, configured, name)


def add_schedule(
    session: Session,
    configured: Sequence[ScheduleSettings],
    name: str,
    *,
    times: Sequence[str],
    timezone: str,
    sources: Sequence[str] = (),
    now: datetime,
) -> ScheduleState:
    if any(state.name == name for state in schedules_in_force(session, configured)):
        raise InputError(f"a schedule named {name!r} exists already; change it with set")
    _store(session, validated(name, times, timezone, sources), now)
    return _find(session, configured, name)


def remove_schedule(
    session: Session, configured: Sequence[ScheduleSettings], name: str, *, now: datetime
) -> ScheduleState:
    """Hide a schedule (its editions and subscribers stay; nothing new is built)."""
    current = _find(session, configured, name)
    _store(session, current.spec, now, removed=True)
    return current


def set_paused(
    session: Session,
    configured: Sequence[ScheduleSettings],
    name: str,
    paused: bool,
    *,
    now: datetime,
) -> ScheduleState:
    """Pause (no editions are built) or resume (from the next slot on, none made up)."""
    current = _find(session, configured, name)
    if current.paused == paused:
        return current
    effective_from = now if not paused else current.effective_from
    _store(session, current.spec, now, paused=paused, effective_from=effective_from)
    return _find(session, configured, name)
