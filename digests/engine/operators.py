"""Use cases of the operators: sources, editions by hand, reports, broadcasts, imports and moves."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Self

from digests.config import Settings
from digests.editions.build import BuiltEdition, build_edition
from digests.editions.compose import Digest, digest_from_dict
from digests.editions.reports import (
    MAX_BROADCAST_CHARS,
    DeliveryReport,
    SubscriberStats,
    delivery_report_of,
    stats_from_groups,
)
from digests.editions.schedule import Slot, latest_slot, next_slot
from digests.engine.core import apply_text_settings
from digests.engine.readers import ReaderCases
from digests.errors import BlockedAddress, InputError
from digests.ingest.limits import MAX_URL_CHARS
from digests.ingest.netguard import IPNetwork, parse_networks
from digests.ingest.opml import OpmlFeed
from digests.ingest.urls import normalize_feed_url
from digests.search.factory import open_search_index
from digests.sources.adding import MAX_NAME_CHARS, add_from_location, source_kind
from digests.store import deliveries as ledger
from digests.store import editions as edition_rows
from digests.store import queries as article_queries
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
from digests.store.models import Edition, Source
from digests.store.queries import count_articles
from digests.store.schedules import ScheduleState
from digests.store.sources import (
    PausedSource,
    SourceRow,
    claim_pause_notices,
    enable_source,
    list_sources,
    remove_source,
)
from digests.store.sources import source_names as stored_source_names
from digests.store.subscribers import subscriber_groups
from digests.store.summaries import count_unindexed
from digests.summarize.stage import index_stored


@dataclass(frozen=True, slots=True)
class FeedImport:
    """One feed of an import: "added" (or would be, on a dry run), "present"
    already, or "invalid" with the ``problem``."""

    feed: OpmlFeed
    outcome: str
    problem: str | None = None


def _spelled_once(location: str) -> str:
    try:
        return normalize_feed_url(location)
    except InputError:
        return location


def _feed_problem(feed: OpmlFeed, allowed: tuple[IPNetwork, ...]) -> str | None:
    """Why ``sources add`` would refuse this feed's URL, or None."""
    if len(feed.url) > MAX_URL_CHARS:
        return f"URL longer than {MAX_URL_CHARS} characters"
    try:
        source_kind(feed.url, folders=False, allowed_networks=allowed)
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


class OperatorCases(ReaderCases):
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
                allowed_networks=self.allowed_networks,
            )

    @property
    def allowed_networks(self) -> tuple[IPNetwork, ...]:
        return parse_networks(self.settings.fetch.allowed_networks)

    def remove_source(self, reference: str, *, purge: bool = False) -> Source:
        with self.db.write() as session:
            source = remove_source(session, reference, purge=purge, now=self.clock())
        if purge:
            self.index_missing()  # the search index forgets its articles too
        return source

    def enable_source(self, reference: str) -> tuple[Source, str | None]:
        """Resume a source paused after permanent failures: due at once, its
        failures forgotten. Returns it and why it had been paused (None: it was not)."""
        with self.db.write() as session:
            return enable_source(session, reference)

    def claim_pause_notices(self) -> list[PausedSource]:
        """Sources paused that the operators have not been told of; each pause
        is handed out once, to whichever process asks first."""
        with self.db.write() as session:
            return claim_pause_notices(session, self.clock())

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
    def open_as_is(cls, settings: Settings) -> Self:
        """The engine over the configured database as it is: nothing created or
        upgraded (``db migrate-to`` reads its source this way)."""
        apply_text_settings(settings)
        return cls(settings, Database(settings.database_url))

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
    def check_feeds(
        feeds: Sequence[OpmlFeed], present: set[str], allowed: tuple[IPNetwork, ...] = ()
    ) -> Iterator[FeedImport]:
        """What importing ``feeds`` would do, given the locations ``present``:
        each feed "added", "present" (in any spelling of its URL), or "invalid"
        with the reason ``sources add`` would give (only feeds: a file never names
        a local folder)."""
        known = {_spelled_once(location) for location in present}
        for feed in feeds:
            if _spelled_once(feed.url) in known:
                yield FeedImport(feed, "present")
            elif (problem := _feed_problem(feed, allowed)) is not None:
                yield FeedImport(feed, "invalid", problem)
            else:
                yield FeedImport(feed, "added")
            known.add(_spelled_once(feed.url))

    def import_feeds(
        self, feeds: Sequence[OpmlFeed], *, interval_seconds: int, dry_run: bool = False
    ) -> Iterator[FeedImport]:
        """Add each feed as ``sources add`` does, skipping locations present
        already; one ``FeedImport`` per feed as it is done. A dry run adds nothing."""
        present = {row.location for row in self.sources()}
        for planned in self.check_feeds(feeds, present, self.allowed_networks):
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
