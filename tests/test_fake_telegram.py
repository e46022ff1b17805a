"""The fake Bot API speaks the real protocol: python-telegram-bot's Application runs against it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter
from telegram.ext import Application, ApplicationBuilder, CommandHandler, ContextTypes

from bot.fake_telegram import FakeTelegram


@pytest.fixture
def telegram() -> FakeTelegram:
    with FakeTelegram() as server:
        yield server


async def _hello(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        "hello <b>reader</b> &amp; friends", parse_mode=ParseMode.HTML
    )


@pytest.fixture
async def application(telegram: FakeTelegram) -> AsyncIterator[Application]:
    app = ApplicationBuilder().token(telegram.token).base_url(telegram.api_url).build()
    app.add_handler(CommandHandler("start", _hello))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    yield app
    await app.updater.stop()
    await app.stop()
    await app.shutdown()


async def test_the_real_application_answers_a_command(
    telegram: FakeTelegram, application: Application
) -> None:
    telegram.user_sends(1001, "/start")
    assert await _eventually(telegram, lambda: telegram.messages_to(1001))
    assert telegram.messages_to(1001) == ["hello reader & friends"]
    assert application.bot.username == "newsdigest_bot"


async def test_injected_faults_surface_as_telegram_errors(
    telegram: FakeTelegram, application: Application
) -> None:
    bot = application.bot
    telegram.fail_next(7, 429, retry_after=3)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(7, "x")
    assert caught.value.retry_after == timedelta(seconds=3)
    telegram.fail_next(7, 403)
    with pytest.raises(Forbidden):
        await bot.send_message(7, "x")
    with pytest.raises(BadRequest, match="parse entities"):
        await bot.send_message(7, "<b>unclosed", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="too long"):
        await bot.send_message(7, "字" * 4097)
    await bot.send_message(7, "fine")
    assert telegram.messages_to(7) == ["fine"] and telegram.attempts[7] == 5


async def test_wrong_token_is_invalid_token(telegram: FakeTelegram) -> None:
    app = ApplicationBuilder().token("999:WRONG").base_url(telegram.api_url).build()
    with pytest.raises(InvalidToken):
        await app.initialize()


async def _eventually(telegram: FakeTelegram, predicate, timeout: float = 10.0) -> bool:
    import asyncio

    return await asyncio.to_thread(telegram.wait_for, predicate, timeout)
