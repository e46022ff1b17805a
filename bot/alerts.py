"""Keyword alerts into the delivery ledger: each new matching article once per alert.

An alert remembers the last article it looked at; each round asks the index
for newer matches, drops what the subscriber muted, keeps at most
``search.alerts_per_hour`` pushes per alert in any hour (the rest of that
hour's matches are dropped, not queued), and writes one ledger row per
article — unique per (alert, article), so a restart or a second round never
pushes the same article twice. The rows are sent like editions: paced,
retried, exactly once.
"""

from __future__ import annotations

import html
import logging
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update

from bot.render import hit_html
from digests.config import Settings
from digests.filters import article_muted
from digests.search.index import Hit, max_indexed_id, search_index_for
from digests.search.query import parse_query
from digests.store.db import Database
from digests.store.deliveries import single_message
from digests.store.models import Alert, Delivery, Subscriber
from digests.store.subscribers import word_filters
from digests.store.workers import planning_lock

log = logging.getLogger("newsdigest.alerts")
SCAN = 200


def alert_html(query: str, hit: Hit, needles: list[str]) -> str:
    found = hit_html(hit, needles, snippet_width=160, with_time=True)
    return f"🔔 {html.escape(query[:100], quote=False)}\n{found}"


def plan_alerts(db: Database, settings: Settings, now: datetime) -> int:
    """Ledger rows for new articles matching active subscribers' alerts."""
    planned = 0
    with db.read() as session:
        alerts = list(
            session.execute(
                select(Alert.id, Alert.subscriber_id, Alert.query, Alert.last_article_id)
                .join(Subscriber, Subscriber.id == Alert.subscriber_id)
                .where(Subscriber.active.is_(True))
                .order_by(Alert.id)
            ).all()
        )
        if not alerts:
            return 0
        newest = max_indexed_id(session)
        filters = word_filters(session, {a.subscriber_id for a in alerts})
    hour_ago = now - timedelta(hours=1)
    for alert_id, subscriber_id, text, last_seen in alerts:
        if last_seen >= newest:
            continue
        query = parse_query(text, now)
        with db.write() as session:
            planning_lock(session)  # another worker may be planning the same alert
            seen_now = session.scalar(select(Alert.last_article_id).where(Alert.id == alert_id))
            if seen_now is None or seen_now >= newest:
                continue
            last_seen = seen_now
            index = search_index_for(session)
            hits, cursor = index.newer_matches(
                session, query, after_id=last_seen, until_id=newest, limit=SCAN
            )
            mutes = filters.get(subscriber_id, ((), ()))[0]
            hits = [h for h in hits if not article_muted(h.title, h.body, mutes)]
            pushed = session.scalar(
                select(func.count(Delivery.id)).where(
                    Delivery.alert_id == alert_id, Delivery.created_at > hour_ago
                )
            )
            room = max(0, settings.search.alerts_per_hour - int(pushed or 0))
            dropped = len(hits) - min(room, len(hits))
            needles = [text, *text.split()]
            rows = [
                single_message(
                    subscriber_id,
                    alert_html(text, hit, needles),
                    now,
                    alert_id=alert_id,
                    article_id=hit.article_id,
                )
                for hit in hits[:room]
            ]
            if rows:
                session.execute(insert(Delivery), rows)
            session.execute(
                update(Alert).where(Alert.id == alert_id).values(last_article_id=cursor)
            )
        planned += len(rows)
        if dropped:
            log.info("alert #%d: %d match(es) over the hourly limit, not pushed", alert_id, dropped)
    return planned
