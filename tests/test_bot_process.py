"""``newsdigest run`` / ``chat`` as processes: the token stays secret, and a
broadcast killed mid-way and restarted reaches every chat at most once."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.fake_telegram import FakeTelegram
from digests.config import Settings
from digests.editions.build import build_edition
from digests.editions.schedule import latest_slot
from digests.errors import DatabaseBusy
from digests.feedserver import FeedServer
from digests.store.db import Database
from digests.store.deliveries import ledger_counts
from digests.store.models import Source
from digests.store.sole import sole_process
from digests.store.sources import add_source
from tests.botkit import EARLIER, add_subscribers, delivery_states, store_news
from tests.test_cli import assert_one_line_error, newsdigest, start_newsdigest

WRONG_TOKEN = "987654:WRONGtokenWRONGtokenWRONG"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


def bot_env(telegram: FakeTelegram, database: Path | str, **extra: str) -> dict[str, str]:
    """The bot's environment; ``database`` is a SQLite file or a database URL."""
    env = {
        "NEWSDIGEST_BOT_TOKEN": telegram.token,
        "NEWSDIGEST_BOT__API_URL": telegram.api_url,
        "NEWSDIGEST_DATABASE_URL": database
        if isinstance(database, str)
        else f"sqlite:///{database}",
        "NEWSDIGEST_LOG_LEVEL": "DEBUG",
    }
    env.update(extra)
    return env


