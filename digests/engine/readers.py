"""Use cases of the people who read: subscribing, their choices, today's edition,
search, alerts and word filters."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from digests.config import ScheduleSettings
from digests.editions.build import build_edition
from digests.editions.filters import MAX_FILTER_CHARS, Matcher, apply_filters
from digests.editions.pages import strings_for
from digests.editions.planning import (
    Renderer,
    Variant,
    stored_rendering,
    variant_of,
)
from digests.editions.schedule import next_local_time, next_slot
from digests.engine.schedules import ScheduleCases
from digests.search.base import searchable
from digests.search.query import parse_query
from digests.search.service import SearchPage, search
from digests.store import alerts as alert_rows
from digests.store import deliveries as ledger
from digests.store import editions as edition_rows
from digests.store.alerts import StandingWord
from digests.store.models import SavedSearch, Subscriber, utcnow
from digests.store.sources import selectable_sources
from digests.store.sources import source_names as stored_source_names
from digests.store.subscribers import (
    deactivate,
    find_subscriber,
    find_subscriber_by_id,
    move_chat,
    subscribe,
    word_filters,
)

log = logging.getLogger("newsdigest.engine")

MAX_ALERT_CHARS = 300
MAX_SOURCE_CHOICES = 60


@dataclass(frozen=True, slots=True)
class Subscribed:
    subscriber: Subscriber
    new: bool  # False: it was an active subscriber already
    spec: ScheduleSettings
    next_delivery: str  # local time, "2026-12-05 07:30"
    zone: str


@dataclass(frozen=True, slots=True)
class LatestEdition:
    """What /today shows a chat: the messages, or when the first edition comes."""

    messages: list[str]
    next_delivery: str
    zone: str


class ReaderCases(ScheduleCases):
    def subscriber(self, chat_id: int) -> Subscriber | None:
        with self.db.read() as session:
            return find_subscriber(session, chat_id)

    def next_delivery(
        self, spec: ScheduleSettings, subscriber: Subscriber | None
    ) -> tuple[str, str]:
        """The next delivery time as the subscriber reads it, and its time zone."""
        now = self.clock()
        zone_name = (subscriber.timezone if subscriber else None) or spec.timezone
        zone = ZoneInfo(zone_name)
        if subscriber is not None and subscriber.delivery_time:
            moment = next_local_time(now, subscriber.delivery_time, zone)
        else:
            moment = next_slot(spec, now).fire_at
        return f"{moment.astimezone(zone):%Y-%m-%d %H:%M}", zone_name

    def subscriber_schedule(self, subscriber: Subscriber | None) -> ScheduleSettings:
        found = self.schedule(subscriber.schedule) if subscriber is not None else None
        return found or self.default_schedule()

    def subscribe(
        self,
        chat_id: int,
        *,
        chat_type: str,
        title: str | None,
        schedule: str | None,
        language: str,
    ) -> Subscribed:
        """Subscribe a chat (again) to ``schedule`` (the default one when unknown)."""
        spec = self.schedule(schedule) or self.default_schedule()
        with self.db.write() as session:
            subscriber, new = subscribe(
                session,
                chat_id=chat_id,
                chat_type=chat_type,
                title=title,
                schedule=spec.name,
                language=language,
                now=self.clock(),
            )
            ledger.forget_unstarted(session, subscriber.id)
        if new:
            log.info("chat %s (%s) subscribed to %s", chat_id, chat_type, spec.name)
        when, zone = self.next_delivery(spec, subscriber)
        return Subscribed(subscriber, new, spec, when, zone)

    def unsubscribe(self, chat_id: int, reason: str, skipped: str) -> Subscriber | None:
        """End an active subscription (its planned messages are skipped with
        ``skipped``); the subscriber, or None when the chat had no active one."""
        with self.db.write() as session:
            subscriber = find_subscriber(session, chat_id)
            if subscriber is None or not subscriber.active:
                return None
            deactivate(session, subscriber, reason)
            ledger.skip_remaining(session, subscriber.id, skipped)
        log.info("chat %s: %s", chat_id, reason)
        return subscriber

    def chat_blocked(self, subscriber_id: int, reason: str) -> None:
        """Telegram refused a chat (blocked, kicked): it stops receiving at once."""
        with self.db.write() as session:
            subscriber = find_subscriber_by_id(session, subscriber_id)
            if subscriber is not None:
                deactivate(session, subscriber, reason)
            ledger.skip_remaining(session, subscriber_id, "subscriber blocked the bot")

    def move_chat(self, old_chat_id: int, new_chat_id: int) -> Subscriber | None:
        """A group became a supergroup: the subscription follows it. When the
        supergroup has subscribed already, the two become one: what both would
        receive goes once, the group's other pending messages go to the supergroup."""
        with self.db.write() as session:
            old = find_subscriber(session, old_chat_id)
            was_active = old is not None and old.active
            moved = move_chat(session, old_chat_id, new_chat_id)
            merged: tuple[int, int] | None = None
            if old is not None and moved is not None and moved.id != old.id and was_active:
                merged = ledger.merge_pending(session, old.id, moved.id)
        if moved is not None:
            log.info(
                "chat %s migrated to %s%s",
                old_chat_id,
                new_chat_id,
                f", merged into its subscription there ({merged[0]} duplicate message(s) "
                f"skipped, {merged[1]} moved)"
                if merged is not None
                else "",
            )
        return moved

    def change_subscriber(
        self, chat_id: int, apply: Callable[[Subscriber], None]
    ) -> Subscriber | None:
        """Apply a change to the chat's active subscription (deliveries not yet
        begun are planned again with it); None if it has none."""
        with self.db.write() as session:
            subscriber = find_subscriber(session, chat_id)
            if subscriber is None or not subscriber.active:
                return None
            apply(subscriber)
            subscriber.updated_at = utcnow()
            ledger.forget_unstarted(session, subscriber.id)
        return subscriber

    def choosable_sources(self, subscriber: Subscriber) -> list[tuple[int, str]]:
        """(id, name) of the sources the subscriber's schedule may include."""
        spec = self.subscriber_schedule(subscriber)
        with self.db.read() as session:
            return selectable_sources(session, spec.sources)[:MAX_SOURCE_CHOICES]

    def latest_edition(self, chat_id: int, language: str) -> LatestEdition:
        """The newest edition of the chat's schedule as it reads it; before the
        first edition is built, a preview of what it would hold now."""
        subscriber = self.subscriber(chat_id)
        spec = self.subscriber_schedule(subscriber)
        renderer = self._renderer()
        if subscriber is not None:
            with self.db.read() as session:
                filters = word_filters(session, [subscriber.id])
                names = stored_source_names(session)
            variant = variant_of(subscriber, spec, names, filters)
        else:
            variant = Variant(language, spec.timezone, None)
        with self.db.read() as session:
            edition = edition_rows.latest_of_schedule(session, spec.name)
        if edition is not None:
            messages = stored_rendering(self.db, self.settings, renderer, edition, variant)
        else:
            messages = self._preview_messages(spec, variant, renderer)
        when, zone = self.next_delivery(spec, subscriber)
        return LatestEdition(messages, when, zone)

    def _preview_messages(
        self, spec: ScheduleSettings, variant: Variant, renderer: Renderer
    ) -> list[str]:
        chosen = list(variant.sources) if variant.sources is not None else list(spec.sources)
        preview = build_edition(
            self.db,
            self.settings.digest,
            now=self.clock(),
            schedule=spec.name,
            preview=True,
            sources=chosen or None,
        )
        digest = apply_filters(
            preview.digest, variant.mutes, variant.follows, strings_for(variant.language).following
        )
        if digest.empty:
            return []
        return renderer.edition(
            digest,
            language=variant.language,
            title=self.settings.digest.title_for(variant.language),
            tz=ZoneInfo(variant.timezone),
        )

    # -- search, alerts and word filters ---------------------------------------

    def search(self, text: str, *, page: int = 0, per_page: int | None = None) -> SearchPage:
        index = self.search_index
        if per_page is None:
            return search(self.db, index, text, page=page, now=self.clock())
        return search(self.db, index, text, page=page, per_page=per_page, now=self.clock())

    def save_search(self, chat_id: int, text: str) -> int:
        """Keep a search's text so its page buttons work later (and after a restart)."""
        with self.db.write() as session:
            saved = SavedSearch(chat_id=chat_id, text=text, created_at=self.clock())
            session.add(saved)
            session.flush()
            return saved.id

    def saved_search(self, search_id: int, chat_id: int) -> str | None:
        """A saved search's text, only for the chat whose search it is."""
        with self.db.read() as session:
            saved = session.get(SavedSearch, search_id)
        return saved.text if saved is not None and saved.chat_id == chat_id else None

    def add_alert(self, subscriber: Subscriber, query: str) -> str:
        """Set an alert; returns the outcome's name ("alert_set", "alert_limit",
        or why the query cannot be an alert)."""
        parsed = parse_query(query, self.clock())
        if parsed.empty:
            return "search_only_excluded" if parsed.excluded else "search_empty"
        if not searchable(parsed):
            return "search_nothing_searchable"
        with self.db.write() as session:
            if alert_rows.count_alerts(session, subscriber.id) >= self.settings.search.max_alerts:
                return "alert_limit"
            # Only articles from now on: an alert is about what is new.
            alert_rows.add_alert(
                session,
                subscriber.id,
                query[:MAX_ALERT_CHARS],
                after_article=self.search_index.max_indexed_id(session),
                now=self.clock(),
            )
        return "alert_set"

    def add_word_filter(self, subscriber: Subscriber, kind: str, word: str) -> str:
        """Mute or follow ``word``; returns the outcome's name."""
        word = " ".join(word.replace('"', " ").split())[:MAX_FILTER_CHARS]
        if not word:
            return "filter_usage"
        if Matcher.of(word) is None:
            return "search_nothing_searchable"
        with self.db.write() as session:
            existing = alert_rows.word_filter_rows(session, subscriber.id)
            if any(f.kind == kind and f.text == word for f in existing):
                return "filter_exists"
            if len(existing) >= self.settings.search.max_filters:
                return "filter_limit"
            alert_rows.add_word_filter(session, subscriber.id, kind, word, self.clock())
            ledger.forget_unstarted(session, subscriber.id)  # the next digest honours it
        return "muted" if kind == "mute" else "followed"

    def standing_words(self, subscriber_id: int) -> list[StandingWord]:
        with self.db.read() as session:
            return alert_rows.standing_words(session, subscriber_id)

    def remove_standing_word(self, subscriber_id: int, kind: str, row_id: int) -> bool:
        with self.db.write() as session:
            removed = alert_rows.remove_standing_word(session, subscriber_id, kind, row_id)
            if removed and kind != "alert":
                ledger.forget_unstarted(session, subscriber_id)
        return removed
