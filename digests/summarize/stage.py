"""The summarize stage: stored articles -> one-line summary, short summary, keywords.

Each article is segmented once (``digests.summarize.analysis``, which may run
in a worker process); the same words feed the ranker, the keyword extractor
and the search entry. Summaries are computed once per article version
(``summarized_hash`` follows ``content_hash``), never per reader.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from digests.records import IdfTable
from digests.search.base import IndexEntry, SearchIndex
from digests.search.terms import index_text, title_grams
from digests.store.db import Database
from digests.store.summaries import (
    ArticleSummary,
    add_term_counts,
    articles_to_index,
    articles_to_summarize,
    corpus_size,
    count_unindexed,
    idf_table,
    store_summaries,
)
from digests.store.workers import summarizing_lock
from digests.summarize.analysis import Analysis, NotAnalyzed, analyze_batch
from digests.summarize.rank import Document, prepare
from digests.text.pairs import text_pairs

log = logging.getLogger("newsdigest.summarize")

BATCH = 200


@dataclass(frozen=True, slots=True)
class _Analyzed:
    article_id: int
    content_hash: str
    first_time: bool
    analysis: Analysis

    def summary(self, idf: IdfTable) -> ArticleSummary:
        return ArticleSummary(
            article_id=self.article_id,
            content_hash=self.content_hash,
            language=self.analysis.language,
            summary_line=self.analysis.summary_line,
            summary=self.analysis.summary,
            keywords=self.analysis.keywords.best(idf),
        )

    def index_entry(self) -> IndexEntry:
        return IndexEntry(
            article_id=self.article_id,
            content_hash=self.content_hash,
            title=self.analysis.index_title,
            body=self.analysis.index_body,
            grams=self.analysis.index_grams,
            pairs=self.analysis.index_pairs,
        )


def index_entry(
    article_id: int, content_hash: str, title: str, body: str, document: Document
) -> IndexEntry:
    """The article's search entry, from the words the summarizer already segmented."""
    return IndexEntry(
        article_id=article_id,
        content_hash=content_hash,
        title=index_text([document.index_title_tokens()]),
        body=index_text(document.index_tokens()),
        grams=title_grams(title),
        pairs=text_pairs(title, body),
    )


def index_stored(
    db: Database,
    index: SearchIndex,
    *,
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Index summarized articles ``index`` does not hold (an older database, a
    rebuild); returns how many. ``on_progress(done, total)`` after each batch."""
    with db.write() as session:
        if not index.available:
            return 0
        index.store(session, [])  # drop what was deleted or changed (an outside index)
        total = count_unindexed(session)
    done = 0
    cursor = 0
    while True:
        with db.read() as session:
            rows = [
                (row.id, row.content_hash, row.title, row.body)
                for row in articles_to_index(session, limit=BATCH, after_id=cursor)
            ]
        if not rows:
            return done
        cursor = rows[-1][0]
        entries = []
        for article_id, content_hash, title, body in rows:
            try:
                entries.append(
                    index_entry(article_id, content_hash, title, body, prepare(body, title or None))
                )
            except Exception:  # one article's failure never stops the others
                log.exception("article #%d: not indexed", article_id)
        with db.write() as session:
            written = index.store(session, entries)
        if not written:  # the index is busy (another process): the next round
            return done
        done += len(entries)
        if on_progress is not None:
            on_progress(done, total)


BatchAnalyzer = Callable[[Sequence[tuple[str | None, str]]], list[Analysis | NotAnalyzed]]


def summarize_stored(
    db: Database,
    index: SearchIndex,
    ids: Sequence[int] | None = None,
    *,
    analyze: BatchAnalyzer = analyze_batch,
    interrupted: Callable[[], bool] = lambda: False,
) -> int:
    """Summarize every stored article that needs it (or only ``ids``) and write
    its entry in ``index``; returns how many. ``analyze`` does the CPU work
    (``analyze_batch`` here, or the same in a worker process). Stops between
    batches once ``interrupted()`` (a shutdown): the rest is left for the next run."""
    done = 0
    cursor = 0  # each batch starts after the last: a run reads the table once
    with db.read() as session:
        corpus = corpus_size(session)  # summarized articles: counted once, then kept up to date
    while True:
        if interrupted():
            log.info("summarize: interrupted after %d article(s); the rest next run", done)
            return done
        with db.read() as session:
            rows = [
                (row.id, row.content_hash, row.summarized_hash is None, row.title, row.body)
                for row in articles_to_summarize(session, ids, limit=BATCH, after_id=cursor)
            ]
        if not rows:
            if ids is None:
                index_stored(db, index)  # anything summarized but not indexed (an older database)
            return done
        cursor = rows[-1][0]
        analyzed: list[_Analyzed] = []
        outcomes = analyze([(title, body) for _id, _hash, _first, title, body in rows])
        for (article_id, content_hash, first_time, _title, _body), outcome in zip(
            rows, outcomes, strict=True
        ):
            if isinstance(outcome, NotAnalyzed):  # one article's failure never stops the others
                details = outcome.details.rstrip()  # the traceback, where there is one
                log.error(
                    "article #%d: not summarized: %s%s",
                    article_id,
                    outcome.reason,
                    "\n" + details if details else "",
                )
            else:
                analyzed.append(_Analyzed(article_id, content_hash, first_time, outcome))
        with db.write() as session:
            # Another worker may have summarized some of these meanwhile: keep
            # only what still needs it, so nothing is counted twice.
            summarizing_lock(session)
            still = {
                row.id
                for row in articles_to_summarize(
                    session, [item.article_id for item in analyzed], limit=len(analyzed)
                )
            }
            analyzed = [item for item in analyzed if item.article_id in still]
            terms: set[str] = set().union(*(item.analysis.terms for item in analyzed))
            idf = idf_table(session, terms, corpus)
            summaries = [item.summary(idf) for item in analyzed]
            counts: Counter[str] = Counter()
            for item in analyzed:
                if item.first_time:  # a re-summarized article is already counted
                    counts.update(item.analysis.terms)
            add_term_counts(session, counts)
            store_summaries(session, summaries)
            index.store(session, [item.index_entry() for item in analyzed])
        done += len(summaries)
        corpus += sum(1 for item in analyzed if item.first_time)
