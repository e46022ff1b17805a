"""/alert, /mute, /follow and /filters: a subscriber's standing words.

Buttons carry ``rm:a:<alert id>`` or ``rm:w:<filter id>`` and are honoured
only in the chat that owns the row.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.handlers.common import (
    NO_PREVIEW,
    active_subscriber,
    current_subscriber,
    language_for,
    may_change,
    reply,
)
from bot.i18n import text
from bot.services import BotServices, services
from digests.filters import MAX_FILTER_CHARS, Matcher
from digests.search.index import match_expression, max_indexed_id
from digests.search.query import parse_query
from digests.store import deliveries as ledger
from digests.store.models import Alert, WordFilter

REMOVE_BUTTON = re.compile(r"^rm:([aw]):(\d{1,12})$")


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
    parsed = parse_query(query, app.clock())
    if parsed.empty:
        await reply(
            update, text(language, "search_only_excluded" if parsed.excluded else "search_empty")
        )
        return
    if match_expression(parsed) is None:
        await reply(update, text(language, "search_nothing_searchable"))
        return
    limit = app.settings.search.max_alerts
    with app.db.write() as session:
        count = session.scalar(
            select(func.count(Alert.id)).where(Alert.subscriber_id == subscriber.id)
        )
        if int(count or 0) >= limit:
            key = "alert_limit"
        else:
            # Only articles from now on: an alert is about what is new.
            session.add(
                Alert(
                    subscriber_id=subscriber.id,
                    query=query[:300],
                    last_article_id=max_indexed_id(session),
                    created_at=app.clock(),
                )
            )
            key = "alert_set"
    await reply(
        update,
        text(
            language,
            key,
            query=query[:100],
            per_hour=app.settings.search.alerts_per_hour,
            limit=limit,
        ),
    )


async def _add_filter(update: Update, context: ContextTypes.DEFAULT_TYPE, kind: str) -> None:
    if not await may_change(update, context):
        return
    app = services(context)
    subscriber = await active_subscriber(update, app)
    if subscriber is None:
        return
    language = subscriber.language
    word = " ".join(" ".join(context.args or []).replace('"', " ").split())[:MAX_FILTER_CHARS]
    if not word:
        await reply(update, text(language, "filter_usage"))
        return
    if Matcher.of(word) is None:
        await reply(update, text(language, "search_nothing_searchable"))
        return
    limit = app.settings.search.max_filters
    with app.db.write() as session:
        existing = session.scalars(
            select(WordFilter).where(WordFilter.subscriber_id == subscriber.id)
        ).all()
        if any(f.kind == kind and f.text == word for f in existing):
            key = "filter_exists"
        elif len(existing) >= limit:
            key = "filter_limit"
        else:
            session.add(
                WordFilter(
                    subscriber_id=subscriber.id, kind=kind, text=word, created_at=app.clock()
                )
            )
            ledger.forget_unstarted(session, subscriber.id)  # the next digest honours it
            key = "muted" if kind == "mute" else "followed"
    app.wake_delivery()
    await reply(update, text(language, key, word=word, limit=limit))


async def mute(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _add_filter(update, context, "mute")


async def follow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _add_filter(update, context, "follow")


def _listing(app: BotServices, subscriber_id: int) -> list[tuple[str, str]]:
    """(button label, callback data) for each alert and word filter."""
    with app.db.read() as session:
        alerts = session.scalars(
            select(Alert).where(Alert.subscriber_id == subscriber_id).order_by(Alert.id)
        ).all()
        words = session.scalars(
            select(WordFilter)
            .where(WordFilter.subscriber_id == subscriber_id)
            .order_by(WordFilter.id)
        ).all()
    marks = {"mute": "🔇", "follow": "⭐"}
    return [(f"🔔 {a.query[:40]} ✕", f"rm:a:{a.id}") for a in alerts] + [
        (f"{marks.get(w.kind, '')} {w.text[:40]} ✕", f"rm:w:{w.id}") for w in words
    ]


def _keyboard(entries: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data)] for label, data in entries]
    )


async def list_filters(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    app = services(context)
    subscriber = await active_subscriber(update, app)
    if subscriber is None or message is None:
        return
    entries = _listing(app, subscriber.id)
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
    subscriber = current_subscriber(app, chat.id)
    language = language_for(update, app, subscriber)
    match = REMOVE_BUTTON.match(button.data or "")
    if match is None or subscriber is None:
        await button.answer(text(language, "button_stale"), show_alert=True)
        return
    if not await may_change(update, context):
        await button.answer()
        return
    is_alert = match.group(1) == "a"
    with app.db.write() as session:
        key = int(match.group(2))
        row: Alert | WordFilter | None = (
            session.get(Alert, key) if is_alert else session.get(WordFilter, key)
        )
        owned = row is not None and row.subscriber_id == subscriber.id
        if owned:
            session.delete(row)
            if not is_alert:
                ledger.forget_unstarted(session, subscriber.id)
    if not owned:
        await button.answer(text(language, "button_stale"), show_alert=True)
        return
    app.wake_delivery()
    await button.answer(text(language, "removed"))
    entries = _listing(app, subscriber.id)
    await button.edit_message_text(
        text(language, "filters_title" if entries else "filters_none"),
        parse_mode=ParseMode.HTML,
        reply_markup=_keyboard(entries) if entries else None,
    )
