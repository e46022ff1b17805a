"""Source rows: add, list, remove, which are due, what happened when fetched,
and pausing after permanent failures (and resuming)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from digests.errors import Conflict, InputError
from digests.ingest.backoff import next_check_time
from digests.ingest.urls import normalize_feed_url
from digests.store.models import Article, Source

MAX_ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class SourceRow:
    """What operators see of a source."""

    id: int
    kind: str
    name: str
    location: str
    interval_seconds: int
    enabled: bool
    articles: int
    last_checked_at: datetime | None
    next_check_at: datetime | None
    last_error: str | None
    error_count: int
    disabled_reason: str | None = None
    disabled_at: datetime | None = None

    @property
    def paused(self) -> bool:
        """Paused after permanent failures (not by hand, not removed)."""
        return not self.enabled and self.disabled_reason is not None


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed fetch or scan, as recorded on its source."""

    error: str  # one line
    not_before: datetime | None = None  # the server asked to wait until then
    gone: bool = False  # the server says the feed is gone for good (410)


@dataclass(frozen=True, slots=True)
class PausedSource:
    """A source paused after permanent failures, for telling the operators."""

    id: int
    name: str
    location: str
    reason: str
    paused_at: datetime


def add_source(
    session: Session,
    *,
    kind: str,
    location: str,
    name: str,
    interval_seconds: int,
    same_location: Callable[[str], bool] | None = None,
) -> Source:
    """A new source, or a removed one brought back; ``InputError`` if it is
    there already. ``same_location`` also finds stored locations spelled
    otherwise (for feeds: before URLs were normalized)."""
    existing = session.scalar(select(Source).where(Source.location == location))
    if existing is None and same_location is not None:
        same_kind = select(Source).where(Source.kind == kind)
        present_first = same_kind.order_by(Source.removed_at.is_not(None), Source.id)
        existing = next(
            (source for source in session.scalars(present_first) if same_location(source.location)),
            None,
        )
    if existing is not None and existing.removed_at is None:
        raise InputError(f"source already exists as #{existing.id} ({existing.name})")
    if existing is not None:  # re-adding a removed source brings it back, articles and all
        existing.removed_at = None
        existing.name = name
        existing.interval_seconds = interval_seconds
        existing.enabled = True
        _resume(existing)
        return existing
    source = Source(
        kind=kind,
        location=location,
        name=name,
        interval_seconds=interval_seconds,
        enabled=True,
        error_count=0,
    )
    session.add(source)
    session.flush()
    return source


def get_or_create_source(session: Session, *, kind: str, location: str, name: str) -> Source:
    existing = session.scalar(select(Source).where(Source.location == location))
    if existing is not None:
        existing.removed_at = None
        return existing
    return add_source(session, kind=kind, location=location, name=name, interval_seconds=0)


def find_source(session: Session, reference: str) -> Source:
    """A live source by id, location or exact name; ``InputError`` if none or ambiguous."""
    query = select(Source).where(Source.removed_at.is_(None))
    if reference.isdigit():
        query = query.where(Source.id == int(reference))
    else:
        query = query.where(or_(Source.location == reference, Source.name == reference))
    found = list(session.scalars(query))
    if not found:
        raise InputError(f"no source {reference!r} (see `newsdigest sources list`)")
    if len(found) > 1:
        raise InputError(f"{reference!r} names {len(found)} sources; use the id")
    return found[0]


def remove_source(session: Session, reference: str, *, purge: bool, now: datetime) -> Source:
    """Stop fetching a source; its articles stay unless ``purge``."""
    source = find_source(session, reference)
    if purge:
        session.delete(source)
    else:
        source.removed_at = now
        source.enabled = False
    return source


