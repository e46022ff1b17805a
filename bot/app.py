"""The bot process: python-telegram-bot's Application wired to the engine.

One process does it all: long polling for chat commands, the runtime's jobs
(``digests.runtime``) on PTB's JobQueue, and the delivery loop. The same
wiring runs against Telegram (``newsdigest run``) and against the fake Bot API
server (``newsdigest demo`` / ``newsdigest chat``, the tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
from collections.abc import Iterator
from datetime import time, tzinfo
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from telegram import BotCommand, Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, JobQueue

from bot.delivery import Deliverer
from bot.handlers import add_handlers
from bot.handlers.common import reply
from bot.i18n import COMMANDS, text
from bot.inbound import CleanInputApplication
from bot.notices import tell_admins_of_pauses
from bot.render import TelegramRenderer
from bot.services import BotServices
from digests.engine import Engine
from digests.errors import ConfigError
from digests.redact import register_secret
from digests.runtime import Runtime, Work, job_options

log = logging.getLogger("newsdigest.bot")

# "123456789:AA..." as @BotFather issues them.
TOKEN_SHAPE = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{20,100}$")
BotApplication = Application[Any, Any, Any, Any, Any, Any]


def check_token(token: str) -> str:
    """The token, registered as a secret; a missing or malformed one is a ConfigError."""
    token = token.strip()
    if not token:
        raise ConfigError(
            "no bot token: set NEWSDIGEST_BOT_TOKEN (or bot_token in the config file); "
            "try `newsdigest chat` to use the bot offline without one"
        )
    register_secret(token)
    if not TOKEN_SHAPE.match(token):
        raise ConfigError(
            "the bot token is malformed: expected digits, a colon and 20+ letters, "
            "as @BotFather gives it (the token itself is not shown)"
        )
    return token


async def finish(tasks: list[asyncio.Task[None]], timeout: float = 30) -> None:
    """Let stopped background tasks end (an unsent row stays pending); cancel a
    task that does not end in time."""
    for task in tasks:
        try:
            await asyncio.wait_for(task, timeout=timeout)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()


@contextlib.contextmanager
def telegram_start_errors() -> Iterator[None]:
    """At start, a rejected token or an unreachable Bot API is one clear line."""
    try:
        yield
    except InvalidToken as exc:
        raise ConfigError("Telegram rejected the bot token (401 Unauthorized)") from exc
    except TelegramError as exc:
        raise ConfigError(f"cannot reach the Telegram Bot API: {exc.message}") from exc


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    error = context.error
    where = ""
    if isinstance(update, Update) and update.effective_chat is not None:
        where = f"chat {update.effective_chat.id}: "
    log.error(
        "%shandler failed: %s: %s",
        where,
        type(error).__name__,
        error,
        exc_info=(type(error), error, error.__traceback__) if error is not None else None,
    )
    if isinstance(update, Update) and not isinstance(error, TelegramError):
        with contextlib.suppress(TelegramError):
            await reply(update, text("zh" if _speaks_chinese(update) else "en", "error"))


def _polling_error(error: TelegramError) -> None:
    """Polling keeps retrying on its own; one line per failure, no traceback."""
    log.warning("telegram polling: %s: %s", type(error).__name__, error.message)


def _speaks_chinese(update: Update) -> bool:
    user = update.effective_user
    return bool(user and (user.language_code or "").startswith("zh"))


async def register_commands(application: BotApplication) -> None:
    """The command menu, in English by default and in Chinese for Chinese clients."""
    for language, language_code in (("en", None), ("en", "en"), ("zh", "zh")):
        await application.bot.set_my_commands(
            [BotCommand(name, about) for name, about in COMMANDS[language]],
            language_code=language_code,
        )


# How long a thread holding the interpreter (summarizing, storing) may keep the
# event loop waiting before it must hand over: Python's default is 5 ms, and a
# loop that needs it a few hundred times per reply fell seconds behind.
LOOP_SWITCH_INTERVAL = 0.0005


def answer_promptly() -> None:
    """Let the event loop win the interpreter back quickly from busy threads."""
    sys.setswitchinterval(min(sys.getswitchinterval(), LOOP_SWITCH_INTERVAL))


def telegram_engine(engine: Engine) -> Engine:
    """``engine`` with the bot's message renderer (Telegram HTML)."""
    if engine.renderer is None:
        engine.renderer = TelegramRenderer()
    return engine


