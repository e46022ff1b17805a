"""The search index as a tantivy directory beside the SQLite file.

FTS5 scores every match with bm25 (no top-k pruning), so a word in a few
thousand articles costs ~10 ms at 10^5 articles; tantivy answers the same
queries over the same words in well under a millisecond (benchmarks/search.py).
The words are the same analyzed words as the other indexes (title boosted,
body, the title's characters and pairs).

Consistency with the articles table, which tantivy is outside of:
- an entry is committed to tantivy *before* the SQLite transaction that
  records ``indexed_hash`` commits: a crash in between leaves an article that
  is indexed again (replacing its entry), never one marked indexed but absent;
- deleting an article, or changing its text, records its id in
  ``search_outbox`` (SQLite triggers, same transaction); every indexing round
  first removes those ids from tantivy, then clears them;
- results are read back from SQLite by id, so an article deleted a moment
  ago is never shown even before the outbox is drained.
One process writes at a time (tantivy's writer lock); a second one skips
indexing for that round and the next round catches up.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import tantivy
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from digests.errors import IndexBusy
from digests.search.base import (
    TITLE_BOOST,
    Hit,
    IndexEntry,
    Results,
    add_filters,
    hit_of,
    mark_indexed,
    needles,
    passing_ids,
    ranked_window,
    refine,
    results_of,
    rows_by_id,
)
from digests.search.query import Query, Term
from digests.search.terms import is_han, is_han_phrase, phrase_pairs, term_words

log = logging.getLogger("newsdigest.search")
_indexes: dict[str, tantivy.Index] = {}
_lock = threading.Lock()


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", stored=True, indexed=True, fast=True)
    for field in ("title", "body", "grams"):
        builder.add_text_field(field, tokenizer_name="whitespace", index_option="freq")
    # only which articles hold a pair: a filter for quoted phrases, never scored
    builder.add_text_field("pairs", tokenizer_name="whitespace", index_option="basic")
    return builder.build()


def open_index(directory: Path) -> tantivy.Index:
    """One Index object per directory and process (tantivy caches inside it).
    An index of another layout (an older version's) is started again empty:
    the migration that changed the layout marked every article to be indexed
    again."""
    key = str(directory.resolve())
    with _lock:
        if key not in _indexes:
            directory.mkdir(parents=True, exist_ok=True)
            try:
                _indexes[key] = tantivy.Index(_schema(), path=key, reuse=True)
            except ValueError as exc:
                if "schema does not match" not in str(exc):
                    raise
                log.warning(
                    "search index %s has an older layout: started again empty; "
                    "articles are indexed again by the next summarize rounds "
                    "(or at once: newsdigest reindex)",
                    key,
                )
                shutil.rmtree(directory)
                directory.mkdir(parents=True)
                _indexes[key] = tantivy.Index(_schema(), path=key, reuse=True)
        return _indexes[key]


class TantivySearchIndex:
    available = True

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.index = open_index(directory)
        self.schema = self.index.schema
        self._seen: tuple[int, int] | None = None

    def _searcher(self) -> Any:
        """A searcher over the latest commit, of this process or another: the
        index is reloaded only when its meta file was replaced (each commit
        writes a new one), not on every search."""
        try:
            meta = (self.directory / "meta.json").stat()
            version: tuple[int, int] | None = (meta.st_ino, meta.st_mtime_ns)
        except OSError:
            version = None
        if version is None or version != self._seen:
            self.index.reload()
            self._seen = version
        return self.index.searcher()

    # -- writing ---------------------------------------------------------------
    def _writer(self) -> Any | None:
        try:
            return self.index.writer(heap_size=64_000_000, num_threads=1)
        except ValueError as exc:  # another process holds the writer lock
            log.info("search index busy (%s); this round is indexed later", exc)
            return None

    def store(self, session: Session | Connection, entries: Sequence[IndexEntry]) -> bool:
        gone = [int(r[0]) for r in session.execute(text("SELECT article_id FROM search_outbox"))]
        if not entries and not gone:
            return True
        writer = self._writer()
        if writer is None:
            return False
        try:
            for article_id in {*gone, *(e.article_id for e in entries)}:
                writer.delete_documents_by_term("id", article_id)
            for entry in entries:
                writer.add_document(
                    tantivy.Document(
                        id=entry.article_id,
                        title=entry.title,
                        body=entry.body,
                        grams=entry.grams,
                        pairs=entry.pairs,
                    )
                )
            writer.commit()
            writer.wait_merging_threads()
        finally:
            del writer  # releases the lock
        if gone:
            session.execute(
                text("DELETE FROM search_outbox WHERE article_id = :id"),
                [{"id": article_id} for article_id in gone],
            )
        mark_indexed(session, entries)
        return True

    def clear(self, session: Session) -> None:
        writer = self._writer()
        if writer is None:
            raise IndexBusy(
                "the search index is being written by another process (a running bot?); "
                "stop it or try again when its indexing round is over"
            )
        try:
            writer.delete_all_documents()
            writer.commit()
        finally:
            del writer
        session.execute(text("DELETE FROM search_outbox"))
        session.execute(text("UPDATE articles SET indexed_hash = NULL"))

    def max_indexed_id(self, session: Session) -> int:
        # newest first along the primary key: stops at the first indexed article
        return int(
            session.scalar(
                text(
                    "SELECT coalesce((SELECT id FROM articles WHERE indexed_hash = content_hash "
                    "ORDER BY id DESC LIMIT 1), 0)"
                )
            )
            or 0
        )

    # -- reading ---------------------------------------------------------------
    def _word(self, word: str, titles_only: bool = False) -> tantivy.Query:
        """One word in the title (boosted) or body, a short Chinese word also among
        the title's characters and pairs; ``titles_only``: the title fields alone."""
        fields: list[tuple[str, float]] = [("title", TITLE_BOOST)]
        if not titles_only:
            fields.append(("body", 1.0))
        if is_han(word) and len(word) <= 2:
            fields.append(("grams", 1.0))
        return tantivy.Query.boolean_query(
            [
                (
                    tantivy.Occur.Should,
                    tantivy.Query.boost_query(
                        tantivy.Query.term_query(self.schema, field, word), boost
                    ),
                )
                for field, boost in fields
            ]
        )

    def _term(self, term: Term, titles_only: bool = False) -> tantivy.Query | None:
        words = term_words(term.text)
        if not words:
            return None
        pairs = phrase_pairs(term.text) if term.phrase and not titles_only else []
        # A Chinese phrase is found by its character pairs wherever it is written,
        # however the segmenter cut it there; its words only rank the articles.
        by_pairs = bool(pairs) and is_han_phrase(term.text)
        occur = tantivy.Occur.Should if by_pairs else tantivy.Occur.Must
        clauses = [(occur, self._word(w, titles_only)) for w in words]
        clauses += [
            (
                tantivy.Occur.Must,
                tantivy.Query.const_score_query(
                    tantivy.Query.term_query(self.schema, "pairs", pair), 0.0
                ),
            )
            for pair in pairs
        ]
        return tantivy.Query.boolean_query(clauses)

    def _groups(self, query: Query, titles_only: bool) -> list[tuple[tantivy.Occur, Any]]:
        """Each group (an OR of its terms) as a required clause."""
        clauses = []
        for group in query.groups:
            options = [q for term in group if (q := self._term(term, titles_only)) is not None]
            if options:
                clauses.append(
                    (
                        tantivy.Occur.Must,
                        tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in options]),
                    )
                )
        return clauses

    def _title_query(self, query: Query) -> tantivy.Query | None:
        """Every group's words in the title: what puts an article in the title tier."""
        clauses = self._groups(query, titles_only=True)
        return tantivy.Query.boolean_query(clauses) if clauses else None

    def query_for(self, query: Query) -> tantivy.Query | None:
        clauses = self._groups(query, titles_only=False)
        if not clauses:
            return None
        for term in query.excluded:
            if term.phrase:
                continue  # excluded only where written together: ``holds`` checks that
            if (excluded := self._term(term)) is not None:
                clauses.append((tantivy.Occur.MustNot, excluded))
        return tantivy.Query.boolean_query(clauses)

    def _ids(self, found: Any, searcher: Any) -> list[int]:
        # a fast field: read by column, no stored document is decompressed
        addresses = [address for _score, address in found.hits]
        return [int(value) for value in searcher.fast_field_values("id", addresses)]

    def _best(self, searcher: Any, compiled: tantivy.Query, depth: int) -> list[int]:
        found = searcher.search(compiled, depth, count=False)
        ids = self._ids(found, searcher)
        scores = [score for score, _address in found.hits]
        # tantivy orders equal scores arbitrarily: the newer article first
        order = sorted(range(len(ids)), key=lambda n: (-scores[n], -ids[n]))
        return [ids[n] for n in order]

    def _ranked(self, searcher: Any, query: Query) -> Callable[[int], list[int]] | None:
        """The best ``depth`` matches: the title tier first (every group's words
        in the title, as on FTS5 and PostgreSQL), then the other matches, each
        by bm25 (title boosted). Two searches: the tier's title words are few
        postings that bound the first one, cheaper than scoring a title clause
        beside every match."""
        compiled = self.query_for(query)
        if compiled is None:
            return None
        titled = self._title_query(query)
        tier = (
            tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Must, tantivy.Query.const_score_query(titled, 0.0)),
                    (tantivy.Occur.Must, compiled),
                ]
            )
            if titled is not None
            else None
        )

        def ranked(depth: int) -> list[int]:
            first = self._best(searcher, tier, depth) if tier is not None else []
            if len(first) >= depth:
                return first
            seen = set(first)
            rest = [i for i in self._best(searcher, compiled, depth + len(first)) if i not in seen]
            return first + rest[: depth - len(first)]

        return ranked

    def search(self, session: Session, query: Query, *, offset: int, limit: int) -> Results:
        found = needles(query)
        ranked = self._ranked(self._searcher(), query)
        if ranked is None:
            return Results([], 0, found)
        # source:, since:, phrases and exclusions the index cannot see: SQL checks them
        filtered: list[str] = []
        add_filters(query, filtered, {}, postgres=False)

        def check(ids: Sequence[int]) -> list[int]:
            return passing_ids(session, ids, query, postgres=False)

        window = ranked_window(ranked, check if filtered else None, offset, limit)
        return results_of(session, query, window, found, offset, limit, postgres=False)

    def newer_matches(
        self, session: Session, query: Query, *, after_id: int, until_id: int, limit: int
    ) -> tuple[list[Hit], int]:
        compiled = self.query_for(query)
        if compiled is None:
            return [], until_id
        searcher = self._searcher()
        window = tantivy.Query.range_query(
            self.schema, "id", tantivy.FieldType.Integer, after_id + 1, until_id
        )
        both = tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, compiled), (tantivy.Occur.Must, window)]
        )
        found = searcher.search(
            both, limit, count=False, order_by_field="id", order=tantivy.Order.Asc
        )
        ids = self._ids(found, searcher)
        rows = rows_by_id(session, passing_ids(session, ids, query, postgres=False))
        # the next look starts after the last id read, whatever the filters kept
        cursor = ids[-1] if len(ids) == limit else until_id
        return [hit_of(row) for row in refine(query, rows)], cursor
