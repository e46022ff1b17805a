"""Subscriber rows: who receives which schedule, and their choices."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from digests.store.models import Subscriber, WordFilter, utcnow


def find_subscriber(session: Session, chat_id: int) -> Subscriber | None:
    return session.scalar(select(Subscriber).where(Subscriber.chat_id == chat_id))


def find_subscriber_by_id(session: Session, subscriber_id: int) -> Subscriber | None:
    return session.get(Subscriber, subscriber_id)


def subscribe(
    session: Session,
    *,
    chat_id: int,
    chat_type: str,
    title: str | None,
    schedule: str,
    language: str,
    now: datetime | None = None,
) -> tuple[Subscriber, bool]:
    """Subscribe ``chat_id`` (again); True when it was not an active subscriber before.

    Re-subscribing keeps earlier choices (time, zone, sources, language) but
    takes the schedule asked for now.
    """
    now = now or utcnow()
    subscriber = find_subscriber(session, chat_id)
    if subscriber is None:
        subscriber = Subscriber(
            chat_id=chat_id,
            chat_type=chat_type,
            title=title,
            schedule=schedule,
            language=language,
            active=True,
            created_at=now,
            updated_at=now,
        )
        session.add(subscriber)
        session.flush()
        return subscriber, True
    was_active = subscriber.active
    subscriber.active = True
    subscriber.inactive_reason = None
    subscriber.chat_type = chat_type
    subscriber.title = title
    subscriber.schedule = schedule
    subscriber.updated_at = now
    if not was_active:
        # A returning subscriber gets editions built from now on, not old ones.
        subscriber.created_at = now
    return subscriber, not was_active


def deactivate(session: Session, subscriber: Subscriber, reason: str) -> None:
    subscriber.active = False
    subscriber.inactive_reason = reason[:500]
    subscriber.updated_at = utcnow()


def move_chat(session: Session, old_chat_id: int, new_chat_id: int) -> Subscriber | None:
    """A group became a supergroup: the subscription follows it to ``new_chat_id``.
    Returns the subscriber that now holds the new chat id."""
    old = find_subscriber(session, old_chat_id)
    existing = find_subscriber(session, new_chat_id)
    if existing is not None:
        if old is not None and old.id != existing.id:
            deactivate(session, old, f"chat migrated to {new_chat_id}")
        return existing
    if old is None:
        return None
    old.chat_id = new_chat_id
    old.chat_type = "supergroup"
    old.updated_at = utcnow()
    return old


def word_filters(
    session: Session, subscriber_ids: Iterable[int]
) -> dict[int, tuple[tuple[str, ...], tuple[str, ...]]]:
    """(mutes, follows) of each subscriber that has any."""
    found: dict[int, tuple[list[str], list[str]]] = {}
    ids = list(subscriber_ids)
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(WordFilter.subscriber_id, WordFilter.kind, WordFilter.text)
            .where(WordFilter.subscriber_id.in_(ids[start : start + 500]))
            .order_by(WordFilter.id)
        )
        for subscriber_id, kind, text in rows:
            mutes, follows = found.setdefault(subscriber_id, ([], []))
            (mutes if kind == "mute" else follows).append(text)
    return {key: (tuple(m), tuple(f)) for key, (m, f) in found.items()}


SubscriberGroup = tuple[bool, str | None, str, str, str, int]


def subscriber_groups(session: Session) -> list[SubscriberGroup]:
    """(active, inactive reason, schedule, chat type, language, count) groups."""
    columns = (
        Subscriber.active,
        Subscriber.inactive_reason,
        Subscriber.schedule,
        Subscriber.chat_type,
        Subscriber.language,
    )
    rows = session.execute(select(*columns, func.count()).group_by(*columns)).all()
    return [(bool(a), r, str(s), str(t), str(lang), int(n)) for a, r, s, t, lang, n in rows]
