"""Item identity: guid when there is one, never a link several items share;
an identical refetch rewrites nothing; rows stored by the older rule are found
again. Real database (the fixtures' backend), real 127.0.0.1 feed server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import select

from digests.config import FetchSettings
from digests.feedserver import FeedServer
from digests.ingest.dedup import content_hash, identity_digest, identity_keys
from digests.ingest.urls import canonical_url
from digests.records import RawArticle
from digests.sources.refresh import SourceOutcome, fetch_due
from digests.store.articles import SaveResult, save_articles
from digests.store.db import Database
from digests.store.models import Article, Source
from digests.store.sources import add_source
from tests.builders import article

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
SHARED_LINK = "https://news.example.org/live?utm_source=rss"


def rss_without_guids(*items: tuple[str, str, str]) -> bytes:
    """RSS 2.0 from (link, title, description) items that carry no guid."""
    parts = "".join(
        f"<item><link>{escape(link)}</link><title>{escape(title)}</title>"
        f"<description>{escape(body)}</description></item>"
        for link, title, body in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Shared links</title><link>https://news.example.org/</link>{parts}"
        "</channel></rss>"
    ).encode()


def rss_with_guids(*items: tuple[str, str, str, str]) -> bytes:
    """RSS 2.0 from (guid, link, title, description) items."""
    parts = "".join(
        f'<item><guid isPermaLink="false">{escape(guid)}</guid><link>{escape(link)}</link>'
        f"<title>{escape(title)}</title><description>{escape(body)}</description></item>"
        for guid, link, title, body in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Guids</title><link>https://news.example.org/</link>{parts}</channel></rss>"
    ).encode()


LIVE = (
    (SHARED_LINK, "Morning: the bridge opens", "The new bridge opened to traffic at seven."),
    (SHARED_LINK, "Noon: first queues", "Queues formed at the toll gates by noon."),
    (SHARED_LINK, "Evening: the mayor speaks", "The mayor thanked the builders this evening."),
)


def add(db: Database, name: str, location: str) -> int:
    with db.write() as session:
        return add_source(
            session, kind="feed", location=location, name=name, interval_seconds=600
        ).id


def poll(db: Database, settings: FetchSettings, now: datetime = NOW) -> SourceOutcome:
    """One forced round; the source's ETag and Last-Modified are forgotten
    first, so the server answers in full (as one without validators does)."""
    with db.write() as session:
        for source in session.scalars(select(Source)):
            source.etag = source.last_modified = None
    (outcome,) = asyncio.run(fetch_due(db, settings, force=True, now=now))
    assert outcome.error is None
    return outcome


def counts(saved: SaveResult) -> tuple[int, int, int]:
    return saved.new, saved.updated, saved.unchanged


def stored(db: Database, source_id: int) -> list[Article]:
    with db.read() as session:
        query = select(Article).where(Article.source_id == source_id).order_by(Article.id)
        return list(session.scalars(query))


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            [article("A", "a", guid="g1", url=SHARED_LINK), article("B", "b", guid="g2")],
            [("guid", "g1"), ("guid", "g2")],
        ),
        (
            [
                article("A", "a", url="https://e.org/a#top"),
                article("B", "b", url="https://e.org/b"),
            ],
            [("url", "https://e.org/a"), ("url", "https://e.org/b")],
        ),
        (
            [article("A", "a", url=SHARED_LINK), article("B", "b", url=SHARED_LINK)],
            [
                ("url+title", "https://news.example.org/live\x00A"),
                ("url+title", "https://news.example.org/live\x00B"),
            ],
        ),
        (
            [article("A", "one", url=SHARED_LINK), article("A", "two", url=SHARED_LINK)],
            [
                (
                    "url+hash",
                    "https://news.example.org/live\x00" + content_hash(article("A", "one")),
                ),
                (
                    "url+hash",
                    "https://news.example.org/live\x00" + content_hash(article("A", "two")),
                ),
            ],
        ),
        (
            # The guid-less item shares its link with an item that has a guid.
            [article("A", "a", guid="g1", url=SHARED_LINK), article("B", "b", url=SHARED_LINK)],
            [("guid", "g1"), ("url+title", "https://news.example.org/live\x00B")],
        ),
        ([article("A", "a")], [("hash", content_hash(article("A", "a")))]),
    ],
    ids=[
        "guid-wins-over-link",
        "unique-links",
        "shared-link-told-by-title",
        "shared-link-and-title-told-by-text",
        "shared-with-a-guid-item",
        "no-link",
    ],
)
def test_identity_keys(document: list[RawArticle], expected: list[tuple[str, str]]) -> None:
    assert identity_keys(document) == expected


def test_items_sharing_a_link_stay_apart_and_a_refetch_rewrites_nothing(
    db: Database, feed_server: FeedServer, fetch_settings: FetchSettings
) -> None:
    source = add(db, "live", feed_server.put("identity-live.xml", rss_without_guids(*LIVE)))
    assert counts(poll(db, fetch_settings).saved) == (3, 0, 0)
    first = [(row.id, row.title, row.body, row.updated_at) for row in stored(db, source)]
    assert [title for _, title, _, _ in first] == [title for _, title, _ in LIVE]

    again = poll(db, fetch_settings, NOW + timedelta(hours=1))
    assert counts(again.saved) == (0, 0, 3)
    assert [(r.id, r.title, r.body, r.updated_at) for r in stored(db, source)] == first


def test_a_changed_item_among_shared_links_is_an_update_of_that_item_only(
    db: Database, feed_server: FeedServer, fetch_settings: FetchSettings
) -> None:
    url = feed_server.put("identity-change.xml", rss_without_guids(*LIVE))
    source = add(db, "change", url)
    poll(db, fetch_settings)
    corrected = (SHARED_LINK, LIVE[1][1], "Queues formed at all four toll gates by noon.")
    feed_server.put("identity-change.xml", rss_without_guids(LIVE[0], corrected, LIVE[2]))
    later = NOW + timedelta(hours=1)
    assert counts(poll(db, fetch_settings, later).saved) == (0, 1, 2)
    rows = stored(db, source)
    assert [row.body for row in rows] == [LIVE[0][2], corrected[2], LIVE[2][2]]
    assert [row.updated_at for row in rows] == [NOW, later, NOW]


def test_items_with_their_own_guids_are_apart_however_they_share_a_link(
    db: Database, feed_server: FeedServer, fetch_settings: FetchSettings
) -> None:
    items = [(f"post-{n}", SHARED_LINK, title, body) for n, (_, title, body) in enumerate(LIVE)]
    url = feed_server.put("identity-guids.xml", rss_with_guids(*items[:2]))
    source = add(db, "guids", url)
    assert counts(poll(db, fetch_settings).saved) == (2, 0, 0)
    # A third post under the same link is a new article, not a rewrite of another.
    feed_server.put("identity-guids.xml", rss_with_guids(*items))
    assert counts(poll(db, fetch_settings, NOW + timedelta(hours=1)).saved) == (1, 0, 2)
    assert counts(poll(db, fetch_settings, NOW + timedelta(hours=2)).saved) == (0, 0, 3)
    assert [(row.guid, row.title) for row in stored(db, source)] == [
        (guid, title) for guid, _, title, _ in items
    ]


def test_a_guid_repeated_in_one_document_is_one_article(
    db: Database, feed_server: FeedServer, fetch_settings: FetchSettings
) -> None:
    items = [
        ("same", "https://e.org/1", "First telling", "One text."),
        ("same", "https://e.org/2", "Second telling", "Another text."),
    ]
    source = add(db, "repeat", feed_server.put("identity-repeat.xml", rss_with_guids(*items)))
    first = poll(db, fetch_settings).saved
    assert (counts(first), first.repeated) == ((1, 0, 0), 1)
    assert counts(poll(db, fetch_settings, NOW + timedelta(hours=1)).saved) == (0, 0, 1)
    [row] = stored(db, source)
    assert row.title == "First telling"


def _store_as_the_older_rule_did(db: Database, source_id: int, rows: list[RawArticle]) -> None:
    """Rows as the rule before this one stored them: identity by guid, else by
    canonical URL alone, else by text; the last of several items sharing a
    link overwrote the others in one row."""
    with db.write() as session:
        by_identity: dict[str, Article] = {}
        for item in rows:
            url = canonical_url(item.url) if item.url else None
            kind, value = (
                ("guid", item.guid)
                if item.guid
                else ("url", url)
                if url
                else ("hash", content_hash(item))
            )
            identity = identity_digest(kind, value or "")
            row = by_identity.get(identity) or Article(
                source_id=source_id, identity=identity, guid=item.guid, url=url, fetched_at=NOW
            )
            row.title, row.body, row.link = item.title, item.body, item.url
            row.content_hash, row.updated_at = content_hash(item), NOW
            if identity not in by_identity:
                session.add(row)
                by_identity[identity] = row
        session.flush()
        for row in by_identity.values():
            row.story_id = row.id


def test_rows_stored_by_the_older_rule_are_found_again(
    db: Database, feed_server: FeedServer, fetch_settings: FetchSettings
) -> None:
    plain = [
        ("https://news.example.org/a", "Harbour dredging starts", "Dredgers arrived on Monday."),
        ("https://news.example.org/b", "Library hours extended", "The library opens till ten."),
    ]
    url = feed_server.put("identity-upgrade.xml", rss_without_guids(*plain, *LIVE))
    source = add(db, "upgrade", url)
    _store_as_the_older_rule_did(
        db, source, [article(title, body, url=link) for link, title, body in (*plain, *LIVE)]
    )
    before = {row.id: (row.title, row.updated_at) for row in stored(db, source)}
    assert len(before) == 3  # the three live items were one row, holding the last

    # The first poll after the upgrade: nothing stored is duplicated or
    # rewritten; the two live items the old rule lost are new.
    assert counts(poll(db, fetch_settings, NOW + timedelta(hours=1)).saved) == (2, 0, 3)
    rows = stored(db, source)
    assert {row.id: (row.title, row.updated_at) for row in rows if row.id in before} == before
    assert sorted(row.title for row in rows) == sorted(t for _, t, _ in (*plain, *LIVE))
    assert counts(poll(db, fetch_settings, NOW + timedelta(hours=2)).saved) == (0, 0, 5)


def test_a_stored_guid_row_is_found_again_when_the_feed_adds_guids(db: Database) -> None:
    with db.write() as session:
        source = add_source(
            session, kind="feed", location="https://e.org/feed", name="e", interval_seconds=60
        ).id
        save_articles(session, source, [article("A", "a", url="https://e.org/a")], NOW)
    with db.write() as session:
        result = save_articles(
            session,
            source,
            [article("A", "a", guid="tag:e.org,2026:a", url="https://e.org/a")],
            NOW,
        )
    assert counts(result) == (0, 0, 1)
    [row] = stored(db, source)
    assert (row.guid, row.identity) == (
        "tag:e.org,2026:a",
        identity_digest("guid", "tag:e.org,2026:a"),
    )


def test_an_item_keeps_its_row_when_its_link_becomes_shared_and_unshared(db: Database) -> None:
    with db.write() as session:
        source = add_source(
            session, kind="feed", location="https://e.org/feed", name="e", interval_seconds=60
        ).id
    alone = article("Bridge opens", "At seven.", url=SHARED_LINK)
    joined = article("Queues form", "By noon.", url=SHARED_LINK)
    rounds = [[alone], [alone, joined], [alone], [alone, joined]]
    results = []
    for batch in rounds:
        with db.write() as session:
            results.append(counts(save_articles(session, source, batch, NOW)))
    assert results == [(1, 0, 0), (1, 0, 1), (0, 0, 1), (0, 0, 2)]
    assert [row.title for row in stored(db, source)] == ["Bridge opens", "Queues form"]


def test_a_different_guid_under_a_stored_link_is_another_article(db: Database) -> None:
    with db.write() as session:
        source = add_source(
            session, kind="feed", location="https://e.org/feed", name="e", interval_seconds=60
        ).id
        save_articles(session, source, [article("A", "a", guid="g1", url=SHARED_LINK)], NOW)
    with db.write() as session:
        result = save_articles(
            session, source, [article("B", "b", guid="g2", url=SHARED_LINK)], NOW
        )
    assert counts(result) == (1, 0, 0)
    assert [(row.guid, row.title) for row in stored(db, source)] == [("g1", "A"), ("g2", "B")]
