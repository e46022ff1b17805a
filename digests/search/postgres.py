"""The search index on PostgreSQL: tsvector documents of the same analyzed words.

The vectors are built here from the words the summarizer segmented (no text
search parser, so Chinese words stay whole whatever the server's locale): a
document vector with the title at weight A, the body at B and the title's
characters and pairs at C, and a titles vector (A and C) for ranking title
matches on their own. GIN indexes both. Queries are tsquery literals whose
every lexeme is quoted here, so user text is never query syntax. Rows go with
their article (foreign key, ON DELETE CASCADE) and a trigger drops a row
whose article's text changes until it is indexed again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from digests.search.base import (
    CANDIDATES,
    HIT_SELECT,
    TITLE_BOOST,
    Hit,
    IndexEntry,
    Results,
    Syntax,
    add_filters,
    cursor_after,
    filter_conditions,
    hit_of,
    holds,
    mark_indexed,
    match_expression,
    needles,
    passing_ids,
    ranked_once,
    ranked_window,
    results_of,
    verbatim_conditions,
)
from digests.search.query import Query

MAX_POSITION = 16383  # tsvector positions stop here
MAX_POSITIONS_PER_WORD = 256
MAX_LEXEME_BYTES = 2046
# A tier of matches (title matches, body matches) is scored on the documents'
# vectors only up to this size; see ``PostgresSearchIndex._ranked``.
SCORED = 200
# A larger tier, listed newest first, is read among the newest this many
# article ids first, then in windows widened as the matches found so far say
# (at least doubled): the primary key's bitmap ANDed with the GIN one, so that
# only the matches inside a window are visited, not every match of a common word.
NEWEST_WINDOW = 2000


@lru_cache(maxsize=65_536)  # news repeats its words: most lexemes are quoted once
def _lexeme(word: str) -> str:
    word = word.encode("utf-8")[:MAX_LEXEME_BYTES].decode("utf-8", "ignore")
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(columns: Sequence[tuple[str, str]]) -> str:
    """``'word':1A,5A 'other':2B`` for (space-joined words, weight) columns in
    order, each column of its own weight; a word keeps its first
    MAX_POSITIONS_PER_WORD positions in each column."""
    spots: dict[str, list[str]] = {}
    at = 0
    for words, weight in columns:
        counted: dict[str, int] = {}
        for word in words.split():
            at = at + 1 if at < MAX_POSITION else MAX_POSITION
            seen = counted.get(word, 0)
            if seen < MAX_POSITIONS_PER_WORD:
                counted[word] = seen + 1
                spots.setdefault(word, []).append(f"{at}{weight}")
    return " ".join(f"{_lexeme(word)}:{','.join(places)}" for word, places in spots.items())


def _word(word: str, _titles_only: bool) -> str:
    # No weight labels: the C lexemes (a title's characters and pairs) are one
    # or two Chinese characters, which are what may match them anyway, and a
    # label would make every GIN match a recheck of its detoasted vector.
    return _lexeme(word)


TSQUERY = Syntax(_word, " & ", " | ", "({kept}) & !({dropped})")


def tsquery_literal(query: Query, *, titles_only: bool = False) -> str | None:
    return match_expression(query, TSQUERY, titles_only=titles_only)


_FROM = (
    " FROM search_documents d JOIN articles a ON a.id = d.article_id"
    " JOIN sources s ON s.id = a.source_id"
    " WHERE d.document @@ CAST(:q AS tsquery) AND {where}"
)


# How the ranking queries are planned. The planner prices reading a document
# vector from TOAST like any other column: for a common word it scans the
# table, or walks the primary key newest first testing each row, and reads
# vector after vector; the GIN indexes answer @@ exactly without reading any.
# And each search is planned for its own words: a generic plan of a statement
# psycopg prepared cannot tell a rare word from a common one.
_GIN_ONLY = {
    "enable_seqscan": "off",
    "enable_indexscan": "off",
    "plan_cache_mode": "force_custom_plan",
}


@contextmanager
def _by_gin(session: Session) -> Iterator[int]:
    """Statements inside planned by ``_GIN_ONLY``; the settings end with the
    block (or with the transaction, which an error rolls back). Yields the
    newest indexed article id, read in the same statement that sets them (so
    still by the primary key's index: it is planned before they apply)."""
    settings = ", ".join(f"set_config('{k}', '{v}', true)" for k, v in _GIN_ONLY.items())
    newest = session.scalar(
        text(f"SELECT coalesce(max(article_id), 0), {settings} FROM search_documents")
    )
    yield int(newest or 0)
    # not after an error: the transaction is aborted, and its rollback ends them
    # (without parameters, psycopg sends the statements as one simple query)
    session.execute(text("; ".join(f"RESET {name}" for name in _GIN_ONLY)))


class PostgresSearchIndex:
    available = True

    def store(self, session: Session | Connection, entries: Sequence[IndexEntry]) -> bool:
        if not entries:
            return True
        session.execute(
            text("DELETE FROM search_documents WHERE article_id = :id"),
            [{"id": e.article_id} for e in entries],
        )
        session.execute(
            text(
                "INSERT INTO search_documents (article_id, document, titles) "
                "VALUES (:id, CAST(:document AS tsvector), CAST(:titles AS tsvector))"
            ),
            [
                {
                    "id": e.article_id,
                    "document": tsvector_literal([(e.title, "A"), (e.body, "B"), (e.grams, "C")]),
                    "titles": tsvector_literal([(e.title, "A"), (e.grams, "C")]),
                }
                for e in entries
            ],
        )
        mark_indexed(session, entries)
        return True

    def clear(self, session: Session) -> None:
        session.execute(text("DELETE FROM search_documents"))
        session.execute(text("UPDATE articles SET indexed_hash = NULL"))

    def max_indexed_id(self, session: Session) -> int:
        return int(
            session.scalar(text("SELECT coalesce(max(article_id), 0) FROM search_documents")) or 0
        )

    def search(self, session: Session, query: Query, *, offset: int, limit: int) -> Results:
        expression = tsquery_literal(query)
        found = needles(query)
        if expression is None:
            return Results([], 0, found)
        conditions: list[str] = []
        parameters: dict[str, Any] = {
            "q": expression,
            "tq": tsquery_literal(query, titles_only=True),
            "boost": TITLE_BOOST,
        }
        filter_conditions(query, conditions, parameters, postgres=True)
        verbatim: list[str] = []
        verbatim_conditions(query, verbatim, {}, postgres=True)

        def check(ids: Sequence[int]) -> list[int]:
            return passing_ids(session, ids, query, postgres=True)

        with _by_gin(session) as newest:

            def rank(depth: int) -> list[int]:
                return self._ranked(session, conditions, parameters, depth, newest)

            best = ranked_once(rank, CANDIDATES if verbatim else 0)
            window = ranked_window(best, check if verbatim else None, offset, limit)
        return results_of(session, query, window, found, offset, limit, postgres=True)

    @staticmethod
    def _ranked(
        session: Session,
        conditions: list[str],
        parameters: dict[str, Any],
        depth: int,
        newest: int,
    ) -> list[int]:
        """The best ``depth`` matches: title matches first, then the rest. A
        tier is scored (title rank x boost + body rank) only while it has at
        most ``SCORED`` matches: each document vector is read from TOAST
        storage, and ranking every match of a common word is the whole cost of
        such a search. A larger tier is listed newest first. Equal scores: the
        newer article (stored later) first."""
        matched = "d.document @@ CAST(:q AS tsquery)"
        matches = " FROM search_documents d" + (
            " JOIN articles a ON a.id = d.article_id JOIN sources s ON s.id = a.source_id"
            if conditions
            else ""
        )
        titled = "d.titles @@ CAST(:tq AS tsquery)"
        body_rank = "ts_rank('{0, 0, 1, 0}', d.document, CAST(:q AS tsquery))"
        title_rank = "ts_rank(d.titles, CAST(:tq AS tsquery))"

        def best(where: str, deep: int, floor: int) -> list[int]:
            return [
                int(row[0])
                for row in session.execute(
                    text(
                        f"SELECT d.article_id{matches} WHERE {where} AND d.article_id > :floor"
                        " ORDER BY d.article_id DESC LIMIT :depth"
                    ),
                    {**parameters, "depth": deep, "floor": floor},
                )
            ]

        def tier(condition: str, scored: str, deep: int) -> list[int]:
            """A few matches (every one read, counted in the same statement) are
            scored; more are listed newest first, window by window."""
            where = " AND ".join([condition, *conditions])
            rows = session.execute(
                text(
                    f"WITH m AS MATERIALIZED (SELECT d.article_id{matches} WHERE {where}"
                    " LIMIT :cap), n AS (SELECT count(*) AS found FROM m) "
                    "SELECT n.found, r.article_id FROM n LEFT JOIN LATERAL ("
                    "SELECT d.article_id FROM m JOIN search_documents d USING (article_id)"
                    f" WHERE n.found <= :scored ORDER BY {scored}d.article_id DESC LIMIT :depth"
                    ") r ON true"
                ),
                {**parameters, "cap": SCORED + 1, "scored": SCORED, "depth": deep},
            ).all()
            if int(rows[0][0]) <= SCORED:
                return [int(row[1]) for row in rows if row[1] is not None]
            window = NEWEST_WINDOW
            while True:
                floor = max(0, newest - window)
                found = best(where, deep, floor)
                if len(found) >= deep or floor == 0:
                    return found
                # the next window as wide as the matches so far say is enough
                window = max(window * 2, window * 3 * deep // max(1, len(found)) // 2)

        # A title holding the wanted words is a match unless an excluded word
        # is in the document: only then is the (large) document vector read.
        title_tier = titled if parameters["q"] == parameters["tq"] else f"{titled} AND {matched}"
        ranked = tier(title_tier, f"{title_rank} * :boost + {body_rank} DESC, ", depth)
        if len(ranked) < depth:
            rest = f"{matched} AND NOT {titled}"
            ranked += tier(rest, f"{body_rank} DESC, ", depth - len(ranked))
        return ranked

    def newer_matches(
        self, session: Session, query: Query, *, after_id: int, until_id: int, limit: int
    ) -> tuple[list[Hit], int]:
        expression = tsquery_literal(query)
        if expression is None:
            return [], until_id
        conditions = ["a.id > :after", "a.id <= :until"]
        parameters: dict[str, Any] = {
            "q": expression,
            "after": after_id,
            "until": until_id,
            "limit": limit,
        }
        add_filters(query, conditions, parameters, postgres=True)
        rows = session.execute(
            text(
                HIT_SELECT
                + _FROM.format(where=" AND ".join(conditions))
                + " ORDER BY a.id LIMIT :limit"
            ),
            parameters,
        ).all()
        hits = [hit_of(row) for row in rows]
        cursor = cursor_after(hits, limit, until_id)
        return [h for h in hits if holds(query, h.title, h.body)], cursor
