"""/today: the latest edition now, as this chat reads it."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.common import chat_language, reply
from bot.i18n import text
from bot.services import offload, services


async def today(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    app = services(context)
    _subscriber, language = await chat_language(update, app)
    latest = await offload(app.engine.latest_edition, chat.id, language)
    if not latest.messages:
        await reply(
            update, text(language, "no_edition", next=latest.next_delivery, zone=latest.zone)
        )
        return
    for message in latest.messages:
        await reply(update, message)
