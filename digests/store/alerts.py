"""Alert and word-filter rows: a subscriber's standing words, and alert cursors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from digests.store.models import Alert, Delivery, Subscriber, WordFilter


@dataclass(frozen=True, slots=True)
class AlertRow:
    id: int
    subscriber_id: int
    query: str
    last_article_id: int


@dataclass(frozen=True, slots=True)
class StandingWord:
    """An alert or a word filter as the subscriber's list shows it."""

    kind: str  # "alert" | "mute" | "follow"
    id: int
    text: str


def active_alerts(session: Session) -> list[AlertRow]:
    """Every alert of an active subscriber, oldest first."""
    rows = session.execute(
        select(Alert.id, Alert.subscriber_id, Alert.query, Alert.last_article_id)
        .join(Subscriber, Subscriber.id == Alert.subscriber_id)
        .where(Subscriber.active.is_(True))
        .order_by(Alert.id)
    ).all()
    return [AlertRow(int(a), int(s), str(q), int(c)) for a, s, q, c in rows]


def alert_cursor(session: Session, alert_id: int) -> int | None:
    """The last article the alert looked at; None when the alert is gone."""
    return session.scalar(select(Alert.last_article_id).where(Alert.id == alert_id))


def pushes_since(session: Session, alert_id: int, since: datetime) -> int:
    return int(
        session.scalar(
            select(func.count(Delivery.id)).where(
                Delivery.alert_id == alert_id, Delivery.created_at > since
            )
        )
        or 0
    )


def push_and_advance(
    session: Session, alert_id: int, rows: Sequence[dict[str, object]], cursor: int
) -> None:
    """Queue the alert's ledger rows and move its cursor, in one transaction."""
    if rows:
        session.execute(insert(Delivery), list(rows))
    session.execute(update(Alert).where(Alert.id == alert_id).values(last_article_id=cursor))


def count_alerts(session: Session, subscriber_id: int) -> int:
    return int(
        session.scalar(select(func.count(Alert.id)).where(Alert.subscriber_id == subscriber_id))
        or 0
    )


def add_alert(
    session: Session, subscriber_id: int, query: str, *, after_article: int, now: datetime
) -> Alert:
    alert = Alert(
        subscriber_id=subscriber_id, query=query, last_article_id=after_article, created_at=now
    )
    session.add(alert)
    session.flush()
    return alert


def word_filter_rows(session: Session, subscriber_id: int) -> list[WordFilter]:
    return list(
        session.scalars(
            select(WordFilter)
            .where(WordFilter.subscriber_id == subscriber_id)
            .order_by(WordFilter.id)
        )
    )


def add_word_filter(
    session: Session, subscriber_id: int, kind: str, text: str, now: datetime
) -> WordFilter:
    row = WordFilter(subscriber_id=subscriber_id, kind=kind, text=text, created_at=now)
    session.add(row)
    session.flush()
    return row


def standing_words(session: Session, subscriber_id: int) -> list[StandingWord]:
    """The subscriber's alerts, then their mutes and follows, each oldest first."""
    alerts = session.scalars(
        select(Alert).where(Alert.subscriber_id == subscriber_id).order_by(Alert.id)
    )
    entries = [StandingWord("alert", a.id, a.query) for a in alerts]
    entries += [
        StandingWord(w.kind, w.id, w.text) for w in word_filter_rows(session, subscriber_id)
    ]
    return entries


def remove_standing_word(session: Session, subscriber_id: int, kind: str, row_id: int) -> bool:
    """Delete the subscriber's alert (``kind == "alert"``) or word filter; False
    when it is not theirs (or gone)."""
    row: Alert | WordFilter | None = (
        session.get(Alert, row_id) if kind == "alert" else session.get(WordFilter, row_id)
    )
    if row is None or row.subscriber_id != subscriber_id:
        return False
    session.delete(row)
    return True
