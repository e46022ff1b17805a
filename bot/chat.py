"""``newsdigest chat``: type as a Telegram user, see the bot's replies. Offline.

The real bot runs against the fake Bot API server on 127.0.0.1 with the
configured database; nothing is fetched and nothing leaves the machine.
``#2`` taps the second button of the last inline keyboard.
"""

from __future__ import annotations

import asyncio
from typing import Any

from rich.console import Console

from bot.sandbox import Sandbox, show_entries
from bot.services import offload
from digests.config import Settings
from digests.store.db import Database, describe_url

QUIT = {"/quit", "/exit", "quit", "exit"}


def _last_keyboard(entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((e for e in reversed(entries) if Sandbox.shown(e).buttons), None)


async def _chat(settings: Settings, db: Database, console: Console, chat_id: int) -> None:
    history: list[dict[str, Any]] = []
    async with Sandbox(settings, db) as sandbox:
        console.print(
            f"You are a Telegram user (chat {chat_id}) talking to the bot, offline. "
            "Try /start, /today, /sources, /lang en, /help. "
            "#N taps button N of the last keyboard; /quit or Ctrl-D leaves.",
            markup=False,
        )
        if not await offload(sandbox.engine.article_count):
            console.print(
                f"(The database {describe_url(settings.database_url)} holds no articles yet: "
                "run `newsdigest demo` and use its database, or add sources and fetch.)",
                markup=False,
            )
        while True:
            try:
                line = (await asyncio.to_thread(input, "› ")).strip()
            except EOFError:
                break
            if not line:
                continue
            if line.lower() in QUIT:
                break
            if line.startswith("#") and line[1:].isdigit():
                keyboard = _last_keyboard(history)
                buttons = (
                    [b for row in Sandbox.shown(keyboard).buttons for b in row] if keyboard else []
                )
                number = int(line[1:])
                if keyboard is None or not 1 <= number <= len(buttons):
                    console.print(f"(no button {number} to tap)", markup=False)
                    continue
                await sandbox.press(chat_id, int(keyboard["message_id"]), buttons[number - 1][1])
            else:
                await sandbox.say(chat_id, line)
            replies = [e for e in sandbox.new_entries() if e["by"] == "bot"]
            history.extend(replies)
            show_entries(console, replies)


def run_chat(settings: Settings, db: Database, console: Console, *, chat_id: int) -> int:
    asyncio.run(_chat(settings, db, console, chat_id))
    db.close()
    return 0
