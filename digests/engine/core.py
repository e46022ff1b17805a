"""What one engine owns: settings, database, clock, renderer, search index, parser pool."""

from __future__ import annotations

import gc
import threading
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from digests.config import Settings
from digests.editions.planning import Renderer
from digests.errors import ConfigError
from digests.ingest.isolation import ParserPool
from digests.search.base import SearchIndex
from digests.search.factory import open_search_index
from digests.sources.refresh import SourceOutcome, parser_pool
from digests.store.db import Database
from digests.text.tokens import load_segmenter


def utc_now() -> datetime:
    return datetime.now(UTC)


def apply_text_settings(settings: Settings) -> None:
    from digests.text.tokens import configure_user_dictionary

    path = settings.text.user_dictionary
    if not path:
        return
    if not Path(path).is_file():
        raise ConfigError(f"text.user_dictionary: no such file {path!r}")
    configure_user_dictionary(Path(path))


class EngineCore:
    """The resources every use case works with; built once per process."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        clock: Callable[[], datetime] = utc_now,
        renderer: Renderer | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.renderer = renderer
        self._parser: ParserPool | None = None
        self._search_index: SearchIndex | None = None
        self._interrupted = threading.Event()
        # Run after each of the periodic work's fetch rounds, with its outcomes:
        # the bot tells its admins of sources paused (set in its post_init).
        self.after_refresh: Callable[[Sequence[SourceOutcome]], Awaitable[None]] | None = None

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utc_now,
        renderer: Renderer | None = None,
    ) -> Self:
        """The engine for ``settings``: database opened and upgraded, segmenter
        configured."""
        apply_text_settings(settings)
        db = Database(settings.database_url)
        db.upgrade()
        return cls(settings, db, clock=clock, renderer=renderer)

    def interrupt(self) -> None:
        """Ask long work running in threads (the summarize stage) to stop after
        its current batch; what is left waits for the next run. For shutdown:
        it stays set."""
        self._interrupted.set()

    @property
    def interrupted(self) -> bool:
        return self._interrupted.is_set()

    def close(self) -> None:
        if self._parser is not None:
            self._parser.close()
            self._parser = None
        self.db.close()

    def warm_up(self, *, parser: bool = True) -> None:
        """Pay the one-time costs before serving: the segmenter's dictionary (its
        load holds the interpreter for 0.1 s with rjieba, 0.7 s with jieba, which
        would stall the event loop if it happened in a worker thread mid-service)
        and the parser processes.

        Then what is loaded stays out of garbage collection (``gc.freeze``): a
        full collection walks every tracked object holding the interpreter, and
        over the start-up heap of a bot it took 60-110 ms, whatever thread it
        happened in (``benchmarks/results/loopprobe.md``)."""
        load_segmenter()
        if parser:
            self.parser().start()
        gc.collect()
        gc.freeze()

    def parser(self) -> ParserPool:
        """The worker processes that parse fetched feeds and do summarizing's CPU
        work (started on first use). Each loads the segmenter's dictionary as it
        starts (rjieba: about 0.1 s and 32 MB), before it takes a task."""
        if self._parser is None:
            self._parser = parser_pool(self.settings.fetch, warm=load_segmenter)
        return self._parser

    @property
    def search_index(self) -> SearchIndex:
        """The database's search index, chosen once from ``settings.search`` (on
        first use: a tantivy directory is only made for what needs it)."""
        if self._search_index is None:
            self._search_index = open_search_index(self.settings.search, self.db)
        return self._search_index

    def _renderer(self) -> Renderer:
        if self.renderer is None:
            raise ConfigError("this engine was built without a message renderer")
        return self.renderer
