"""What the command modules share: exit codes, one-line errors, logging,
progress bars and the engine a command works on.

Bad input is one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from digests.config import Settings
from digests.engine import Engine
from digests.redact import install_filter, redact
from digests.sources.refresh import SourceOutcome

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
err_console = Console(stderr=True)


def say_error(message: str) -> None:
    """One line on stderr, never wrapped or styled."""
    print(" ".join(redact(message).split()), file=sys.stderr)


def configure_logging(level: str, json_lines: bool = False) -> None:
    from digests.logformat import PLAIN_FORMAT, JsonLinesFormatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLinesFormatter() if json_lines else logging.Formatter(PLAIN_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    logging.getLogger().setLevel(level.upper())  # also when logging was set up before
    # httpx logs every request URL at INFO; URLs can carry secrets (tokens).
    for noisy in ("httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    install_filter()


def progress_bar(
    label: str = "[progress.description]{task.description}", *, quiet: bool = False
) -> Progress:
    """A progress bar on stderr for long work (count, elapsed time), gone when
    done; off when ``quiet`` or when stderr is not a terminal."""
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=quiet or not err_console.is_terminal,
        transient=True,
    )


def serve_until_signalled(
    engine: Engine, serve: Callable[[asyncio.Event], Awaitable[None]]
) -> None:
    """Run ``serve(stop)`` until SIGINT or SIGTERM sets ``stop``; the signal also
    interrupts the engine's work in threads (it ends after its current batch),
    so the process does not wait for a whole summarize run to stop."""

    async def main() -> None:
        stop = asyncio.Event()

        def stop_serving() -> None:
            stop.set()
            engine.interrupt()

        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop_serving)
        await serve(stop)

    asyncio.run(main())


def open_engine(settings: Settings) -> Engine:
    """The engine for a command: database opened and upgraded."""
    return Engine.open(settings)


def run_fetch(engine: Engine, *, force: bool, quiet: bool = False) -> list[SourceOutcome]:
    """One fetch round by hand (``engine.fetch_now``) with a progress bar."""
    with progress_bar(quiet=quiet) as progress:
        task = progress.add_task("fetching sources", total=None)

        def start(total: int) -> None:
            progress.update(task, total=total)

        def done(_outcome: SourceOutcome) -> None:
            progress.advance(task)

        return asyncio.run(engine.fetch_now(force=force, on_start=start, on_done=done))
