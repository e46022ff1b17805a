"""Use cases of the periodic work, in the order the runtime runs them, and their by-hand forms."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from digests.editions.build import BuiltEdition
from digests.editions.planning import plan_alerts, plan_deliveries
from digests.editions.schedule import EditionRunner, Slot
from digests.engine.core import EngineCore
from digests.errors import NewsdigestError
from digests.ingest.isolation import ParserPool
from digests.sources.folders import ingest_files
from digests.sources.refresh import SourceOutcome, fetch_due
from digests.store import deliveries as ledger
from digests.store.articles import SaveResult
from digests.summarize.analysis import Analysis, NotAnalyzed, analyze_batch
from digests.summarize.stage import index_stored, summarize_stored

log = logging.getLogger("newsdigest.summarize")
ingest_log = logging.getLogger("newsdigest.ingest")

# Articles per task sent to a worker process: small enough that reading the
# answer back is a few milliseconds of the interpreter's time.
ANALYSIS_CHUNK = 50


class PeriodicWork(EngineCore):
    async def refresh_sources(
        self,
        *,
        force: bool = False,
        on_start: Callable[[int], None] | None = None,
        on_done: Callable[[SourceOutcome], None] | None = None,
    ) -> list[SourceOutcome]:
        """Fetch or scan every due source and store what is new (not summarized);
        then ``after_refresh``, whose failure is logged and stops nothing."""
        outcomes = await fetch_due(
            self.db,
            self.settings.fetch,
            force=force,
            on_start=on_start,
            on_done=on_done,
            parser=self.parser(),
            digest_timezone=self.settings.digest.timezone,
        )
        if self.after_refresh is not None:
            try:
                await self.after_refresh(outcomes)
            except Exception:  # a bug: its stack, once; the round's work stands
                ingest_log.exception("after the fetch round")
        return outcomes

    def summarize_new(self) -> int:
        """Summarize and index every stored article that needs it; returns how many.
        Where this engine runs parser processes, the segmenting and ranking run
        there too: a bot's threads then only read and write."""
        return summarize_stored(
            self.db,
            self.search_index,
            analyze=self.analyze_articles,
            interrupted=lambda: self.interrupted,
        )

    def analyze_articles(
        self, articles: Sequence[tuple[str | None, str]]
    ) -> list[Analysis | NotAnalyzed]:
        """``analyze_batch`` in the parser processes when this engine has them
        started, else here. Blocking."""
        configured = self.settings.text.user_dictionary
        dictionary = str(Path(configured).resolve()) if configured else None
        pool = self._parser
        if pool is None:
            return analyze_batch(articles, dictionary)
        results: list[Analysis | NotAnalyzed] = []
        for start in range(0, len(articles), ANALYSIS_CHUNK):
            results += self._analyze_in(pool, articles[start : start + ANALYSIS_CHUNK], dictionary)
        return results

    def _analyze_in(
        self, pool: ParserPool, articles: Sequence[tuple[str | None, str]], dictionary: str | None
    ) -> list[Analysis | NotAnalyzed]:
        try:
            return pool.run_sync(analyze_batch, articles, dictionary)
        except NewsdigestError as exc:  # past the budget, or the process died
            if pool.closed:  # shutting down: nothing to retry on
                raise
            if len(articles) == 1:
                return [NotAnalyzed(f"the summarizing process failed: {exc}", "")]
            log.warning(
                "summarize: a batch of %d failed in the worker process (%s); "
                "trying its articles one by one",
                len(articles),
                exc,
            )
            return [
                item
                for article in articles
                for item in self._analyze_in(pool, [article], dictionary)
            ]

    def index_missing(self, on_progress: Callable[[int, int], None] | None = None) -> int:
        """Index summarized articles the search index does not hold."""
        return index_stored(self.db, self.search_index, on_progress=on_progress)

    def reindex(self, on_progress: Callable[[int, int], None] | None = None) -> int:
        """Empty the search index and index every summarized article again
        (``IndexBusy`` while another process writes the index)."""
        with self.db.write() as session:
            self.search_index.clear(session)
        return index_stored(self.db, self.search_index, on_progress=on_progress)

    def build_due_editions(
        self, on_built: Callable[[Slot, BuiltEdition], None] | None = None
    ) -> list[tuple[Slot, BuiltEdition]]:
        """Build the latest due slot of every schedule unless it exists already."""
        runner = EditionRunner(self.db, self.settings, clock=self.clock, on_built=on_built)
        return runner.catch_up()

    def plan_deliveries(self) -> int:
        """Ledger rows for subscribers missing their schedule's newest edition,
        and for new articles matching alerts."""
        renderer = self._renderer()
        now = self.clock()
        planned = plan_deliveries(self.db, self.settings, renderer, now)
        planned += plan_alerts(self.db, self.search_index, self.settings, renderer, now)
        with self.db.write() as session:
            ledger.skip_inactive(session)
        return planned

    def ingest_files(
        self, paths: Sequence[Path], *, source_name: str = "newspaper", encoding: str | None = None
    ) -> tuple[SaveResult, list[str]]:
        """Store the articles of newspaper issue files given by hand, under the
        source ``source_name``; the totals and one error line per bad file."""
        stored = ingest_files(
            self.db,
            paths,
            source_name=source_name,
            encoding=encoding,
            zone=self.settings.fetch.timezone or self.settings.digest.timezone,
        )
        self.summarize_new()
        return stored

    async def fetch_now(
        self,
        *,
        force: bool = False,
        on_start: Callable[[int], None] | None = None,
        on_done: Callable[[SourceOutcome], None] | None = None,
    ) -> list[SourceOutcome]:
        """One round by hand: fetch every due source (every source with ``force``)
        and summarize what is new; the parser processes live for this round only
        unless this engine runs them already."""
        outcomes = await fetch_due(
            self.db,
            self.settings.fetch,
            force=force,
            on_start=on_start,
            on_done=on_done,
            parser=self._parser,
            digest_timezone=self.settings.digest.timezone,
        )
        await asyncio.to_thread(self.summarize_new)
        return outcomes
