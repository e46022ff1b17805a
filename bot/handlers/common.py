"""What the command handlers share: who is asking, in which language, replies."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import Chat, LinkPreviewOptions, Update
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.ext import ContextTypes

from bot.i18n import language_of, text
from bot.services import BotServices, services
from digests.config import ScheduleSettings
from digests.schedule import next_local_time, next_slot
from digests.store.models import Subscriber
from digests.store.subscribers import find_subscriber

ADMIN_STATUSES = {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR}
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def current_subscriber(app: BotServices, chat_id: int) -> Subscriber | None:
    with app.db.read() as session:
        return find_subscriber(session, chat_id)


def language_for(update: Update, app: BotServices, subscriber: Subscriber | None = None) -> str:
    if subscriber is not None:
        return subscriber.language
    user = update.effective_user
    return language_of(user.language_code if user else None, app.settings.digest.language)


def next_delivery(
    app: BotServices, spec: ScheduleSettings, subscriber: Subscriber | None, now: datetime
) -> tuple[str, str]:
    """The next delivery time as the subscriber reads it, and its time zone."""
    zone_name = (subscriber.timezone if subscriber else None) or spec.timezone
    zone = ZoneInfo(zone_name)
    if subscriber is not None and subscriber.delivery_time:
        moment = next_local_time(now, subscriber.delivery_time, zone)
    else:
        moment = next_slot(spec, now).fire_at
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M}", zone_name


async def active_subscriber(update: Update, app: BotServices) -> Subscriber | None:
    """The chat's active subscription, or a reply saying to /start first."""
    chat = update.effective_chat
    subscriber = current_subscriber(app, chat.id) if chat else None
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
    await reply(
        update,
        text(language_for(update, app, current_subscriber(app, chat.id)), "admins_only"),
    )
    return False
