"""The one orchestrator: fetch -> parse -> normalize -> store, per source.

Stages never call each other; this module owns the sequence. Every failure of
one source or file becomes data (recorded on the source, one log line naming
it and the reason) and never stops the others.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from digests.article import RawArticle
from digests.config import FetchSettings
from digests.enrich import summarize_stored
from digests.errors import InputError, NewsdigestError
from digests.ingest.fetch import USER_AGENT, FetchPolicy, fetch_url, make_client
from digests.ingest.netguard import parse_networks
from digests.ingest.newspaper import parse_newspaper
from digests.ingest.parse import parse_feed_bytes
from digests.ingest.urls import redact_url
from digests.metrics import error_reason, record_articles_stored, record_fetch, record_fetch_error
from digests.store.articles import SaveResult, StoryCache, save_articles
from digests.store.db import Database
from digests.store.models import IngestedFile, Source
from digests.store.sources import (
    claim_due_sources,
    count_due_sources,
    get_or_create_source,
    record_failure,
    record_success,
)
from digests.text.encoding import decode_bytes

log = logging.getLogger("newsdigest.ingest")

NEWSPAPER_SUFFIXES = (".txt",)
# A newspaper issue is text: a few hundred KB. Anything far larger is not one.
MAX_ISSUE_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SourceOutcome:
    source_id: int
    name: str
    saved: SaveResult
    not_modified: bool = False
    error: str | None = None
    files: int = 0


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


def read_issue(data: bytes, name: str, encoding: str | None = None) -> list[RawArticle]:
    """Articles of one newspaper issue file; identity = file name + title."""
    if len(data) > MAX_ISSUE_BYTES:
        raise InputError(f"{len(data)} bytes is too large for a newspaper issue")
    text, _used = decode_bytes(data, forced=encoding)
    articles = parse_newspaper(text)
    return [replace(a.to_raw(), guid=f"{name}#{a.title}") for a in articles]


def read_issue_file(path: Path, encoding: str | None = None) -> list[RawArticle]:
    """``read_issue`` on a file; an unreadable file is an ``InputError`` naming it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        return read_issue(data, path.name, encoding)
    except NewsdigestError as exc:
        raise InputError(f"{path}: {exc}") from exc


def ingest_files(
    db: Database,
    paths: Sequence[Path],
    *,
    source_name: str = "newspaper",
    encoding: str | None = None,
) -> tuple[SaveResult, list[str]]:
    """Store newspaper issue files given by hand. Returns totals and one error line per bad file."""
    totals = SaveResult()
    errors: list[str] = []
    now = _now()
    stories = StoryCache()
    with db.write() as session:
        source_id = get_or_create_source(
            session, kind="files", location=f"files:{source_name}", name=source_name
        ).id
    for path in paths:
        try:
            articles = read_issue_file(path, encoding)
        except InputError as exc:
            errors.append(str(exc))
            continue
        with db.write() as session:
            totals += save_articles(session, source_id, articles, now, stories)
    summarize_stored(db)
    return totals, errors


def _scan_folder(db: Database, source: Source, now: datetime, stories: StoryCache) -> SourceOutcome:
    folder = Path(source.location)
    totals = SaveResult()
    if not folder.is_dir():
        raise InputError(f"folder {folder} does not exist or is not a directory")
    with db.read() as session:
        seen = {
            row.name: row.sha256
            for row in session.scalars(
                select(IngestedFile).where(IngestedFile.source_id == source.id)
            )
        }
    files = 0
    issues = (
        p
        for p in folder.iterdir()
        if p.suffix.lower() in NEWSPAPER_SUFFIXES and not p.name.startswith(".")
    )
    for path in sorted(issues):
        try:
            if path.stat().st_size > MAX_ISSUE_BYTES:
                # Read only the head: enough to notice a change, not the whole file.
                with path.open("rb") as handle:
                    data = handle.read(MAX_ISSUE_BYTES + 1)
            else:
                data = path.read_bytes()
        except OSError as exc:
            log.warning(
                "source #%d %s: file %s unreadable: %s", source.id, source.name, path.name, exc
            )
            continue
        digest = hashlib.sha256(data).hexdigest()
        if seen.get(path.name) == digest:
            continue
        error: str | None = None
        saved = SaveResult()
        try:
            articles = read_issue(data, path.name)
        except NewsdigestError as exc:
            error = str(exc)
            articles = []
            log.warning("source #%d %s: file %s: %s", source.id, source.name, path.name, error)
        with db.write() as session:
            saved = save_articles(session, source.id, articles, now, stories)
            record = session.scalar(
                select(IngestedFile).where(
                    IngestedFile.source_id == source.id, IngestedFile.name == path.name
                )
            )
            if record is None:
                record = IngestedFile(source_id=source.id, name=path.name)
                session.add(record)
            record.sha256 = digest
            record.size = len(data)
            record.article_count = len(articles)
            record.error = error
            record.ingested_at = now
        totals += saved
        files += 1
    return SourceOutcome(source.id, source.name, totals, files=files)


