"""What operators see: subscriber counts and an edition's delivery report. Pure.

The engine reads the rows (``Engine.subscriber_stats``, ``Engine.delivery_report``);
the admin chat commands and the command line render these results.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from digests.store.models import Edition
from digests.store.subscribers import SubscriberGroup

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


def stats_from_groups(groups: Iterable[SubscriberGroup]) -> SubscriberStats:
    active = blocked = stopped = other = 0
    by_schedule: dict[str, int] = {}
    by_chat_type: dict[str, int] = {}
    by_language: dict[str, int] = {}
    for is_active, reason, schedule, chat_type, language, count in groups:
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


def delivery_report_of(
    edition: Edition,
    counts: dict[str, int],
    chats: int,
    first_sent: datetime | None,
    last_sent: datetime | None,
) -> DeliveryReport:
    return DeliveryReport(
        edition_id=edition.id,
        schedule=edition.schedule,
        edition_date=edition.edition_date.isoformat(),
        slot=edition.slot,
        built_at=edition.built_at,
        counts=counts,
        chats=chats,
        first_sent=first_sent,
        last_sent=last_sent,
    )
