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
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from digests.store.models import (
    Broadcast,
    Delivery,
    Edition,
    EditionRender,
    Subscriber,
    utcnow,
)

PENDING, SENDING, SENT, FAILED, SKIPPED, UNKNOWN, WITHHELD = (
    "pending",
    "sending",
    "sent",
    "failed",
    "skipped",
    "unknown",
    "withheld",  # a later part of an edition whose earlier part failed: never sent
)
MAX_ERROR_CHARS = 500
# How long a worker's claim on pending rows keeps other workers off them; an
# expired claim (its worker died or fell behind) is free for anyone again.
CLAIM_LEASE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class DueMessage:
    """One ledger row ready to send, with what to send and where."""

    id: int
    edition_id: int | None  # an edition's part, or
    alert_id: int | None  # a keyword alert's article, or
    broadcast_id: int | None  # an operator's broadcast
    subscriber_id: int
    chat_id: int
    chat_type: str
    part: int
    parts: int
    text: str
    due: datetime  # when it was due to go out (its edition's time or the chat's own)


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


def rendered_variants(session: Session, edition_id: int) -> set[str]:
    """The variant keys of ``edition_id`` already rendered and stored."""
    return set(
        session.scalars(select(EditionRender.variant).where(EditionRender.edition_id == edition_id))
    )


def store_renders(
    session: Session, edition_id: int, parts: dict[str, list[str]]
) -> dict[str, EditionRender]:
    """Every stored rendering of the edition, ``parts`` (variant key -> messages)
    added where missing (another process may have stored one meanwhile: it stands)."""
    existing = {
        render.variant: render
        for render in session.scalars(
            select(EditionRender).where(EditionRender.edition_id == edition_id)
        )
    }
    for key, messages in parts.items():
        if key not in existing:
            existing[key] = EditionRender(edition_id=edition_id, variant=key, parts=messages)
            session.add(existing[key])
    session.flush()
    return existing


def waiting_for_other_editions(session: Session, edition_id: int) -> set[int]:
    """Subscribers with pending rows of an edition other than ``edition_id``."""
    return set(
        session.scalars(
            select(Delivery.subscriber_id).where(
                Delivery.state == PENDING, Delivery.edition_id != edition_id
            )
        )
    )


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


def single_message(subscriber_id: int, body: str, now: datetime, **owner: int) -> dict[str, object]:
    """A one-part ledger row due now, sending ``body`` (an alert's or a broadcast's:
    ``owner`` names which, e.g. ``alert_id=7, article_id=9``)."""
    return {
        **owner,
        "subscriber_id": subscriber_id,
        "body": body,
        "part": 0,
        "parts": 1,
        "state": PENDING,
        "attempts": 0,
        "not_before": now,
        "created_at": now,
        "updated_at": now,
    }


def plan_broadcast(
    session: Session, body: str, *, sent_by: int | None, now: datetime
) -> tuple[int, int]:
    """One ledger row per active subscriber for an operator's message, due now."""
    message = Broadcast(body=body, sent_by=sent_by, created_at=now)
    session.add(message)
    session.flush()
    subscribers = list(
        session.scalars(
            select(Subscriber.id).where(Subscriber.active.is_(True)).order_by(Subscriber.id)
        )
    )
    values = [
        single_message(subscriber_id, body, now, broadcast_id=message.id)
        for subscriber_id in subscribers
    ]
    if values:
        session.execute(insert(Delivery), values)
    return message.id, len(values)


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


def _unclaimed(now: datetime) -> ColumnElement[bool]:
    return or_(Delivery.claim_until.is_(None), Delivery.claim_until < now)


def _due_rows(
    session: Session, where: ColumnElement[bool], limit: int | None = None
) -> list[DueMessage]:
    rows = session.execute(
        select(Delivery, Subscriber.chat_id, Subscriber.chat_type, EditionRender.parts)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .outerjoin(EditionRender, EditionRender.id == Delivery.render_id)
        .where(where)
        .order_by(Delivery.subscriber_id, Delivery.not_before, Delivery.id)
        .limit(limit)
    ).all()
    return [
        DueMessage(
            id=row.id,
            edition_id=row.edition_id,
            alert_id=row.alert_id,
            broadcast_id=row.broadcast_id,
            subscriber_id=row.subscriber_id,
            chat_id=chat_id,
            chat_type=chat_type,
            part=row.part,
            parts=row.parts,
            text=parts[row.part] if parts is not None else (row.body or ""),
            due=row.not_before,
        )
        for row, chat_id, chat_type, parts in rows
    ]


