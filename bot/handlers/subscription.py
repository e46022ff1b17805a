"""/start and /stop: subscribing a chat (private, group or channel) and leaving."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.common import current_subscriber, language_for, may_change, next_delivery, reply
from bot.i18n import text
from bot.services import services
from digests.store import deliveries as ledger
from digests.store.subscribers import deactivate, find_subscriber, move_chat, subscribe

log = logging.getLogger("newsdigest.bot")


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    if chat is None or not await may_change(update, context):
        return
    app = services(context)
    language = language_for(update, app, current_subscriber(app, chat.id))
    # A deep link t.me/BOT?start=NAME arrives as "/start NAME".
    wanted = context.args[0] if context.args else None
    spec = (app.schedule(wanted) if wanted else None) or app.default_schedule()
    notes = []
    if wanted and spec.name != wanted:
        notes.append(text(language, "unknown_schedule", name=wanted[:40], schedule=spec.name))
    now = app.clock()
    with app.db.write() as session:
        subscriber, new = subscribe(
            session,
            chat_id=chat.id,
            chat_type=chat.type,
            title=chat.title or chat.username or chat.first_name,
            schedule=spec.name,
            language=language,
            now=now,
        )
        ledger.forget_unstarted(session, subscriber.id)
    if new:
        log.info("chat %s (%s) subscribed to %s", chat.id, chat.type, spec.name)
    when, zone = next_delivery(app, spec, subscriber, now)
    key = "welcome" if new else "welcome_back"
    notes.append(text(language, key, schedule=spec.name, next=when, zone=zone))
    await reply(update, "\n\n".join(notes))


async def stop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    if chat is None or not await may_change(update, context):
        return
    app = services(context)
    with app.db.write() as session:
        subscriber = find_subscriber(session, chat.id)
        if subscriber is not None and subscriber.active:
            deactivate(session, subscriber, "unsubscribed (/stop)")
            ledger.skip_remaining(session, subscriber.id, "unsubscribed")
            log.info("chat %s unsubscribed", chat.id)
            key = "stopped"
        else:
            key = "not_subscribed"
    await reply(update, text(language_for(update, app, subscriber), key))


async def membership(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """The bot was blocked, kicked or left a chat: stop sending there at once."""
    change = update.my_chat_member
    if change is None or change.new_chat_member.status not in ("kicked", "left"):
        return
    app = services(_context)
    with app.db.write() as session:
        subscriber = find_subscriber(session, change.chat.id)
        if subscriber is not None and subscriber.active:
            deactivate(session, subscriber, f"bot {change.new_chat_member.status}")
            ledger.skip_remaining(session, subscriber.id, "bot removed from the chat")
            log.info("chat %s: bot %s; unsubscribed", change.chat.id, change.new_chat_member.status)


async def migrated(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group became a supergroup: the subscription follows it to the new id."""
    message = update.effective_message
    if message is None or message.migrate_to_chat_id is None:
        return
    app = services(context)
    with app.db.write() as session:
        moved = move_chat(session, message.chat.id, message.migrate_to_chat_id)
    if moved is not None:
        log.info("chat %s migrated to %s", message.chat.id, message.migrate_to_chat_id)
