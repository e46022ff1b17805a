"""The whole bot offline: the real Application against the fake Bot API server.

``Sandbox`` starts both, lets a simulated user write and press buttons, and
knows when the bot has finished with each update (a last handler group marks
it), so a caller can show the conversation as the user would see it.
``newsdigest chat`` types for you; ``newsdigest demo`` follows a script.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.text import Text
from telegram import Update
from telegram.ext import ContextTypes, TypeHandler

from bot.app import BotApplication, build_application
from bot.fake_telegram import FakeTelegram
from bot.render import TelegramRenderer
from bot.services import BotServices, offload
from digests.config import Settings
from digests.engine import Engine, utc_now
from digests.store.db import Database
from digests.store.deliveries import ledger_counts, unsettled

LAST_GROUP = 1_000_000


@dataclass(frozen=True, slots=True)
class Shown:
    """One bot message as the user sees it."""

    text: str
    buttons: list[list[tuple[str, str]]]  # rows of (label, callback data)
    edit: bool


def _buttons(markup: Any) -> list[list[tuple[str, str]]]:
    if not isinstance(markup, dict):
        return []
    return [
        [(str(b.get("text", "")), str(b.get("callback_data", ""))) for b in row]
        for row in markup.get("inline_keyboard", [])
    ]


class Sandbox:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        clock: Callable[[], datetime] = utc_now,
        poll_seconds: float = 0.5,
        timed_jobs: bool = False,
    ) -> None:
        self.settings = settings
        self.timed_jobs = timed_jobs
        self.db = db
        self.engine = Engine(settings, db, clock=clock, renderer=TelegramRenderer())
        self.telegram = FakeTelegram()
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.application: BotApplication | None = None
        self._handled: dict[int, asyncio.Event] = {}
        self._seen = 0

    async def __aenter__(self) -> Sandbox:
        self.telegram.start()
        application = build_application(
            self.engine,
            self.telegram.token,
            api_url=self.telegram.api_url,
            timed_jobs=self.timed_jobs,
            ingest=False,
            poll_seconds=self.poll_seconds,
        )

        async def handled(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
            self._event(update.update_id).set()

        application.add_handler(TypeHandler(Update, handled), group=LAST_GROUP)
        await application.initialize()
        assert application.post_init is not None
        await application.post_init(application)
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=1)
        self.application = application
        return self

    async def __aexit__(self, *_exc: object) -> None:
        application = self.application
        if application is not None:
            assert application.updater is not None
            await application.updater.stop()
            await application.stop()
            if application.post_stop is not None:
                await application.post_stop(application)
            await application.shutdown()
        self.telegram.stop()

    @property
    def services(self) -> BotServices:
        assert self.application is not None
        found = self.application.bot_data["services"]
        assert isinstance(found, BotServices)
        return found

    def _event(self, update_id: int) -> asyncio.Event:
        return self._handled.setdefault(update_id, asyncio.Event())

    async def say(self, chat_id: int, message: str, timeout: float = 30.0, **user: Any) -> None:
        """The user sends ``message``; returns when the bot has handled it."""
        await self.handled(self.telegram.user_sends(chat_id, message, **user), timeout)

    async def press(self, chat_id: int, message_id: int, data: str, timeout: float = 30.0) -> None:
        await self.handled(self.telegram.press_button(chat_id, message_id, data), timeout)

    async def handled(self, update_id: int, timeout: float = 30.0) -> None:
        """Until the bot has finished with update ``update_id``."""
        await asyncio.wait_for(self._event(update_id).wait(), timeout)

    async def wait_for_messages(self, chat_id: int, count: int, timeout: float = 60.0) -> bool:
        """Until the bot has sent ``count`` messages to ``chat_id`` in all."""
        return await asyncio.to_thread(
            self.telegram.wait_for, lambda: len(self.telegram.sent[chat_id]) >= count, timeout
        )

    async def deliver_now(self, timeout: float = 60.0) -> dict[str, int]:
        """Plan the newest editions and alerts for their subscribers and wait
        until every due message is settled; returns the ledger's counts."""
        await offload(self.engine.plan_deliveries)
        self.services.wake_delivery()
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            with self.db.read() as session:
                settled = unsettled(session, self.clock()) == 0
            if settled:
                with self.db.read() as session:
                    return ledger_counts(session)
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("deliveries still pending")
            await asyncio.sleep(0.05)

    def new_entries(self) -> list[dict[str, Any]]:
        """Transcript entries (user and bot) since the last call."""
        entries = self.telegram.transcript_from(self._seen)
        self._seen += len(entries)
        return entries

    @staticmethod
    def shown(entry: dict[str, Any]) -> Shown:
        return Shown(
            str(entry.get("visible_text", "")),
            _buttons(entry.get("reply_markup")),
            bool(entry.get("edit")),
        )


def show_entries(console: Console, entries: list[dict[str, Any]]) -> None:
    """The conversation as the user sees it: their words, then the bot's messages."""
    for entry in entries:
        if entry["by"] == "user":
            said = entry.get("text") or f"[taps “{entry.get('button')}”]"
            console.print(Text(f"› {said}", style="bold cyan"))
            continue
        shown = Sandbox.shown(entry)
        body = Text(shown.text)
        for row in shown.buttons:
            body.append("\n" + "  ".join(f"[ {label} ]" for label, _ in row), style="green")
        title = "newsdigest_bot (edited)" if shown.edit else "newsdigest_bot"
        console.print(Panel(body, title=title, title_align="left", border_style="blue"))
