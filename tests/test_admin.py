"""Admin chat commands, through the real Application against the fake Bot API server:
each for an admin and for everyone else, and a schedule changed in chat firing
at its new time on a controllable clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from bot.sandbox import Sandbox
from digests.config import BotSettings, Settings
from digests.editions.schedule import current_schedules
from digests.store.db import Database
from digests.store.models import Broadcast, Delivery, Edition, Source
from digests.store.subscribers import find_subscriber
from tests.botkit import EARLIER, add_subscribers, bot_settings, store_news

ADMIN = 4242
STRANGER = 5151
READERS = [7001, 7002, 7003]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def admin_settings(database_url: str) -> Settings:
    settings = bot_settings(database_url)
    return settings.model_copy(update={"bot": BotSettings(admin_ids=[ADMIN])})


@pytest.fixture
async def sandbox(database_url: str) -> AsyncIterator[Sandbox]:
    db = Database(database_url)
    db.upgrade()
    async with Sandbox(admin_settings(database_url), db) as opened:
        yield opened
    db.close()


def said(sandbox: Sandbox, chat_id: int) -> list[str]:
    return sandbox.telegram.messages_to(chat_id)


def last(sandbox: Sandbox, chat_id: int) -> str:
    return said(sandbox, chat_id)[-1]


def count(db: Database, model: type, *where: object) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


ADMIN_ONLY = (
    "/addsource https://example.org/feed.xml",
    "/removesource 1",
    "/preview",
    "/send",
    "/stats",
    "/schedules",
    "/schedule daily 09:00",
    "/pause daily",
    "/resume daily",
    "/broadcast hello everyone",
    "/admin",
)


async def test_everyone_else_gets_a_polite_no_and_nothing_changes(sandbox: Sandbox) -> None:
    add_subscribers(sandbox.db, READERS, created_at=datetime.now(UTC) - EARLIER)
    for command in ADMIN_ONLY:
        await sandbox.say(STRANGER, command)
        assert "只供机器人的管理员" in last(sandbox, STRANGER), command
    await sandbox.say(STRANGER, "/stats", language_code="en")
    assert last(sandbox, STRANGER) == "Sorry, this command is only for the bot's operators."
    assert count(sandbox.db, Source) == 0
    assert count(sandbox.db, Edition) == 0
    assert count(sandbox.db, Broadcast) == 0 and count(sandbox.db, Delivery) == 0
    [daily] = current_schedules(sandbox.db, sandbox.settings)
    assert daily.spec.times == ["07:30"] and not daily.paused and not daily.changed
    for reader in READERS:
        assert said(sandbox, reader) == []


async def test_admin_commands_only_in_a_private_chat(sandbox: Sandbox) -> None:
    await sandbox.say(-100777, "/stats", user_id=ADMIN, chat_type="group")
    assert "私聊" in last(sandbox, -100777)


async def test_admin_adds_and_removes_sources_and_sees_their_state(sandbox: Sandbox) -> None:
    await sandbox.say(ADMIN, "/addsource https://news.example.org/rss.xml Harbor <Daily>")
    # Shown as the user sees it: the name's "<" reached Telegram escaped (the fake
    # Bot API refuses unescaped markup the way Telegram does).
    assert "已添加来源 #1：Harbor <Daily>" in last(sandbox, ADMIN)
    with sandbox.db.read() as session:
        [source] = session.scalars(select(Source)).all()
    assert source.location == "https://news.example.org/rss.xml" and source.enabled
    assert source.name == "Harbor <Daily>"

    await sandbox.say(ADMIN, "/addsource https://news.example.org/rss.xml")
    assert "没有完成" in last(sandbox, ADMIN) and "already exists" in last(sandbox, ADMIN)
    await sandbox.say(ADMIN, "/addsource /etc")  # a chat never names local folders
    assert "not an http(s) feed URL" in last(sandbox, ADMIN)
    await sandbox.say(ADMIN, "/addsource ftp://example.org/feed")
    assert "没有完成" in last(sandbox, ADMIN)
    assert count(sandbox.db, Source) == 1

    with sandbox.db.write() as session:
        stored = session.get(Source, source.id)
        assert stored is not None
        stored.last_error = "HTTP 404 <not found>"
        stored.error_count = 3
        stored.last_checked_at = datetime.now(UTC)
    await sandbox.say(ADMIN, "/sources")
    state = said(sandbox, ADMIN)[-1]
    assert "来源状态" in state and "#1 Harbor <Daily> · 出错 · 0 篇" in state
    assert "错误（3 次）：HTTP 404 <not found>" in state

    await sandbox.say(ADMIN, "/removesource 1")
    assert "已移除来源 #1" in last(sandbox, ADMIN)
    await sandbox.say(ADMIN, "/removesource 1")
    assert "no source '1'" in last(sandbox, ADMIN)


async def test_preview_goes_to_the_admin_only_and_stores_nothing(sandbox: Sandbox) -> None:
    store_news(sandbox.db, datetime.now(UTC) - EARLIER)
    add_subscribers(sandbox.db, READERS, created_at=datetime.now(UTC) - EARLIER)
    await sandbox.say(ADMIN, "/preview", language_code="en")
    messages = said(sandbox, ADMIN)
    assert messages[0].startswith("Preview (sent only to you): daily")
    assert len(messages) >= 2 and messages[1].startswith("Today's news · ")  # in its language
    assert count(sandbox.db, Edition) == 0
    await sandbox.deliver_now()
    for reader in READERS:
        assert said(sandbox, reader) == []
    await sandbox.say(ADMIN, "/preview nosuch", language_code="en")
    assert "Not done: no schedule named 'nosuch'" in last(sandbox, ADMIN)


async def test_send_releases_the_next_edition_now_once(sandbox: Sandbox) -> None:
    store_news(sandbox.db, datetime.now(UTC) - EARLIER)
    add_subscribers(sandbox.db, READERS, created_at=datetime.now(UTC) - EARLIER)
    await sandbox.say(ADMIN, "/send")
    assert "现在发送给 3 位订阅者" in last(sandbox, ADMIN)
    counts = await sandbox.deliver_now()
    assert counts.get("sent", 0) >= 3 and set(counts) == {"sent"}
    for reader in READERS:
        assert said(sandbox, reader) and "今日要闻" in said(sandbox, reader)[0]
    with sandbox.db.read() as session:
        [edition] = session.scalars(select(Edition)).all()
    assert edition.slot == "07:30"  # the next slot's edition: the slot will find it built
    first_round = {reader: len(said(sandbox, reader)) for reader in READERS}

    await sandbox.say(ADMIN, "/send")
    assert "已经生成过" in last(sandbox, ADMIN)
    await sandbox.deliver_now()
    assert {reader: len(said(sandbox, reader)) for reader in READERS} == first_round
    assert count(sandbox.db, Edition) == 1


async def test_stats_counts_subscribers_and_the_last_delivery(sandbox: Sandbox) -> None:
    await sandbox.say(ADMIN, "/stats", language_code="en")
    assert "No edition has been built yet." in last(sandbox, ADMIN)
    store_news(sandbox.db, datetime.now(UTC) - EARLIER)
    add_subscribers(sandbox.db, READERS, created_at=datetime.now(UTC) - EARLIER)
    sandbox.telegram.fail_next(READERS[2], 403)  # blocked the bot: the send is refused
    await sandbox.say(ADMIN, "/send", language_code="en")
    await sandbox.deliver_now()
    await sandbox.say(ADMIN, "/stats", language_code="en")
    report = last(sandbox, ADMIN)
    assert "Subscribers: 2 active, 1 blocked or removed the bot, 0 unsubscribed" in report
    assert "Last edition #1 (daily" in report
    sent = count(sandbox.db, Delivery, Delivery.state == "sent")
    assert f"sent {sent}, failed 0, pending 0, unknown 0, skipped 1" in report
    assert "withheld" not in report
    with sandbox.db.write() as session:  # as a failed first part leaves the rest
        session.execute(
            update(Delivery).where(Delivery.state == "skipped").values(state="withheld")
        )
    await sandbox.say(ADMIN, "/stats", language_code="en")
    assert "1 more was withheld because an earlier part of the same edition failed." in last(
        sandbox, ADMIN
    )


async def test_broadcast_goes_through_the_ledger_to_every_active_subscriber(
    sandbox: Sandbox,
) -> None:
    add_subscribers(sandbox.db, READERS, created_at=datetime.now(UTC) - EARLIER)
    with sandbox.db.write() as session:
        gone = find_subscriber(session, READERS[2])
        assert gone is not None
        gone.active = False
    await sandbox.say(ADMIN, "/broadcast Maintenance <tonight>\nback by 02:00", language_code="en")
    assert last(sandbox, ADMIN) == "Queued for 2 subscribers."
    assert await sandbox.deliver_now() == {"sent": 2}
    for reader in READERS[:2]:
        assert said(sandbox, reader) == ["Maintenance <tonight>\nback by 02:00"]
    assert said(sandbox, READERS[2]) == []
    await sandbox.deliver_now()  # nothing is sent twice
    assert all(len(said(sandbox, reader)) == 1 for reader in READERS[:2])
    await sandbox.say(ADMIN, "/broadcast", language_code="en")
    assert last(sandbox, ADMIN).startswith("Usage: /broadcast")


async def test_schedules_are_listed_changed_added_and_removed_in_chat(sandbox: Sandbox) -> None:
    await sandbox.say(ADMIN, "/schedules", language_code="en")
    assert "“daily” 07:30 (Asia/Shanghai) · next " in last(sandbox, ADMIN)

    await sandbox.say(ADMIN, "/schedule daily 09:00,18:30 Europe/London", language_code="en")
    reply = last(sandbox, ADMIN)
    assert "“daily” is now 09:00, 18:30 (Europe/London). Next edition: " in reply
    [daily] = current_schedules(sandbox.db, sandbox.settings)
    assert daily.spec.times == ["09:00", "18:30"] and daily.spec.timezone == "Europe/London"

    await sandbox.say(ADMIN, "/schedule add evening 20:00", language_code="en")
    assert "“evening” is now 20:00 (Asia/Shanghai)" in last(sandbox, ADMIN)
    await sandbox.say(ADMIN, "/schedule add evening 21:00", language_code="en")
    assert "exists already" in last(sandbox, ADMIN)
    await sandbox.say(ADMIN, "/schedule daily 25:00", language_code="en")
    assert "Not done: schedule times: '25:00' is not a time like '07:30'" in last(sandbox, ADMIN)
    await sandbox.say(ADMIN, "/schedule daily 08:00 Mars/Olympus", language_code="en")
    assert "unknown time zone 'Mars/Olympus'" in last(sandbox, ADMIN)
    await sandbox.say(ADMIN, "/schedule", language_code="en")
    assert last(sandbox, ADMIN).startswith("Usage: /schedule")
    await sandbox.say(ADMIN, "/schedule remove evening", language_code="en")
    assert "Removed schedule “evening”" in last(sandbox, ADMIN)
    names = [state.name for state in current_schedules(sandbox.db, sandbox.settings)]
    assert names == ["daily"]


async def test_a_schedule_changed_in_chat_fires_at_its_new_time(database_url: str) -> None:
    """Timed jobs are rescheduled at once (no restart); at the new time the
    edition is built for the new slot and delivered; the old slot builds nothing."""
    zone = ZoneInfo("Asia/Shanghai")
    clock = Clock(datetime(2026, 11, 25, 10, 0, tzinfo=zone).astimezone(UTC))
    db = Database(database_url)
    db.upgrade()
    settings = admin_settings(database_url)
    store_news(db, clock.now - timedelta(hours=1))
    add_subscribers(db, READERS, created_at=clock.now - timedelta(hours=1))
    async with Sandbox(settings, db, clock=clock, timed_jobs=True) as sandbox:
        assert sandbox.application is not None
        job_queue = sandbox.application.job_queue
        assert job_queue is not None
        names = {job.name for job in job_queue.jobs()}
        assert "edition:daily:07:30" in names

        await sandbox.say(ADMIN, "/schedule daily 21:15", language_code="en")
        assert "Next edition: 2026-11-25 21:15" in last(sandbox, ADMIN)
        jobs = {job.name: job for job in job_queue.jobs()}
        assert "edition:daily:07:30" not in jobs
        job = jobs["edition:daily:21:15"]
        assert job.next_t is not None
        assert job.next_t.astimezone(zone).strftime("%H:%M") == "21:15"

        clock.now = datetime(2026, 11, 25, 21, 15, tzinfo=zone).astimezone(UTC)
        await job.run(sandbox.application)
        with db.read() as session:
            [edition] = session.scalars(select(Edition)).all()
        assert (edition.edition_date.isoformat(), edition.slot) == ("2026-11-25", "21:15")
        await sandbox.deliver_now()
        for reader in READERS:
            assert len(said(sandbox, reader)) >= 1

        # The old time passing builds nothing (the schedule no longer has it).
        clock.now = datetime(2026, 11, 26, 7, 30, tzinfo=zone).astimezone(UTC)
        await jobs["edition:daily:21:15"].run(sandbox.application)
        assert count(db, Edition) == 1
    db.close()


async def test_pause_builds_nothing_and_resume_starts_at_the_next_slot(database_url: str) -> None:
    zone = ZoneInfo("Asia/Shanghai")
    clock = Clock(datetime(2026, 11, 25, 7, 0, tzinfo=zone).astimezone(UTC))
    db = Database(database_url)
    db.upgrade()
    store_news(db, clock.now - timedelta(hours=1))
    async with Sandbox(admin_settings(database_url), db, clock=clock, timed_jobs=True) as sandbox:
        assert sandbox.application is not None and sandbox.application.job_queue is not None
        await sandbox.say(ADMIN, "/pause daily", language_code="en")
        assert "Paused “daily”" in last(sandbox, ADMIN)
        assert not any(
            (job.name or "").startswith("edition:") for job in sandbox.application.job_queue.jobs()
        )
        await sandbox.say(ADMIN, "/schedules", language_code="en")
        assert "· paused" in last(sandbox, ADMIN)

        runner_check = next(
            job for job in sandbox.application.job_queue.jobs() if job.name == "editions:check"
        )
        clock.now = datetime(2026, 11, 25, 8, 0, tzinfo=zone).astimezone(UTC)
        await runner_check.run(sandbox.application)
        assert count(db, Edition) == 0  # 07:30 passed while paused

        await sandbox.say(ADMIN, "/resume daily", language_code="en")
        assert "Resumed “daily”. Next edition: 2026-11-26 07:30" in last(sandbox, ADMIN)
        await runner_check.run(sandbox.application)
        assert count(db, Edition) == 0  # the slot missed while paused is not made up

        clock.now = datetime(2026, 11, 26, 7, 30, tzinfo=zone).astimezone(UTC)
        job = next(
            job for job in sandbox.application.job_queue.jobs() if job.name == "edition:daily:07:30"
        )
        await job.run(sandbox.application)
        assert count(db, Edition) == 1
        await sandbox.say(ADMIN, "/pause nosuch", language_code="en")
        assert "no schedule named 'nosuch'" in last(sandbox, ADMIN)
    db.close()
