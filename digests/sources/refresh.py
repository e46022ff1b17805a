"""The one orchestrator: fetch -> parse -> normalize -> store, per source.

Stages never call each other; this module owns the sequence. Every failure of
one source or file becomes data (recorded on the source, one log line naming
it and the reason) and never stops the others.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

import httpx

from digests.config import FetchSettings
from digests.errors import FetchTimeout, HTTPStatusError, InputError, NewsdigestError, StoreError
from digests.ingest.fetch import USER_AGENT, FetchPolicy, fetch_url, make_client
from digests.ingest.isolation import ParserPool
from digests.ingest.netguard import parse_networks
from digests.ingest.parse import ParsedFeed, parse_feed_bytes
from digests.ingest.urls import normalize_feed_url, redact_url
from digests.metrics import error_reason, record_articles_stored, record_fetch, record_fetch_error
from digests.records import RawArticle
from digests.sources.folders import MAX_ISSUE_BYTES, scan_folder
from digests.sources.folders import (
    ingest_files as ingest_files,  # these three: still importable here
)
from digests.sources.folders import read_issue as read_issue
from digests.sources.folders import read_issue_file as read_issue_file
from digests.store.articles import SaveResult, StoryCache, save_articles
from digests.store.db import Database
from digests.store.models import Source
from digests.store.sources import (
    Failure,
    claim_due_sources,
    count_due_sources,
    move_source,
    record_failure,
    record_success,
)

log = logging.getLogger("newsdigest.ingest")


@dataclass(frozen=True, slots=True)
class SourceOutcome:
    source_id: int
    name: str
    saved: SaveResult
    not_modified: bool = False
    error: str | None = None
    files: int = 0
    paused: str | None = None  # why this failure paused the source


def policy_from_settings(settings: FetchSettings) -> FetchPolicy:
    return FetchPolicy(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        total_deadline=settings.total_deadline,
        max_bytes=settings.max_bytes,
        max_redirects=settings.max_redirects,
        allowed_networks=parse_networks(settings.allowed_networks),
        user_agent=settings.user_agent or USER_AGENT,
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _scan_folder(
    db: Database, source: Source, now: datetime, stories: StoryCache, zone: str
) -> SourceOutcome:
    # The size cap is read here at call time (a test lowers it on this module).
    scan = scan_folder(db, source, now, stories, max_bytes=MAX_ISSUE_BYTES, zone=zone)
    return SourceOutcome(source.id, source.name, scan.saved, files=scan.files)


class Storage:
    """A round's writes, off the event loop and one at a time (the round's
    story cache is shared; SQLite serializes writers anyway)."""

    def __init__(self, db: Database, stories: StoryCache) -> None:
        self.db = db
        self.stories = stories
        self._lock = threading.Lock()

    def save(self, source_id: int, articles: list[RawArticle], now: datetime) -> SaveResult:
        with self._lock, self.db.write() as session:
            return save_articles(session, source_id, articles, now, self.stories)

    def scan(self, source: Source, now: datetime, zone: str) -> SourceOutcome:
        """A folder source; an issue's date is midnight in ``zone``."""
        with self._lock:
            return _scan_folder(self.db, source, now, self.stories, zone)


async def _parse(
    parser: ParserPool | None,
    body: bytes,
    *,
    content_type: str | None,
    charset: str | None,
    base_url: str | None,
    default_zone: str,
    fetched_at: datetime,
) -> ParsedFeed:
    """Parse in the worker pool (stoppable); without one, in a thread."""
    job = partial(
        parse_feed_bytes,
        body,
        content_type=content_type,
        charset=charset,
        base_url=base_url,
        default_zone=default_zone,
        fetched_at=fetched_at,
    )
    if parser is not None:
        return await parser.run(job)
    return await asyncio.to_thread(job)


async def _refresh_feed(
    storage: Storage,
    source: Source,
    client: httpx.AsyncClient,
    policy: FetchPolicy,
    now: datetime,
    parser: ParserPool | None,
    default_zone: str,
) -> tuple[SourceOutcome, dict[str, str | None]]:
    try:
        async with asyncio.timeout(policy.total_deadline):
            result = await fetch_url(
                client,
                source.location,
                policy,
                etag=source.etag,
                last_modified=source.last_modified,
            )
            if result.not_modified or result.body is None:
                unchanged = SourceOutcome(source.id, source.name, SaveResult(), not_modified=True)
                return unchanged, {"moved_to": result.moved_to}
            parsed = await _parse(
                parser,
                result.body,
                content_type=result.content_type,
                charset=result.charset,
                base_url=result.url,
                default_zone=default_zone,
                fetched_at=now,
            )
    except TimeoutError as exc:
        raise FetchTimeout(
            f"the total deadline of {policy.total_deadline:g} s passed (download and parse)"
        ) from exc
    for line in parsed.notes.lines():  # one line per reason, naming the source
        log.warning("source #%d %s: %s", source.id, source.name, line)
    saved = await asyncio.to_thread(storage.save, source.id, parsed.articles, now)
    meta = {
        "etag": result.etag,
        "last_modified": result.last_modified,
        "feed_title": parsed.title,
        "moved_to": result.moved_to,
    }
    return SourceOutcome(source.id, source.name, saved), meta