def claim_due(
    session: Session,
    worker: int,
    now: datetime,
    *,
    chats: int,
    busy: Sequence[int] = (),
) -> list[DueMessage]:
    """Claim the due rows of up to ``chats`` subscribers for ``worker``, every
    due row of a subscriber together (its parts stay in order on one worker).

    Subscriber rows are locked ``FOR UPDATE SKIP LOCKED`` (PostgreSQL), so
    workers claiming at once take different chats without waiting on each
    other; the claim itself is the conditional UPDATE, which only takes rows no
    live claim holds. ``busy``: subscribers this worker is sending to already."""
    due = and_(
        Delivery.state == PENDING,
        Delivery.not_before <= now,
        _unclaimed(now),
    )
    candidates = (
        select(Delivery.subscriber_id)
        .where(due)
        .group_by(Delivery.subscriber_id)
        .order_by(func.min(Delivery.not_before), Delivery.subscriber_id)
        .limit(chats * 4)
    )
    if busy:
        candidates = candidates.where(Delivery.subscriber_id.not_in(list(busy)))
    locked = list(
        session.scalars(
            select(Subscriber.id)
            .where(Subscriber.id.in_(candidates.scalar_subquery()), Subscriber.active.is_(True))
            .order_by(Subscriber.id)
            .limit(chats)
            .with_for_update(skip_locked=True)
        )
    )
    if not locked:
        return []
    session.execute(
        update(Delivery)
        .where(Delivery.subscriber_id.in_(locked), due)
        .values(claimed_by=worker, claim_until=now + CLAIM_LEASE)
    )
    return _due_rows(
        session,
        and_(
            Delivery.subscriber_id.in_(locked),
            Delivery.state == PENDING,
            Delivery.not_before <= now,
            Delivery.claimed_by == worker,
        ),
    )


def unsettled(session: Session, now: datetime) -> int:
    """Rows still to be worked on: being sent, or pending and due by ``now`` for an
    active subscriber. One statement, so one consistent view on every backend."""
    return int(
        session.scalar(
            select(func.count(Delivery.id))
            .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
            .where(
                or_(
                    Delivery.state == SENDING,
                    and_(
                        Delivery.state == PENDING,
                        Delivery.not_before <= now,
                        Subscriber.active.is_(True),
                    ),
                )
            )
        )
        or 0
    )


_EARLIER = aliased(Delivery)
# An edition's part goes only after every earlier part of it to the same chat
# was sent (or may have been: ``unknown``): never while one waits, is in
# flight, failed or was withheld. The reader gets no edition without its header.
_EARLIER_PART_OPEN = exists().where(
    _EARLIER.edition_id == Delivery.edition_id,
    _EARLIER.subscriber_id == Delivery.subscriber_id,
    _EARLIER.part < Delivery.part,
    _EARLIER.state.in_((PENDING, SENDING, FAILED, WITHHELD)),
)