def list_sources(session: Session) -> list[SourceRow]:
    counts = (
        select(Article.source_id, func.count(Article.id).label("n"))
        .group_by(Article.source_id)
        .subquery()
    )
    rows = session.execute(
        select(Source, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.source_id == Source.id)
        .where(Source.removed_at.is_(None))
        .order_by(Source.id)
    )
    return [
        SourceRow(
            id=source.id,
            kind=source.kind,
            name=source.name,
            location=source.location,
            interval_seconds=source.interval_seconds,
            enabled=source.enabled,
            articles=int(count),
            last_checked_at=source.last_checked_at,
            next_check_at=source.next_check_at,
            last_error=source.last_error,
            error_count=source.error_count,
            disabled_reason=source.disabled_reason,
            disabled_at=source.disabled_at,
        )
        for source, count in rows
    ]


def source_names(session: Session) -> dict[int, str]:
    """Every source's name by id (removed ones too: old articles still name them)."""
    return {int(i): str(n) for i, n in session.execute(select(Source.id, Source.name)).all()}


def selectable_sources(session: Session, names: Collection[str] = ()) -> list[tuple[int, str]]:
    """(id, name) of the sources a subscriber may choose from, by name; only
    ``names`` when given (a schedule limited to some sources)."""
    query = select(Source.id, Source.name).where(Source.removed_at.is_(None)).order_by(Source.name)
    if names:
        query = query.where(Source.name.in_(list(names)))
    return [(int(i), str(n)) for i, n in session.execute(query).all()]


def _due(now: datetime, force: bool) -> Select[Source]:
    query = select(Source).where(
        Source.removed_at.is_(None),
        Source.enabled.is_(True),
        Source.kind.in_(("feed", "folder")),
    )
    if not force:
        query = query.where(or_(Source.next_check_at.is_(None), Source.next_check_at <= now))
    return query


def count_due_sources(session: Session, now: datetime, *, force: bool = False) -> int:
    return int(session.scalar(select(func.count()).select_from(_due(now, force).subquery())) or 0)


def claim_due_sources(
    session: Session,
    now: datetime,
    *,
    force: bool = False,
    lease: Callable[[int], timedelta],
    limit: int | None = None,
    exclude: Collection[int] = (),
) -> list[Source]:
    """Up to ``limit`` due sources (every live one with ``force``, except
    ``exclude``), claimed for this worker: their next check moves past
    ``lease(count)`` from now, so no other worker fetches them meanwhile. The
    fetch's outcome sets the real next check; a worker that dies mid-fetch
    leaves them due again when the lease ends. Rows another worker is claiming
    at this moment are skipped, not waited for (``FOR UPDATE SKIP LOCKED`` on
    PostgreSQL), so workers claiming in small batches share a round."""
    query = _due(now, force)
    if exclude:
        query = query.where(Source.id.not_in(list(exclude)))
    query = query.order_by(Source.id).limit(limit).with_for_update(skip_locked=True)
    sources = list(session.scalars(query))
    # From the real clock too: ``now`` may be a fixed moment the round began at.
    until = max(now, datetime.now(UTC)) + lease(len(sources))
    for source in sources:
        source.next_check_at = until
    return sources


def record_success(
    session: Session,
    source_id: int,
    now: datetime,
    *,
    max_backoff_seconds: int,
    etag: str | None = None,
    last_modified: str | None = None,
    feed_title: str | None = None,
    not_modified: bool = False,
) -> None:
    source = session.get(Source, source_id)
    if source is None:
        return
    source.last_checked_at = now
    source.last_success_at = now
    source.error_count = 0
    source.last_error = None
    source.next_check_at = next_check_time(now, source.interval_seconds, 0, max_backoff_seconds)
    if not not_modified:
        source.etag = etag
        source.last_modified = last_modified
        if feed_title:
            source.feed_title = feed_title


def pause_reason(failure: Failure, failures_in_a_row: int, disable_after: int) -> str | None:
    """Why this failure pauses its source, or None: a feed gone for good at
    once; any other failure once it is the ``disable_after``-th in a row, unless
    the server only asked to wait (429/503 with Retry-After)."""
    if failure.gone:
        return f"gone for good: {failure.error}"
    if failure.not_before is not None or failures_in_a_row < disable_after:
        return None
    return f"failed {failures_in_a_row} times in a row, the last: {failure.error}"


