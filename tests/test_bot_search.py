"""Search in chat through the real Application: /search, typed words, pages, inline mode."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.sandbox import Sandbox
from digests.config import SearchSettings
from digests.search.factory import open_search_index
from digests.store.articles import save_articles
from digests.store.db import Database
from digests.store.sources import get_or_create_source
from digests.summarize.stage import summarize_stored
from tests.botkit import bot_settings, now_utc, store_news
from tests.builders import article

READER = 6001


@pytest.fixture
async def sandbox(database_url: str) -> AsyncIterator[Sandbox]:
    settings = bot_settings(database_url)
    db = Database(settings.database_url)
    db.upgrade()
    store_news(db, now_utc() - timedelta(hours=1))
    with db.write() as session:
        source = get_or_create_source(
            session, kind="feed", location="https://ports.example/", name="Ports <Daily>"
        ).id
        items = [
            article(f"港口动态第{n}期", f"第{n}期：集装箱航线保持稳定。码头作业正常。", guid=str(n))
            for n in range(1, 13)
        ]
        save_articles(session, source, items, now_utc() - timedelta(minutes=30))
    summarize_stored(db, open_search_index(SearchSettings(), db))
    async with Sandbox(settings, db) as opened:
        yield opened
    db.close()


def last(sandbox: Sandbox, chat: int = READER) -> dict:
    return sandbox.telegram.sent[chat][-1]


async def test_search_command_shows_highlighted_linked_results(sandbox: Sandbox) -> None:
    await sandbox.say(READER, "/search 步道")
    message = last(sandbox)
    assert message["visible_text"].startswith("🔎 「步道」：1 篇（第 1/1 页）")
    assert "<b>步道</b>" in message["raw"] and "临江沿江步道首段建成" in message["visible_text"]
    assert "reply_markup" not in message  # one page: no buttons


async def test_typed_words_in_a_private_chat_are_a_search(sandbox: Sandbox) -> None:
    await sandbox.say(READER, "ferry pier", language_code="en")
    message = last(sandbox)
    assert message["visible_text"].startswith("🔎 “ferry pier”: 1 found")
    assert "Harbor Town opens new ferry pier" in message["visible_text"]
    await sandbox.say(READER, "航天飞机")
    assert "没有找到与「航天飞机」相关的文章" in last(sandbox)["visible_text"]


async def test_pages_turn_with_buttons_that_survive_and_are_checked(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    await sandbox.say(READER, "/search 港口动态")
    first = last(sandbox)
    assert "12 篇（第 1/3 页）" in first["visible_text"]
    assert "Ports &lt;Daily&gt;" in first["raw"]  # a source name is text, not markup
    [[forward]] = first["reply_markup"]["inline_keyboard"]
    await sandbox.press(READER, first["message_id"], forward["callback_data"])
    second = last(sandbox)
    assert second["edit"] and "第 2/3 页" in second["visible_text"]
    assert second["visible_text"].count("港口动态第") == 5
    labels = [b["text"] for b in second["reply_markup"]["inline_keyboard"][0]]
    assert labels == ["« 上一页", "下一页 »"]
    # A second tap asks for the page already shown: Telegram says "message is not
    # modified", which is no error (no "something went wrong", nothing logged).
    sent_before = len(sandbox.telegram.sent[READER])
    with caplog.at_level(logging.ERROR):
        await sandbox.press(READER, first["message_id"], forward["callback_data"])
    assert len(sandbox.telegram.sent[READER]) == sent_before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # Another chat cannot use this chat's button; a forged or odd one is refused.
    for chat, data in (
        (READER + 1, forward["callback_data"]),
        (READER, "sp:999999:0"),
        (READER, "sp:999999999999:1"),  # past the id column's range
        (READER, "sp:1:999"),
        (READER, "sp:x:1"),
    ):
        before = len(sandbox.telegram.sent[chat])
        await sandbox.press(chat, first["message_id"], data)
        assert "过期" in sandbox.telegram.answers[-1]["text"]
        assert len(sandbox.telegram.sent[chat]) == before


@pytest.mark.parametrize(
    ("query", "reply"),
    [
        ("/search", "用法：/search 关键词"),
        ("/search !!!", "没有可以搜索的词"),
        ("/search -港口", "只有排除的词"),
        ('/search " * NEAR( OR OR', "没有找到"),
        ("/search " + "港口" * 1000, "港口"),
        ("/search 😀", "没有可以搜索的词"),
    ],
)
async def test_bad_queries_get_a_friendly_reply(sandbox: Sandbox, query: str, reply: str) -> None:
    await sandbox.say(READER, query)
    assert reply in last(sandbox)["visible_text"]


async def test_inline_mode_offers_articles_to_share(sandbox: Sandbox) -> None:
    await sandbox.handled(sandbox.telegram.inline_query(READER, "ferry"))
    answer = sandbox.telegram.answers[-1]
    assert answer["method"] == "answerInlineQuery"
    [result] = answer["results"]
    assert result["title"] == "Harbor Town opens new ferry pier"
    assert "<b>ferry</b>" in result["input_message_content"]["message_text"]
    await sandbox.handled(sandbox.telegram.inline_query(READER, "!!!"))
    assert sandbox.telegram.answers[-1]["results"] == []


async def test_a_page_button_still_works_after_a_restart(sandbox: Sandbox) -> None:
    await sandbox.say(READER, "/search 港口动态")
    first = last(sandbox)
    [[forward]] = first["reply_markup"]["inline_keyboard"]
    # A new process: a fresh Application and Bot API connection, the same database.
    async with Sandbox(sandbox.settings, sandbox.db) as restarted:
        await restarted.press(READER, first["message_id"], forward["callback_data"])
        turned = restarted.telegram.sent[READER][-1]
    assert turned["edit"] and "第 2/3 页" in turned["visible_text"]
