"""Several ``newsdigest worker`` processes on one PostgreSQL database: one
broadcast to 2,000 chats reaches each chat once, shared between the workers;
a worker killed mid-way leaves nothing stuck; two workers never fetch one source
at once. On SQLite ``newsdigest worker`` refuses (one process does everything)."""

from __future__ import annotations

import signal
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.fake_telegram import FakeTelegram
from digests.config import FetchSettings
from digests.feedserver import FeedServer
from digests.sources.refresh import fetch_lease
from digests.store.db import Database
from digests.store.deliveries import ledger_counts
from digests.store.models import Delivery, Source
from digests.store.sources import add_source, claim_due_sources
from tests.botkit import delivery_states
from tests.conftest import CORPUS, ON_POSTGRES
from tests.test_bot_process import _prepare_broadcast, bot_env, poll
from tests.test_cli import assert_one_line_error, newsdigest, start_newsdigest


@pytest.fixture
def postgres_url(database_url: str) -> str:
    """The test's database on the PostgreSQL run (workers need PostgreSQL; the
    SQLite run leaves these tests to it rather than running them twice)."""
    if not ON_POSTGRES:
        pytest.skip("workers share a PostgreSQL database: this runs in the PostgreSQL pass")
    return database_url


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


def worker_env(telegram: FakeTelegram, database_url: str) -> dict[str, str]:
    return bot_env(
        telegram,
        database_url,
        NEWSDIGEST_LOG_LEVEL="INFO",
        NEWSDIGEST_DELIVERY__MESSAGES_PER_SECOND="0",
        NEWSDIGEST_DELIVERY__PER_CHAT_INTERVAL="0",
        NEWSDIGEST_DELIVERY__CONCURRENCY="16",
    )


def stop_all(workers: list[subprocess.Popen[str]]) -> list[str]:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    errors = []
    for worker in workers:
        _out, err = worker.communicate(timeout=60)
        errors.append(err)
    return errors


def settled(db: Database) -> bool:
    with db.read() as session:
        counts = ledger_counts(session)
    return bool(counts) and not counts.get("pending") and not counts.get("sending")


def test_two_workers_share_one_broadcast_and_each_chat_gets_it_once(
    tmp_path: Path, postgres_url: str, telegram: FakeTelegram
) -> None:
    chats = 2000
    _prepare_broadcast(postgres_url, chats)
    env = worker_env(telegram, postgres_url)
    workers = [start_newsdigest("worker", cwd=tmp_path, env=env) for _ in range(2)]
    db = Database(postgres_url)
    try:
        poll(lambda: settled(db), 180, "the broadcast to finish")
    finally:
        errors = stop_all(workers)
    assert [worker.returncode for worker in workers] == [0, 0], errors
    assert all("Traceback" not in err for err in errors), errors

    received = Counter({chat: len(telegram.sent[chat]) for chat in range(1, chats + 1)})
    with db.read() as session:
        counts = ledger_counts(session)
        senders = Counter(
            session.scalars(select(Delivery.claimed_by).where(Delivery.state == "sent"))
        )
    db.close()
    assert counts == {"sent": chats}
    assert set(received.values()) == {1}, "some chat got it twice or not at all"
    assert len(senders) == 2 and min(senders.values()) > 0, senders  # both worked on it
    print(f"\nmessages sent per worker: {sorted(senders.values())}")


