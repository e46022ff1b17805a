"""Every chat command, through the real Application against the fake Bot API server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.sandbox import Sandbox
from digests.config import ScheduleSettings, Settings
from digests.store.db import Database
from digests.store.models import Subscriber
from digests.store.subscribers import find_subscriber
from tests.botkit import EARLIER, bot_settings, build, now_utc, store_news

READER = 5001


async def _open(settings: Settings) -> AsyncIterator[Sandbox]:
    db = Database(settings.database_url)
    db.upgrade()
    async with Sandbox(settings, db) as sandbox:
        yield sandbox
    db.close()


@pytest.fixture
async def sandbox(database_url: str) -> AsyncIterator[Sandbox]:
    async for opened in _open(bot_settings(database_url)):
        yield opened


def subscriber(sandbox: Sandbox, chat_id: int = READER) -> Subscriber | None:
    with sandbox.db.read() as session:
        return find_subscriber(session, chat_id)


def said(sandbox: Sandbox, chat_id: int = READER) -> list[str]:
    return sandbox.telegram.messages_to(chat_id)


async def test_command_menu_is_registered_in_chinese_and_english(sandbox: Sandbox) -> None:
    commands = sandbox.telegram.commands
    names = {language: [c["command"] for c in commands[language]] for language in commands}
    assert names["zh"] == names["en"] == names[""]
    assert {"start", "stop", "today", "time", "timezone", "lang", "sources", "help"} <= set(
        names["zh"]
    )
    zh_about = {c["command"]: c["description"] for c in commands["zh"]}
    assert "订阅" in zh_about["start"]
    assert "subscribe" in {c["command"]: c["description"] for c in commands["en"]}["start"]


async def test_start_subscribes_and_tells_the_next_delivery(sandbox: Sandbox) -> None:
    await sandbox.say(READER, "/start")
    [welcome] = said(sandbox)
    assert "已订阅「daily」" in welcome and "07:30" in welcome and "Asia/Shanghai" in welcome
    row = subscriber(sandbox)
    assert row is not None and row.active and row.language == "zh" and row.schedule == "daily"
    await sandbox.say(READER, "/start")
    assert "已经订阅" in said(sandbox)[-1]


async def test_an_english_client_is_answered_in_english(sandbox: Sandbox) -> None:
    await sandbox.say(READER, "/start", language_code="en-GB")
    assert "Subscribed to “daily”" in said(sandbox)[0]
    row = subscriber(sandbox)
    assert row is not None and row.language == "en"


async def test_deep_link_payload_picks_the_schedule(database_url: str) -> None:
    settings = bot_settings(database_url).model_copy(
        update={
            "schedules": [
                ScheduleSettings(name="daily"),
                ScheduleSettings(name="evening", times=["19:00"], timezone="Europe/London"),
            ]
        }
    )
    async for sandbox in _open(settings):
        await sandbox.say(READER, "/start evening")
        assert "evening" in said(sandbox)[0] and "19:00" in said(sandbox)[0]
        assert subscriber(sandbox).schedule == "evening"  # type: ignore[union-attr]
        await sandbox.say(READER + 1, "/start <b>nope</b>")
        reply = said(sandbox, READER + 1)[0]
        assert "没有名为「<b>nope</b>」的栏目" in reply  # shown as text, not markup
        assert subscriber(sandbox, READER + 1).schedule == "daily"  # type: ignore[union-attr]


async def test_stop_unsubscribes(sandbox: Sandbox) -> None:
    await sandbox.say(READER, "/stop")
    assert "还没有订阅" in said(sandbox)[-1]
    await sandbox.say(READER, "/start")
    await sandbox.say(READER, "/stop")
    assert "已退订" in said(sandbox)[-1]
    row = subscriber(sandbox)
    assert row is not None and not row.active


async def test_today_sends_the_latest_edition_or_a_preview_before_the_first(
    sandbox: Sandbox,
) -> None:
    await sandbox.say(READER, "/today")
    assert "还没有可以发送的摘要" in said(sandbox)[-1]
    store_news(sandbox.db, now_utc() - EARLIER)
    await sandbox.say(READER, "/today")
    preview = said(sandbox)[-1]
    assert "临江沿江步道首段建成" in preview and "Harbor Town opens new ferry pier" in preview
    build(sandbox.db, sandbox.settings, now_utc())
    await sandbox.say(READER, "/today", language_code="en")
    edition = said(sandbox)[-1]
    assert "4 articles read" in edition and "临江港新开两条航线" in edition


async def test_time_and_timezone(sandbox: Sandbox) -> None:
    await sandbox.say(READER, "/time 08:15")
    assert "还没有订阅" in said(sandbox)[-1]
    await sandbox.say(READER, "/start")
    await sandbox.say(READER, "/time 8:15")
    assert "08:15" in said(sandbox)[-1]
    assert subscriber(sandbox).delivery_time == "08:15"  # type: ignore[union-attr]
    for wrong in ("/time 25:00", "/time soon"):
        await sandbox.say(READER, wrong)
        assert "用法" in said(sandbox)[-1]
    assert subscriber(sandbox).delivery_time == "08:15"  # type: ignore[union-attr]
    await sandbox.say(READER, "/time")  # alone: the current setting, not a usage line
    assert said(sandbox)[-1].startswith("你的送达时间：08:15（Asia/Shanghai，你设定的），下一期 ")
    await sandbox.say(READER, "/timezone europe/london")  # any case, stored as IANA spells it
    assert "Europe/London" in said(sandbox)[-1] and "08:15" in said(sandbox)[-1]
    assert subscriber(sandbox).timezone == "Europe/London"  # type: ignore[union-attr]
    # Files ZoneInfo opens that are no zone a reader means, and one that is none at all.
    for not_a_zone in ("localtime", "posixrules", "Factory", "right/UTC", "posix/Europe/Paris"):
        await sandbox.say(READER, f"/timezone {not_a_zone}")
        assert "不认识时区" in said(sandbox)[-1], not_a_zone
    await sandbox.say(READER, "/timezone Mars/Olympus_Mons")
    assert "不认识时区" in said(sandbox)[-1] and "是不是" not in said(sandbox)[-1]
    await sandbox.say(READER, "/timezone Europe/Londn")
    assert "你是不是想用 Europe/London？" in said(sandbox)[-1]
    assert subscriber(sandbox).timezone == "Europe/London"  # type: ignore[union-attr]
    await sandbox.say(READER, "/time default")
    assert "07:30" in said(sandbox)[-1]
    assert subscriber(sandbox).delivery_time is None  # type: ignore[union-attr]
    await sandbox.say(READER, "/time")
    assert said(sandbox)[-1].startswith("你的送达时间：07:30（Europe/London，栏目默认）")


async def test_lang_switches_every_reply(sandbox: Sandbox) -> None:
    await sandbox.say(READER, "/start")
    await sandbox.say(READER, "/lang en")
    assert said(sandbox)[-1] == "Interface language set to English."
    await sandbox.say(READER, "/help")
    assert "/today — send the latest edition now" in said(sandbox)[-1]
    await sandbox.say(READER, "/lang fr")
    assert "Usage: /lang zh or /lang en" in said(sandbox)[-1]
    await sandbox.say(READER, "/lang zh")
    assert said(sandbox)[-1] == "界面语言已设为中文。"


async def test_sources_keyboard_toggles_the_choice(sandbox: Sandbox) -> None:
    ids = store_news(sandbox.db, now_utc() - EARLIER)
    city, harbor = ids["临江晚报"], ids["Harbor Gazette"]
    await sandbox.say(READER, "/start")
    await sandbox.say(READER, "/sources")
    keyboard = sandbox.telegram.sent[READER][-1]
    rows = keyboard["reply_markup"]["inline_keyboard"]
    assert [row[0]["callback_data"] for row in rows] == [
        f"src:{harbor}",
        f"src:{city}",
        "src:all",
    ]
    message_id = keyboard["message_id"]
    await sandbox.press(READER, message_id, f"src:{harbor}")
    assert subscriber(sandbox).sources == [city]  # type: ignore[union-attr]
    edited = sandbox.telegram.sent[READER][-1]
    assert edited["edit"] and edited["reply_markup"]["inline_keyboard"][0][0]["text"].startswith(
        "▫️"
    )
    await sandbox.press(READER, message_id, f"src:{city}")  # would leave nothing
    assert "至少保留一个来源" in sandbox.telegram.answers[-1]["text"]
    assert subscriber(sandbox).sources == [city]  # type: ignore[union-attr]
    await sandbox.press(READER, message_id, "src:all")
    assert subscriber(sandbox).sources is None  # type: ignore[union-attr]
    sent_before = len(sandbox.telegram.sent[READER])
    await sandbox.press(READER, message_id, "src:all")  # the message shows that already
    assert "已保存" in sandbox.telegram.answers[-1]["text"]
    assert len(sandbox.telegram.sent[READER]) == sent_before  # no "something went wrong"
    for stale in ("src:987654", "src:'; DROP TABLE", "src:999999999"):
        await sandbox.press(READER, message_id, stale)
        assert "过期" in sandbox.telegram.answers[-1]["text"]
    assert subscriber(sandbox).sources is None  # type: ignore[union-attr]


async def test_in_groups_only_admins_change_the_subscription(sandbox: Sandbox) -> None:
    group, member = -4001, 77
    await sandbox.say(group, "/start", user_id=member, chat_type="group")
    assert "只有管理员" in said(sandbox, group)[-1]
    assert subscriber(sandbox, group) is None
    await sandbox.say(group, "/today", user_id=member, chat_type="group")  # reading is for all
    assert "还没有可以发送的摘要" in said(sandbox, group)[-1]
    sandbox.telegram.set_member(group, member, "administrator")
    await sandbox.say(group, "/start", user_id=member, chat_type="group")
    row = subscriber(sandbox, group)
    assert row is not None and row.active and row.chat_type == "group"


async def test_a_channel_admin_subscribes_the_channel(sandbox: Sandbox) -> None:
    channel = -1009001
    await sandbox.say(channel, "/start", chat_type="channel")
    row = subscriber(sandbox, channel)
    assert row is not None and row.chat_type == "channel" and row.title == f"chat {channel}"
    assert "已订阅" in said(sandbox, channel)[-1]


async def test_an_unknown_command_gets_a_friendly_pointer(sandbox: Sandbox) -> None:
    await sandbox.say(READER, "/nosuchcommand")
    assert "/help" in said(sandbox)[-1] and "不认识这个命令" in said(sandbox)[-1]


async def test_a_user_who_blocks_the_bot_is_unsubscribed_at_once(sandbox: Sandbox) -> None:
    await sandbox.say(READER, "/start")
    await sandbox.handled(sandbox.telegram.bot_removed(READER))
    row = subscriber(sandbox)
    assert row is not None and not row.active and row.inactive_reason == "bot kicked"


async def test_a_group_upgraded_to_a_supergroup_keeps_its_subscription(sandbox: Sandbox) -> None:
    group, admin = -4100, 12
    sandbox.telegram.set_member(group, admin, "creator")
    await sandbox.say(group, "/start", user_id=admin, chat_type="group")
    await sandbox.handled(sandbox.telegram.group_migrates(group, -1004100))
    assert subscriber(sandbox, group) is None
    moved = subscriber(sandbox, -1004100)
    assert moved is not None and moved.active and moved.chat_type == "supergroup"


async def test_a_failing_handler_answers_politely_and_logs_its_traceback_once(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("database unavailable")

    monkeypatch.setattr("digests.engine.readers.subscribe", broken)
    await sandbox.say(READER, "/start")
    assert said(sandbox)[-1] == "抱歉，出了点问题，请稍后再试。"
    [line] = [r for r in caplog.records if r.name == "newsdigest.bot"]
    assert line.levelname == "ERROR"
    assert line.getMessage() == f"chat {READER}: handler failed: RuntimeError: database unavailable"
    assert line.exc_info is not None and line.exc_info[1] is not None
    assert "in broken" in caplog.text  # the stack, down to where it failed
