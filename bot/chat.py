"""``newsdigest chat``: type as a Telegram user, see the bot's replies. Offline.

The real bot runs against the fake Bot API server on 127.0.0.1; nothing is
fetched and nothing leaves the machine. ``#2`` taps the second button of the
last inline keyboard.

The session has a database of its own, never the configured one (where the
simulated user's /start would be a subscriber the real bot then delivers to):
a SQLite file in a new temporary directory, its search index beside it,
deleted when the session ends. So each session starts from a known state and
leaves nothing behind that could be taken for, or configured as, a real
database. It starts empty; with ``--copy-database`` it starts as a copy of the
configured database (SQLite or PostgreSQL, read in one snapshot and never
written; the copy's search index is built anew, as ``db migrate-to`` does).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from bot.sandbox import Sandbox, show_entries
from bot.services import offload
from digests.cli.db import migrate_with_progress
from digests.config import Settings
from digests.engine import Engine
from digests.store.db import Database, describe_url

QUIT = {"/quit", "/exit", "quit", "exit"}


def _last_keyboard(entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((e for e in reversed(entries) if Sandbox.shown(e).buttons), None)


@dataclass(frozen=True, slots=True)
class SandboxDatabase:
    settings: Settings  # the configured settings, with the sandbox's database and index
    made_from: str  # what it started as, for the operator


@contextmanager
def sandbox_database(settings: Settings, *, copy: bool) -> Iterator[SandboxDatabase]:
    """A database for one chat session, removed when the block ends: empty, or
    with ``copy`` a copy of the configured database, which is only read."""
    with tempfile.TemporaryDirectory(prefix="newsdigest-chat-") as directory:
        # Not search.index_dir: that names the configured database's index.
        search = settings.search.model_copy(update={"index_dir": ""})
        url = f"sqlite:///{Path(directory) / 'sandbox.db'}"
        sandbox = settings.model_copy(update={"database_url": url, "search": search})
        made_from = "new and empty"
        if copy:
            configured = Engine.open_as_is(settings.model_copy(update={"search": search}))
            try:
                migrate_with_progress(configured, url)
            finally:
                configured.close()
            made_from = f"a copy of {describe_url(settings.database_url)}, which is only read"
        yield SandboxDatabase(sandbox, made_from)


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
                "(The sandbox database holds no articles: `newsdigest chat --copy-database` "
                "talks over a copy of the configured database; `newsdigest demo` makes one "
                "with news in it.)",
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
            # Only this chat's: a copied database may hold deliveries due to others.
            entries = sandbox.new_entries()
            replies = [e for e in entries if e["by"] == "bot" and e["chat_id"] == chat_id]
            history.extend(replies)
            show_entries(console, replies)


def run_chat(sandbox: SandboxDatabase, console: Console, *, chat_id: int) -> int:
    """The session over ``sandbox``'s database, saying first which one it is."""
    console.print(
        f"sandbox database: {describe_url(sandbox.settings.database_url)} "
        f"({sandbox.made_from}; deleted when you leave, the configured database is never written)",
        markup=False,
        soft_wrap=True,
    )
    db = Database(sandbox.settings.database_url)
    try:
        db.upgrade()
        asyncio.run(_chat(sandbox.settings, db, console, chat_id))
    finally:
        db.close()
    return 0
