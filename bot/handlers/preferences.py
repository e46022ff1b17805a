"""A subscriber's choices: /time, /timezone, /lang and /sources (inline keyboard).

A change applies to deliveries not yet begun: those are planned again with
the new choice, so the next message already honours it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

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
from bot.i18n import LANGUAGES, text
from bot.services import BotServices, offload, services
from digests.store.models import Subscriber
from digests.zones import canonical_zone, closest_zone

_CLOCK = re.compile(r"^([01]?\d|2[0-3])[:：.]([0-5]\d)$")
SOURCE_BUTTON = re.compile(r"^src:(all|\d{1,9})$")


async def _change(
    app: BotServices, chat_id: int, apply: Callable[[Subscriber], None]
) -> Subscriber | None:
    """Apply a change to the chat's active subscription; None if it has none."""
    changed = await offload(app.engine.change_subscriber, chat_id, apply)
    app.wake_delivery()
    return changed


async def set_time(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    if chat is None or not await may_change(update, context):
        return
    app = services(context)
    subscriber = await active_subscriber(update, app)
    if subscriber is None:
        return
    language = subscriber.language
    spec = await offload(app.engine.subscriber_schedule, subscriber)
    argument = " ".join(context.args or []).strip()
    zone = subscriber.timezone or spec.timezone
    if argument.lower() in {"default", "reset", "off", "默认"}:
        await _change(app, chat.id, lambda s: setattr(s, "delivery_time", None))
        await reply(update, text(language, "time_reset", times=", ".join(spec.times), zone=zone))
        return
    if not argument:  # what it is now, and how to change it
        when, _zone = await offload(app.engine.next_delivery, spec, subscriber)
        own = subscriber.delivery_time
        await reply(
            update,
            text(
                language,
                "time_current",
                times=own or ", ".join(spec.times),
                zone=zone,
                whose=text(language, "time_own" if own else "time_default"),
                next=when,
            ),
        )
        return
    match = _CLOCK.match(argument)
    if not match:
        await reply(update, text(language, "time_usage"))
        return
    clock = f"{int(match.group(1)):02d}:{match.group(2)}"
    await _change(app, chat.id, lambda s: setattr(s, "delivery_time", clock))
    await reply(update, text(language, "time_set", time=clock, zone=zone))


async def set_timezone(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    if chat is None or not await may_change(update, context):
        return
    app = services(context)
    subscriber = await active_subscriber(update, app)
    if subscriber is None:
        return
    language = subscriber.language
    name = " ".join(context.args or []).strip()
    if not name:
        await reply(update, text(language, "timezone_usage"))
        return
    zone_name = canonical_zone(name)
    if zone_name is None:
        suggestion = closest_zone(name)
        if suggestion is None:
            await reply(update, text(language, "timezone_unknown", zone=name[:64]))
        else:
            await reply(
                update,
                text(language, "timezone_suggest", zone=name[:64], suggestion=suggestion),
            )
        return
    changed = await _change(app, chat.id, lambda s: setattr(s, "timezone", zone_name))
    spec = await offload(app.engine.subscriber_schedule, subscriber)
    when, zone = await offload(app.engine.next_delivery, spec, changed)
    await reply(update, text(language, "timezone_set", zone=zone, next=when))


async def set_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    if chat is None or not await may_change(update, context):
        return
    app = services(context)
    wanted = (context.args[0].lower() if context.args else "").split("-", 1)[0]
    if wanted not in LANGUAGES:
        _subscriber, language = await chat_language(update, app)
        await reply(update, text(language, "lang_usage"))
        return
    if await _change(app, chat.id, lambda s: setattr(s, "language", wanted)) is None:
        await reply(update, text(wanted, "not_subscribed"))
        return
    await reply(update, text(wanted, "lang_set"))


def source_keyboard(
    available: list[tuple[int, str]], chosen: list[int] | None, language: str
) -> InlineKeyboardMarkup:
    rows = []
    for source_id, name in available:
        mark = "✅" if chosen is None or source_id in chosen else "▫️"
        label = name if len(name) <= 40 else name[:39] + "…"
        rows.append([InlineKeyboardButton(f"{mark} {label}", callback_data=f"src:{source_id}")])
    everything = "✅" if chosen is None else "▫️"
    rows.append(
        [
            InlineKeyboardButton(
                f"{everything} {text(language, 'sources_all')}", callback_data="src:all"
            )
        ]
    )
    return InlineKeyboardMarkup(rows)


async def choose_sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None or not await may_change(update, context):
        return
    app = services(context)
    subscriber = await active_subscriber(update, app)
    if subscriber is None:
        return
    available = await offload(app.engine.choosable_sources, subscriber)
    if not available:
        await reply(update, text(subscriber.language, "sources_none"))
        return
    await message.reply_text(
        text(subscriber.language, "sources_title"),
        parse_mode=ParseMode.HTML,
        link_preview_options=NO_PREVIEW,
        reply_markup=source_keyboard(available, subscriber.sources, subscriber.language),
    )


def toggled(chosen: list[int] | None, source_id: int, available: list[int]) -> list[int] | None:
    """The choice after tapping ``source_id``; None means every source."""
    current = set(available if chosen is None else chosen) & set(available)
    current ^= {source_id}
    if current == set(available):
        return None
    return sorted(current)


async def source_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    app = services(context)
    subscriber, language = await chat_language(update, app)
    match = SOURCE_BUTTON.match(query.data or "")
    if subscriber is None or not subscriber.active or match is None:
        await query.answer(text(language, "button_stale"), show_alert=True)
        return
    if not await may_change(update, context):
        await query.answer()
        return
    available = await offload(app.engine.choosable_sources, subscriber)
    ids = [source_id for source_id, _ in available]
    if match.group(1) == "all":
        choice: list[int] | None = None
    else:
        source_id = row_id(match.group(1))
        if source_id is None or source_id not in ids:
            await query.answer(text(language, "button_stale"), show_alert=True)
            return
        choice = toggled(subscriber.sources, source_id, ids)
        if choice == []:
            await query.answer(text(language, "sources_empty_choice"), show_alert=True)
            return
    await _change(app, chat.id, lambda s: setattr(s, "sources", choice))
    await query.answer(text(language, "sources_saved"))
    await show_in_button_message(
        query, text(language, "sources_title"), source_keyboard(available, choice, language)
    )
