"""Who gets which copy of an edition, and when: ledger rows for editions and alerts.

Planning: for each schedule's newest edition, every active subscriber without
ledger rows gets one row per message part, due at the edition's time or at the
subscriber's own time. Subscribers who read the same variant (language, time
zone, sources, word filters) share one stored rendering, made once and before
the planning transaction (which holds a lock other workers wait on).

Alerts: each round asks the index for matches newer than the alert's cursor,
drops what the subscriber muted, keeps at most ``search.alerts_per_hour``
pushes per alert in any hour (the rest of that hour's matches are dropped, not
queued), and writes one ledger row per article, unique per (alert, article).

The messages themselves are made by a ``Renderer`` the caller passes in (the
bot's Telegram HTML): nothing here knows Telegram.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

from digests.config import ScheduleSettings, Settings
from digests.editions.build import edition_variant
from digests.editions.compose import Digest
from digests.editions.filters import apply_filters, article_muted
from digests.editions.links import absolute, edition_path, edition_token
from digests.editions.pages import strings_for
from digests.editions.schedule import current_schedules, edition_instant, next_local_time
from digests.search.base import Hit, SearchIndex
from digests.search.query import parse_query
from digests.store import alerts as alert_rows
from digests.store import deliveries as ledger
from digests.store.db import Database
from digests.store.models import Edition, Subscriber, utcnow
from digests.store.sources import source_names
from digests.store.subscribers import word_filters
from digests.store.webkeys import known_key, web_key
from digests.store.workers import planning_lock

log = logging.getLogger("newsdigest.planning")

# Editions older than this are not pushed to subscribers who have not had them
# (a bot started after days away sends today's news, not last week's).
PLAN_WINDOW = timedelta(days=1)
# Alert matches looked at per alert and round.
ALERT_SCAN = 200


class Renderer(Protocol):
    """Makes the messages a subscriber receives (the bot passes its Telegram renderer)."""

    def edition(
        self,
        digest: Digest,
        *,
        language: str,
        title: str,
        tz: tzinfo,
        web_link: str | None = None,
    ) -> list[str]: ...

    def alert(self, query: str, hit: Hit, needles: list[str]) -> str: ...


@dataclass(frozen=True, slots=True)
class Variant:
    """What makes two subscribers' copies of an edition differ."""

    language: str
    timezone: str
    sources: tuple[str, ...] | None  # None: every source of the schedule
    mutes: tuple[str, ...] = ()
    follows: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        chosen = "*" if self.sources is None else ",".join(sorted(self.sources))
        words = ""
        if self.mutes or self.follows:
            words = "|-" + ",".join(sorted(self.mutes)) + "|+" + ",".join(sorted(self.follows))
        key = f"{self.language}|{self.timezone}|{chosen}{words}"
        if len(key) > 300:
            digest = hashlib.sha256(f"{chosen}{words}".encode()).hexdigest()
            key = f"{self.language}|{self.timezone}|#{digest}"
        return key


Filters = dict[int, tuple[tuple[str, ...], tuple[str, ...]]]


def variant_of(
    subscriber: Subscriber,
    spec: ScheduleSettings,
    names: dict[int, str],
    filters: Filters | None = None,
) -> Variant:
    chosen: tuple[str, ...] | None = None
    if subscriber.sources is not None:
        chosen = tuple(sorted(names[i] for i in subscriber.sources if i in names))
    mutes, follows = (filters or {}).get(subscriber.id, ((), ()))
    return Variant(
        subscriber.language, subscriber.timezone or spec.timezone, chosen, mutes, follows
    )


def variant_digest(
    db: Database, settings: Settings, edition: Edition, variant: Variant
) -> Digest | None:
    """``edition`` as ``variant`` reads it (summaries reused, not rebuilt); None
    when the variant is empty and empty editions are not sent."""
    digest = edition_variant(
        db, settings.digest, edition, list(variant.sources) if variant.sources is not None else None
    )
    digest = apply_filters(
        digest, variant.mutes, variant.follows, strings_for(variant.language).following
    )
    if digest.empty and settings.digest.empty_edition == "skip":
        return None
    return digest


def render_variant(
    db: Database, settings: Settings, renderer: Renderer, edition: Edition, variant: Variant
) -> list[str]:
    """The messages of ``edition`` for ``variant``; none when there is nothing to send."""
    digest = variant_digest(db, settings, edition, variant)
    if digest is None:
        return []
    return renderer.edition(
        digest,
        language=variant.language,
        title=settings.digest.title_for(variant.language),
        tz=ZoneInfo(variant.timezone),
        web_link=page_link(db, settings, edition, variant.language),
    )


def page_link(db: Database, settings: Settings, edition: Edition, language: str) -> str | None:
    """The address of the edition's web page in ``language``; None without
    ``web.base_url``. A private schedule's key is made on its first link."""
    web = settings.web
    if not web.base_url:
        return None
    token = None
    if edition.schedule not in web.public:
        with db.read() as session:
            key = known_key(session, edition.schedule)
        if key is None:  # the schedule's first link: its key is made, once
            with db.write() as session:
                key = web_key(session, edition.schedule, utcnow())
        token = edition_token(key, edition.schedule, edition.edition_date, edition.slot)
    path = edition_path(
        edition.schedule, edition.edition_date, edition.slot, language=language, token=token
    )
    return absolute(web.base_url, path)


