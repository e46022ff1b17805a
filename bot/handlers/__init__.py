"""Thin chat handlers: parse the update, call the engine, reply from bot/i18n."""

from __future__ import annotations

from typing import Any

from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.handlers.admin import ADMIN_COMMANDS, sources_command
from bot.handlers.alerts import add_alert, follow, list_filters, mute, remove_button
from bot.handlers.editions import today
from bot.handlers.help import fallback, show_help
from bot.handlers.preferences import (
    set_language,
    set_time,
    set_timezone,
    source_button,
)
from bot.handlers.search import inline_search, page_button, search_command, search_text
from bot.handlers.subscription import membership, migrated, start, stop

# Commands work in private chats and groups (messages) and in channels (posts).
IN_CHATS = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST


def add_handlers(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    for names, callback in (
        (("start",), start),
        (("stop", "unsubscribe"), stop),
        (("today",), today),
        (("time",), set_time),
        (("timezone", "tz"), set_timezone),
        (("lang", "language"), set_language),
        (("sources",), sources_command),
        (("search", "s"), search_command),
        (("alert",), add_alert),
        (("mute",), mute),
        (("follow",), follow),
        (("filters", "alerts"), list_filters),
        (("help",), show_help),
        *ADMIN_COMMANDS,
    ):
        application.add_handler(CommandHandler(list(names), callback, filters=IN_CHATS))
    application.add_handler(CallbackQueryHandler(source_button, pattern=r"^src:"))
    application.add_handler(CallbackQueryHandler(page_button, pattern=r"^sp:"))
    application.add_handler(CallbackQueryHandler(remove_button, pattern=r"^rm:"))
    application.add_handler(InlineQueryHandler(inline_search))
    application.add_handler(ChatMemberHandler(membership, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, migrated))
    # In a private chat, typed words are a search; an unknown command gets help.
    application.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, search_text)
    )
    application.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.COMMAND, fallback))
