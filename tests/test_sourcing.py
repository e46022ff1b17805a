"""Adding a source from what an operator typed (the command line, OPML, chat)."""

from __future__ import annotations

import pytest

from digests.errors import InputError
from digests.ingest.netguard import parse_networks
from digests.sources.adding import MAX_NAME_CHARS, add_from_location
from digests.store.db import Database
from digests.store.sources import add_source, list_sources


def test_a_long_url_is_a_shortened_name_on_every_backend(db: Database) -> None:
    url = "https://news.example.org/feeds/" + "x" * 400 + ".xml"
    with db.write() as session:
        add_from_location(session, url, name=None, interval_seconds=1800)
    with db.read() as session:
        [row] = list_sources(session)
    assert row.location == url and row.name == url[:MAX_NAME_CHARS]


def test_chat_never_names_a_folder(db: Database, tmp_path: object) -> None:
    with db.write() as session, pytest.raises(InputError, match="not an http"):
        add_from_location(session, str(tmp_path), name=None, interval_seconds=60, folders=False)
    with db.write() as session:
        source = add_from_location(session, str(tmp_path), name=None, interval_seconds=60)
        assert source.kind == "folder"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:1/feed.xml", "non-public address 127.0.0.1"),
        ("http://127.1/feed.xml", "non-public address 127.0.0.1"),
        ("http://2130706433/feed.xml", "non-public address 127.0.0.1"),
        ("http://localhost:8080/rss", "non-public address 127.0.0.1"),
        ("http://[::1]/rss", "non-public address ::1"),
        ("http://10.1.2.3/rss", "non-public address 10.1.2.3"),
        ("http://exa mple.com/feed.xml", "not a valid host name"),
        ("http://exa_mple.com/feed.xml", "not a valid host name"),
        ("ftp://example.com/feed.xml", "only http and https"),
        ("https:///feed.xml", "has no host"),
    ],
)
def test_a_feed_that_can_never_be_fetched_is_refused_at_add(
    db: Database, url: str, reason: str
) -> None:
    with db.write() as session, pytest.raises(InputError, match=reason):
        add_from_location(session, url, name=None, interval_seconds=60)
    with db.read() as session:
        assert list_sources(session) == []


def test_a_private_address_is_accepted_where_the_operator_allows_it(db: Database) -> None:
    allowed = parse_networks(["127.0.0.0/8"])
    with db.write() as session:
        source = add_from_location(
            session,
            "http://127.0.0.1:1/feed.xml",
            name=None,
            interval_seconds=60,
            allowed_networks=allowed,
        )
    assert source.location == "http://127.0.0.1:1/feed.xml"


@pytest.mark.parametrize(
    "spelling",
    [
        "https://EXAMPLE.com/feed.xml",
        "https://example.com/feed.xml/",
        "HTTPS://example.com:443/feed.xml",
        "https://example.com/feed.xml#top",
        "  https://example.com/feed.xml  ",
    ],
)
def test_another_spelling_of_a_feed_url_is_the_same_feed(db: Database, spelling: str) -> None:
    with db.write() as session:
        first = add_from_location(
            session, "https://example.com/feed.xml", name=None, interval_seconds=60
        )
    with db.write() as session, pytest.raises(InputError, match=f"already exists as #{first.id}"):
        add_from_location(session, spelling, name=None, interval_seconds=60)


def test_a_url_stored_before_urls_were_normalized_is_found_too(db: Database) -> None:
    with db.write() as session:
        old = add_source(
            session,
            kind="feed",
            location="https://News.Example.org:443/rss/",
            name="old",
            interval_seconds=60,
        )
    with db.write() as session, pytest.raises(InputError, match=f"already exists as #{old.id}"):
        add_from_location(session, "https://news.example.org/rss", name=None, interval_seconds=60)
