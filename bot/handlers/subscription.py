"""/start and /stop: subscribing a chat (private, group or channel) and leaving."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.common import chat_language, may_change, reply
from bot.i18n import text
from bot.services import offload, services


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    if chat is None or not await may_change(update, context):
        return
    app = services(context)
    _subscriber, language = await chat_language(update, app)
    # A deep link t.me/BOT?start=NAME arrives as "/start NAME".
    wanted = context.args[0] if context.args else None
    done = await offload(
        app.engine.subscribe,
        chat.id,
        chat_type=chat.type,
        title=chat.title or chat.username or chat.first_name,
        schedule=wanted,
        language=language,
    )
    notes = []
    if wanted and done.spec.name != wanted:
        notes.append(text(language, "unknown_schedule", name=wanted[:40], schedule=done.spec.name))
    key = "welcome" if done.new else "welcome_back"
    notes.append(
        text(language, key, schedule=done.spec.name, next=done.next_delivery, zone=done.zone)
    )
    await reply(update, "\n\n".join(notes))


async def stop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    if chat is None or not await may_change(update, context):
        return
    app = services(context)
    _subscriber, language = await chat_language(update, app)
    left = await offload(app.engine.unsubscribe, chat.id, "unsubscribed (/stop)", "unsubscribed")
    await reply(update, text(language, "stopped" if left else "not_subscribed"))


async def membership(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The bot was blocked, kicked or left a chat: stop sending there at once."""
    change = update.my_chat_member
    if change is None or change.new_chat_member.status not in ("kicked", "left"):
        return
    app = services(context)
    await offload(
        app.engine.unsubscribe,
        change.chat.id,
        f"bot {change.new_chat_member.status}",
        "bot removed from the chat",
    )


async def migrated(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group became a supergroup: the subscription follows it to the new id."""
    message = update.effective_message
    if message is None or message.migrate_to_chat_id is None:
        return
    await offload(services(context).engine.move_chat, message.chat.id, message.migrate_to_chat_id)
