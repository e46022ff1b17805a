"""The delivery ledger's rows: planned, claimed, marked. No Telegram here.

Every state change is its own short write transaction, committed before the
next step: ``claim`` (pending -> sending) commits before the message leaves,
``mark`` commits after Telegram answers. What a crash leaves behind is exact:
pending rows were not sent, sent rows were, and a row still ``sending`` is the
one ambiguous case.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from digests.store.models import (
    Delivery,
    Edition,
    EditionRender,
    Subscriber,
    utcnow,
)

PENDING, SENDING, SENT, FAILED, SKIPPED, UNKNOWN = (
    "pending",
    "sending",
    "sent",
    "failed",
    "skipped",
    "unknown",
)
MAX_ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class DueMessage:
    """One ledger row ready to send, with what to send and where."""

    id: int
    edition_id: int | None  # an edition's part, or
    alert_id: int | None  # a keyword alert's article
    subscriber_id: int
    chat_id: int
    chat_type: str
    part: int
    parts: int
    text: str


def latest_edition(session: Session, schedule: str, since: datetime) -> Edition | None:
    """The schedule's newest edition built after ``since``."""
    return session.scalar(
        select(Edition)
        .where(Edition.schedule == schedule, Edition.built_at >= since)
        .order_by(Edition.edition_date.desc(), Edition.slot.desc(), Edition.id.desc())
        .limit(1)
    )


def subscribers_to_plan(session: Session, edition: Edition) -> list[Subscriber]:
    """Active subscribers of the edition's schedule, subscribed before it was
    built, that have no ledger rows for it yet."""
    planned = select(Delivery.subscriber_id).where(Delivery.edition_id == edition.id)
    return list(
        session.scalars(
            select(Subscriber)
            .where(
                Subscriber.schedule == edition.schedule,
                Subscriber.active.is_(True),
                Subscriber.created_at <= edition.built_at,
                Subscriber.id.not_in(planned),
            )
            .order_by(Subscriber.id)
        )
    )


def render_for(
    session: Session, edition_id: int, variant: str, render: Callable[[], list[str]]
) -> EditionRender:
    """The stored rendering of ``variant``, made (once) by ``render`` if missing."""
    existing = session.scalar(
        select(EditionRender).where(
            EditionRender.edition_id == edition_id, EditionRender.variant == variant
        )
    )
    if existing is not None:
        return existing
    stored = EditionRender(edition_id=edition_id, variant=variant, parts=render())
    session.add(stored)
    session.flush()
    return stored


def plan(
    session: Session,
    edition_id: int,
    rows: Sequence[tuple[int, EditionRender, datetime]],
    now: datetime | None = None,
) -> int:
    """Ledger rows for (subscriber id, render, due time): one per message part.
    A render with no parts (nothing for this subscriber's choice on a day that
    sends no empty editions) is one ``skipped`` row, so it is not planned again."""
    now = now or utcnow()
    values = []
    for subscriber_id, render, due in rows:
        common = {
            "edition_id": edition_id,
            "subscriber_id": subscriber_id,
            "render_id": render.id,
            "parts": len(render.parts),
            "attempts": 0,
            "not_before": due,
            "created_at": now,
            "updated_at": now,
        }
        if not render.parts:
            values.append({**common, "part": 0, "state": SKIPPED, "last_error": "nothing to send"})
        values.extend(
            {**common, "part": part, "state": PENDING} for part in range(len(render.parts))
        )
    if values:
        session.execute(insert(Delivery), values)
    return sum(1 for value in values if value["state"] == PENDING)


