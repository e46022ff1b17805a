"""Sources that cannot be trusted or cannot work any more, through the real
fetcher, the real 127.0.0.1 feed server, a real database and (for the admins'
notices) the real bot against the fake Bot API:

- a body shorter or longer than its Content-Length is a fetch error;
- a feed gone for good (410) is paused at once, other failures after
  ``fetch.disable_after`` in a row (a Retry-After never pauses); the reason is
  shown in ``sources list``, ``doctor`` and told once to each admin in chat;
  ``sources enable`` and ``/enablesource`` resume;
- a permanent redirect (301, 308) moves the stored location, a temporary one
  does not, and a move onto another source's location keeps both as they are.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import select

from bot.fake_telegram import FakeTelegram
from bot.sandbox import Sandbox
from digests.config import BotSettings, FetchSettings, Settings
from digests.errors import LengthMismatch
from digests.feedserver import FeedServer
from digests.ingest.fetch import FetchResult, fetch_url, make_client
from digests.sources.refresh import SourceOutcome, fetch_due, policy_from_settings
from digests.store.db import Database
from digests.store.models import Article, Source
from digests.store.sources import add_source, enable_source
from tests.botkit import add_subscribers, bot_settings
from tests.builders import rss
from tests.test_bot_process import bot_env, start_bot, stop
from tests.test_cli import assert_one_line_error, newsdigest
from tests.test_doctor import doctor, healthy_env

FEED = rss(
    ("port-1", "https://city.example/port", "Harbor opens a second pier", "The pier opened."),
    ("walk-1", "https://city.example/walk", "River walk finished", "The walk is 2.8 km long."),
)
ADMINS = [9001, 9002]
READER = 7001


def unique(stem: str) -> str:
    """A document name no other test on the session's server uses."""
    return f"{stem}-{uuid.uuid4().hex[:8]}.xml"


def add(db: Database, name: str, location: str) -> int:
    with db.write() as session:
        return add_source(
            session, kind="feed", location=location, name=name, interval_seconds=600
        ).id


def source(db: Database, source_id: int) -> Source:
    with db.read() as session:
        found = session.get(Source, source_id)
    assert found is not None
    return found


def articles_of(db: Database, source_id: int) -> int:
    with db.read() as session:
        return len(session.scalars(select(Article.id).where(Article.source_id == source_id)).all())


def fetch_round(
    db: Database, settings: FetchSettings, *, force: bool = True, now: datetime | None = None
) -> dict[int, SourceOutcome]:
    outcomes = asyncio.run(fetch_due(db, settings, force=force, now=now))
    return {outcome.source_id: outcome for outcome in outcomes}


async def fetch(settings: FetchSettings, url: str) -> FetchResult:
    policy = policy_from_settings(settings)
    async with make_client(policy) as client:
        return await fetch_url(client, url, policy)


# -- Content-Length -------------------------------------------------------------------


@pytest.mark.parametrize("connection", ["close", "keepalive"])
@pytest.mark.parametrize("compressed", [True, False], ids=["gzip", "identity"])
async def test_a_body_exactly_as_long_as_declared_is_read_whole(
    feed_server: FeedServer, fetch_settings: FetchSettings, connection: str, compressed: bool
) -> None:
    name = unique("honest")
    feed_server.put(name, FEED)
    query = f"keepalive={int(connection == 'keepalive')}&plain={int(not compressed)}"
    result = await fetch(fetch_settings, feed_server.url(f"liar/{name}?{query}"))
    assert result.body == FEED


@pytest.mark.parametrize(
    "extra", [50, 10 * 1024 * 1024], ids=["a-few-bytes-more", "ten-megabytes-more"]
)
@pytest.mark.parametrize("connection", ["close", "keepalive"])
@pytest.mark.parametrize("compressed", [True, False], ids=["gzip", "identity"])
async def test_a_body_longer_than_its_content_length_is_an_error(
    feed_server: FeedServer,
    fetch_settings: FetchSettings,
    extra: int,
    connection: str,
    compressed: bool,
) -> None:
    name = unique("longer")
    feed_server.put(name, FEED)
    query = f"extra={extra}&keepalive={int(connection == 'keepalive')}&plain={int(not compressed)}"
    # The declared bytes alone are a whole, valid feed: only what follows gives it away.
    with pytest.raises(LengthMismatch) as caught:
        await fetch(fetch_settings, feed_server.url(f"liar/{name}?{query}"))
    declared = len(gzip.compress(FEED)) if compressed else len(FEED)  # as sent
    assert str(caught.value) == (f"the body was longer than its Content-Length ({declared} bytes)")