def record_failure(
    session: Session,
    source_id: int,
    now: datetime,
    failure: Failure,
    *,
    max_backoff_seconds: int,
    disable_after: int,
) -> str | None:
    """One more consecutive failure: the next check backs off, and comes no
    sooner than the server asked; a permanent failure pauses the source.
    Returns the reason it was paused, or None."""
    source = session.get(Source, source_id)
    if source is None:
        return None
    source.last_checked_at = now
    source.error_count += 1
    source.last_error = failure.error[:MAX_ERROR_CHARS]
    source.next_check_at = next_check_time(
        now, source.interval_seconds, source.error_count, max_backoff_seconds
    )
    if failure.not_before is not None and failure.not_before > source.next_check_at:
        source.next_check_at = failure.not_before
    reason = pause_reason(failure, source.error_count, disable_after)
    if reason is None or not source.enabled:  # not now, or removed meanwhile
        return None
    source.enabled = False
    source.disabled_reason = reason[:MAX_ERROR_CHARS]
    source.disabled_at = now
    source.disabled_announced_at = None
    return source.disabled_reason


def _resume(source: Source) -> None:
    """Enabled, with no failures behind it, due at once."""
    source.enabled = True
    source.error_count = 0
    source.last_error = None
    source.next_check_at = None
    source.disabled_reason = None
    source.disabled_at = None
    source.disabled_announced_at = None


def enable_source(session: Session, reference: str) -> tuple[Source, str | None]:
    """Resume a paused source (fetched in the next round, its failures
    forgotten); returns it and why it had been paused (None: it was not)."""
    source = find_source(session, reference)
    was_paused = None if source.enabled else (source.disabled_reason or "paused")
    if was_paused is not None:
        _resume(source)
    return source, was_paused


def claim_pause_notices(session: Session, now: datetime) -> list[PausedSource]:
    """The paused sources the operators have not been told of, marked told:
    each pause is claimed once, whichever process asks (rows another is
    claiming at this moment are skipped)."""
    query = (
        select(Source)
        .where(
            Source.removed_at.is_(None),
            Source.enabled.is_(False),
            Source.disabled_at.is_not(None),
            Source.disabled_announced_at.is_(None),
        )
        .order_by(Source.id)
        .with_for_update(skip_locked=True)
    )
    claimed = []
    for source in session.scalars(query):
        source.disabled_announced_at = now
        reason, paused_at = source.disabled_reason or "", source.disabled_at or now
        claimed.append(PausedSource(source.id, source.name, source.location, reason, paused_at))
    return claimed


def _holder_of(session: Session, location: str, *, besides: int) -> Source | None:
    """Another source at ``location``, in that spelling or in one that
    normalizes to it (stored before URLs were normalized). Removed sources
    count: their location stays taken."""
    others = select(Source).where(Source.id != besides)
    exact = session.scalar(others.where(Source.location == location).limit(1))
    if exact is not None:
        return exact
    feeds = session.scalars(others.where(Source.kind == "feed").order_by(Source.id))
    return next((other for other in feeds if _spelled_once(other.location) == location), None)


def _spelled_once(location: str) -> str:
    try:
        return normalize_feed_url(location)
    except InputError:
        return location


def move_source(session: Session, source_id: int, location: str) -> Source | None:
    """Store the source's new location. When another source is there already,
    nothing changes and that source is returned: the two are duplicates."""
    holder = _holder_of(session, location, besides=source_id)
    if holder is not None:
        return holder
    source = session.get(Source, source_id)
    if source is None:
        return None
    try:
        with session.begin_nested():
            source.location = location
    except IntegrityError as exc:  # taken this moment by another process
        holder = _holder_of(session, location, besides=source_id)
        if holder is None:
            raise Conflict(f"the location {location} was taken meanwhile") from exc
    return holder
