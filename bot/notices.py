"""Notices to the operators (``bot.admin_ids``): a source paused after
permanent failures is told to each admin once, in private, after the fetch
round that paused it (or, for a pause made by another process, after this
process's next round)."""

from __future__ import annotations

import asyncio
import logging
from zoneinfo import ZoneInfo

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.handlers.common import NO_PREVIEW
from bot.i18n import language_of, text
from digests.engine import Engine
from digests.store.sources import PausedSource

log = logging.getLogger("newsdigest.bot")


def pause_notice(source: PausedSource, language: str, zone: str) -> str:
    """The message (Telegram HTML, the source's name and reason escaped)."""
    since = f"{source.paused_at.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}"
    return text(
        language, "pause_notice", id=source.id, name=source.name, reason=source.reason, since=since
    )


def _admin_language(engine: Engine, admin: int) -> str:
    """The admin's language as a subscriber, else the digest's."""
    subscriber = engine.subscriber(admin)
    if subscriber is not None:
        return subscriber.language
    return language_of(None, engine.settings.digest.language)


async def tell_admins_of_pauses(bot: Bot, engine: Engine) -> int:
    """One message to each admin for every pause not told yet. Pauses are
    claimed before the messages go: a pause is never told twice, even when a
    message fails (that failure is one log line). Returns the messages sent."""
    admins = engine.settings.bot.admin_ids
    if not admins:
        return 0
    paused = await asyncio.to_thread(engine.claim_pause_notices)
    if not paused:
        return 0
    zone = engine.settings.digest.timezone
    sent = 0
    for admin in admins:
        language = await asyncio.to_thread(_admin_language, engine, admin)
        for source in paused:
            sent += await _send(bot, admin, source, pause_notice(source, language, zone))
    return sent


async def _send(bot: Bot, admin: int, source: PausedSource, message: str) -> int:
    try:
        await bot.send_message(
            admin, message, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW
        )
    except TelegramError as exc:
        log.warning(
            "admin %d was not told that source #%d was paused: %s: %s",
            admin,
            source.id,
            type(exc).__name__,
            exc.message,
        )
        return 0
    return 1
