"""Chat input without NUL characters, for every handler at once.

Telegram passes a NUL through in message text, a user's or a chat's name, a
button's data or an inline query; PostgreSQL's text type cannot hold one, so
``/alert a<NUL>b`` or a ``/start`` from a user whose first name has one would
end in "something went wrong" with nothing saved. Each update is cleaned once,
as it arrives, before any handler reads it; an update without NULs (nearly
all) is passed on untouched. Feed text is cleaned where it is decoded
(``digests.text.encoding``).
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Bot, Update
from telegram.ext import Application

log = logging.getLogger("newsdigest.bot")


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {key: _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def without_nul(update: Update, bot: Bot) -> Update:
    """``update`` with every NUL removed from its text (the same object when it has none)."""
    data = update.to_dict()
    if not _has_nul(data):
        return update
    try:
        cleaned = Update.de_json(_without_nul(data), bot)
    except Exception:  # never lose an update over its cleaning: handlers see it as sent
        log.warning("update %s: could not remove its NUL characters", update.update_id)
        return update
    return cleaned if cleaned is not None else update


class CleanInputApplication(Application):  # type: ignore[type-arg]
    """The Application, handing its handlers updates without NULs."""

    async def process_update(self, update: object) -> None:
        if isinstance(update, Update):
            update = without_nul(update, self.bot)
        await super().process_update(update)