def build_application(
    engine: Engine,
    token: str,
    *,
    api_url: str | None = None,
    timed_jobs: bool = True,
    ingest: bool = True,
    poll_seconds: float = 5.0,
) -> BotApplication:
    """The Application with handlers, the runtime's jobs and the delivery loop
    (started by PTB's lifecycle: ``post_init`` starts them, ``post_stop`` ends them)."""
    settings = telegram_engine(engine).settings
    app_services = BotServices(engine=engine)
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    async def post_init(application: BotApplication) -> None:
        engine.warm_up(parser=timed_jobs and ingest)  # before polling: no chat waits on it
        answer_promptly()
        await register_commands(application)
        deliverer = Deliverer(application.bot, engine, poll_seconds=poll_seconds)
        app_services.deliverer = deliverer

        async def tell_admins(_outcomes: object) -> None:
            await tell_admins_of_pauses(application.bot, engine)

        engine.after_refresh = tell_admins
        if timed_jobs and application.job_queue is not None:
            runtime = Runtime(
                engine,
                JobQueueHost(application.job_queue),
                ingest=ingest,
                on_built=deliverer.wake.set,
            )
            await runtime.start()
            app_services.reschedule = runtime.sync_schedules
        tasks.append(asyncio.create_task(deliverer.run(stop), name="delivery"))

    async def post_stop(_application: BotApplication) -> None:
        stop.set()
        await finish(tasks)

    application = (
        ApplicationBuilder()
        .application_class(CleanInputApplication)
        .token(token)
        .base_url(api_url or settings.bot.api_url)
        # Room for every concurrent delivery plus replies to commands.
        .connection_pool_size(max(256, settings.delivery.concurrency + 32))
        .post_init(post_init)
        .post_stop(post_stop)
        .build()
    )
    application.bot_data["services"] = app_services
    add_handlers(application)
    application.add_error_handler(_on_error)
    return application


async def run_polling_until(application: BotApplication, stop: asyncio.Event) -> None:
    """Start ``application`` (long polling), run until ``stop``, shut down cleanly."""
    with telegram_start_errors():
        await application.initialize()
    try:
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(
            poll_interval=0,
            timeout=10,
            drop_pending_updates=False,
            error_callback=_polling_error,
        )
        await stop.wait()
    finally:
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        if application.post_stop is not None:
            await application.post_stop(application)
        await application.shutdown()


class JobQueueHost:
    """The runtime's jobs on python-telegram-bot's JobQueue (its APScheduler)."""

    def __init__(self, job_queue: JobQueue[Any]) -> None:
        self.job_queue = job_queue

    def every(self, name: str, seconds: float, first: float, work: Work, grace: int) -> None:
        async def callback(_context: ContextTypes.DEFAULT_TYPE) -> None:
            await work()

        # PTB cannot start an interval job at 0 (APScheduler then waits a whole
        # interval); a second from now is "at once" and still misfire-safe.
        self.job_queue.run_repeating(
            callback, seconds, first=max(first, 1), name=name, job_kwargs=job_options(name, grace)
        )

    def daily(self, name: str, at: time, work: Work, grace: int) -> None:
        async def callback(_context: ContextTypes.DEFAULT_TYPE) -> None:
            await work()

        self.job_queue.run_daily(callback, at, name=name, job_kwargs=job_options(name, grace))

    def daily_jobs(self) -> dict[str, tzinfo | None]:
        return {
            job.name: getattr(job.job.trigger, "timezone", None)
            for job in self.job_queue.jobs()
            if job.name and isinstance(job.job.trigger, CronTrigger)
        }

    def remove(self, name: str) -> None:
        for job in self.job_queue.get_jobs_by_name(name):
            job.schedule_removal()
