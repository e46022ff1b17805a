"""The summarize stage: stored articles -> one-line summary, short summary, keywords.

Each article is segmented once (``prepare``); the same words feed the ranker
and the keyword extractor. Summaries are computed once per article version
(``summarized_hash`` follows ``content_hash``), never per reader.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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
from digests.summarize.keywords import document_terms, keywords
from digests.summarize.rank import Document, prepare, rank_document

log = logging.getLogger("newsdigest.summarize")

BATCH = 200
# The detail view's summary: two or three sentences, within what a chat
# message shows without scrolling.
SUMMARY_SENTENCES = 3
SUMMARY_MAX_CHARS = 360


@dataclass(frozen=True, slots=True)
class _Prepared:
    article_id: int
    content_hash: str
    first_time: bool
    document: Document


def summary_products(document: Document) -> tuple[str, list[str]]:
    """The digest line (one sentence) and the detail summary (two or three)."""
    ranking = rank_document(document)
    line = ranking.choose(sentences=1)
    summary = ranking.choose(sentences=SUMMARY_SENTENCES, chars=SUMMARY_MAX_CHARS)
    if not summary:  # every sentence is longer than the cap: one sentence still says it
        summary = line
    return (line[0] if line else ""), summary


def index_entry(article_id: int, content_hash: str, title: str, document: Document) -> IndexEntry:
    """The article's search entry, from the words the summarizer already segmented."""
    return IndexEntry(
        article_id=article_id,
        content_hash=content_hash,
        title=index_text([document.title_tokens]),
        body=index_text(document.tokens),
        grams=title_grams(title),
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
                    index_entry(article_id, content_hash, title, prepare(body, title or None))
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


def summarize_stored(db: Database, index: SearchIndex, ids: Sequence[int] | None = None) -> int:
    """Summarize every stored article that needs it (or only ``ids``) and write
    its entry in ``index``; returns how many."""
    done = 0
    cursor = 0  # each batch starts after the last: a run reads the table once
    with db.read() as session:
        corpus = corpus_size(session)  # summarized articles: counted once, then kept up to date
    while True:
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
        prepared: list[_Prepared] = []
        titles = {article_id: title for article_id, _h, _f, title, _b in rows}
        for article_id, content_hash, first_time, title, body in rows:
            try:
                prepared.append(
                    _Prepared(article_id, content_hash, first_time, prepare(body, title or None))
                )
            except Exception:  # one article's failure never stops the others
                log.exception("article #%d: not summarized", article_id)
        terms = {item.article_id: document_terms(item.document) for item in prepared}
        with db.write() as session:
            # Another worker may have summarized some of these meanwhile: keep
            # only what still needs it, so nothing is counted twice.
            summarizing_lock(session)
            still = {
                row.id
                for row in articles_to_summarize(
                    session, [p.article_id for p in prepared], limit=len(prepared)
                )
            }
            prepared = [item for item in prepared if item.article_id in still]
            idf = idf_table(session, set().union(*terms.values()) if terms else set(), corpus)
            summaries = []
            for item in prepared:
                line, summary = summary_products(item.document)
                summaries.append(
                    ArticleSummary(
                        article_id=item.article_id,
                        content_hash=item.content_hash,
                        language=item.document.language,
                        summary_line=line,
                        summary=summary,
                        keywords=keywords(item.document, idf),
                    )
                )
            counts: Counter[str] = Counter()
            for item in prepared:
                if item.first_time:  # a re-summarized article is already counted
                    counts.update(terms[item.article_id])
            add_term_counts(session, counts)
            store_summaries(session, summaries)
            index.store(
                session,
                [
                    index_entry(
                        item.article_id, item.content_hash, titles[item.article_id], item.document
                    )
                    for item in prepared
                ],
            )
        done += len(summaries)
        corpus += sum(1 for item in prepared if item.first_time)
