"""What operators do and see, shared by the admin chat commands and the command line.

Reports (subscribers, an edition's delivery), releasing the next edition now,
and broadcasts. No Telegram and no printing here: callers render the results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from digests.config import Settings
from digests.edition import BuiltEdition, build_edition
from digests.errors import InputError
from digests.schedule import Slot, current_schedules, next_slot
from digests.store import deliveries as ledger
from digests.store.db import Database
from digests.store.models import Delivery, Edition, Subscriber
from digests.store.schedules import ScheduleState

MAX_BROADCAST_CHARS = 3500  # one Telegram message (4096) with room for escaping


@dataclass(frozen=True, slots=True)
class SubscriberStats:
    active: int
    blocked: int  # the bot was blocked, kicked or lost access
    stopped: int  # unsubscribed with /stop
    other_inactive: int  # e.g. a group that migrated to a supergroup (moved, not lost)
    by_schedule: dict[str, int] = field(default_factory=dict)  # active only
    by_chat_type: dict[str, int] = field(default_factory=dict)
    by_language: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    edition_id: int
    schedule: str
    edition_date: str
    slot: str
    built_at: datetime
    counts: dict[str, int]  # ledger state -> messages
    chats: int
    first_sent: datetime | None
    last_sent: datetime | None

    @property
    def duration_seconds(self) -> float | None:
        """From the edition's build to its last message sent."""
        if self.last_sent is None:
            return None
        return max(0.0, (self.last_sent - self.built_at).total_seconds())

    def count(self, state: str) -> int:
        return self.counts.get(state, 0)


def _blocked(reason: str | None) -> bool:
    text = (reason or "").lower()
    return text.startswith(("forbidden", "bot kicked", "bot left", "bot banned"))


def subscriber_stats(session: Session) -> SubscriberStats:
    active = blocked = stopped = other = 0
    by_schedule: dict[str, int] = {}
    by_chat_type: dict[str, int] = {}
    by_language: dict[str, int] = {}
    rows = session.execute(
        select(
            Subscriber.active,
            Subscriber.inactive_reason,
            Subscriber.schedule,
            Subscriber.chat_type,
            Subscriber.language,
            func.count(),
        ).group_by(
            Subscriber.active,
            Subscriber.inactive_reason,
            Subscriber.schedule,
            Subscriber.chat_type,
            Subscriber.language,
        )
    ).all()
    for is_active, reason, schedule, chat_type, language, count in rows:
        if is_active:
            active += count
            by_schedule[schedule] = by_schedule.get(schedule, 0) + count
            by_chat_type[chat_type] = by_chat_type.get(chat_type, 0) + count
            by_language[language] = by_language.get(language, 0) + count
        elif _blocked(reason):
            blocked += count
        elif (reason or "").startswith("unsubscribed"):
            stopped += count
        else:
            other += count
    return SubscriberStats(active, blocked, stopped, other, by_schedule, by_chat_type, by_language)


def delivery_report(session: Session, edition: Edition) -> DeliveryReport:
    first, last, chats = session.execute(
        select(
            func.min(Delivery.sent_at),
            func.max(Delivery.sent_at),
            func.count(func.distinct(Delivery.subscriber_id)),
        ).where(Delivery.edition_id == edition.id)
    ).one()
    return DeliveryReport(
        edition_id=edition.id,
        schedule=edition.schedule,
        edition_date=edition.edition_date.isoformat(),
        slot=edition.slot,
        built_at=edition.built_at,
        counts=ledger.ledger_counts(session, edition.id),
        chats=int(chats or 0),
        first_sent=_aware(first),
        last_sent=_aware(last),
    )


def _aware(value: datetime | None) -> datetime | None:
    # min()/max() bypass the column type on SQLite: naive UTC comes back.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def recent_editions(session: Session, limit: int = 20) -> list[Edition]:
    return list(
        session.scalars(
            select(Edition).order_by(Edition.built_at.desc(), Edition.id.desc()).limit(limit)
        )
    )


def latest_built(session: Session) -> Edition | None:
    return session.scalar(
        select(Edition).order_by(Edition.built_at.desc(), Edition.id.desc()).limit(1)
    )


def get_edition(session: Session, edition_id: int) -> Edition:
    edition = session.get(Edition, edition_id)
    if edition is None:
        raise InputError(f"no edition #{edition_id} (see `newsdigest editions list`)")
    return edition


def find_schedule(db: Database, settings: Settings, name: str | None) -> ScheduleState:
    """A schedule in force by name; the bot's default one when no name is given."""
    states = current_schedules(db, settings)
    wanted = name or settings.bot.default_schedule
    for state in states:
        if state.name == wanted:
            return state
    if name is None and states:
        return states[0]
    names = ", ".join(state.name for state in states) or "none"
    raise InputError(f"no schedule named {wanted!r} (schedules: {names})")


def _next_edition(
    db: Database, settings: Settings, schedule: str | None, now: datetime, *, preview: bool
) -> tuple[ScheduleState, Slot, BuiltEdition]:
    state = find_schedule(db, settings, schedule)
    slot = next_slot(state.spec, now)
    built = build_edition(
        db,
        settings.digest,
        now=now,
        schedule=state.name,
        edition_date=slot.edition_date,
        slot=slot.slot,
        preview=preview,
        sources=list(state.spec.sources) or None,
    )
    return state, slot, built


def release_next_edition(
    db: Database, settings: Settings, schedule: str | None, now: datetime
) -> tuple[ScheduleState, Slot, BuiltEdition]:
    """Build the schedule's next edition now, to go out at once instead of at its
    slot (the slot then finds it built and does nothing). Subscribers with a
    delivery time of their own still get it at their time."""
    state, slot, built = _next_edition(db, settings, schedule, now, preview=False)
    if not built.stored:
        raise InputError(
            f"nothing new for {state.name!r} since the last edition, and "
            "digest.empty_edition = skip: no edition to send"
        )
    return state, slot, built


def preview_next_edition(
    db: Database, settings: Settings, schedule: str | None, now: datetime
) -> tuple[ScheduleState, Slot, BuiltEdition]:
    """The schedule's next edition as it would be built now, not saved."""
    return _next_edition(db, settings, schedule, now, preview=True)


def broadcast(
    db: Database, body_html: str, *, sent_by: int | None, now: datetime
) -> tuple[int, int]:
    """Queue ``body_html`` (already safe Telegram HTML) for every active
    subscriber through the ledger. Returns (broadcast id, messages planned)."""
    if not body_html.strip():
        raise InputError("the broadcast text is empty")
    if len(body_html) > MAX_BROADCAST_CHARS:
        raise InputError(f"the broadcast text is longer than {MAX_BROADCAST_CHARS} characters")
    with db.write() as session:
        return ledger.plan_broadcast(session, body_html, sent_by=sent_by, now=now)
