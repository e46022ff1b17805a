"""Keyword alerts and word filters through the real Application and the ledger."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.sandbox import Sandbox
from digests.config import SearchSettings
from digests.search.factory import open_search_index
from digests.store.articles import save_articles
from digests.store.db import Database
from digests.store.models import Alert, Subscriber, WordFilter
from digests.store.sources import get_or_create_source
from digests.summarize.stage import summarize_stored
from tests.botkit import bot_settings, build, now_utc, store_news
from tests.builders import article

READER = 7001


@pytest.fixture
async def sandbox(database_url: str) -> AsyncIterator[Sandbox]:
    settings = bot_settings(database_url).model_copy(
        update={"search": SearchSettings(alerts_per_hour=2, max_alerts=2, max_filters=3)}
    )
    db = Database(settings.database_url)
    db.upgrade()
    store_news(db, now_utc() - timedelta(hours=1))
    async with Sandbox(settings, db) as opened:
        yield opened
    db.close()


def arrive(db: Database, items: list[tuple[str, str]]) -> None:
    """New articles from a port authority feed, stored and indexed."""
    with db.write() as session:
        source = get_or_create_source(
            session, kind="feed", location="https://port.example/", name="Port news"
        ).id
        save_articles(session, source, [article(t, b, guid=t) for t, b in items], now_utc())
    summarize_stored(db, open_search_index(SearchSettings(), db))


def alerts_to(sandbox: Sandbox, chat: int = READER) -> list[str]:
    return [m for m in sandbox.telegram.messages_to(chat) if m.startswith("🔔")]


async def test_an_alert_pushes_each_new_matching_article_once(sandbox: Sandbox) -> None:
    await sandbox.say(READER, "/alert 航线")
    assert "请先发送 /start" in sandbox.telegram.messages_to(READER)[-1]
    await sandbox.say(READER, "/start")
    await sandbox.say(READER, "/alert 航线")
    assert "有新文章匹配「航线」时会通知你" in sandbox.telegram.messages_to(READER)[-1]
    await sandbox.deliver_now()
    assert alerts_to(sandbox) == []  # 临江港新开两条航线 was there before the alert
    arrive(
        sandbox.db,
        [
            ("江州港开通新航线", "江州港至南屿港航线开通。每周三班。"),
            ("菜市场开业", "菜市场重新开业。"),
        ],
    )
    await sandbox.deliver_now()
    [pushed] = alerts_to(sandbox)
    assert "江州港开通新航线" in pushed and "Port news" in pushed
    await sandbox.deliver_now()
    arrive(sandbox.db, [("菜市场开业", "菜市场重新开业，新增水产区。")])  # an update, no match
    await sandbox.deliver_now()
    assert len(alerts_to(sandbox)) == 1


async def test_alerts_keep_to_the_hourly_cap_and_respect_mutes(sandbox: Sandbox) -> None:
    await sandbox.say(READER, "/start")
    await sandbox.say(READER, "/alert 航线")
    await sandbox.say(READER, "/mute 货轮")
    arrive(
        sandbox.db,
        [
            ("一号航线开通", "新航线开通。"),
            ("货轮航线调整", "货轮航线调整。"),
            ("二号航线开通", "新航线开通。"),
            ("三号航线开通", "新航线开通。"),
        ],
    )
    await sandbox.deliver_now()
    pushed = alerts_to(sandbox)
    assert len(pushed) == 2  # the cap: two an hour
    assert not any("货轮" in m for m in pushed)
    arrive(sandbox.db, [("四号航线开通", "新航线开通。")])
    await sandbox.deliver_now()
    assert len(alerts_to(sandbox)) == 2  # still within the same hour


async def test_mute_and_follow_shape_the_digest(sandbox: Sandbox) -> None:
    await sandbox.say(READER, "/start")
    await sandbox.say(READER, "/mute 步道")
    assert "已屏蔽「步道」" in sandbox.telegram.messages_to(READER)[-1]
    await sandbox.say(READER, "/follow library")
    await sandbox.say(READER + 1, "/start")
    build(sandbox.db, sandbox.settings, now_utc())
    await sandbox.deliver_now()
    mine = sandbox.telegram.messages_to(READER)[-1]
    theirs = sandbox.telegram.messages_to(READER + 1)[-1]
    assert "临江沿江步道首段建成" not in mine and "临江沿江步道首段建成" in theirs
    assert mine.index("你关注的") < mine.index("Library reopens with maker space")
    assert mine.index("Library reopens") < mine.index("临江港新开两条航线")
    assert "你关注的" not in theirs


async def test_filters_are_listed_and_removed_by_their_owner_only(sandbox: Sandbox) -> None:
    await sandbox.say(READER, "/start")
    await sandbox.say(READER, "/filters")
    assert "还没有提醒" in sandbox.telegram.messages_to(READER)[-1]
    for command in (
        "/alert 港口",
        "/mute 广告",
        "/follow 航线",
        "/follow 航线",
        "/mute 马拉松",
        "/mute 夜市",
    ):
        await sandbox.say(READER, command)
    replies = sandbox.telegram.messages_to(READER)
    assert "已经在列表里" in replies[-3] and "最多 3 个" in replies[-1]
    await sandbox.say(READER, "/filters")
    listing = sandbox.telegram.sent[READER][-1]
    buttons = [row[0] for row in listing["reply_markup"]["inline_keyboard"]]
    assert [b["text"] for b in buttons] == ["🔔 港口 ✕", "🔇 广告 ✕", "⭐ 航线 ✕", "🔇 马拉松 ✕"]
    await sandbox.press(READER + 5, listing["message_id"], buttons[1]["callback_data"])
    assert "过期" in sandbox.telegram.answers[-1]["text"]  # not that chat's row
    await sandbox.press(READER, listing["message_id"], buttons[1]["callback_data"])
    edited = sandbox.telegram.sent[READER][-1]
    assert edited["edit"] and len(edited["reply_markup"]["inline_keyboard"]) == 3
    for forged in ("rm:w:not-a-number", "rm:w:999999999999", "rm:a:2147483648"):
        await sandbox.press(READER, listing["message_id"], forged)
        assert "过期" in sandbox.telegram.answers[-1]["text"], forged


@pytest.mark.parametrize(
    ("command", "reply"),
    [
        ("/alert", "用法：/alert"),
        ("/alert !!!", "没有可以搜索的词"),
        ("/alert -港口", "只有排除的词"),
        ("/mute", "用法：/mute"),
        ("/follow 😀", "没有可以搜索的词"),
    ],
)
async def test_bad_alert_and_filter_input(sandbox: Sandbox, command: str, reply: str) -> None:
    await sandbox.say(READER, "/start")
    await sandbox.say(READER, command)
    assert reply in sandbox.telegram.messages_to(READER)[-1]


async def test_nul_characters_in_chat_input_are_dropped_not_refused(sandbox: Sandbox) -> None:
    # PostgreSQL's text cannot hold NUL: each of these ended in "something went wrong".
    chat = 7050
    await sandbox.say(chat, "/start", first_name="Re\x00ader")
    assert "已订阅" in sandbox.telegram.messages_to(chat)[-1]
    for command in ("/alert 沿江\x00步道", "/mute 广\x00告", "/follow 足\x00球", "/mute"):
        await sandbox.say(chat, command)
        assert "出了点问题" not in sandbox.telegram.messages_to(chat)[-1], command
    with sandbox.db.read() as session:
        subscriber = session.scalar(select(Subscriber).where(Subscriber.chat_id == chat))
        assert subscriber is not None and subscriber.title == "Reader"
        alerts = list(session.scalars(select(Alert.query)))
        filters = {
            (kind, text) for kind, text in session.execute(select(WordFilter.kind, WordFilter.text))
        }
    assert alerts == ["沿江步道"]
    assert filters == {("mute", "广告"), ("follow", "足球")}
