"""/help, and a friendly answer to anything else typed in a private chat."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.common import chat_language, reply
from bot.i18n import command_list, text
from bot.services import services


async def show_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    _subscriber, language = await chat_language(update, services(context))
    await reply(update, text(language, "help", commands=command_list(language)))


async def fallback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    _subscriber, language = await chat_language(update, services(context))
    await reply(update, text(language, "fallback"))