def claim(
    session: Session | Connection,
    delivery_id: int,
    chat_id: int,
    worker: int | None = None,
    now: datetime | None = None,
) -> bool:
    """pending -> sending, counted as an attempt; False if it was not pending,
    another worker holds a live claim on it, or an earlier part of its edition
    has not gone out."""
    now = now or utcnow()
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.state == PENDING,
            or_(Delivery.claimed_by == worker, _unclaimed(now)),
            ~_EARLIER_PART_OPEN,
        )
        .values(
            state=SENDING,
            attempts=Delivery.attempts + 1,
            chat_id=chat_id,
            claimed_by=worker,
            updated_at=now,
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


def fail(session: Session | Connection, delivery_id: int, error: str) -> int:
    """Mark a message ``failed``; when it is an edition's part, the later parts
    of that edition to the same chat are ``withheld`` in the same transaction
    (a reader never gets parts 2 and 3 without part 1). Returns how many."""
    mark(session, delivery_id, FAILED, error=error)
    row = session.execute(
        select(Delivery.edition_id, Delivery.subscriber_id, Delivery.part).where(
            Delivery.id == delivery_id
        )
    ).one_or_none()
    if row is None or row.edition_id is None:
        return 0
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.edition_id == row.edition_id,
            Delivery.subscriber_id == row.subscriber_id,
            Delivery.part > row.part,
            Delivery.state == PENDING,
        )
        .values(
            state=WITHHELD,
            last_error=f"not sent: part {row.part + 1} failed",
            updated_at=utcnow(),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def merge_pending(session: Session, from_id: int, into_id: int) -> tuple[int, int]:
    """A chat's two subscriptions become one (a group migrated onto a supergroup
    that had subscribed too): ``from_id``'s pending messages that ``into_id``
    also has (the same edition or broadcast) are skipped, the rest move to
    ``into_id``. Returns (skipped, moved)."""
    into = select(Delivery.edition_id).where(
        Delivery.subscriber_id == into_id, Delivery.edition_id.is_not(None)
    )
    into_broadcasts = select(Delivery.broadcast_id).where(
        Delivery.subscriber_id == into_id, Delivery.broadcast_id.is_not(None)
    )
    pending = and_(Delivery.subscriber_id == from_id, Delivery.state == PENDING)
    now = utcnow()
    skipped = session.execute(
        update(Delivery)
        .where(
            pending,
            or_(Delivery.edition_id.in_(into), Delivery.broadcast_id.in_(into_broadcasts)),
        )
        .values(
            state=SKIPPED, last_error="merged: the chat's other subscription has it", updated_at=now
        )
    )
    moved = session.execute(  # free for the next round at once, whoever held them
        update(Delivery)
        .where(pending)
        .values(subscriber_id=into_id, claimed_by=None, claim_until=None, updated_at=now)
    )
    return int(skipped.rowcount or 0), int(moved.rowcount or 0)  # type: ignore[attr-defined]


def skip_remaining(session: Session, subscriber_id: int, reason: str) -> int:
    result = session.execute(
        update(Delivery)
        .where(Delivery.subscriber_id == subscriber_id, Delivery.state == PENDING)
        .values(state=SKIPPED, last_error=reason[:MAX_ERROR_CHARS], updated_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def stranded_workers(session: Session, worker: int, now: datetime) -> list[int | None]:
    """Workers other than ``worker`` holding rows: ``sending`` ones, or pending
    ones under a live claim."""
    held = or_(
        Delivery.state == SENDING,
        and_(Delivery.state == PENDING, Delivery.claim_until >= now),
    )
    return list(
        session.scalars(
            select(Delivery.claimed_by)
            .where(held, or_(Delivery.claimed_by.is_(None), Delivery.claimed_by != worker))
            .distinct()
        )
    )


def release_chat(session: Session | Connection, *, subscriber_id: int, worker: int) -> int:
    """``worker`` lets go of a chat's pending rows (one of them could not be
    claimed in order): the next round, of any worker, takes them up again."""
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.subscriber_id == subscriber_id,
            Delivery.state == PENDING,
            Delivery.claimed_by == worker,
        )
        .values(claimed_by=None, claim_until=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def release_claims(session: Session, workers: Sequence[int | None]) -> int:
    """Pending rows claimed by workers that are gone are free again at once."""
    ids = [worker for worker in workers if worker is not None]
    if not ids:
        return 0
    result = session.execute(
        update(Delivery)
        .where(Delivery.state == PENDING, Delivery.claimed_by.in_(ids))
        .values(claimed_by=None, claim_until=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def recover_interrupted(session: Session, *, resend: bool, workers: Sequence[int | None]) -> int:
    """Rows left ``sending`` by worker processes that stopped mid-send: their
    message may or may not have arrived. Resent (``resend``) or marked ``unknown``."""
    ids = [worker for worker in workers if worker is not None]
    owners = [Delivery.claimed_by.in_(ids)] if ids else []
    if None in workers:
        owners.append(Delivery.claimed_by.is_(None))
    if not owners:
        return 0
    result = session.execute(
        update(Delivery)
        .where(Delivery.state == SENDING, or_(*owners))
        .values(
            state=PENDING if resend else UNKNOWN,
            last_error="interrupted mid-send: it may have arrived",
            claimed_by=None,
            claim_until=None,
            updated_at=utcnow(),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def ledger_counts(session: Session, edition_id: int | None = None) -> dict[str, int]:
    query = select(Delivery.state, func.count()).group_by(Delivery.state)
    if edition_id is not None:
        query = query.where(Delivery.edition_id == edition_id)
    return {state: int(count) for state, count in session.execute(query).all()}


def send_span(session: Session, edition_id: int) -> tuple[datetime | None, datetime | None, int]:
    """The edition's first and last message sent, and how many chats it has rows for."""
    first, last, chats = session.execute(
        select(
            func.min(Delivery.sent_at),
            func.max(Delivery.sent_at),
            func.count(func.distinct(Delivery.subscriber_id)),
        ).where(Delivery.edition_id == edition_id)
    ).one()
    return _aware(first), _aware(last), int(chats or 0)


def _aware(value: datetime | None) -> datetime | None:
    # min()/max() bypass the column type on SQLite: naive UTC comes back.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
