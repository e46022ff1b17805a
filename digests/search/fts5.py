"""The search index as SQLite FTS5 tables inside the database file.

Entries are written in the same transaction as the article's summary and
removed by a trigger when the article is deleted (also through its source)
or its text changes. Titles are also kept in a table of their own
(``search_titles``), because FTS5's bm25 normalizes by the whole row's length.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from digests.search.base import (
    COUNT_CAP,
    HIT_FILTERS,
    HIT_SELECT,
    TITLE_BOOST,
    Hit,
    IndexEntry,
    Results,
    Syntax,
    add_filters,
    cursor_after,
    hit_of,
    holds,
    mark_indexed,
    match_expression,
    needles,
    refine,
    substring_fallback,
)
from digests.search.query import Query
from digests.search.terms import is_han
from digests.store.models import Article

# A query matching at least this many articles (as many as are counted) is
# "common": its title matches are ranked, the rest listed newest first
# (scoring every match is the cost).
COMMON = COUNT_CAP


def _quote(word: str) -> str:
    """An FTS5 string: user text is always inside double quotes, quotes doubled."""
    return '"' + word.replace('"', '""') + '"'


def _fts5_word(word: str, titles_only: bool) -> str:
    columns = ["title"] if titles_only else ["title", "body"]
    if is_han(word) and len(word) <= 2:  # also the title's characters and pairs
        columns.append("grams")
    return f"({{{' '.join(columns)}}} : {_quote(word)})"


FTS5 = Syntax(_fts5_word, " AND ", " OR ", "({kept}) NOT ({dropped})")


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
        mark_indexed(session, entries)
        return True

    def clear(self, session: Session) -> None:
        session.execute(text("DELETE FROM search_index"))
        session.execute(text("DELETE FROM search_titles"))
        session.execute(update(Article).values(indexed_hash=None))

    def max_indexed_id(self, session: Session) -> int:
        return int(session.scalar(text("SELECT coalesce(max(rowid), 0) FROM search_index")) or 0)

    def search(self, session: Session, query: Query, *, offset: int, limit: int) -> Results:
        expression = match_expression(query, FTS5)
        found = needles(query)
        if expression is None:
            return Results([], 0, found)
        conditions = ["1"]
        parameters: dict[str, object] = {"match": expression}
        add_filters(query, conditions, parameters, postgres=False)
        where = " AND ".join(conditions)
        title_match = match_expression(query, FTS5, titles_only=True)
        total = self._count(session, where, parameters)
        if total < COMMON:
            rows = self._ranked(session, where, parameters, title_match, offset, limit)
        else:
            rows = self._common(session, where, parameters, title_match, offset, limit)
        if total == 0:
            return substring_fallback(session, query, found, offset, limit, postgres=False)
        return Results([hit_of(row) for row in refine(query, rows)], total, found)

    @staticmethod
    def _count(session: Session, where: str, parameters: dict[str, object]) -> int:
        return int(
            session.scalar(
                text(
                    "SELECT count(*) FROM (SELECT a.id FROM (SELECT rowid FROM search_index "
                    "WHERE search_index MATCH :match) m"
                    + HIT_FILTERS.format(where=where)
                    + " LIMIT :cap)"
                ),
                {**parameters, "cap": COUNT_CAP},
            )
            or 0
        )

    @staticmethod
    def _ranked(
        session: Session,
        where: str,
        parameters: dict[str, object],
        title_match: str | None,
        offset: int,
        limit: int,
    ) -> list[Any]:
        """Every match scored. FTS5's bm25 normalizes by the whole row's length,
        which would let a short article that merely mentions the words beat a
        long one whose title is about them; so the title is scored on its own
        table (its own length), the body on the main table with the other
        columns weighted 0, and a title match always ranks above a body-only one."""
        return list(
            session.execute(
                text(
                    HIT_SELECT
                    + "FROM (SELECT rowid, bm25(search_index, 0.0, 1.0, 0.0) AS body_score "
                    "      FROM search_index WHERE search_index MATCH :match) m "
                    "LEFT JOIN (SELECT rowid AS id, bm25(search_titles) AS title_score "
                    "      FROM search_titles WHERE search_titles MATCH :title_match) t "
                    "  ON t.id = m.rowid"
                    + HIT_FILTERS.format(where=where)
                    + " ORDER BY t.title_score IS NULL, "
                    "coalesce(t.title_score, 0) * :boost + m.body_score, at DESC, a.id DESC"
                    " LIMIT :limit OFFSET :offset"
                ),
                {
                    **parameters,
                    "title_match": title_match,
                    "boost": TITLE_BOOST,
                    "limit": limit,
                    "offset": offset,
                },
            ).all()
        )

    def _common(
        self,
        session: Session,
        where: str,
        parameters: dict[str, object],
        title_match: str | None,
        offset: int,
        limit: int,
    ) -> list[Any]:
        """A very common word: scoring every match costs tens of milliseconds
        and says little. Title matches come first, by their bm25 over titles;
        deeper pages list body matches newest first."""
        titled = list(
            session.execute(
                text(
                    HIT_SELECT + "FROM (SELECT rowid, bm25(search_titles) AS title_score "
                    "      FROM search_titles WHERE search_titles MATCH :title_match) m"
                    + HIT_FILTERS.format(where=where)
                    + " ORDER BY m.title_score, at DESC, a.id DESC LIMIT :limit OFFSET :offset"
                ),
                {
                    **parameters,
                    "title_match": title_match,
                    "limit": limit,
                    "offset": offset,
                },
            ).all()
        )
        if len(titled) == limit:
            return titled
        tier = session.scalar(
            text(
                "SELECT count(*) FROM (SELECT rowid FROM search_titles "
                "WHERE search_titles MATCH :title_match) m" + HIT_FILTERS.format(where=where)
            ),
            {**parameters, "title_match": title_match},
        )
        body_offset = max(0, offset - int(tier or 0))
        rest = session.execute(
            text(
                HIT_SELECT
                + "FROM (SELECT rowid FROM search_index WHERE search_index MATCH :match) m"
                + HIT_FILTERS.format(where=where)
                + " AND a.id NOT IN (SELECT rowid FROM search_titles "
                "WHERE search_titles MATCH :title_match)"
                " ORDER BY at DESC, a.id DESC LIMIT :limit OFFSET :offset"
            ),
            {
                **parameters,
                "title_match": title_match,
                "limit": limit - len(titled),
                "offset": body_offset,
            },
        ).all()
        return titled + list(rest)

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
