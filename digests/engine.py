"""The engine: built once from ``Settings``, one method per use case.

Every entry point (chat handlers, command-line commands, ``run``, ``worker``,
``run-scheduler``) is an adapter over one ``Engine``: it parses its input,
calls a use case, and presents the result. The engine owns the database, the
search index choice, the segmenter's settings and the clock; it never imports
Telegram (messages are made by the ``Renderer`` its caller passes in).

Use cases are plain blocking functions (database calls, CPU work). An async
caller runs them off its event loop (``asyncio.to_thread``); the one async
use case, ``refresh_sources``, waits on the network and runs its blocking
parts off the loop itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from digests.config import ScheduleSettings, Settings
from digests.editions.build import BuiltEdition, build_edition
from digests.editions.compose import Digest, digest_from_dict
from digests.editions.filters import MAX_FILTER_CHARS, Matcher, apply_filters
from digests.editions.pages import strings_for
from digests.editions.planning import (
    Renderer,
    Variant,
    plan_alerts,
    plan_deliveries,
    stored_rendering,
    variant_of,
)
from digests.editions.reports import (
    MAX_BROADCAST_CHARS,
    DeliveryReport,
    SubscriberStats,
    delivery_report_of,
    stats_from_groups,
)
from digests.editions.schedule import (
    EditionRunner,
    Slot,
    current_schedules,
    latest_slot,
    next_local_time,
    next_slot,
)
from digests.errors import BlockedAddress, ConfigError, InputError
from digests.ingest.isolation import ParserPool
from digests.ingest.limits import MAX_URL_CHARS
from digests.ingest.opml import OpmlFeed
from digests.search.base import SearchIndex, searchable
from digests.search.factory import open_search_index
from digests.search.query import parse_query
from digests.search.service import SearchPage, search
from digests.sources.adding import MAX_NAME_CHARS, add_from_location, source_kind
from digests.sources.folders import ingest_files
from digests.sources.refresh import SourceOutcome, fetch_due, parser_pool
from digests.store import alerts as alert_rows
from digests.store import deliveries as ledger
from digests.store import editions as edition_rows
from digests.store import queries as article_queries
from digests.store import schedules as stored_schedules
from digests.store.alerts import StandingWord
from digests.store.articles import SaveResult
from digests.store.copy import (
    BATCH_ROWS,
    CopyReport,
    SearchRebuild,
    copy_database,
    copy_errors,
    open_target,
    target_search,
)
from digests.store.db import Database, describe_url
from digests.store.models import Edition, SavedSearch, Source, Subscriber, utcnow
from digests.store.queries import count_articles
from digests.store.schedules import ScheduleState
from digests.store.sources import SourceRow, list_sources, remove_source, selectable_sources
from digests.store.sources import source_names as stored_source_names
from digests.store.subscribers import (
    deactivate,
    find_subscriber,
    find_subscriber_by_id,
    move_chat,
    subscribe,
    subscriber_groups,
    word_filters,
)
from digests.store.summaries import count_unindexed
from digests.summarize.stage import index_stored, summarize_stored
from digests.text.tokens import load_segmenter

log = logging.getLogger("newsdigest.engine")

MAX_ALERT_CHARS = 300
MAX_SOURCE_CHOICES = 60


def utc_now() -> datetime:
    return datetime.now(UTC)


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


class Engine:
    """One per process; every method is a use case (blocking: call off the loop)."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        clock: Callable[[], datetime] = utc_now,
        renderer: Renderer | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.renderer = renderer
        self._parser: ParserPool | None = None
        self._search_index: SearchIndex | None = None

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utc_now,
        renderer: Renderer | None = None,
    ) -> Engine:
        """The engine for ``settings``: database opened and upgraded, segmenter
        configured."""
        apply_text_settings(settings)
        db = Database(settings.database_url)
        db.upgrade()
        return cls(settings, db, clock=clock, renderer=renderer)

    def close(self) -> None:
        if self._parser is not None:
            self._parser.close()
            self._parser = None
        self.db.close()

    def warm_up(self, *, parser: bool = True) -> None:
        """Pay the one-time costs before serving: jieba's dictionary (its load holds
        the interpreter for a few hundred milliseconds, which would stall the event
        loop if it happened in a worker thread mid-service) and the parser processes."""
        load_segmenter()
        if parser:
            self.parser().start()

    def parser(self) -> ParserPool:
        """The worker processes that parse fetched feeds (started on first use)."""
        if self._parser is None:
            self._parser = parser_pool(self.settings.fetch)
        return self._parser

    @property
    def search_index(self) -> SearchIndex:
        """The database's search index, chosen once from ``settings.search`` (on
        first use: a tantivy directory is only made for what needs it)."""
        if self._search_index is None:
            self._search_index = open_search_index(self.settings.search, self.db)
        return self._search_index

    def _renderer(self) -> Renderer:
        if self.renderer is None:
            raise ConfigError("this engine was built without a message renderer")
        return self.renderer

    # -- the periodic work, in the order the runtime runs it ------------------

    async def refresh_sources(
        self,
        *,
        force: bool = False,
        on_start: Callable[[int], None] | None = None,
        on_done: Callable[[SourceOutcome], None] | None = None,
    ) -> list[SourceOutcome]:
        """Fetch or scan every due source and store what is new (not summarized)."""
        return await fetch_due(
            self.db,
            self.settings.fetch,
            force=force,
            on_start=on_start,
            on_done=on_done,
            parser=self.parser(),
        )

    def summarize_new(self) -> int:
        """Summarize and index every stored article that needs it; returns how many."""
        return summarize_stored(self.db, self.search_index)

    def index_missing(self, on_progress: Callable[[int, int], None] | None = None) -> int:
        """Index summarized articles the search index does not hold."""
        return index_stored(self.db, self.search_index, on_progress=on_progress)

    def reindex(self, on_progress: Callable[[int, int], None] | None = None) -> int:
        """Empty the search index and index every summarized article again
        (``IndexBusy`` while another process writes the index)."""
        with self.db.write() as session:
            self.search_index.clear(session)
        return index_stored(self.db, self.search_index, on_progress=on_progress)

    def build_due_editions(
        self, on_built: Callable[[Slot, BuiltEdition], None] | None = None
    ) -> list[tuple[Slot, BuiltEdition]]:
        """Build the latest due slot of every schedule unless it exists already."""
        runner = EditionRunner(self.db, self.settings, clock=self.clock, on_built=on_built)
        return runner.catch_up()

    def plan_deliveries(self) -> int:
        """Ledger rows for subscribers missing their schedule's newest edition,
        and for new articles matching alerts."""
        renderer = self._renderer()
        now = self.clock()
        planned = plan_deliveries(self.db, self.settings, renderer, now)
        planned += plan_alerts(self.db, self.search_index, self.settings, renderer, now)
        with self.db.write() as session:
            ledger.skip_inactive(session)
        return planned

    # -- schedules -----------------------------------------------------------

    def schedule_states(self) -> list[ScheduleState]:
        """The schedules in force (run-time changes applied), paused ones too."""
        return current_schedules(self.db, self.settings)

    def schedule(self, name: str | None) -> ScheduleSettings | None:
        if not name:
            return None
        return next((s.spec for s in self.schedule_states() if s.name == name), None)

    def default_schedule(self) -> ScheduleSettings:
        states = self.schedule_states()
        wanted = self.settings.bot.default_schedule
        found = next((s.spec for s in states if s.name == wanted), None)
        if found is not None:
            return found
        # Every schedule removed at run time: the config's default still names one.
        return states[0].spec if states else self.settings.schedules[0]

    def find_schedule(self, name: str | None) -> ScheduleState:
        """A schedule in force by name; the bot's default one when no name is given."""
        states = self.schedule_states()
        wanted = name or self.settings.bot.default_schedule
        for state in states:
            if state.name == wanted:
                return state
        if name is None and states:
            return states[0]
        names = ", ".join(state.name for state in states) or "none"
        raise InputError(f"no schedule named {wanted!r} (schedules: {names})")

    def set_schedule(
        self,
        name: str,
        *,
        times: Sequence[str] | None = None,
        timezone: str | None = None,
        sources: Sequence[str] | None = None,
    ) -> ScheduleState:
        with self.db.write() as session:
            return stored_schedules.set_schedule(
                session,
                self.settings.schedules,
                name,
                times=times,
                timezone=timezone,
                sources=sources,
                now=self.clock(),
            )

    def add_schedule(
        self,
        name: str,
        *,
        times: Sequence[str],
        timezone: str | None = None,
        sources: Sequence[str] = (),
    ) -> ScheduleState:
        with self.db.write() as session:
            return stored_schedules.add_schedule(
                session,
                self.settings.schedules,
                name,
                times=times,
                timezone=timezone or self.settings.digest.timezone,
                sources=sources,
                now=self.clock(),
            )

    def remove_schedule(self, name: str) -> ScheduleState:
        with self.db.write() as session:
            return stored_schedules.remove_schedule(
                session, self.settings.schedules, name, now=self.clock()
            )

    def pause_schedule(self, name: str, paused: bool) -> ScheduleState:
        with self.db.write() as session:
            return stored_schedules.set_paused(
                session, self.settings.schedules, name, paused, now=self.clock()
            )

    # -- chats ---------------------------------------------------------------

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
        """A group became a supergroup: the subscription follows it."""
        with self.db.write() as session:
            moved = move_chat(session, old_chat_id, new_chat_id)
        if moved is not None:
            log.info("chat %s migrated to %s", old_chat_id, new_chat_id)
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
            title=self.settings.digest.title,
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

    # -- operators -------------------------------------------------------------

    def add_source(
        self,
        location: str,
        *,
        name: str | None = None,
        interval_seconds: int | None = None,
        folders: bool = True,
    ) -> Source:
        with self.db.write() as session:
            return add_from_location(
                session,
                location,
                name=name,
                interval_seconds=interval_seconds or self.settings.fetch.default_interval,
                folders=folders,
            )

    def remove_source(self, reference: str, *, purge: bool = False) -> Source:
        with self.db.write() as session:
            source = remove_source(session, reference, purge=purge, now=self.clock())
        if purge:
            self.index_missing()  # the search index forgets its articles too
        return source

    def sources(self) -> list[SourceRow]:
        with self.db.read() as session:
            return list_sources(session)

    def article_count(self) -> int:
        with self.db.read() as session:
            return count_articles(session)

    def source_names(self) -> dict[int, str]:
        with self.db.read() as session:
            return stored_source_names(session)

    def _next_edition(
        self, schedule: str | None, *, preview: bool
    ) -> tuple[ScheduleState, Slot, BuiltEdition]:
        state = self.find_schedule(schedule)
        now = self.clock()
        slot = next_slot(state.spec, now)
        built = build_edition(
            self.db,
            self.settings.digest,
            now=now,
            schedule=state.name,
            edition_date=slot.edition_date,
            slot=slot.slot,
            preview=preview,
            sources=list(state.spec.sources) or None,
        )
        return state, slot, built

    def preview_next_edition(
        self, schedule: str | None
    ) -> tuple[ScheduleState, Slot, BuiltEdition]:
        """The schedule's next edition as it would be built now, not saved."""
        return self._next_edition(schedule, preview=True)

    def release_next_edition(
        self, schedule: str | None
    ) -> tuple[ScheduleState, Slot, BuiltEdition]:
        """Build the schedule's next edition now, to go out at once instead of at its
        slot (the slot then finds it built and does nothing). Subscribers with a
        delivery time of their own still get it at their time."""
        state, slot, built = self._next_edition(schedule, preview=False)
        if not built.stored:
            raise InputError(
                f"nothing new for {state.name!r} since the last edition, and "
                "digest.empty_edition = skip: no edition to send"
            )
        return state, slot, built

    def subscriber_stats(self) -> SubscriberStats:
        with self.db.read() as session:
            return stats_from_groups(subscriber_groups(session))

    def delivery_report(self, edition: Edition) -> DeliveryReport:
        with self.db.read() as session:
            counts = ledger.ledger_counts(session, edition.id)
            first, last, chats = ledger.send_span(session, edition.id)
        return delivery_report_of(edition, counts, chats, first, last)

    def last_delivery_report(self) -> DeliveryReport | None:
        with self.db.read() as session:
            recent = edition_rows.recent_editions(session, 1)
        return self.delivery_report(recent[0]) if recent else None

    def recent_editions(self, limit: int = 20) -> list[Edition]:
        with self.db.read() as session:
            return edition_rows.recent_editions(session, limit)

    def edition(self, edition_id: int) -> Edition:
        with self.db.read() as session:
            edition = edition_rows.get_edition(session, edition_id)
        if edition is None:
            raise InputError(f"no edition #{edition_id} (see `newsdigest editions list`)")
        return edition

    def edition_digest(self, edition_id: int) -> Digest:
        return digest_from_dict(self.edition(edition_id).content)

    def broadcast(self, body_html: str, *, sent_by: int | None) -> tuple[int, int]:
        """Queue ``body_html`` (already safe Telegram HTML) for every active
        subscriber through the ledger. Returns (broadcast id, messages planned)."""
        if not body_html.strip():
            raise InputError("the broadcast text is empty")
        if len(body_html) > MAX_BROADCAST_CHARS:
            raise InputError(f"the broadcast text is longer than {MAX_BROADCAST_CHARS} characters")
        with self.db.write() as session:
            return ledger.plan_broadcast(session, body_html, sent_by=sent_by, now=self.clock())

    # -- command line ----------------------------------------------------------

    @classmethod
    def open_as_is(cls, settings: Settings) -> Engine:
        """The engine over the configured database as it is: nothing created or
        upgraded (``db migrate-to`` reads its source this way)."""
        apply_text_settings(settings)
        return cls(settings, Database(settings.database_url))

    def ingest_files(
        self, paths: Sequence[Path], *, source_name: str = "newspaper", encoding: str | None = None
    ) -> tuple[SaveResult, list[str]]:
        """Store the articles of newspaper issue files given by hand, under the
        source ``source_name``; the totals and one error line per bad file."""
        stored = ingest_files(self.db, paths, source_name=source_name, encoding=encoding)
        self.summarize_new()
        return stored

    async def fetch_now(
        self,
        *,
        force: bool = False,
        on_start: Callable[[int], None] | None = None,
        on_done: Callable[[SourceOutcome], None] | None = None,
    ) -> list[SourceOutcome]:
        """One round by hand: fetch every due source (every source with ``force``)
        and summarize what is new; the parser processes live for this round only
        unless this engine runs them already."""
        outcomes = await fetch_due(
            self.db,
            self.settings.fetch,
            force=force,
            on_start=on_start,
            on_done=on_done,
            parser=self._parser,
        )
        await asyncio.to_thread(self.summarize_new)
        return outcomes

    def recent_articles(self, limit: int = 20) -> list[dict[str, Any]]:
        """The latest stored articles, newest fetch first."""
        with self.db.read() as session:
            return article_queries.recent_articles(session, limit=limit)

    def due_edition(self, schedule: str, *, preview: bool = False) -> BuiltEdition:
        """The latest due edition of ``schedule``, built now unless it was built
        already (by hand or by the scheduler: the same, idempotent act); with
        ``preview`` the next one, composed and not saved. Articles stored but not
        yet summarized are summarized first."""
        specs = [state.spec for state in self.schedule_states()]
        spec = next((s for s in specs if s.name == schedule), None)
        if spec is None:
            names = ", ".join(s.name for s in specs)
            raise InputError(f"no schedule {schedule!r} (configured: {names})")
        now = self.clock()
        slot = next_slot(spec, now) if preview else latest_slot(spec, now)
        if slot is None:
            raise InputError(f"no edition of {spec.name!r} is due yet (try --preview)")
        self.summarize_new()
        return build_edition(
            self.db,
            self.settings.digest,
            now=now,
            schedule=spec.name,
            edition_date=slot.edition_date,
            slot=slot.slot,
            preview=preview,
            sources=list(spec.sources) or None,
        )

    def edition_reports(self, limit: int = 20) -> list[DeliveryReport]:
        """The newest editions, each with how its delivery went."""
        return [self.delivery_report(edition) for edition in self.recent_editions(limit)]

    def edition_with_report(self, edition_id: int) -> tuple[Digest, DeliveryReport]:
        """A stored edition's digest and how its delivery went."""
        edition = self.edition(edition_id)
        return digest_from_dict(edition.content), self.delivery_report(edition)

    def subscriber_overview(self) -> tuple[SubscriberStats, DeliveryReport | None]:
        """Subscriber counts, and how the last edition's delivery went."""
        return self.subscriber_stats(), self.last_delivery_report()

    @staticmethod
    def check_feeds(feeds: Sequence[OpmlFeed], present: set[str]) -> Iterator[FeedImport]:
        """What importing ``feeds`` would do, given the locations ``present``:
        each feed "added", "present", or "invalid" with the reason ``sources add``
        would give (only feeds: a file never names a local folder)."""
        present = set(present)
        for feed in feeds:
            if feed.url in present:
                yield FeedImport(feed, "present")
            elif (problem := _feed_problem(feed)) is not None:
                yield FeedImport(feed, "invalid", problem)
            else:
                yield FeedImport(feed, "added")
            present.add(feed.url)

    def import_feeds(
        self, feeds: Sequence[OpmlFeed], *, interval_seconds: int, dry_run: bool = False
    ) -> Iterator[FeedImport]:
        """Add each feed as ``sources add`` does, skipping locations present
        already; one ``FeedImport`` per feed as it is done. A dry run adds nothing."""
        present = {row.location for row in self.sources()}
        for planned in self.check_feeds(feeds, present):
            if planned.outcome == "added" and not dry_run:
                name = (planned.feed.title or planned.feed.url)[:MAX_NAME_CHARS]
                try:
                    self.add_source(
                        planned.feed.url,
                        name=name,
                        interval_seconds=interval_seconds,
                        folders=False,
                    )
                except InputError:  # added meanwhile by someone else
                    planned = FeedImport(planned.feed, "present")
            yield planned

    def export_feeds(self) -> tuple[list[OpmlFeed], int]:
        """Every feed source as an OPML outline, and how many sources were left
        out (newspaper folders and files are not feeds)."""
        rows = self.sources()
        feeds = [
            OpmlFeed(url=row.location, title=None if row.name == row.location else row.name)
            for row in rows
            if row.kind == "feed"
        ]
        return feeds, len(rows) - len(feeds)

    def migrate_to(
        self,
        url: str,
        *,
        batch: int = BATCH_ROWS,
        on_table: Callable[[str, int], None] | None = None,
        on_rows: Callable[[str, int], None] | None = None,
        on_index_total: Callable[[int], None] | None = None,
        on_index_progress: Callable[[int, int], None] | None = None,
    ) -> Migration:
        """Copy every row of this engine's database into the empty database at
        ``url`` (this one is only read; open it with ``open_as_is``), then build
        the target's own search index."""
        target = open_target(url)
        try:
            report = copy_database(self.db, target, batch=batch, on_table=on_table, on_rows=on_rows)
            settings, rebuilt = target_search(
                target, self.settings.search, source_is_sqlite=self.db.is_sqlite
            )
            with copy_errors(f"cannot index {describe_url(target.url)}"):
                index = open_search_index(settings, target)
                with target.write() as session:
                    index.clear(session)
                with target.read() as session:
                    total = count_unindexed(session)
                if on_index_total is not None:
                    on_index_total(total)
                indexed = index_stored(target, index, on_progress=on_index_progress)
            rebuilt = replace(rebuilt, indexed=indexed)
        finally:
            target.close()
        return Migration(describe_url(self.db.url), describe_url(url), report, rebuilt)


def apply_text_settings(settings: Settings) -> None:
    from digests.text.tokens import configure_user_dictionary

    path = settings.text.user_dictionary
    if not path:
        return
    if not Path(path).is_file():
        raise ConfigError(f"text.user_dictionary: no such file {path!r}")
    configure_user_dictionary(Path(path))


# -- command line: results -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedImport:
    """One feed of an import: "added" (or would be, on a dry run), "present"
    already, or "invalid" with the ``problem``."""

    feed: OpmlFeed
    outcome: str
    problem: str | None = None


def _feed_problem(feed: OpmlFeed) -> str | None:
    """Why ``sources add`` would refuse this feed's URL, or None."""
    if len(feed.url) > MAX_URL_CHARS:
        return f"URL longer than {MAX_URL_CHARS} characters"
    try:
        source_kind(feed.url, folders=False)
    except (InputError, BlockedAddress) as exc:
        return str(exc)
    return None


@dataclass(frozen=True, slots=True)
class Migration:
    """A finished ``migrate_to``: both databases as shown (no password)."""

    source: str
    target: str
    report: CopyReport
    search: SearchRebuild
