"""Build an edition: pick the articles since the schedule's previous edition,
compose them, and store the result once (or only preview it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from digests.config import DigestSettings
from digests.editions.compose import (
    ComposeOptions,
    Digest,
    compose,
    digest_from_dict,
    digest_to_dict,
)
from digests.errors import Conflict
from digests.store.db import Database
from digests.store.editions import articles_between, find_edition, previous_cutoff, save_edition
from digests.store.models import Edition

DEFAULT_SCHEDULE = "daily"


@dataclass(frozen=True, slots=True)
class BuiltEdition:
    digest: Digest
    created: bool  # False: it existed already (or this was a preview)
    stored: bool


def options_from_settings(settings: DigestSettings) -> ComposeOptions:
    return ComposeOptions(
        max_items=settings.max_items,
        max_items_per_source=settings.max_items_per_source,
        sections=settings.sections,
        summary_sentences=settings.summary_sentences,
        source_priority=dict(settings.source_priority),
    )


def edition_date_at(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def build_edition(
    db: Database,
    settings: DigestSettings,
    *,
    now: datetime,
    schedule: str = DEFAULT_SCHEDULE,
    edition_date: date | None = None,
    preview: bool = False,
    sources: list[str] | None = None,
    slot: str = "",
) -> BuiltEdition:
    """The edition of ``schedule`` for ``edition_date`` (default: today in the
    configured time zone) and ``slot`` (its local time, for scheduled editions).
    Building again returns the stored one unchanged."""
    edition_date = edition_date or edition_date_at(now, settings.timezone)
    with db.read() as session:
        existing = find_edition(session, schedule, edition_date, slot)
        if existing is not None:
            return BuiltEdition(digest_from_dict(existing.content), created=False, stored=True)
        since = previous_cutoff(session, schedule, edition_date, slot) or (
            now - timedelta(seconds=settings.first_edition_lookback)
        )
        articles = articles_between(session, since, now, sources)
    digest = compose(
        articles,
        schedule=schedule,
        edition_date=edition_date,
        now=now,
        options=options_from_settings(settings),
    )
    if preview or (digest.empty and settings.empty_edition == "skip"):
        return BuiltEdition(digest, created=False, stored=False)
    try:
        with db.write() as session:
            save_edition(
                session,
                schedule=schedule,
                edition_date=edition_date,
                slot=slot,
                since=since,
                cutoff=now,
                article_count=len(articles),
                content=digest_to_dict(digest),
            )
    except Conflict:  # another process built it first: theirs stands
        with db.read() as session:
            existing = find_edition(session, schedule, edition_date, slot)
        assert existing is not None
        return BuiltEdition(digest_from_dict(existing.content), created=False, stored=True)
    return BuiltEdition(digest, created=True, stored=True)


def edition_variant(
    db: Database, settings: DigestSettings, edition: Edition, sources: list[str] | None
) -> Digest:
    """The edition as a subscriber who reads only ``sources`` gets it.

    Composed again from the same articles with their stored summaries (nothing
    is summarized twice); without a choice it is the stored edition itself.
    """
    stored = digest_from_dict(edition.content)
    if sources is None:
        return stored
    since = edition.since or edition.cutoff - timedelta(seconds=settings.first_edition_lookback)
    with db.read() as session:
        articles = articles_between(session, since, edition.cutoff, sources)
    return compose(
        articles,
        schedule=edition.schedule,
        edition_date=edition.edition_date,
        now=edition.cutoff,
        options=options_from_settings(settings),
    )
