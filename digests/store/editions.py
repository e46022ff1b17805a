"""Edition rows and the articles an edition covers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from digests.errors import Conflict
from digests.records import EditionArticle
from digests.store.models import Article, Edition, Source


def previous_cutoff(
    session: Session, schedule: str, edition_date: date, slot: str = ""
) -> datetime | None:
    """Where the schedule's last edition before (``edition_date``, ``slot``) stopped reading."""
    earlier = or_(
        Edition.edition_date < edition_date,
        and_(Edition.edition_date == edition_date, Edition.slot < slot),
    )
    return session.scalar(
        select(Edition.cutoff)
        .where(Edition.schedule == schedule, earlier)
        .order_by(Edition.cutoff.desc())
        .limit(1)
    )


def find_edition(
    session: Session, schedule: str, edition_date: date, slot: str = ""
) -> Edition | None:
    return session.scalar(
        select(Edition).where(
            Edition.schedule == schedule,
            Edition.edition_date == edition_date,
            Edition.slot == slot,
        )
    )


def articles_between(
    session: Session, since: datetime, until: datetime, sources: list[str] | None = None
) -> list[EditionArticle]:
    """Articles first stored in (since, until], by fetch time: late-published
    items are not lost, and no article falls in two editions."""
    query = (
        select(Article, Source.name, Source.kind)
        .join(Source, Source.id == Article.source_id)
        .where(Article.fetched_at > since, Article.fetched_at <= until)
        .order_by(Article.fetched_at, Article.id)
    )
    if sources:
        query = query.where(Source.name.in_(sources))
    return [
        EditionArticle(
            id=article.id,
            source_id=article.source_id,
            source_name=name,
            title=article.title,
            link=article.url or article.link,  # canonical: no tracking parameters
            summary_line=article.summary_line or _lead(article.body),
            summary=tuple(
                article.summary or ([article.summary_line] if article.summary_line else [])
            ),
            keywords=tuple(article.keywords or ()),
            story_id=article.story_id or article.id,
            fetched_at=article.fetched_at,
            published_at=article.published_at,
            from_issue=kind != "feed",
        )
        for article, name, kind in session.execute(query)
    ]


def _lead(body: str) -> str:
    """The fallback when an article has no summary yet: its first line."""
    return body.split("\n", 1)[0][:200]


def save_edition(
    session: Session,
    *,
    schedule: str,
    edition_date: date,
    slot: str,
    since: datetime | None,
    cutoff: datetime,
    article_count: int,
    content: dict[str, Any],
) -> Edition:
    edition = Edition(
        schedule=schedule,
        edition_date=edition_date,
        slot=slot,
        since=since,
        cutoff=cutoff,
        built_at=cutoff,  # the builder's clock, not the wall clock: one time line
        article_count=article_count,
        content=content,
    )
    session.add(edition)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"edition {schedule} {edition_date} {slot or '(by hand)'} exists already"
        ) from exc
    return edition


def latest_of_schedule(session: Session, schedule: str) -> Edition | None:
    """The schedule's newest stored edition (by date and slot)."""
    return session.scalar(
        select(Edition)
        .where(Edition.schedule == schedule)
        .order_by(Edition.edition_date.desc(), Edition.slot.desc(), Edition.id.desc())
        .limit(1)
    )


def recent_editions(session: Session, limit: int = 20) -> list[Edition]:
    """The editions built last, newest first."""
    return list(
        session.scalars(
            select(Edition).order_by(Edition.built_at.desc(), Edition.id.desc()).limit(limit)
        )
    )


def get_edition(session: Session, edition_id: int) -> Edition | None:
    return session.get(Edition, edition_id)


def slots_of_day(
    session: Session, schedule: str, edition_date: date
) -> list[tuple[int, str, datetime]]:
    """(id, slot, built at) of a schedule's editions of one date, newest first
    (their content is not read)."""
    rows = session.execute(
        select(Edition.id, Edition.slot, Edition.built_at)
        .where(Edition.schedule == schedule, Edition.edition_date == edition_date)
        .order_by(Edition.built_at.desc(), Edition.id.desc())
    )
    return [(int(i), str(slot), built) for i, slot, built in rows]


def schedule_editions(session: Session, schedule: str, limit: int) -> list[tuple[date, str, int]]:
    """(date, slot, articles) of a schedule's editions, newest first (their
    content is not read)."""
    rows = session.execute(
        select(Edition.edition_date, Edition.slot, Edition.article_count)
        .where(Edition.schedule == schedule)
        .order_by(Edition.edition_date.desc(), Edition.built_at.desc(), Edition.id.desc())
        .limit(limit)
    )
    return [(day, str(slot), int(count)) for day, slot, count in rows]


def articles_by_id(session: Session, ids: Sequence[int]) -> dict[int, tuple[Article, Source]]:
    """Stored articles (with their source) by id; those gone since are missing."""
    found: dict[int, tuple[Article, Source]] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(Article, Source)
            .join(Source, Source.id == Article.source_id)
            .where(Article.id.in_(ids[start : start + 500]))
        )
        for article, source in rows:
            found[article.id] = (article, source)
    return found
