"""What the command handlers share: who is asking, in which language, replies."""

from __future__ import annotations

from telegram import CallbackQuery, Chat, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.i18n import language_of, text
from bot.services import BotServices, offload, services
from digests.store.models import Subscriber

ADMIN_STATUSES = {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR}
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# Row ids are 32-bit integers (PostgreSQL's integer): a button naming a larger
# one was never made by this bot.
MAX_ROW_ID = 2**31 - 1


def row_id(digits: str) -> int | None:
    """The row id a button's digits name, or None when no row can have it (a
    forged button then gets the same polite answer as a stale one)."""
    number = int(digits)
    return number if 0 < number <= MAX_ROW_ID else None


async def show_in_button_message(
    query: CallbackQuery, message_html: str, keyboard: InlineKeyboardMarkup | None
) -> None:
    """Replace the tapped button's message. Telegram refuses an edit that changes
    nothing ("message is not modified"): the message already shows the state
    asked for, so that is success, not an error."""
    try:
        await query.edit_message_text(
            message_html,
            parse_mode=ParseMode.HTML,
            link_preview_options=NO_PREVIEW,
            reply_markup=keyboard,
        )
    except BadRequest as error:
        if "message is not modified" not in error.message.lower():
            raise


async def current_subscriber(app: BotServices, update: Update) -> Subscriber | None:
    """The chat's subscription (active or not), None when it never subscribed."""
    chat = update.effective_chat
    return await offload(app.engine.subscriber, chat.id) if chat is not None else None


def language_for(update: Update, app: BotServices, subscriber: Subscriber | None = None) -> str:
    if subscriber is not None:
        return subscriber.language
    user = update.effective_user
    return language_of(user.language_code if user else None, app.settings.digest.language)


async def chat_language(update: Update, app: BotServices) -> tuple[Subscriber | None, str]:
    """The chat's subscription and the language to answer in."""
    subscriber = await current_subscriber(app, update)
    return subscriber, language_for(update, app, subscriber)


async def active_subscriber(update: Update, app: BotServices) -> Subscriber | None:
    """The chat's active subscription, or a reply saying to /start first."""
    subscriber = await current_subscriber(app, update)
    if subscriber is None or not subscriber.active:
        await reply(update, text(language_for(update, app, subscriber), "not_subscribed"))
        return None
    return subscriber


async def reply(update: Update, message_html: str) -> None:
    message = update.effective_message
    if message is not None:
        await message.reply_text(
            message_html, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW
        )


async def may_change(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Private chats and channels (only admins post there): yes. Groups: admins only."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or chat.type not in (Chat.GROUP, Chat.SUPERGROUP):
        return True
    if message is not None and message.sender_chat is not None:
        return message.sender_chat.id == chat.id  # an anonymous admin posts as the group
    user = update.effective_user
    if user is None:
        return False
    member = await context.bot.get_chat_member(chat.id, user.id)
    if member.status in ADMIN_STATUSES:
        return True
    app = services(context)
    _subscriber, language = await chat_language(update, app)
    await reply(update, text(language, "admins_only"))
    return False