@pytest.mark.parametrize("compressed", [True, False], ids=["gzip", "identity"])
async def test_a_body_shorter_than_its_content_length_is_an_error(
    feed_server: FeedServer, fetch_settings: FetchSettings, compressed: bool
) -> None:
    name = unique("shorter")
    feed_server.put(name, FEED)
    url = feed_server.url(f"liar/{name}?missing=30&plain={int(not compressed)}")
    with pytest.raises(LengthMismatch) as caught:
        await fetch(fetch_settings, url)
    sent = len(gzip.compress(FEED)) if compressed else len(FEED)
    assert str(caught.value) == (
        f"the body was shorter than its Content-Length ({sent + 30} bytes): "
        f"the connection closed after {sent} bytes"
    )


def test_a_lying_content_length_is_a_failure_of_the_source(
    db: Database,
    feed_server: FeedServer,
    fetch_settings: FetchSettings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    name = unique("liar")
    feed_server.put(name, FEED)
    honest = add(db, "honest", feed_server.url(f"mem/{name}"))
    liar = add(db, "liar", feed_server.url(f"liar/{name}?extra={10 * 1024 * 1024}"))
    with caplog.at_level(logging.WARNING, logger="newsdigest.ingest"):
        outcomes = fetch_round(db, fetch_settings)
    assert outcomes[honest].error is None and articles_of(db, honest) == 2
    assert outcomes[liar].error is not None
    assert "longer than its Content-Length" in outcomes[liar].error
    stored = source(db, liar)
    assert stored.error_count == 1 and stored.last_error == outcomes[liar].error
    assert stored.last_success_at is None and articles_of(db, liar) == 0
    [line] = [r.getMessage() for r in caplog.records if f"#{liar} liar " in r.getMessage()]
    assert "longer than its Content-Length" in line and "Traceback" not in line


# -- pausing ------------------------------------------------------------------------------


@pytest.fixture
def pausing(fetch_settings: FetchSettings) -> FetchSettings:
    return fetch_settings.model_copy(update={"disable_after": 3})


def test_a_feed_gone_for_good_is_paused_at_once(
    db: Database,
    feed_server: FeedServer,
    pausing: FetchSettings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    gone = add(db, "gone", feed_server.url("status/410"))
    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    with caplog.at_level(logging.WARNING, logger="newsdigest.ingest"):
        outcome = fetch_round(db, pausing, now=now)[gone]
    assert outcome.error == "HTTP status 410"
    assert outcome.paused == "gone for good: HTTP status 410"
    stored = source(db, gone)
    assert not stored.enabled and stored.removed_at is None
    assert stored.disabled_reason == "gone for good: HTTP status 410"
    assert stored.disabled_at == now and stored.disabled_announced_at is None
    assert any(
        f"source #{gone} gone paused: gone for good" in r.getMessage()
        and f"newsdigest sources enable {gone}" in r.getMessage()
        for r in caplog.records
    )
    hits = feed_server.hits("/status/410")
    assert gone not in fetch_round(db, pausing)  # not even a forced round fetches it
    assert feed_server.hits("/status/410") == hits


@pytest.mark.parametrize(
    "path",
    ["status/404", "status/401", "status/403", "status/500", "status/503", "html"],
    ids=["not-found", "unauthorized", "forbidden", "server-error", "unavailable", "not-a-feed"],
)
def test_failures_in_a_row_pause_the_source_at_disable_after(
    db: Database, feed_server: FeedServer, pausing: FetchSettings, path: str
) -> None:
    failing = add(db, "failing", feed_server.url(path))
    for _ in range(pausing.disable_after - 1):
        outcome = fetch_round(db, pausing)[failing]
        assert outcome.error and outcome.paused is None
        assert source(db, failing).enabled
    last = fetch_round(db, pausing)[failing]
    assert last.error is not None
    assert last.paused == f"failed 3 times in a row, the last: {last.error}"
    stored = source(db, failing)
    assert not stored.enabled and stored.disabled_reason == last.paused
    assert stored.error_count == 3
    assert failing not in fetch_round(db, pausing)


def test_a_success_starts_the_count_again(
    db: Database, feed_server: FeedServer, pausing: FetchSettings
) -> None:
    name = unique("flaky")
    url = feed_server.put(name, FEED)
    flaky = add(db, "flaky", url)
    for body in (b"<html>down</html>", b"<html>down</html>", FEED, b"<html>down</html>"):
        feed_server.put(
            name, body, "text/html" if body.startswith(b"<html") else "application/rss+xml"
        )
        fetch_round(db, pausing)
    feed_server.put(name, b"<html>down</html>", "text/html")
    outcome = fetch_round(db, pausing)[flaky]
    assert outcome.error and outcome.paused is None  # two in a row since the success
    assert source(db, flaky).enabled and source(db, flaky).error_count == 2


@pytest.mark.parametrize("status", [429, 503])
def test_a_server_asking_to_wait_is_never_a_permanent_failure(
    db: Database, feed_server: FeedServer, pausing: FetchSettings, status: int
) -> None:
    busy = add(db, "busy", feed_server.url(f"status/{status}?retry_after=7200"))
    for _ in range(pausing.disable_after + 2):
        outcome = fetch_round(db, pausing)[busy]
        assert outcome.error and "asks to wait" in outcome.error and outcome.paused is None
    stored = source(db, busy)
    assert stored.enabled and stored.disabled_reason is None
    assert stored.error_count == pausing.disable_after + 2  # still backs off


def _pause(db: Database, feed_server: FeedServer, settings: FetchSettings, name: str) -> int:
    source_id = add(db, name, feed_server.url("status/410"))
    assert fetch_round(db, settings)[source_id].paused
    return source_id


def test_sources_list_shows_the_reason_and_enable_resumes(
    tmp_path: Path,
    database_url: str,
    db: Database,
    feed_server: FeedServer,
    pausing: FetchSettings,
) -> None:
    healthy = add(db, "healthy", feed_server.put(unique("healthy"), FEED))
    gone = _pause(db, feed_server, pausing, "Harbor Gazette")
    env = {"NEWSDIGEST_DATABASE_URL": database_url, "COLUMNS": "250"}

    listed = newsdigest("sources", "list", "--json", cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {row["id"]: row for row in map(json.loads, listed.stdout.splitlines())}
    assert rows[gone]["enabled"] is False
    assert rows[gone]["paused_reason"] == "gone for good: HTTP status 410"
    assert rows[gone]["paused_at"] is not None
    assert rows[healthy]["enabled"] is True and rows[healthy]["paused_reason"] is None

    table = newsdigest("sources", "list", cwd=tmp_path, env=env)  # a pipe: one line each
    [line] = [line for line in table.stdout.splitlines() if "Harbor Gazette" in line]
    assert "paused" in line and "gone for good: HTTP status 410" in line
    # the hint is no source's line: on stderr, so the listing stays data
    assert table.stderr == "1 paused: `newsdigest sources enable ID` resumes one\n"

    enabled = newsdigest("sources", "enable", str(gone), cwd=tmp_path, env=env)
    assert enabled.returncode == 0, enabled.stderr
    assert enabled.stdout.strip() == (
        f"resumed source #{gone}: Harbor Gazette (it was paused: gone for good: "
        "HTTP status 410); it is fetched in the next round"
    )
    stored = source(db, gone)
    assert stored.enabled and stored.error_count == 0 and stored.last_error is None
    assert stored.disabled_reason is None and stored.disabled_at is None
    assert stored.next_check_at is None  # no backoff left: due at once

    again = newsdigest("sources", "enable", str(gone), cwd=tmp_path, env=env)
    assert again.returncode == 0
    assert again.stdout.strip() == f"source #{gone}: Harbor Gazette is not paused; nothing changed"
    assert_one_line_error(newsdigest("sources", "enable", "999", cwd=tmp_path, env=env))


def test_a_resumed_source_is_fetched_again_and_paused_again_if_still_gone(
    db: Database, feed_server: FeedServer, pausing: FetchSettings
) -> None:
    gone = _pause(db, feed_server, pausing, "gone")
    hits = feed_server.hits("/status/410")
    with db.write() as session:
        enable_source(session, str(gone))
    assert fetch_round(db, pausing, force=False)[gone].paused  # due at once, gone still
    assert feed_server.hits("/status/410") == hits + 1


def test_doctor_warns_of_paused_sources_with_their_reasons(
    tmp_path: Path,
    database_url: str,
    db: Database,
    feed_server: FeedServer,
    pausing: FetchSettings,
) -> None:
    add(db, "healthy", feed_server.put(unique("healthy"), FEED))
    gone = _pause(db, feed_server, pausing, "Harbor Gazette")
    result, rows = doctor(cwd=tmp_path, env=healthy_env(database_url))
    assert result.returncode == 0, result.stdout  # a warning, not a failure
    assert rows["sources"]["status"] == "ok"
    assert rows["paused sources"] == {
        "check": "paused sources",
        "status": "warn",
        "detail": f"1 paused after permanent failures: #{gone} Harbor Gazette: gone for good: "
        "HTTP status 410 (`newsdigest sources enable ID` resumes one)",
    }


# -- telling the admins -----------------------------------------------------------------


def admin_settings(database_url: str, fetch_settings: FetchSettings) -> Settings:
    return bot_settings(database_url).model_copy(
        update={"bot": BotSettings(admin_ids=ADMINS), "fetch": fetch_settings}
    )


@pytest.fixture
async def sandbox(database_url: str, fetch_settings: FetchSettings) -> AsyncIterator[Sandbox]:
    db = Database(database_url)
    db.upgrade()
    async with Sandbox(admin_settings(database_url, fetch_settings), db) as opened:
        yield opened
    opened.engine.close()  # its parser processes too
    db.close()


async def test_each_admin_is_told_of_a_pause_once_with_the_reason_escaped(
    sandbox: Sandbox, feed_server: FeedServer, database_url: str, fetch_settings: FetchSettings
) -> None:
    # The second admin reads the bot in English; the first in the digest's language.
    add_subscribers(sandbox.db, [ADMINS[1]], created_at=datetime.now(UTC), language="en")
    gone = add(sandbox.db, "Harbor <Daily> & Co", feed_server.url("status/410"))
    await sandbox.engine.refresh_sources(force=True)  # the round, then the notices
    [chinese] = sandbox.telegram.messages_to(ADMINS[0])
    assert chinese.startswith(f"⏸ 来源 #{gone} Harbor <Daily> & Co 已暂停（")
    assert "）：gone for good: HTTP status 410\n" in chinese
    [english] = sandbox.telegram.messages_to(ADMINS[1])
    assert english.startswith(f"⏸ Source #{gone} Harbor <Daily> & Co is paused (")
    assert "): gone for good: HTTP status 410\n" in english
    for notice in (chinese, english):
        assert f"/enablesource {gone}" in notice
    assert sandbox.telegram.messages_to(READER) == []
    assert source(sandbox.db, gone).disabled_announced_at is not None

    await sandbox.engine.refresh_sources(force=True)  # nothing new: nobody is told again
    assert [len(sandbox.telegram.messages_to(admin)) for admin in ADMINS] == [1, 1]

    # A restart (a new process on the same database) does not tell it again either.
    settings = admin_settings(database_url, fetch_settings)
    async with Sandbox(settings, Database(database_url)) as restarted:
        await restarted.engine.refresh_sources(force=True)
        assert restarted.telegram.messages_to(ADMINS[0]) == []
    restarted.engine.close()


async def test_an_admin_the_bot_cannot_reach_is_logged_and_not_retried(
    sandbox: Sandbox, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    gone = add(sandbox.db, "gone", feed_server.url("status/410"))
    sandbox.telegram.fail_next(ADMINS[0], 403)
    with caplog.at_level(logging.WARNING, logger="newsdigest.bot"):
        await sandbox.engine.refresh_sources(force=True)
    assert sandbox.telegram.messages_to(ADMINS[0]) == []
    assert len(sandbox.telegram.messages_to(ADMINS[1])) == 1
    [line] = [r.getMessage() for r in caplog.records if "was not told" in r.getMessage()]
    assert line.startswith(f"admin {ADMINS[0]} was not told that source #{gone} was paused: ")
    await sandbox.engine.refresh_sources(force=True)
    assert sandbox.telegram.messages_to(ADMINS[0]) == []


async def test_admins_see_paused_sources_and_resume_them_in_chat(
    sandbox: Sandbox, feed_server: FeedServer
) -> None:
    gone = add(sandbox.db, "gone", feed_server.url("status/410"))
    await sandbox.engine.refresh_sources(force=True)
    admin = ADMINS[0]
    await sandbox.say(admin, "/sources", user_id=admin, language_code="en")
    listing = sandbox.telegram.messages_to(admin)[-1]
    assert f"#{gone} gone · paused" in listing
    assert "gone for good: HTTP status 410" in listing

    await sandbox.say(READER, f"/enablesource {gone}", language_code="en")
    assert sandbox.telegram.messages_to(READER)[-1] == (
        "Sorry, this command is only for the bot's operators."
    )
    assert not source(sandbox.db, gone).enabled

    await sandbox.say(admin, f"/enablesource {gone}", user_id=admin, language_code="en")
    assert sandbox.telegram.messages_to(admin)[-1] == (
        f"Resumed source #{gone}: gone (it was paused: gone for good: HTTP status 410); "
        "it is fetched in the next round."
    )
    stored = source(sandbox.db, gone)
    assert stored.enabled and stored.error_count == 0 and stored.disabled_reason is None
    await sandbox.say(admin, f"/enablesource {gone}", user_id=admin, language_code="en")
    assert sandbox.telegram.messages_to(admin)[-1] == (
        f"Source #{gone}: gone is not paused; nothing to resume."
    )
    await sandbox.say(admin, "/enablesource", user_id=admin, language_code="en")
    assert sandbox.telegram.messages_to(admin)[-1].startswith("Usage: /enablesource")


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


def test_the_running_bot_tells_its_admins_after_the_round_and_never_twice(
    tmp_path: Path, database_url: str, telegram: FakeTelegram, feed_server: FeedServer
) -> None:
    db = Database(database_url)
    first = add(db, "Harbor Gazette", feed_server.url("status/410?first"))
    env = bot_env(
        telegram,
        database_url,
        NEWSDIGEST_LOG_LEVEL="INFO",
        NEWSDIGEST_FETCH__ALLOWED_NETWORKS="127.0.0.0/8",
        NEWSDIGEST_BOT__ADMIN_IDS=",".join(map(str, ADMINS)),
    )

    def told(admin: int, source_id: int) -> int:
        pattern = re.compile(rf"/enablesource {source_id}\b")
        return sum(bool(pattern.search(m)) for m in telegram.messages_to(admin))

    bot = start_bot(tmp_path, env)
    try:
        assert telegram.wait_for(lambda: all(told(a, first) for a in ADMINS), timeout=120)
    finally:
        _out, err = stop(bot)
    assert bot.returncode == 0, err
    assert "Traceback" not in err and telegram.token not in err

    # Restarted, with a second source gone meanwhile: only that one is told.
    second = add(db, "临江晚报", feed_server.url("status/410?second"))
    bot = start_bot(tmp_path, env)
    try:
        assert telegram.wait_for(lambda: all(told(a, second) for a in ADMINS), timeout=120)
    finally:
        stop(bot)
    db.close()
    for admin in ADMINS:
        assert (told(admin, first), told(admin, second)) == (1, 1)
        assert "临江晚报" in telegram.messages_to(admin)[-1]


# -- permanent redirects ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chain", "moves_to"),
    [
        ("moved/301/mem/{doc}", "mem/{doc}"),
        ("moved/308/mem/{doc}", "mem/{doc}"),
        ("moved/301/moved/308/mem/{doc}", "mem/{doc}"),
        # Temporary redirects leave the location, and end a chain's move.
        ("moved/302/mem/{doc}", None),
        ("moved/307/mem/{doc}", None),
        ("moved/307/moved/301/mem/{doc}", None),
        ("moved/301/moved/302/mem/{doc}", "moved/302/mem/{doc}"),
    ],
    ids=["301", "308", "301-308", "302", "307", "307-301", "301-302"],
)
def test_a_permanent_redirect_moves_the_stored_location(
    db: Database,
    feed_server: FeedServer,
    fetch_settings: FetchSettings,
    caplog: pytest.LogCaptureFixture,
    chain: str,
    moves_to: str | None,
) -> None:
    doc = unique("moving")
    feed_server.put(doc, FEED)
    old = feed_server.url(chain.format(doc=doc))
    moving = add(db, "moving", old)
    with caplog.at_level(logging.INFO, logger="newsdigest.ingest"):
        assert fetch_round(db, fetch_settings)[moving].error is None
    assert articles_of(db, moving) == 2
    moved = [r for r in caplog.records if "moved permanently" in r.getMessage()]
    if moves_to is None:
        assert source(db, moving).location == old and moved == []
        return
    new = feed_server.url(moves_to.format(doc=doc))
    assert source(db, moving).location == new
    [line] = moved
    assert line.levelno == logging.INFO
    assert line.getMessage() == (
        f"source #{moving} moving moved permanently: location {old} -> {new}"
    )
    old_hits = feed_server.hits("/" + chain.format(doc=doc))
    fetch_round(db, fetch_settings)  # the next fetch goes to the new location
    assert feed_server.hits("/" + chain.format(doc=doc)) == old_hits


def test_the_new_location_is_stored_in_its_one_spelling(
    db: Database, feed_server: FeedServer, fetch_settings: FetchSettings
) -> None:
    doc = unique("spelling")
    feed_server.put(doc, FEED)
    target = f"HTTP://127.0.0.1:{feed_server.port}/mem/{doc}#top"
    moving = add(db, "moving", feed_server.url(f"moved/301?url={quote(target)}"))
    assert fetch_round(db, fetch_settings)[moving].error is None
    assert source(db, moving).location == feed_server.url(f"mem/{doc}")


def test_a_move_onto_another_sources_location_keeps_both_and_says_so(
    db: Database,
    feed_server: FeedServer,
    fetch_settings: FetchSettings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    doc = unique("twin")
    there = feed_server.put(doc, FEED)
    already = add(db, "already there", there)
    old = feed_server.url(f"moved/301/mem/{doc}")
    moving = add(db, "moving", old)
    with caplog.at_level(logging.INFO, logger="newsdigest.ingest"):
        outcomes = fetch_round(db, fetch_settings)
    assert outcomes[moving].error is None and outcomes[already].error is None
    assert source(db, moving).location == old and source(db, already).location == there
    [line] = [r for r in caplog.records if "moved permanently" in r.getMessage()]
    assert line.levelno == logging.WARNING
    assert line.getMessage() == (
        f"source #{moving} moving moved permanently to {there}, the location of source "
        f"#{already} already there: the two are duplicates; kept the old location {old} "
        "(remove one of them)"
    )


@pytest.mark.parametrize(
    "chain",
    ["moved/301/status/404", "moved/301?url=http://10.1.2.3/feed.xml"],
    ids=["ends-in-failure", "to-a-private-address"],
)
def test_a_permanent_redirect_that_fails_moves_nothing(
    db: Database, feed_server: FeedServer, fetch_settings: FetchSettings, chain: str
) -> None:
    old = feed_server.url(chain)
    moving = add(db, "moving", old)
    outcome = fetch_round(db, fetch_settings)[moving]
    assert outcome.error is not None
    assert source(db, moving).location == old
    if "10.1.2.3" in chain:  # the network guard checks every hop, as before
        assert "10.1.2.3" in outcome.error


def test_a_feed_answering_304_after_a_permanent_redirect_moves_too(
    db: Database, feed_server: FeedServer, fetch_settings: FetchSettings
) -> None:
    doc = unique("unchanged")
    feed_server.put(doc, FEED)
    moving = add(db, "moving", feed_server.url(f"mem/{doc}"))
    assert fetch_round(db, fetch_settings)[moving].error is None  # ETag stored
    with db.write() as session:
        stored = session.get(Source, moving)
        assert stored is not None
        stored.location = feed_server.url(f"moved/308/mem/{doc}")
    outcome = fetch_round(db, fetch_settings)[moving]
    assert outcome.not_modified and outcome.error is None
    assert source(db, moving).location == feed_server.url(f"mem/{doc}")


def test_paused_and_moved_sources_survive_a_later_round_as_they_are(
    db: Database, feed_server: FeedServer, pausing: FetchSettings
) -> None:
    """A pause and a move are both on the row: one round later nothing undid them."""
    doc = unique("later")
    feed_server.put(doc, FEED)
    moving = add(db, "moving", feed_server.url(f"moved/301/mem/{doc}"))
    gone = add(db, "gone", feed_server.url("status/410"))
    start = datetime.now(UTC)
    fetch_round(db, pausing, now=start)
    fetch_round(db, pausing, now=start + timedelta(hours=1))
    assert source(db, moving).location == feed_server.url(f"mem/{doc}")
    assert source(db, moving).enabled and not source(db, gone).enabled