def _failure(exc: Exception, reason: str, now: datetime) -> Failure:
    """What is recorded of ``exc``: the reason, how long the server asked to
    wait (429/503 with Retry-After), and whether the feed is gone for good."""
    if not isinstance(exc, HTTPStatusError):
        return Failure(reason)
    wait = exc.retry_after
    not_before = now + timedelta(seconds=wait) if wait is not None else None
    return Failure(reason, not_before=not_before, gone=exc.status == 410)


def _record_failure(
    db: Database, source_id: int, now: datetime, failure: Failure, backoff: int, disable_after: int
) -> str | None:
    with db.write() as session:
        return record_failure(
            session,
            source_id,
            now,
            failure,
            max_backoff_seconds=backoff,
            disable_after=disable_after,
        )


def _follow_move(db: Database, source: Source, moved_to: str) -> None:
    """After permanent redirects that ended well: the source's new location,
    unless another source is there already (then the two are duplicates)."""
    where = f"source #{source.id} {source.name}"
    try:
        location = normalize_feed_url(moved_to)
    except InputError as exc:
        log.warning("%s: moved permanently, but kept its location: %s", where, exc)
        return
    if location == source.location:
        return
    try:
        with db.write() as session:
            holder = move_source(session, source.id, location)
    except StoreError as exc:
        log.warning("%s: moved permanently, but kept its location: %s", where, exc)
        return
    old, new = redact_url(source.location), redact_url(location)
    if holder is None:
        log.info("%s moved permanently: location %s -> %s", where, old, new)
    else:
        log.warning(
            "%s moved permanently to %s, the location of source #%d %s: the two are "
            "duplicates; kept the old location %s (remove one of them)",
            where,
            new,
            holder.id,
            holder.name,
            old,
        )


def _record_success(
    db: Database,
    source_id: int,
    now: datetime,
    backoff: int,
    not_modified: bool,
    meta: dict[str, str | None],
) -> None:
    with db.write() as session:
        record_success(
            session,
            source_id,
            now,
            max_backoff_seconds=backoff,
            not_modified=not_modified,
            etag=meta.get("etag"),
            last_modified=meta.get("last_modified"),
            feed_title=meta.get("feed_title"),
        )


async def refresh_source(
    db: Database,
    source: Source,
    client: httpx.AsyncClient,
    policy: FetchPolicy,
    *,
    max_backoff_seconds: int,
    now: datetime | None = None,
    stories: StoryCache | None = None,
    storage: Storage | None = None,
    parser: ParserPool | None = None,
    default_zone: str = "UTC",
    disable_after: int,
) -> SourceOutcome:
    """Fetch or scan one source and record what happened on it. Blocking work
    (scanning, storing) runs in threads, parsing in ``parser``'s processes.
    Feed dates written without a zone are in ``default_zone`` unless the
    feed's other dates show its own offset.

    Never raises for the source's own faults: they are logged and recorded; a
    permanent failure (410, or ``disable_after`` failures in a row) pauses the
    source. After permanent redirects its stored location follows.
    """
    now = now or _now()
    storage = storage or Storage(db, stories or StoryCache())
    meta: dict[str, str | None] = {}
    try:
        if source.kind == "folder":
            outcome = await asyncio.to_thread(storage.scan, source, now, default_zone)
        else:
            outcome, meta = await _refresh_feed(
                storage, source, client, policy, now, parser, default_zone
            )
    except Exception as exc:  # one source's failure, expected or not, never stops the others
        where = f"source #{source.id} {source.name} ({redact_url(source.location)})"
        if isinstance(exc, NewsdigestError):
            reason = str(exc) or type(exc).__name__
            log.warning("%s: %s", where, " ".join(reason.split()))
        else:  # a bug, not the source's fault: its stack, once
            reason = f"internal error: {type(exc).__name__}: {exc}"
            log.error("%s: %s", where, " ".join(reason.split()), exc_info=exc)
        reason = " ".join(reason.split())
        failure = _failure(exc, reason, now)
        paused = await asyncio.to_thread(
            _record_failure, db, source.id, now, failure, max_backoff_seconds, disable_after
        )
        if paused is not None:
            log.warning(
                "source #%d %s paused: %s (`newsdigest sources enable %d` resumes it)",
                source.id,
                source.name,
                paused,
                source.id,
            )
        record_fetch(source.name, "error")
        record_fetch_error(source.name, error_reason(exc))
        return SourceOutcome(source.id, source.name, SaveResult(), error=reason, paused=paused)
    await asyncio.to_thread(
        _record_success, db, source.id, now, max_backoff_seconds, outcome.not_modified, meta
    )
    if moved_to := meta.get("moved_to"):
        await asyncio.to_thread(_follow_move, db, source, moved_to)
    record_fetch(source.name, "not_modified" if outcome.not_modified else "ok")
    record_articles_stored(source.name, outcome.saved.new)
    return outcome


