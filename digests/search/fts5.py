"""The search index as SQLite FTS5 tables inside the database file.

Entries are written in the same transaction as the article's summary and
removed by a trigger when the article is deleted (also through its source)
or its text changes. Titles are also kept in a table of their own
(``search_titles``), because FTS5's bm25 normalizes by the whole row's length,
and each article's Chinese character pairs in ``search_pairs`` (contentless:
rowids only, no copy of the text), which answer a query of quoted Chinese
phrases without ranking every article that holds the phrase's words.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from digests.search.base import (
    CANDIDATES,
    HIT_FILTERS,
    HIT_SELECT,
    TITLE_BOOST,
    Hit,
    IndexEntry,
    Results,
    Syntax,
    Window,
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
from digests.search.terms import as_written, is_han, is_han_phrase, phrase_pairs
from digests.store.models import Article
from digests.text.pairs import text_pairs

# A query matching at least this many articles is "common": its title matches
# are ranked, the rest listed newest first (scoring every match is the cost).
COMMON = 3000
# Articles whose old pairs are removed per statement (their text is read at once).
GONE_BATCH = 500


def _quote(word: str) -> str:
    """An FTS5 string: user text is always inside double quotes, quotes doubled."""
    return '"' + word.replace('"', '""') + '"'


def _fts5_word(word: str, titles_only: bool) -> str:
    columns = ["title"] if titles_only else ["title", "body"]
    if is_han(word) and len(word) <= 2:  # also the title's characters and pairs
        columns.append("grams")
    return f"({{{' '.join(columns)}}} : {_quote(word)})"


FTS5 = Syntax(_fts5_word, " AND ", " OR ", "({kept}) NOT ({dropped})")


def _pair_expression(query: Query) -> str | None:
    """The ``search_pairs`` query for a query made only of quoted Chinese
    phrases (and exclusions the stored text can check): every article writing
    the phrases matches it. None for any other query."""
    if any(not (term.phrase or is_han_phrase(term.text)) for term in query.excluded):
        return None
    groups = []
    for group in query.groups:
        either = []
        for term in group:
            pairs = phrase_pairs(term.text) if term.phrase and is_han_phrase(term.text) else []
            if not pairs:
                return None
            either.append("(" + " AND ".join(_quote(pair) for pair in pairs) + ")")
        groups.append("(" + " OR ".join(either) + ")")
    return " AND ".join(groups) if groups else None


def _forget_gone_pairs(session: Session | Connection) -> None:
    """Remove the pairs of changed and deleted articles (their old text, moved
    aside by the triggers): a contentless table forgets a row only when given
    the values it indexed. Runs before any pairs are added, so a pair the old
    and the new text share is removed and then added, never the reverse. In
    batches: a retention purge may have set aside thousands of articles."""
    while gone := session.execute(
        text("SELECT rowid, id, title, body FROM search_pairs_gone ORDER BY rowid LIMIT :batch"),
        {"batch": GONE_BATCH},
    ).all():
        session.execute(
            text(
                "INSERT INTO search_pairs (search_pairs, rowid, pairs) "
                "VALUES ('delete', :id, :pairs)"
            ),
            [{"id": row[1], "pairs": text_pairs(row[2] or "", row[3] or "")} for row in gone],
        )
        session.execute(
            text("DELETE FROM search_pairs_gone WHERE rowid <= :last"), {"last": gone[-1][0]}
        )


def _store_pairs(session: Session | Connection, entries: Sequence[IndexEntry]) -> None:
    """Pairs for the entries whose text is the article's current text (an entry
    analyzed before its article changed is written again later) and whose
    pairs the table does not hold yet (a re-index of unchanged text)."""
    _forget_gone_pairs(session)
    by_id = {e.article_id: e for e in entries}
    rows = session.execute(
        text(
            "SELECT id, content_hash FROM articles WHERE id IN :ids "
            "AND id NOT IN (SELECT id FROM search_pairs_held)"
        ).bindparams(bindparam("ids", expanding=True)),
        {"ids": list(by_id)},
    ).all()
    new = [by_id[row[0]] for row in rows if by_id[row[0]].content_hash == row[1]]
    if not new:
        return
    session.execute(
        text("INSERT INTO search_pairs (rowid, pairs) VALUES (:id, :pairs)"),
        [{"id": e.article_id, "pairs": e.pairs} for e in new],
    )
    session.execute(
        text("INSERT INTO search_pairs_held (id) VALUES (:id)"),
        [{"id": e.article_id} for e in new],
    )


class Fts5SearchIndex:
    """FTS5 with bm25 (title weighted above body); newer first among equals."""

    available = True

    def store(self, session: Session | Connection, entries: Sequence[IndexEntry]) -> bool:
        if not entries:
            return True
        ids = [{"id": e.article_id} for e in entries]
        values = [
            {"id": e.article_id, "title": e.title, "body": e.body, "grams": e.grams}
            for e in entries
        ]
        session.execute(text("DELETE FROM search_index WHERE rowid = :id"), ids)
        session.execute(text("DELETE FROM search_titles WHERE rowid = :id"), ids)
        session.execute(
            text(
                "INSERT INTO search_index (rowid, title, body, grams) "
                "VALUES (:id, :title, :body, :grams)"
            ),
            values,
        )
        session.execute(
            text("INSERT INTO search_titles (rowid, title, grams) VALUES (:id, :title, :grams)"),
            values,
        )
        _store_pairs(session, entries)
        mark_indexed(session, entries)
        return True

    def clear(self, session: Session) -> None:
        session.execute(text("DELETE FROM search_index"))
        session.execute(text("DELETE FROM search_titles"))
        session.execute(text("INSERT INTO search_pairs (search_pairs) VALUES ('delete-all')"))
        session.execute(text("DELETE FROM search_pairs_held"))
        session.execute(text("DELETE FROM search_pairs_gone"))
        session.execute(update(Article).values(indexed_hash=None))

    def max_indexed_id(self, session: Session) -> int:
        return int(session.scalar(text("SELECT coalesce(max(rowid), 0) FROM search_index")) or 0)

    def search(self, session: Session, query: Query, *, offset: int, limit: int) -> Results:
        expression = match_expression(query, FTS5)
        found = needles(query)
        if expression is None:
            return Results([], 0, found)
        conditions: list[str] = []
        parameters: dict[str, object] = {
            "match": expression,
            "title_match": match_expression(query, FTS5, titles_only=True),
        }
        filter_conditions(query, conditions, parameters, postgres=False)
        verbatim: list[str] = []
        verbatim_conditions(query, verbatim, {}, postgres=False)
        if (pairs := _pair_expression(query)) is not None and (
            window := self._by_phrase(session, query, pairs, offset, limit)
        ) is not None:
            return results_of(session, query, window, found, offset, limit, postgres=False)
        order = (
            self._by_title_tier if self._common(session, conditions, parameters) else self._by_score
        )

        def rank(depth: int) -> list[int]:
            return order(session, conditions, parameters, depth)

        best = ranked_once(rank, CANDIDATES if verbatim else 0)

        def check(ids: Sequence[int]) -> list[int]:
            return passing_ids(session, ids, query, postgres=False)

        window = ranked_window(best, check if verbatim else None, offset, limit)
        return results_of(session, query, window, found, offset, limit, postgres=False)

    @staticmethod
    def _by_phrase(
        session: Session, query: Query, pairs: str, offset: int, limit: int
    ) -> Window | None:
        """A query of quoted Chinese phrases: only the articles holding every pair
        of a phrase can write it. When they are at most CANDIDATES, they are
        ranked without reading a body: a phrase in the title first, shorter
        titles before longer (as bm25 weighs a title), then the body matches
        newest first; then checked in that order until the page is known.
        None when they are more (the ranked path checks its best)."""
        candidates = [
            int(row[0])
            for row in session.execute(
                text("SELECT rowid FROM search_pairs WHERE search_pairs MATCH :pairs LIMIT :most"),
                {"pairs": pairs, "most": CANDIDATES + 1},
            )
        ]
        if len(candidates) > CANDIDATES:
            return None
        parameters: dict[str, object] = {"ids": candidates}
        titled: list[str] = []
        for number, term in enumerate(query.terms):
            parameters[f"phrase{number}"] = as_written(term.text)
            titled.append(f"instr(a.title, :phrase{number}) > 0")
        in_title = "(" + " OR ".join(titled) + ")"
        ordered = [
            int(row[0])
            for row in session.execute(
                text(
                    f"SELECT a.id FROM articles a WHERE a.id IN :ids ORDER BY {in_title} DESC, "
                    f"CASE WHEN {in_title} THEN length(a.title) END, a.id DESC"
                ).bindparams(bindparam("ids", expanding=True)),
                parameters,
            )
        ]

        def check(ids: Sequence[int]) -> list[int]:
            return passing_ids(session, ids, query, postgres=False)

        return ranked_window(lambda depth: ordered[:depth], check, offset, limit)

    @staticmethod
    def _matches(table: str, conditions: list[str], key: str = "match") -> str:
        """Rows of ``table`` matching ``:key`` (with the score columns the caller
        selects), joined to their article only when a filter needs it."""
        if not conditions:
            return f"FROM {table} WHERE {table} MATCH :{key}"
        return (
            f"FROM {table} JOIN articles a ON a.id = {table}.rowid "
            f"JOIN sources s ON s.id = a.source_id WHERE {table} MATCH :{key} AND "
            + " AND ".join(conditions)
        )

    def _common(
        self, session: Session, conditions: list[str], parameters: dict[str, object]
    ) -> bool:
        """Whether at least COMMON articles match (counting stops there)."""
        counted = session.scalar(
            text(
                "SELECT count(*) FROM (SELECT search_index.rowid "
                + self._matches("search_index", conditions)
                + " LIMIT :common)"
            ),
            {**parameters, "common": COMMON},
        )
        return int(counted or 0) >= COMMON

    def _by_score(
        self, session: Session, conditions: list[str], parameters: dict[str, object], depth: int
    ) -> list[int]:
        """Every match scored. FTS5's bm25 normalizes by the whole row's length,
        which would let a short article that merely mentions the words beat a
        long one whose title is about them; so the title is scored on its own
        table (its own length), the body on the main table with the other
        columns weighted 0, and a title match always ranks above a body-only one.
        Equal scores: the newer article (stored later) first."""
        return [
            int(row[0])
            for row in session.execute(
                text(
                    "SELECT m.id FROM (SELECT search_index.rowid AS id, "
                    "bm25(search_index, 0.0, 1.0, 0.0) AS body_score "
                    + self._matches("search_index", conditions)
                    + ") m LEFT JOIN (SELECT rowid AS id, bm25(search_titles) AS title_score "
                    "FROM search_titles WHERE search_titles MATCH :title_match) t ON t.id = m.id "
                    "ORDER BY t.title_score IS NULL, "
                    "coalesce(t.title_score, 0) * :boost + m.body_score, m.id DESC LIMIT :depth"
                ),
                {**parameters, "boost": TITLE_BOOST, "depth": depth},
            )
        ]

    def _by_title_tier(
        self, session: Session, conditions: list[str], parameters: dict[str, object], depth: int
    ) -> list[int]:
        """A very common word: scoring every match costs tens of milliseconds
        and says little. Title matches come first, by their bm25 over titles;
        the body matches after them newest first."""
        titled = [
            int(row[0])
            for row in session.execute(
                text(
                    "SELECT search_titles.rowid "
                    + self._matches("search_titles", conditions, "title_match")
                    + " ORDER BY bm25(search_titles), search_titles.rowid DESC LIMIT :depth"
                ),
                {**parameters, "depth": depth},
            )
        ]
        if len(titled) >= depth:
            return titled
        rest = session.execute(
            text(
                "SELECT search_index.rowid "
                + self._matches("search_index", conditions)
                + " AND search_index.rowid NOT IN (SELECT rowid FROM search_titles "
                "WHERE search_titles MATCH :title_match) "
                "ORDER BY search_index.rowid DESC LIMIT :depth"
            ),
            {**parameters, "depth": depth - len(titled)},
        )
        return titled + [int(row[0]) for row in rest]

    def newer_matches(
        self, session: Session, query: Query, *, after_id: int, until_id: int, limit: int
    ) -> tuple[list[Hit], int]:
        expression = match_expression(query, FTS5)
        if expression is None:
            return [], until_id
        conditions = ["a.id > :after", "a.id <= :until"]
        parameters: dict[str, object] = {
            "match": expression,
            "after": after_id,
            "until": until_id,
            "limit": limit,
        }
        add_filters(query, conditions, parameters, postgres=False)
        rows = session.execute(
            text(
                HIT_SELECT + "FROM (SELECT rowid FROM search_index WHERE search_index MATCH :match "
                "      AND rowid > :after) m"
                + HIT_FILTERS.format(where=" AND ".join(conditions))
                + " ORDER BY a.id LIMIT :limit"
            ),
            parameters,
        ).all()
        hits = [hit_of(row) for row in rows]
        cursor = cursor_after(hits, limit, until_id)
        return [h for h in hits if holds(query, h.title, h.body)], cursor
