"""``newsdigest``: the engine's commands (``digests.cli``) plus the bot's.

The bot's commands are registered the same way as the engine's: a list of
modules, each with ``register(commands, groups)``. This module is one of them
(run, worker, chat, demo); ``bot.doctor`` is the other.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from rich.console import Console

from bot import doctor
from digests import cli
from digests.cli.common import EXIT_OK, open_engine, serve_until_signalled
from digests.config import Settings
from digests.engine import Engine
from digests.store.sole import sole_process


def _until_signalled(
    engine: Engine, command: str, serve: Callable[[asyncio.Event], Awaitable[None]]
) -> int:
    """Run ``serve(stop)`` with the metrics endpoint up, until SIGINT or SIGTERM;
    on SQLite only while no other long-running process has the database."""
    from digests.metrics import database_healthy
    from digests.web.server import serve_http

    with sole_process(engine.db, command):
        endpoint = serve_http(
            engine.settings.metrics, lambda: database_healthy(engine.db), engine=engine
        )
        try:
            serve_until_signalled(engine, serve)
        finally:
            if endpoint is not None:
                endpoint.close()
    return EXIT_OK


def cmd_run(_args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import build_application, check_token, run_polling_until

    token = check_token(settings.bot_token.get_secret_value())
    engine = open_engine(settings)
    try:
        return _until_signalled(
            engine, "run", lambda stop: run_polling_until(build_application(engine, token), stop)
        )
    finally:
        engine.close()


def cmd_worker(_args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import check_token
    from bot.worker import require_shared_database, run_worker

    token = check_token(settings.bot_token.get_secret_value())
    engine = open_engine(settings)
    try:
        require_shared_database(engine.db)
        return _until_signalled(engine, "worker", lambda stop: run_worker(engine, token, stop))
    finally:
        engine.close()


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.chat import run_chat, sandbox_database

    if settings.log_level.upper() != "DEBUG":  # the conversation, not the bot's routine
        logging.getLogger().setLevel(logging.WARNING)
    with sandbox_database(settings, copy=args.copy_database) as sandbox:
        return run_chat(sandbox, Console(), chat_id=args.chat_id)


def cmd_demo(args: argparse.Namespace, _settings: Settings) -> int:
    from bot.demo import run_demo

    return run_demo(Path(args.data_dir))


def register(commands: Any, groups: dict[str, Any]) -> None:
    run = commands.add_parser(
        "run", help="run the Telegram bot (token: NEWSDIGEST_BOT_TOKEN or bot_token)"
    )
    run.set_defaults(run=cmd_run)
    worker = commands.add_parser(
        "worker",
        help="fetch, build and deliver without chat polling (several may share PostgreSQL)",
    )
    worker.set_defaults(run=cmd_worker)
    chat = commands.add_parser(
        "chat",
        help="talk to the bot offline as a Telegram user, in a throwaway database "
        "(no token, no network)",
    )
    chat.add_argument("--chat-id", type=int, default=10001, help="your simulated chat id")
    chat.add_argument(
        "--copy-database",
        action="store_true",
        help="start from a copy of the configured database (only read) instead of an empty one",
    )
    chat.set_defaults(run=cmd_chat)
    demo = commands.add_parser(
        "demo", help="offline demo: feeds, summaries, and a subscriber receiving the edition"
    )
    demo.add_argument("--data-dir", default="data/demo", help="where the demo database goes")
    demo.set_defaults(run=cmd_demo, needs_settings=False)


# The bot's commands, after the engine's in ``newsdigest --help``.
MODULES: tuple[ModuleType, ...] = (sys.modules[__name__], doctor)


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main(argv, modules=[*cli.MODULES, *MODULES])


if __name__ == "__main__":
    sys.exit(main())
