"""Item dates through the whole fetch path (server, parser processes, store):
naive dates take the source's zone, future ones are clamped to the fetch time,
implausible ones dropped, and the source's log gets one line saying so."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from digests.config import FetchSettings
from digests.feedserver import FeedServer
from digests.sources.refresh import SourceOutcome, fetch_due
from digests.store.db import Database
from digests.store.models import Article, Source
from digests.store.sources import add_source

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def rss_dated(*items: tuple[str, str]) -> bytes:
    """RSS 2.0 from (guid, pubDate) items; each guid is also the item's title."""
    parts = "".join(
        f"<item><guid>{guid}</guid><title>{guid}</title><pubDate>{date}</pubDate>"
        f"<description>About {guid}.</description></item>"
        for guid, date in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Dates</title><link>https://dates.example.org/</link>{parts}</channel></rss>"
    ).encode()


def add(db: Database, name: str, location: str) -> int:
    with db.write() as session:
        return add_source(
            session, kind="feed", location=location, name=name, interval_seconds=600
        ).id


def poll(
    db: Database, settings: FetchSettings, now: datetime = NOW, **kwargs: str
) -> SourceOutcome:
    with db.write() as session:  # as from a server without validators: a full answer
        for source in session.scalars(select(Source)):
            source.etag = source.last_modified = None
    (outcome,) = asyncio.run(fetch_due(db, settings, force=True, now=now, **kwargs))
    assert outcome.error is None
    return outcome


def published(db: Database, source_id: int) -> dict[str, datetime | None]:
    with db.read() as session:
        query = select(Article).where(Article.source_id == source_id)
        return {row.title: row.published_at for row in session.scalars(query)}


def test_dates_are_settled_and_the_source_logs_one_line(
    db: Database,
    feed_server: FeedServer,
    fetch_settings: FetchSettings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = rss_dated(
        ("zoned", "Fri, 20 Nov 2026 07:30:00 +0800"),
        ("zoned-too", "Thu, 19 Nov 2026 21:00:00 +0800"),
        ("naive", "Fri, 20 Nov 2026 09:00:00"),
        ("skewed", "Fri, 20 Nov 2026 08:02:00 GMT"),
        ("next-week", "Fri, 27 Nov 2026 08:00:00 GMT"),
        ("year-9999", "Fri, 31 Dec 9999 23:59:59 -0500"),
        ("year-1", "Mon, 01 Jan 0001 00:00:00 +0800"),
    )
    source = add(db, "dated", feed_server.put("dates-settled.xml", body))
    with caplog.at_level(logging.WARNING, logger="newsdigest.ingest"):
        assert poll(db, fetch_settings).saved.new == 7
    assert published(db, source) == {
        "zoned": datetime(2026, 11, 19, 23, 30, tzinfo=UTC),
        "zoned-too": datetime(2026, 11, 19, 13, 0, tzinfo=UTC),
        "naive": datetime(2026, 11, 20, 1, 0, tzinfo=UTC),  # the feed's own +08:00
        "skewed": datetime(2026, 11, 20, 8, 2, tzinfo=UTC),  # within the clock skew
        "next-week": NOW,
        "year-9999": NOW,
        "year-1": None,
    }
    date_lines = [r.getMessage() for r in caplog.records if "item dates" in r.getMessage()]
    assert date_lines == [
        f"source #{source} dated: item dates: "
        "2 in the future set to the fetch time, 1 before 1990 taken as missing"
    ]


def test_a_clamped_date_is_not_rewritten_by_a_refetch(
    db: Database, feed_server: FeedServer, fetch_settings: FetchSettings
) -> None:
    body = rss_dated(("ahead", "Fri, 31 Dec 9999 23:59:59 GMT"))
    source = add(db, "ahead", feed_server.put("dates-refetch.xml", body))
    poll(db, fetch_settings)
    again = poll(db, fetch_settings, NOW + timedelta(hours=1)).saved
    assert (again.new, again.updated, again.unchanged) == (0, 0, 1)
    assert published(db, source) == {"ahead": NOW}


@pytest.mark.parametrize(
    ("fetch_zone", "digest_zone", "expected"),
    [
        ("America/New_York", "Asia/Tokyo", datetime(2026, 11, 19, 17, 0, tzinfo=UTC)),
        ("", "Asia/Tokyo", datetime(2026, 11, 19, 3, 0, tzinfo=UTC)),
        ("", None, datetime(2026, 11, 19, 12, 0, tzinfo=UTC)),
    ],
    ids=["fetch-timezone", "digest-timezone-when-fetch-is-empty", "utc-when-neither-is-given"],
)
def test_naive_dates_of_a_feed_without_offsets_take_the_configured_zone(
    db: Database,
    feed_server: FeedServer,
    fetch_settings: FetchSettings,
    fetch_zone: str,
    digest_zone: str | None,
    expected: datetime,
) -> None:
    body = rss_dated(("naive", "Thu, 19 Nov 2026 12:00:00"), ("undated", ""))
    source = add(db, "zone", feed_server.put(f"dates-zone-{fetch_zone}-{digest_zone}.xml", body))
    settings = fetch_settings.model_copy(update={"timezone": fetch_zone})
    kwargs = {} if digest_zone is None else {"digest_timezone": digest_zone}
    poll(db, settings, **kwargs)
    assert published(db, source) == {"naive": expected, "undated": None}
