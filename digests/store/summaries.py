"""Summaries and keywords on article rows, and the corpus term statistics behind the IDF."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import ColumnElement, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from digests.records import IdfTable
from digests.store.models import Article, TermStat

_CHUNK = 400
MAX_TERM_CHARS = 100


@dataclass(frozen=True, slots=True)
class ArticleSummary:
    article_id: int
    content_hash: str
    language: str
    summary_line: str
    summary: list[str]
    keywords: list[str]


def articles_to_summarize(
    session: Session,
    ids: Sequence[int] | None = None,
    limit: int | None = None,
    *,
    after_id: int = 0,
) -> list[Article]:
    """Articles whose summary is missing or older than their text, by id from
    ``after_id`` on (a run's cursor: each batch starts where the last ended)."""
    query = select(Article).where(
        (Article.summarized_hash.is_(None)) | (Article.summarized_hash != Article.content_hash),
        Article.id > after_id,
    )
    if ids is not None:
        query = query.where(Article.id.in_(list(ids)))
    query = query.order_by(Article.id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def _unindexed() -> ColumnElement[bool]:
    """Summarized, but the index holds no entry for this version of the text."""
    return (Article.summarized_hash == Article.content_hash) & (
        Article.indexed_hash.is_(None) | (Article.indexed_hash != Article.content_hash)
    )


def articles_to_index(
    session: Session, limit: int | None = None, *, after_id: int = 0
) -> list[Article]:
    query = select(Article).where(_unindexed(), Article.id > after_id).order_by(Article.id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def count_unindexed(session: Session) -> int:
    return int(session.scalar(select(func.count(Article.id)).where(_unindexed())) or 0)


def corpus_size(session: Session) -> int:
    """How many articles have been summarized: the IDF's document count."""
    return int(
        session.scalar(select(func.count(Article.id)).where(Article.summarized_hash.is_not(None)))
        or 0
    )


def idf_table(session: Session, terms: Iterable[str], documents: int | None = None) -> IdfTable:
    """Document frequencies for ``terms`` (only those are loaded) and the corpus
    size (``documents`` when the caller keeps count, else counted)."""
    wanted = sorted({t[:MAX_TERM_CHARS] for t in terms})
    frequencies: dict[str, int] = {}
    for start in range(0, len(wanted), _CHUNK):
        rows = session.execute(
            select(TermStat.term, TermStat.documents).where(
                TermStat.term.in_(wanted[start : start + _CHUNK])
            )
        )
        frequencies.update({term: documents for term, documents in rows})
    if documents is None:
        documents = corpus_size(session)
    return IdfTable(documents, frequencies)


def add_term_counts(session: Session, counts: Counter[str]) -> None:
    """Add per-term document counts: one batched UPDATE for known terms and one
    batched INSERT for new ones per chunk (portable SQL, no upsert dialects)."""
    merged: Counter[str] = Counter()
    for term, count in counts.items():
        merged[term[:MAX_TERM_CHARS]] += count
    terms = sorted(merged)
    table = cast(Table, TermStat.__table__)
    for start in range(0, len(terms), _CHUNK):
        chunk = terms[start : start + _CHUNK]
        known = set(session.scalars(select(TermStat.term).where(TermStat.term.in_(chunk))))
        if known:
            session.execute(
                update(table)
                .where(table.c.term == bindparam("key"))
                .values(documents=table.c.documents + bindparam("added")),
                [{"key": t, "added": merged[t]} for t in known],
            )
        fresh = [{"term": t, "documents": merged[t]} for t in chunk if t not in known]
        if fresh:
            session.execute(insert(table), fresh)


def store_summaries(session: Session, summaries: Sequence[ArticleSummary]) -> None:
    """One batched UPDATE for the whole batch (not a statement per article)."""
    if not summaries:
        return
    table = cast(Table, Article.__table__)
    session.execute(
        update(table)
        .where(table.c.id == bindparam("key"))
        .values(
            language=bindparam("language"),
            summary_line=bindparam("summary_line"),
            summary=bindparam("summary", type_=table.c.summary.type),
            keywords=bindparam("keywords", type_=table.c.keywords.type),
            summarized_hash=bindparam("summarized_hash"),
        ),
        [
            {
                "key": item.article_id,
                "language": item.language,
                "summary_line": item.summary_line,
                "summary": item.summary,
                "keywords": item.keywords,
                "summarized_hash": item.content_hash,
            }
            for item in summaries
        ],
    )
