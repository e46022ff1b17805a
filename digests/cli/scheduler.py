"""``newsdigest run-scheduler``: the periodic work without a bot (build editions
on schedule, catching up at start; fetch due sources every minute)."""

from __future__ import annotations

import argparse
from typing import Any

from digests.cli.common import EXIT_OK, open_engine, serve_until_signalled
from digests.config import Settings
from digests.store.sole import sole_process


def cmd_run_scheduler(_args: argparse.Namespace, settings: Settings) -> int:
    from digests.runtime import run_scheduler

    engine = open_engine(settings)
    try:
        with sole_process(engine.db, "run-scheduler"):
            serve_until_signalled(engine, lambda stop: run_scheduler(engine, stop))
    finally:
        engine.close()
    return EXIT_OK


def register(commands: Any, groups: dict[str, Any]) -> None:
    scheduler = commands.add_parser(
        "run-scheduler", help="build editions on schedule and fetch due sources (no bot)"
    )
    scheduler.set_defaults(run=cmd_run_scheduler)