def stored_rendering(
    db: Database, settings: Settings, renderer: Renderer, edition: Edition, variant: Variant
) -> list[str]:
    """The stored messages of ``edition`` for ``variant``, rendered and stored once."""
    with db.read() as session:
        done = variant.key in ledger.rendered_variants(session, edition.id)
    parts = {} if done else {variant.key: render_variant(db, settings, renderer, edition, variant)}
    with db.write() as session:
        return list(ledger.store_renders(session, edition.id, parts)[variant.key].parts)


def personal_due(instant: datetime, subscriber: Subscriber, spec: ScheduleSettings) -> datetime:
    """When a subscriber gets an edition due at ``instant``: then, or at their own time."""
    if not subscriber.delivery_time:
        return instant
    zone = ZoneInfo(subscriber.timezone or spec.timezone)
    return next_local_time(instant, subscriber.delivery_time, zone)


def plan_deliveries(db: Database, settings: Settings, renderer: Renderer, now: datetime) -> int:
    """Ledger rows for every subscriber still missing their schedule's newest edition."""
    planned = 0
    with db.read() as session:
        names = source_names(session)
    for state in current_schedules(db, settings):
        spec = state.spec
        with db.read() as session:
            edition = ledger.latest_edition(session, spec.name, now - PLAN_WINDOW)
            subscribers = [] if edition is None else ledger.subscribers_to_plan(session, edition)
            if edition is None or not subscribers:
                continue
            filters = word_filters(session, [s.id for s in subscribers])
            rendered = ledger.rendered_variants(session, edition.id)
        instant = edition_instant(
            spec.timezone, edition.edition_date, edition.slot, edition.built_at
        )
        variants = {s.id: variant_of(s, spec, names, filters) for s in subscribers}
        unique = {v.key: v for v in variants.values()}
        # Rendering is the costly part: done before the planning lock is taken.
        parts = {
            key: render_variant(db, settings, renderer, edition, variant)
            for key, variant in unique.items()
            if key not in rendered
        }
        with db.write() as session:
            planning_lock(session)  # another worker may be planning the same edition
            still = {s.id for s in ledger.subscribers_to_plan(session, edition)}
            subscribers = [s for s in subscribers if s.id in still]
            if not subscribers:
                continue
            stored = ledger.store_renders(session, edition.id, parts)
            waiting = ledger.waiting_for_other_editions(session, edition.id)
            rows = []
            for subscriber in subscribers:
                if subscriber.id in waiting:
                    ledger.supersede(session, subscriber.id, edition.id)
                due = personal_due(instant, subscriber, spec)
                rows.append((subscriber.id, stored[variants[subscriber.id].key], due))
            count = ledger.plan(session, edition.id, rows, now)
        planned += count
        log.info(
            "edition %s %s %s: planned %d messages for %d subscribers (%d variants)",
            spec.name,
            edition.edition_date,
            edition.slot or "-",
            count,
            len(subscribers),
            len(unique),
        )
    return planned


def plan_alerts(
    db: Database, index: SearchIndex, settings: Settings, renderer: Renderer, now: datetime
) -> int:
    """Ledger rows for new articles in ``index`` matching active subscribers' alerts."""
    planned = 0
    with db.read() as session:
        alerts = alert_rows.active_alerts(session)
        if not alerts:
            return 0
        newest = index.max_indexed_id(session)
        filters = word_filters(session, {a.subscriber_id for a in alerts})
    hour_ago = now - timedelta(hours=1)
    for alert in alerts:
        if alert.last_article_id >= newest:
            continue
        query = parse_query(alert.query, now)
        with db.write() as session:
            planning_lock(session)  # another worker may be planning the same alert
            seen = alert_rows.alert_cursor(session, alert.id)
            if seen is None or seen >= newest:
                continue
            hits, cursor = index.newer_matches(
                session, query, after_id=seen, until_id=newest, limit=ALERT_SCAN
            )
            mutes = filters.get(alert.subscriber_id, ((), ()))[0]
            hits = [h for h in hits if not article_muted(h.title, h.body, mutes)]
            pushed = alert_rows.pushes_since(session, alert.id, hour_ago)
            room = max(0, settings.search.alerts_per_hour - pushed)
            dropped = len(hits) - min(room, len(hits))
            needles = [alert.query, *alert.query.split()]
            rows = [
                ledger.single_message(
                    alert.subscriber_id,
                    renderer.alert(alert.query, hit, needles),
                    now,
                    alert_id=alert.id,
                    article_id=hit.article_id,
                )
                for hit in hits[:room]
            ]
            alert_rows.push_and_advance(session, alert.id, rows, cursor)
        planned += len(rows)
        if dropped:
            log.info("alert #%d: %d match(es) over the hourly limit, not pushed", alert.id, dropped)
    return planned