def start_bot(cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return start_newsdigest("run", cwd=cwd, env=env)


def stop(bot: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[str, str]:
    """Signal the bot and collect its output; its log is echoed to this test's
    captured stderr, which pytest shows when the test fails."""
    bot.send_signal(sig)
    out, err = bot.communicate(timeout=60)
    sys.stderr.write(err)
    return out, err


def poll(predicate: object, timeout: float, what: str) -> None:
    """Check ``predicate`` until it holds or the deadline passes."""
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_missing_or_malformed_token_is_one_line(tmp_path: Path) -> None:
    missing = newsdigest("run", cwd=tmp_path)
    assert_one_line_error(missing)
    assert "NEWSDIGEST_BOT_TOKEN" in missing.stderr
    malformed = newsdigest("run", cwd=tmp_path, env={"NEWSDIGEST_BOT_TOKEN": "not-a-token-123"})
    assert_one_line_error(malformed)
    assert "malformed" in malformed.stderr and "not-a-token-123" not in malformed.stderr


def test_a_wrong_token_at_debug_is_never_shown(
    tmp_path: Path, database_url: str, telegram: FakeTelegram
) -> None:
    env = bot_env(telegram, database_url, NEWSDIGEST_BOT_TOKEN=WRONG_TOKEN)
    result = newsdigest("run", cwd=tmp_path, env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "newsdigest: error: Telegram rejected the bot token (401 Unauthorized)"
    )
    assert "DEBUG" in result.stderr and "bot<redacted>" in result.stderr  # PTB logs its URL
    assert WRONG_TOKEN not in result.stderr + result.stdout
    assert WRONG_TOKEN.split(":")[1] not in result.stderr + result.stdout
    assert any(WRONG_TOKEN in r.path for r in telegram.requests)  # it was really used


def test_the_running_bot_answers_and_never_logs_its_token(
    tmp_path: Path, database_url: str, telegram: FakeTelegram
) -> None:
    bot = start_bot(tmp_path, bot_env(telegram, database_url))
    try:
        telegram.user_sends(31, "/start")
        assert telegram.wait_for(lambda: telegram.messages_to(31), timeout=60)
        assert "已订阅" in telegram.messages_to(31)[0]
    finally:
        out, err = stop(bot)
    assert bot.returncode == 0, err
    assert "DEBUG" in err  # it really logged at DEBUG
    secret = telegram.token.split(":")[1]
    assert secret not in out + err


def _prepare_broadcast(database_url: str, chats: int) -> None:
    """An edition of the latest slot (so the bot builds nothing new) and its subscribers."""
    settings = Settings(database_url=database_url)
    db = Database(settings.database_url)
    now = datetime.now(UTC)
    store_news(db, now - EARLIER)
    slot = latest_slot(settings.schedules[0], now)
    assert slot is not None
    add_subscribers(db, range(1, chats + 1), created_at=now - EARLIER)
    build_edition(db, settings.digest, now=now, edition_date=slot.edition_date, slot=slot.slot)
    db.close()


@pytest.mark.parametrize("policy", ["skip", "resend"])
def test_killed_mid_broadcast_and_restarted_every_chat_gets_it_once(
    tmp_path: Path, database_url: str, telegram: FakeTelegram, policy: str
) -> None:
    chats = 1000
    _prepare_broadcast(database_url, chats)
    env = bot_env(
        telegram,
        database_url,
        NEWSDIGEST_LOG_LEVEL="INFO",
        NEWSDIGEST_DELIVERY__MESSAGES_PER_SECOND="300",
        NEWSDIGEST_DELIVERY__ON_AMBIGUOUS=policy,
    )

    def delivered() -> int:
        with telegram._lock:
            return sum(len(messages) for messages in telegram.sent.values())

    first = start_bot(tmp_path, env)
    try:
        assert telegram.wait_for(lambda: delivered() >= 300, timeout=120)
    finally:
        stop(first, signal.SIGKILL)
    db = Database(database_url)
    with db.read() as session:
        at_kill = ledger_counts(session)
    assert at_kill.get("sent", 0) > 0 and at_kill.get("pending", 0) > 0, at_kill  # mid-way
    in_flight = at_kill.get("sending", 0)

    second = start_bot(tmp_path, env)
    try:

        def settled() -> bool:
            with db.read() as session:
                counts = ledger_counts(session)
            return not counts.get("pending") and not counts.get("sending")

        poll(settled, 120, "the restarted broadcast to finish")
    finally:
        _out, err = stop(second)
    assert second.returncode == 0, err

    with db.read() as session:
        states = delivery_states(session)
        counts = ledger_counts(session)
    db.close()
    received = {chat: len(telegram.sent[chat]) for chat in range(1, chats + 1)}
    ambiguous = [chat for chat, state in states.items() if state == "unknown"]
    twice = sum(1 for n in received.values() if n > 1)
    missing = sum(1 for n in received.values() if n == 0)
    print(
        f"\n{policy}: ledger after restart {counts}; in flight at the kill: {in_flight}; "
        f"chats with it twice: {twice}; without it: {missing}"
    )
    assert len(states) == chats
    if policy == "skip":
        # At most once: nobody twice; everyone but the ambiguous exactly once.
        assert set(counts) <= {"sent", "unknown"} and len(ambiguous) == in_flight
        assert all(received[chat] == 1 for chat, state in states.items() if state == "sent")
        assert all(received[chat] <= 1 for chat in ambiguous)
        assert "mid-send" in err or in_flight == 0
    else:
        # At least once: nobody missed; only a message in flight at the kill may be twice.
        assert counts == {"sent": chats}
        assert all(received[chat] >= 1 for chat in received)
        assert sum(received.values()) - chats <= in_flight


def test_chat_sandbox_talks_like_telegram(tmp_path: Path, database_url: str) -> None:
    db = Database(database_url)
    store_news(db, datetime.now(UTC) - EARLIER)
    db.close()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDIGEST_")}
    environment.update({"NEWSDIGEST_DATABASE_URL": database_url, "COLUMNS": "200"})
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--copy-database"],  # over the stored news
        input="/start\n/sources\n#1\n#9\n/today\nhello\n临江 步道\n/alert 航线\n/quit\n",
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "已订阅「daily」" in out
    assert "[ ✅ Harbor Gazette ]" in out and "[ ▫️ Harbor Gazette ]" in out  # tapped #1
    assert "(no button 9 to tap)" in out
    assert "Library reopens with maker space" not in out  # Harbor was switched off
    assert "临江沿江步道首段建成" in out  # /today: a preview of what is new
    assert "没有找到与「hello」相关的文章" in out
    assert "🔎 「临江 步道」：1 篇" in out  # typed words are a search
    assert "有新文章匹配「航线」时会通知你" in out


def test_the_bot_fetches_builds_and_delivers_on_its_own(
    tmp_path: Path, database_url: str, telegram: FakeTelegram, feed_server: FeedServer
) -> None:
    db = Database(database_url)
    with db.write() as session:
        add_source(
            session,
            kind="feed",
            location=feed_server.url("files/zh_wire.xml"),
            name="临江晚报",
            interval_seconds=1800,
        )
    add_subscribers(db, [77], created_at=datetime.now(UTC) - timedelta(days=2))
    db.close()
    env = bot_env(
        telegram,
        database_url,
        NEWSDIGEST_LOG_LEVEL="INFO",
        NEWSDIGEST_FETCH__ALLOWED_NETWORKS="127.0.0.0/8",
    )
    bot = start_bot(tmp_path, env)
    try:
        assert telegram.wait_for(lambda: telegram.messages_to(77), timeout=120)
    finally:
        _out, err = stop(bot)
    assert bot.returncode == 0, err
    [edition] = telegram.messages_to(77)
    assert "今日阅读" in edition and "临江晚报" in edition and "没有新的文章" not in edition


def test_a_graceful_stop_mid_broadcast_leaves_nothing_ambiguous(
    tmp_path: Path, database_url: str, telegram: FakeTelegram
) -> None:
    chats = 300
    _prepare_broadcast(database_url, chats)
    env = bot_env(
        telegram,
        database_url,
        NEWSDIGEST_LOG_LEVEL="INFO",
        NEWSDIGEST_DELIVERY__MESSAGES_PER_SECOND="50",
    )
    first = start_bot(tmp_path, env)
    try:
        assert telegram.wait_for(lambda: len(telegram.sent) >= 50, timeout=120)
    finally:
        _out, err = stop(first)
    assert first.returncode == 0, err
    db = Database(database_url)
    with db.read() as session:
        stopped = ledger_counts(session)
    assert set(stopped) == {"sent", "pending"}, stopped  # nothing mid-send, nothing unknown
    second = start_bot(tmp_path, env)
    try:

        def settled() -> bool:
            with db.read() as session:
                return ledger_counts(session) == {"sent": chats}

        poll(settled, 120, "the resumed broadcast to finish")
    finally:
        stop(second)
    db.close()
    assert all(len(telegram.sent[chat]) == 1 for chat in range(1, chats + 1))


def _costly_feed(megabytes: int) -> bytes:
    """A feed whose one description is linear but slow for feedparser's HTML
    sanitizer (escaped closing tags): seconds of parsing per megabyte."""
    description = "&lt;/a" * (megabytes * 1024 * 1024 // 6)
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>Costly</title><item><title>costly item</title>"
        f"<link>http://costly.example/1</link><description>{description}</description>"
        "</item></channel></rss>"
    ).encode()


def test_a_costly_parse_never_holds_up_chat_and_is_stopped_at_its_budget(
    tmp_path: Path, database_url: str, telegram: FakeTelegram, feed_server: FeedServer
) -> None:
    """While ``newsdigest run`` parses a feed that takes far longer than its
    budget, a chat command sent after the parse began is answered before the
    parse ends; the parse is stopped at its budget and the source says why."""
    name = f"costly-{time.monotonic_ns()}.xml"
    url = feed_server.put(name, _costly_feed(16))
    db = Database(database_url)
    db.upgrade()
    with db.write() as session:
        source_id = add_source(
            session, kind="feed", location=url, name="costly", interval_seconds=3600
        ).id

    def error() -> str | None:
        with db.read() as session:
            found = session.get(Source, source_id)
            return found.last_error if found is not None else None

    env = bot_env(
        telegram,
        database_url,
        NEWSDIGEST_FETCH__ALLOWED_NETWORKS='["127.0.0.0/8"]',
        NEWSDIGEST_FETCH__MAX_BYTES=str(20 * 1024 * 1024),
        NEWSDIGEST_FETCH__PARSE_BUDGET="8",
        NEWSDIGEST_FETCH__TOTAL_DEADLINE="300",
    )
    bot = start_bot(tmp_path, env)
    try:
        poll(lambda: feed_server.hits(f"/mem/{name}") >= 1, 60, "the costly feed to be fetched")
        assert error() is None  # downloaded; the parse is under way
        telegram.user_sends(41, "/help")
        assert telegram.wait_for(lambda: telegram.messages_to(41), timeout=60)
        assert error() is None, "the reply came only after the parse had ended"
        poll(lambda: error() is not None, 120, "the parse to be stopped")
    finally:
        _out, err = stop(bot)
    assert bot.returncode == 0, err
    assert "time budget" in (error() or "")
    assert "Traceback" not in err
    db.close()


def test_a_second_long_running_process_on_one_sqlite_file_refuses_to_start(
    tmp_path: Path, telegram: FakeTelegram
) -> None:
    database = tmp_path / "shared.db"
    env = bot_env(telegram, database)
    first = start_bot(tmp_path, env)
    try:
        telegram.user_sends(41, "/start")
        assert telegram.wait_for(lambda: telegram.messages_to(41), timeout=60)  # it runs
        for command in ("run", "run-scheduler"):
            second = newsdigest(command, cwd=tmp_path, env=env)
            assert_one_line_error(second)
            assert f"pid {first.pid}, `newsdigest run`" in second.stderr, second.stderr
            assert "shared.db is in use by another process" in second.stderr
        # One-off commands still work beside it.
        listed = newsdigest("subscribers", "stats", cwd=tmp_path, env=env)
        assert listed.returncode == 0 and re.search(r"active\W+1\b", listed.stdout), listed.stdout
    finally:
        _out, err = stop(first)
    assert first.returncode == 0, err
    assert "mid-send when the last process stopped" not in err
    with sole_process(Database(f"sqlite:///{database}"), "run"):
        pass  # the lock went with the process


def test_a_killed_holder_leaves_no_lock_behind(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'held.db'}")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from digests.store.db import Database\n"
            "from digests.store.sole import sole_process\n"
            f"with sole_process(Database({db.url!r}), 'run'):\n"
            "    print('held', flush=True)\n"
            "    sys.stdin.read()\n",
        ],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(DatabaseBusy, match=f"pid {holder.pid}"), sole_process(db, "run"):
            pass
    finally:
        holder.kill()
        holder.communicate(timeout=30)
    with sole_process(db, "run"):
        pass
