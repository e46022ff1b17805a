"""The ``newsdigest`` command line: thin wiring over the engine.

One module per job, each with ``register(commands, groups)``: ``commands`` is
the top-level subparsers object; ``groups`` holds the subparsers of command
groups by name (``"sources"``, ``"db"``, ...), put there by the module that
makes the group, so that another module may add actions to it. A command
parses its arguments, calls one ``Engine`` use case and prints the result.
``main(argv, modules=...)`` runs one command; ``bot/cli.py`` calls it with
these modules plus the bot's own (run, worker, chat, demo, doctor).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from digests import __version__
from digests.cli import (
    articles,
    db,
    editions,
    fetch,
    scheduler,
    search,
    sources,
    subscribers,
    summarize,
    web,
)
from digests.cli.common import EXIT_ERROR, configure_logging, say_error
from digests.config import Settings, load_settings
from digests.engine import apply_text_settings
from digests.errors import NewsdigestError

# The engine's commands, in the order ``newsdigest --help`` lists them.
MODULES: tuple[ModuleType, ...] = (
    fetch,
    sources,
    articles,
    summarize,
    editions,
    subscribers,
    search,
    db,
    web,
    scheduler,
)


def build_parser(modules: Sequence[ModuleType] = MODULES) -> argparse.ArgumentParser:
    """The parser with the commands of every module in ``modules``."""
    parser = argparse.ArgumentParser(prog="newsdigest", description="Reads the news for you.")
    parser.add_argument("--version", action="version", version=f"newsdigest {__version__}")
    parser.add_argument("--config", type=Path, help="config file (default: ./config.toml)")
    parser.add_argument(
        "--log-json", action="store_true", help="log one JSON object per line (or log_json = true)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    groups: dict[str, Any] = {}
    for module in modules:
        module.register(commands, groups)
    return parser


def main(argv: Sequence[str] | None = None, modules: Sequence[ModuleType] = MODULES) -> int:
    """Run one command of ``modules``."""
    argv = search.query_words_as_typed(sys.argv[1:] if argv is None else argv)
    args = build_parser(modules).parse_args(argv)
    try:
        settings = (
            load_settings(args.config) if getattr(args, "needs_settings", True) else Settings()
        )
        configure_logging(settings.log_level, json_lines=args.log_json or settings.log_json)
        apply_text_settings(settings)
        return int(args.run(args, settings))
    except NewsdigestError as exc:
        say_error(f"newsdigest: error: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