def supersede(session: Session, subscriber_id: int, edition_id: int) -> int:
    """Older editions a subscriber has not started receiving are skipped: at
    their delivery time they get the newest one only."""
    started = select(Delivery.edition_id).where(
        Delivery.subscriber_id == subscriber_id, Delivery.state != PENDING
    )
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.subscriber_id == subscriber_id,
            Delivery.edition_id != edition_id,
            Delivery.state == PENDING,
            Delivery.edition_id.not_in(started),
        )
        .values(state=SKIPPED, last_error="superseded by a newer edition", updated_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def forget_unstarted(session: Session, subscriber_id: int) -> int:
    """Drop a subscriber's planned deliveries that have not begun, so they are
    planned again with the subscriber's new choices (language, time, sources)."""
    started = select(Delivery.edition_id).where(
        Delivery.subscriber_id == subscriber_id, Delivery.state != PENDING
    )
    result = session.execute(
        delete(Delivery).where(
            Delivery.subscriber_id == subscriber_id,
            Delivery.state == PENDING,
            Delivery.edition_id.not_in(started),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def skip_inactive(session: Session) -> int:
    """Pending rows of subscribers who left (/stop, blocked the bot) are skipped."""
    gone = select(Subscriber.id).where(Subscriber.active.is_(False))
    result = session.execute(
        update(Delivery)
        .where(Delivery.state == PENDING, Delivery.subscriber_id.in_(gone))
        .values(state=SKIPPED, last_error="subscriber inactive", updated_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def due_messages(session: Session, now: datetime, limit: int) -> list[DueMessage]:
    """Pending rows due by ``now``, a subscriber's parts together and in order."""
    rows = session.execute(
        select(Delivery, Subscriber.chat_id, Subscriber.chat_type, EditionRender.parts)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .outerjoin(EditionRender, EditionRender.id == Delivery.render_id)
        .where(
            Delivery.state == PENDING,
            Delivery.not_before <= now,
            Subscriber.active.is_(True),
        )
        .order_by(Delivery.not_before, Delivery.subscriber_id, Delivery.id)
        .limit(limit)
    ).all()
    return [
        DueMessage(
            id=row.id,
            edition_id=row.edition_id,
            alert_id=row.alert_id,
            subscriber_id=row.subscriber_id,
            chat_id=chat_id,
            chat_type=chat_type,
            part=row.part,
            parts=row.parts,
            text=parts[row.part] if parts is not None else (row.body or ""),
        )
        for row, chat_id, chat_type, parts in rows
    ]


def claim(session: Session | Connection, delivery_id: int, chat_id: int) -> bool:
    """pending -> sending, counted as an attempt; False if it was not pending."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.state == PENDING)
        .values(
            state=SENDING,
            attempts=Delivery.attempts + 1,
            chat_id=chat_id,
            updated_at=utcnow(),
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark(
    session: Session | Connection,
    delivery_id: int,
    state: str,
    *,
    error: str | None = None,
    message_id: int | None = None,
    not_before: datetime | None = None,
) -> None:
    now = utcnow()
    values: dict[str, object] = {"state": state, "updated_at": now}
    if error is not None:
        values["last_error"] = error[:MAX_ERROR_CHARS]
    if message_id is not None:
        values["message_id"] = message_id
    if state == SENT:
        values["sent_at"] = now
    if not_before is not None:
        values["not_before"] = not_before
    session.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values))


def skip_remaining(session: Session, subscriber_id: int, reason: str) -> int:
    result = session.execute(
        update(Delivery)
        .where(Delivery.subscriber_id == subscriber_id, Delivery.state == PENDING)
        .values(state=SKIPPED, last_error=reason[:MAX_ERROR_CHARS], updated_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def recover_interrupted(session: Session, *, resend: bool) -> int:
    """Rows left ``sending`` by a process that stopped mid-send: their message
    may or may not have arrived. Resent (``resend``) or marked ``unknown``."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.state == SENDING)
        .values(
            state=PENDING if resend else UNKNOWN,
            last_error="interrupted mid-send: it may have arrived",
            updated_at=utcnow(),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def ledger_counts(session: Session, edition_id: int | None = None) -> dict[str, int]:
    query = select(Delivery.state, func.count()).group_by(Delivery.state)
    if edition_id is not None:
        query = query.where(Delivery.edition_id == edition_id)
    return {state: int(count) for state, count in session.execute(query).all()}
