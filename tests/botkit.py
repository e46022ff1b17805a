"""Helpers for the bot's tests: news in the store, an edition, subscribers, settings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from digests.config import DeliverySettings, SearchSettings, Settings
from digests.editions.build import build_edition
from digests.search.factory import open_search_index
from digests.store.articles import save_articles
from digests.store.db import Database
from digests.store.models import Delivery, Edition, Subscriber
from digests.store.sources import get_or_create_source
from digests.summarize.stage import summarize_stored
from tests.builders import article

NEWS = {
    "临江晚报": [
        (
            "临江沿江步道首段建成",
            "临江区滨江步道青石湾段正式开放。步道全长约二点八公里。沿线有三处口袋公园。",
        ),
        (
            "临江港新开两条航线",
            "临江港至江州港的内河集装箱航线开通。新航线每周开行三班。主要运输纺织品。",
        ),
    ],
    "Harbor Gazette": [
        (
            "Harbor Town opens new ferry pier",
            "The new ferry pier opened on Monday. It serves two routes. Commuters welcomed it.",
        ),
        (
            "Library reopens with maker space",
            "The Pell Street Library reopened on Saturday. It has a maker space. Hours are longer.",
        ),
    ],
}


def quick_delivery(**changes: object) -> DeliverySettings:
    """Unpaced, with short waits: tests assert what happens, not how fast."""
    values: dict[str, object] = {
        "messages_per_second": 0,
        "per_chat_interval": 0,
        "group_messages_per_minute": 0,
        "retry_backoff": 0.01,
        "max_retry_backoff": 0.05,
        "send_timeout": 1.0,
    }
    values.update(changes)
    return DeliverySettings.model_validate(values)


def bot_settings(database_url: str, **delivery: object) -> Settings:
    return Settings(database_url=database_url, delivery=quick_delivery(**delivery))


def store_news(db: Database, at: datetime) -> dict[str, int]:
    """Two sources' articles stored at ``at`` and summarized; returns source ids."""
    ids = {}
    for source, items in NEWS.items():
        with db.write() as session:
            source_id = get_or_create_source(
                session, kind="feed", location=f"https://{len(ids)}.example/", name=source
            ).id
            batch = [article(title, body, guid=title) for title, body in items]
            save_articles(session, source_id, batch, at)
        ids[source] = source_id
    summarize_stored(db, open_search_index(SearchSettings(), db))
    return ids


def build(db: Database, settings: Settings, now: datetime, slot: str = "") -> Edition:
    """The daily edition at ``now``, stored; returns its row."""
    built = build_edition(db, settings.digest, now=now, slot=slot)
    assert built.stored
    with db.read() as session:
        edition = session.scalars(select(Edition).order_by(Edition.id.desc())).first()
    assert edition is not None
    return edition


def add_subscribers(
    db: Database,
    chat_ids: Sequence[int],
    *,
    created_at: datetime,
    schedule: str = "daily",
    language: str = "zh",
    chat_type: str = "private",
) -> None:
    with db.write() as session:
        session.execute(
            insert(Subscriber),
            [
                {
                    "chat_id": chat_id,
                    "chat_type": chat_type,
                    "schedule": schedule,
                    "language": language,
                    "active": True,
                    "created_at": created_at,
                    "updated_at": created_at,
                }
                for chat_id in chat_ids
            ],
        )


def delivery_states(session: Session) -> dict[int, str]:
    """Each chat's ledger state (for one-part editions: one row per chat)."""
    return dict(
        session.execute(
            select(Subscriber.chat_id, Delivery.state).join(
                Delivery, Delivery.subscriber_id == Subscriber.id
            )
        ).all()
    )


def now_utc() -> datetime:
    return datetime.now(UTC)


EARLIER = timedelta(hours=1)