def fetch_lease(settings: FetchSettings) -> Callable[[int], timedelta]:
    """How long a round of ``count`` claimed sources may take: its fetches run
    ``concurrency`` at a time, each within the total deadline, plus a margin."""

    def lease(count: int) -> timedelta:
        rounds = -(-count // settings.concurrency) + 1
        return timedelta(seconds=rounds * settings.total_deadline + 60)

    return lease


def _claim(
    db: Database,
    now: datetime,
    force: bool,
    lease: Callable[[int], timedelta],
    limit: int,
    exclude: set[int],
) -> list[Source]:
    with db.write() as session:
        return claim_due_sources(
            session, now, force=force, lease=lease, limit=limit, exclude=exclude
        )


async def fetch_due(
    db: Database,
    settings: FetchSettings,
    *,
    force: bool = False,
    now: datetime | None = None,
    on_start: Callable[[int], None] | None = None,
    on_done: Callable[[SourceOutcome], None] | None = None,
    parser: ParserPool | None = None,
    digest_timezone: str = "UTC",
) -> list[SourceOutcome]:
    """Refresh every due source, at most ``settings.concurrency`` at a time, and
    store what is new (not summarized: the caller runs that stage). Feeds are
    parsed in ``parser``'s worker processes (within ``fetch.parse_budget``), or
    in one made for this round. Feed dates written without a zone (in a feed
    whose other dates show none) are in ``fetch.timezone``, else in
    ``digest_timezone`` (the caller's ``digest.timezone``)."""
    now = now or _now()
    total = await asyncio.to_thread(_count_due, db, now, force)
    if on_start is not None:
        on_start(total)
    policy = policy_from_settings(settings)
    limit = asyncio.Semaphore(settings.concurrency)
    storage = Storage(db, StoryCache())
    own_parser = parser is None and total > 0
    if own_parser:
        parser = parser_pool(settings)
    lease = fetch_lease(settings)
    # Sources are claimed a few at a time as fetches finish, so that several
    # workers share a round instead of the first claiming all of it.
    batch = 2 * settings.concurrency

    async def one(source: Source, client: httpx.AsyncClient) -> SourceOutcome:
        async with limit:
            outcome = await refresh_source(
                db,
                source,
                client,
                policy,
                max_backoff_seconds=settings.max_backoff,
                now=now,
                storage=storage,
                parser=parser,
                default_zone=settings.timezone or digest_timezone,
                disable_after=settings.disable_after,
            )
        if on_done is not None:
            on_done(outcome)
        return outcome

    outcomes: list[SourceOutcome] = []
    claimed: set[int] = set()
    active: set[asyncio.Task[SourceOutcome]] = set()
    more = True
    async with make_client(policy) as client:
        try:
            while True:
                if more and len(active) < settings.concurrency:
                    sources = await asyncio.to_thread(
                        _claim, db, now, force, lease, batch - len(active), set(claimed)
                    )
                    more = len(sources) == batch - len(active)
                    claimed.update(source.id for source in sources)
                    active.update(asyncio.create_task(one(source, client)) for source in sources)
                if not active:
                    break
                done, active = await asyncio.wait(active, return_when=asyncio.FIRST_COMPLETED)
                outcomes.extend(task.result() for task in done)
        finally:  # stopped mid-round: no fetch outlives the round
            for task in active:
                task.cancel()
            await asyncio.gather(*active, return_exceptions=True)
            if own_parser and parser is not None:
                await asyncio.to_thread(parser.close)
    return outcomes


def _count_due(db: Database, now: datetime, force: bool) -> int:
    with db.read() as session:
        return count_due_sources(session, now, force=force)


def parser_pool(settings: FetchSettings, *, warm: Callable[[], object] | None = None) -> ParserPool:
    """Worker processes for parsing feeds: as many as fetches run at once, at most
    one per CPU; each runs ``warm`` as it starts."""
    return ParserPool(
        min(settings.concurrency, os.cpu_count() or 1), settings.parse_budget, warm=warm
    )