def test_a_worker_killed_mid_broadcast_is_settled_by_the_other(
    tmp_path: Path, postgres_url: str, telegram: FakeTelegram
) -> None:
    """The dead worker's claimed rows go to the survivor at once (its advisory lock
    went with its connection): nothing waits for a lease, no chat gets it twice."""
    chats = 1000
    _prepare_broadcast(postgres_url, chats)
    env = worker_env(telegram, postgres_url)
    env["NEWSDIGEST_DELIVERY__MESSAGES_PER_SECOND"] = "200"
    doomed = start_newsdigest("worker", cwd=tmp_path, env=env)
    db = Database(postgres_url)
    try:

        def started() -> bool:
            with db.read() as session:
                return ledger_counts(session).get("sent", 0) >= 100

        poll(started, 120, "the first worker to start sending")
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.communicate(timeout=30)
    with db.read() as session:
        at_kill = ledger_counts(session)
    assert at_kill.get("pending", 0) > 0, at_kill
    survivor = start_newsdigest("worker", cwd=tmp_path, env=env)
    try:
        poll(lambda: settled(db), 120, "the survivor to finish the broadcast")
    finally:
        [err] = stop_all([survivor])
    assert survivor.returncode == 0, err
    with db.read() as session:
        counts = ledger_counts(session)
        states = delivery_states(session)
    db.close()
    received = {chat: len(telegram.sent[chat]) for chat in range(1, chats + 1)}
    # At most once (on_ambiguous = skip): only a message in flight at the kill
    # is "unknown" — it may or may not have arrived — and every other chat has it.
    assert set(counts) <= {"sent", "unknown"}, counts
    assert max(received.values()) == 1
    assert all(received[chat] == 1 for chat, state in states.items() if state == "sent")
    print(f"\nkilled mid-broadcast: {counts}; in flight at the kill: {at_kill.get('sending', 0)}")


def test_two_workers_never_claim_the_same_source(postgres_url: str) -> None:
    db = Database(postgres_url)
    db.upgrade()
    now = datetime.now(UTC)
    with db.write() as session:
        for number in range(10):
            add_source(
                session,
                kind="feed",
                location=f"https://feeds.example/{number}.xml",
                name=f"feed {number}",
                interval_seconds=1800,
            )
    lease = fetch_lease(FetchSettings())
    # Two claims at the same moment, the first still open while the second runs.
    with db.write() as first:
        mine = claim_due_sources(first, now, lease=lease)
        with db.write() as second:
            theirs = claim_due_sources(second, now, lease=lease)
    assert len(mine) == 10 and theirs == []
    # Claimed a few at a time, as a fetch round does, two workers share them.
    later = now + lease(10) + timedelta(seconds=1)
    with db.write() as first:
        mine = claim_due_sources(first, later, lease=lease, limit=4)
        with db.write() as second:
            theirs = claim_due_sources(second, later, lease=lease, limit=4)
    assert len(mine) == len(theirs) == 4
    assert not {s.id for s in mine} & {s.id for s in theirs}
    with db.write() as session:
        rest = claim_due_sources(session, later, lease=lease)
    assert len(rest) == 2
    now = later
    # Claimed: not due for anyone until the lease ends, then due again.
    with db.write() as session:
        assert claim_due_sources(session, now + timedelta(seconds=30), lease=lease) == []
    with db.write() as session:
        later = now + lease(10) + timedelta(seconds=1)
        assert len(claim_due_sources(session, later, lease=lease)) == 10
    db.close()


def test_worker_fetches_sources_against_a_feed_server(
    tmp_path: Path, postgres_url: str, telegram: FakeTelegram, feed_server: FeedServer
) -> None:
    """Two workers with due sources: each source is fetched once per round."""
    db = Database(postgres_url)
    db.upgrade()
    run = uuid.uuid4().hex[:8]
    paths = []
    with db.write() as session:
        for name in ("zh_wire.xml", "en_world.xml"):
            url = feed_server.put(f"{run}-{name}", (CORPUS / name).read_bytes())
            paths.append(f"/mem/{run}-{name}")
            add_source(session, kind="feed", location=url, name=name, interval_seconds=3600)
    env = worker_env(telegram, postgres_url)
    env["NEWSDIGEST_FETCH__ALLOWED_NETWORKS"] = '["127.0.0.0/8"]'
    workers = [start_newsdigest("worker", cwd=tmp_path, env=env) for _ in range(2)]
    try:

        def fetched() -> bool:
            with db.read() as session:
                return all(s.last_checked_at for s in session.scalars(select(Source)))

        poll(fetched, 60, "both sources to be fetched")
    finally:
        errors = stop_all(workers)
    assert all("Traceback" not in err for err in errors), errors
    assert [feed_server.hits(path) for path in paths] == [1, 1]
    db.close()


def test_worker_refuses_sqlite(tmp_path: Path, telegram: FakeTelegram) -> None:
    env = bot_env(telegram, tmp_path / "one.db")
    result = newsdigest("worker", cwd=tmp_path, env=env)
    assert_one_line_error(result)
    assert "workers share a PostgreSQL database" in result.stderr