async def _refresh_feed(
    db: Database,
    source: Source,
    client: httpx.AsyncClient,
    policy: FetchPolicy,
    now: datetime,
    stories: StoryCache,
) -> tuple[SourceOutcome, dict[str, str | None]]:
    result = await fetch_url(
        client, source.location, policy, etag=source.etag, last_modified=source.last_modified
    )
    if result.not_modified or result.body is None:
        return SourceOutcome(source.id, source.name, SaveResult(), not_modified=True), {}
    parsed = parse_feed_bytes(
        result.body,
        content_type=result.content_type,
        charset=result.charset,
        base_url=result.url,
    )
    if parsed.skipped:
        log.warning(
            "source #%d %s: %d malformed item(s) skipped", source.id, source.name, parsed.skipped
        )
    with db.write() as session:
        saved = save_articles(session, source.id, parsed.articles, now, stories)
    meta = {"etag": result.etag, "last_modified": result.last_modified, "feed_title": parsed.title}
    return SourceOutcome(source.id, source.name, saved), meta


async def refresh_source(
    db: Database,
    source: Source,
    client: httpx.AsyncClient,
    policy: FetchPolicy,
    *,
    max_backoff_seconds: int,
    now: datetime | None = None,
    stories: StoryCache | None = None,
) -> SourceOutcome:
    """Fetch or scan one source and record what happened on it.

    Never raises for the source's own faults: they are logged and recorded.
    """
    now = now or _now()
    stories = stories or StoryCache()
    meta: dict[str, str | None] = {}
    try:
        if source.kind == "folder":
            outcome = _scan_folder(db, source, now, stories)
        else:
            outcome, meta = await _refresh_feed(db, source, client, policy, now, stories)
    except Exception as exc:  # one source's failure, expected or not, never stops the others
        if isinstance(exc, NewsdigestError):
            reason = str(exc) or type(exc).__name__
        else:
            reason = f"internal error: {type(exc).__name__}: {exc}"
            log.debug("traceback for source #%d", source.id, exc_info=True)
        reason = " ".join(reason.split())
        log.warning(
            "source #%d %s (%s): %s", source.id, source.name, redact_url(source.location), reason
        )
        with db.write() as session:
            record_failure(session, source.id, now, reason, max_backoff_seconds=max_backoff_seconds)
        record_fetch(source.name, "error")
        record_fetch_error(source.name, error_reason(exc))
        return SourceOutcome(source.id, source.name, SaveResult(), error=reason)
    with db.write() as session:
        record_success(
            session,
            source.id,
            now,
            max_backoff_seconds=max_backoff_seconds,
            not_modified=outcome.not_modified,
            etag=meta.get("etag"),
            last_modified=meta.get("last_modified"),
            feed_title=meta.get("feed_title"),
        )
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


async def fetch_due(
    db: Database,
    settings: FetchSettings,
    *,
    force: bool = False,
    now: datetime | None = None,
    on_start: Callable[[int], None] | None = None,
    on_done: Callable[[SourceOutcome], None] | None = None,
    summarize: bool = True,
) -> list[SourceOutcome]:
    """Refresh every due source, at most ``settings.concurrency`` at a time, then
    summarize what is new (unless ``summarize`` is False: a caller running that
    stage on its own)."""
    now = now or _now()
    with db.read() as session:
        total = count_due_sources(session, now, force=force)
    if on_start is not None:
        on_start(total)
    policy = policy_from_settings(settings)
    limit = asyncio.Semaphore(settings.concurrency)
    stories = StoryCache()
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
                stories=stories,
            )
        if on_done is not None:
            on_done(outcome)
        return outcome

    outcomes: list[SourceOutcome] = []
    claimed: set[int] = set()
    active: set[asyncio.Task[SourceOutcome]] = set()
    more = True
    async with make_client(policy) as client:
        while True:
            if more and len(active) < settings.concurrency:
                with db.write() as session:
                    sources = claim_due_sources(
                        session,
                        now,
                        force=force,
                        lease=lease,
                        limit=batch - len(active),
                        exclude=claimed,
                    )
                more = len(sources) == batch - len(active)
                claimed.update(source.id for source in sources)
                active.update(asyncio.create_task(one(source, client)) for source in sources)
            if not active:
                break
            done, active = await asyncio.wait(active, return_when=asyncio.FIRST_COMPLETED)
            outcomes.extend(task.result() for task in done)
    if summarize:
        summarize_stored(db)
    return outcomes
