"""/alert, /mute, /follow and /filters: a subscriber's standing words.

Buttons carry ``rm:a:<alert id>`` or ``rm:w:<filter id>`` and are honoured
only in the chat that owns the row.
"""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.handlers.common import (
    NO_PREVIEW,
    active_subscriber,
    chat_language,
    may_change,
    reply,
    row_id,
    show_in_button_message,
)
from bot.i18n import text
from bot.services import BotServices, offload, services
from digests.store.alerts import StandingWord

REMOVE_BUTTON = re.compile(r"^rm:([aw]):(\d{1,12})$")
MARKS = {"alert": "🔔", "mute": "🔇", "follow": "⭐"}


async def add_alert(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not await may_change(update, context):
        return
    app = services(context)
    subscriber = await active_subscriber(update, app)
    if subscriber is None:
        return
    language, query = subscriber.language, " ".join(context.args or []).strip()
    if not query:
        await reply(update, text(language, "alert_usage"))
        return
    outcome = await offload(app.engine.add_alert, subscriber, query)
    await reply(
        update,
        text(
            language,
            outcome,
            query=query[:100],
            per_hour=app.settings.search.alerts_per_hour,
            limit=app.settings.search.max_alerts,
        ),
    )


async def _add_filter(update: Update, context: ContextTypes.DEFAULT_TYPE, kind: str) -> None:
    if not await may_change(update, context):
        return
    app = services(context)
    subscriber = await active_subscriber(update, app)
    if subscriber is None:
        return
    word = " ".join(context.args or [])
    outcome = await offload(app.engine.add_word_filter, subscriber, kind, word)
    app.wake_delivery()
    shown = " ".join(word.replace('"', " ").split())[:100]
    await reply(
        update,
        text(subscriber.language, outcome, word=shown, limit=app.settings.search.max_filters),
    )


async def mute(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _add_filter(update, context, "mute")


async def follow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _add_filter(update, context, "follow")


def _entries(words: list[StandingWord]) -> list[tuple[str, str]]:
    """(button label, callback data) for each alert and word filter."""
    return [
        (
            f"{MARKS.get(w.kind, '')} {w.text[:40]} ✕",
            f"rm:{'a' if w.kind == 'alert' else 'w'}:{w.id}",
        )
        for w in words
    ]


def _keyboard(entries: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data)] for label, data in entries]
    )


async def _listing(app: BotServices, subscriber_id: int) -> list[tuple[str, str]]:
    return _entries(await offload(app.engine.standing_words, subscriber_id))


async def list_filters(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    app = services(context)
    subscriber = await active_subscriber(update, app)
    if subscriber is None or message is None:
        return
    entries = await _listing(app, subscriber.id)
    if not entries:
        await reply(update, text(subscriber.language, "filters_none"))
        return
    await message.reply_text(
        text(subscriber.language, "filters_title"),
        parse_mode=ParseMode.HTML,
        link_preview_options=NO_PREVIEW,
        reply_markup=_keyboard(entries),
    )


async def remove_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    button, chat = update.callback_query, update.effective_chat
    if button is None or chat is None:
        return
    app = services(context)
    subscriber, language = await chat_language(update, app)
    match = REMOVE_BUTTON.match(button.data or "")
    entry_id = row_id(match.group(2)) if match is not None else None
    if match is None or entry_id is None or subscriber is None:
        await button.answer(text(language, "button_stale"), show_alert=True)
        return
    if not await may_change(update, context):
        await button.answer()
        return
    kind = "alert" if match.group(1) == "a" else "word"
    removed = await offload(app.engine.remove_standing_word, subscriber.id, kind, entry_id)
    if not removed:
        await button.answer(text(language, "button_stale"), show_alert=True)
        return
    app.wake_delivery()
    await button.answer(text(language, "removed"))
    entries = await _listing(app, subscriber.id)
    await show_in_button_message(
        button,
        text(language, "filters_title" if entries else "filters_none"),
        _keyboard(entries) if entries else None,
    )
