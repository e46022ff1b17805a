"""The search index: one interface; SQLite FTS5 behind it (PostgreSQL to follow).

The index lives in the same database as the articles and is written in the
same transactions: an article's entry is stored with its summary (the
summarize stage segments each article once, for both), removed by a trigger
when the article is deleted (also through its source) or its text changes,
and ``newsdigest reindex`` rebuilds it. User input reaches ``MATCH`` only as
quoted strings built here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, cast

from sqlalchemy import Table, bindparam, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from digests.errors import StoreError
from digests.search.query import Query, Term
from digests.search.terms import is_han, query_words
from digests.store.models import Article

# A query matching at least this many articles is "common": its title matches
# are ranked, the rest listed newest first (scoring every match is the cost).
COMMON = 3000
# Results are counted up to here ("1000+"): counting every match of a very
# common word costs more than the answer is worth.
COUNT_CAP = COMMON
# A title match counts this many times a body match (the conventional boost).
TITLE_BOOST = 2.0
# One- and two-character queries that the word index does not answer fall
# back to a substring scan over this many newest articles.
FALLBACK_SCAN = 20_000


@dataclass(frozen=True, slots=True)
class IndexEntry:
    article_id: int
    content_hash: str
    title: str  # analyzed words, space-joined
    body: str
    grams: str


@dataclass(frozen=True, slots=True)
class Hit:
    article_id: int
    title: str
    body: str
    source: str
    link: str | None
    when: datetime


@dataclass(frozen=True, slots=True)
class Results:
    hits: list[Hit]
    total: int
    needles: list[str]  # what to highlight in snippets
    fallback: bool = False  # found by substring scan, not the word index


class SearchIndex(Protocol):
    available: bool

    def store(self, session: Session, entries: Sequence[IndexEntry]) -> bool:
        """Write the entries; False when the index could not be written now."""
        ...

    def clear(self, session: Session) -> None: ...

    def search(self, session: Session, query: Query, *, offset: int, limit: int) -> Results: ...

    def newer_matches(
        self, session: Session, query: Query, *, after_id: int, until_id: int, limit: int
    ) -> tuple[list[Hit], int]:
        """Matches among articles (after_id, until_id], oldest first, and the
        alert's next cursor (see ``cursor_after``)."""
        ...


def _quote(word: str) -> str:
    """An FTS5 string: user text is always inside double quotes, quotes doubled."""
    return '"' + word.replace('"', '""') + '"'


@dataclass(frozen=True, slots=True)
class Syntax:
    """How one engine spells a query: a word (in which fields), AND, OR, NOT."""

    word: Callable[[str, bool], str]  # (word, titles only) -> clause
    both: str
    either: str
    without: str  # "{kept} ... {dropped}"


def _fts5_word(word: str, titles_only: bool) -> str:
    columns = ["title"] if titles_only else ["title", "body"]
    if is_han(word) and len(word) <= 2:  # also the title's characters and pairs
        columns.append("grams")
    return f"({{{' '.join(columns)}}} : {_quote(word)})"


FTS5 = Syntax(_fts5_word, " AND ", " OR ", "({kept}) NOT ({dropped})")


def term_clause(term: Term, titles_only: bool = False, syntax: Syntax = FTS5) -> str | None:
    words = query_words(term.text)
    if not words:
        return None
    return "(" + syntax.both.join(syntax.word(word, titles_only) for word in words) + ")"


def match_expression(
    query: Query, *, titles_only: bool = False, syntax: Syntax = FTS5
) -> str | None:
    """The engine's query for ``query`` (over titles only: for ranking title
    matches); None when nothing is searchable. Every word is quoted."""
    groups = []
    for group in query.groups:
        clauses = [c for term in group if (c := term_clause(term, titles_only, syntax))]
        if clauses:
            groups.append("(" + syntax.either.join(clauses) + ")")
    if not groups:
        return None
    expression = syntax.both.join(groups)
    if titles_only:
        return expression
    excluded = [c for term in query.excluded if (c := term_clause(term, False, syntax))]
    if excluded:
        expression = syntax.without.format(kept=expression, dropped=syntax.either.join(excluded))
    return expression


def phrase_page(
    query: Query, rows: Sequence[Any], offset: int, limit: int
) -> tuple[list[Any], int]:
    """Of candidate rows (id, title, body, ...), those whose quoted phrases hold:
    one page of them, and how many there are."""
    kept = [row for row in rows if _phrases_hold(query, row[1], row[2])]
    return kept[offset : offset + limit], len(kept)


def cursor_after(hits: Sequence[Hit], limit: int, until_id: int) -> int:
    """Where an alert's next look starts: after the last article read when the
    page was full, else after everything indexed up to ``until_id``."""
    return hits[-1].article_id if len(hits) == limit else until_id


def needles(query: Query) -> list[str]:
    """Words to highlight: each term as typed and the words it was analyzed into."""
    out: list[str] = []
    for term in query.terms:
        out.append(term.text)
        out.extend(term.text.split())
        out.extend(word for word in query_words(term.text) if len(word) > 1 or is_han(word))
    return sorted(set(out), key=len, reverse=True)


def _phrases_hold(query: Query, title: str, body: str) -> bool:
    """Quoted phrases appear as written (the index only knows words)."""
    if not any(term.phrase for term in query.terms):
        return True
    haystack = " ".join(f"{title}\n{body}".split()).casefold()
    for group in query.groups:
        phrases = [t for t in group if t.phrase]
        if (
            phrases
            and len(phrases) == len(group)
            and not any(" ".join(t.text.split()).casefold() in haystack for t in phrases)
        ):
            return False
    return True


_SELECT = (
    "SELECT a.id, a.title, a.body, s.name, coalesce(a.url, a.link), "
    "coalesce(a.published_at, a.fetched_at) AS at "
)
_FILTERS = """
    JOIN articles a ON a.id = m.rowid
    JOIN sources s ON s.id = a.source_id
    WHERE {where}
"""


class SqliteSearchIndex:
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

    def search(self, session: Session, query: Query, *, offset: int, limit: int) -> Results:
        expression = match_expression(query)
        found = needles(query)
        if expression is None:
            return Results([], 0, found)
        conditions = ["1"]
        parameters: dict[str, object] = {"match": expression}
        _filters(query, conditions, parameters, native_datetimes=False)
        where = " AND ".join(conditions)
        has_phrases = any(term.phrase for term in query.terms)
        title_match = match_expression(query, titles_only=True)
        total = 0
        if not has_phrases:
            total = self._count(session, where, parameters)
        if has_phrases or total < COMMON:
            rows = self._ranked(session, where, parameters, title_match, has_phrases, offset, limit)
        else:
            rows = self._common(session, query, where, parameters, title_match, offset, limit)
        if has_phrases:
            rows, total = phrase_page(query, rows, offset, limit)
        if total == 0 and offset == 0:
            return _fallback(session, query, found, limit, native_datetimes=False)
        return Results([_hit(row) for row in rows], total, found)

    @staticmethod
    def _count(session: Session, where: str, parameters: dict[str, object]) -> int:
        return int(
            session.scalar(
                text(
                    "SELECT count(*) FROM (SELECT a.id FROM (SELECT rowid FROM search_index "
                    "WHERE search_index MATCH :match) m"
                    + _FILTERS.format(where=where)
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
        everything: bool,
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
                    _SELECT + "FROM (SELECT rowid, bm25(search_index, 0.0, 1.0, 0.0) AS body_score "
                    "      FROM search_index WHERE search_index MATCH :match) m "
                    "LEFT JOIN (SELECT rowid AS id, bm25(search_titles) AS title_score "
                    "      FROM search_titles WHERE search_titles MATCH :title_match) t "
                    "  ON t.id = m.rowid"
                    + _FILTERS.format(where=where)
                    + " ORDER BY t.title_score IS NULL, "
                    "coalesce(t.title_score, 0) * :boost + m.body_score, at DESC, a.id DESC"
                    + ("" if everything else " LIMIT :limit OFFSET :offset")
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
        query: Query,
        where: str,
        parameters: dict[str, object],
        title_match: str | None,
        offset: int,
        limit: int,
    ) -> list[Any]:
        """A very common word: scoring every match costs tens of milliseconds
        and says little. Title matches come first, by their bm25 over titles;
        deeper pages list body matches newest first."""
        excluded = [clause for term in query.excluded if (clause := term_clause(term))]
        not_excluded = ""
        extra: dict[str, object] = {}
        if excluded:
            not_excluded = (
                " AND a.id NOT IN (SELECT rowid FROM search_index WHERE search_index MATCH :excl)"
            )
            extra["excl"] = " OR ".join(excluded)
        titled = list(
            session.execute(
                text(
                    _SELECT + "FROM (SELECT rowid, bm25(search_titles) AS title_score "
                    "      FROM search_titles WHERE search_titles MATCH :title_match) m"
                    + _FILTERS.format(where=where)
                    + not_excluded
                    + " ORDER BY m.title_score, at DESC, a.id DESC LIMIT :limit OFFSET :offset"
                ),
                {
                    **parameters,
                    **extra,
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
                "WHERE search_titles MATCH :title_match) m"
                + _FILTERS.format(where=where)
                + not_excluded
            ),
            {**parameters, **extra, "title_match": title_match},
        )
        body_offset = max(0, offset - int(tier or 0))
        rest = session.execute(
            text(
                _SELECT
                + "FROM (SELECT rowid FROM search_index WHERE search_index MATCH :match) m"
                + _FILTERS.format(where=where)
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
        expression = match_expression(query)
        if expression is None:
            return [], until_id
        conditions = ["a.id > :after", "a.id <= :until"]
        parameters: dict[str, object] = {
            "match": expression,
            "after": after_id,
            "until": until_id,
            "limit": limit,
        }
        _filters(query, conditions, parameters, native_datetimes=False)
        rows = session.execute(
            text(
                _SELECT + "FROM (SELECT rowid FROM search_index WHERE search_index MATCH :match "
                "      AND rowid > :after) m"
                + _FILTERS.format(where=" AND ".join(conditions))
                + " ORDER BY a.id LIMIT :limit"
            ),
            parameters,
        ).all()
        hits = [_hit(row) for row in rows]
        cursor = cursor_after(hits, limit, until_id)
        return [h for h in hits if _phrases_hold(query, h.title, h.body)], cursor


def _filters(
    query: Query, conditions: list[str], parameters: dict[str, object], *, native_datetimes: bool
) -> None:
    """source: and since: as SQL conditions on ``a`` (articles) and ``s`` (sources).
    SQLite compares stored datetimes as text; PostgreSQL takes a datetime."""
    if query.sources:
        names = []
        for number, name in enumerate(query.sources):
            parameters[f"source{number}"] = name.casefold()
            names.append(f":source{number}")
        conditions.append(f"lower(s.name) IN ({', '.join(names)})")
    if query.since is not None:
        since = query.since.astimezone(UTC)
        parameters["since"] = (
            since if native_datetimes else since.replace(tzinfo=None).isoformat(sep=" ")
        )
        conditions.append("coalesce(a.published_at, a.fetched_at) >= :since")


def _fallback(
    session: Session, query: Query, found: list[str], limit: int, *, native_datetimes: bool
) -> Results:
    """Short Chinese queries the word index missed: a substring scan of the
    newest articles, so a one-character query is answered, not refused."""
    terms = [t.text for t in query.terms]
    if not terms or any(not (is_han(t) and len(t) <= 2) for t in terms):
        return Results([], 0, found)
    conditions = ["1=1"]
    parameters: dict[str, object] = {"scan": FALLBACK_SCAN, "limit": limit}
    _filters(query, conditions, parameters, native_datetimes=native_datetimes)
    likes = []
    for number, term in enumerate(terms):
        parameters[f"like{number}"] = f"%{term}%"
        likes.append(f"(a.title LIKE :like{number} OR a.body LIKE :like{number})")
    rows = session.execute(
        text(
            "SELECT a.id, a.title, a.body, s.name, coalesce(a.url, a.link), "
            "coalesce(a.published_at, a.fetched_at) AS at "
            "FROM (SELECT id AS rowid FROM articles ORDER BY id DESC LIMIT :scan) m"
            + _FILTERS.format(where=" AND ".join(conditions))
            + " AND ("
            + " OR ".join(likes)
            + ") ORDER BY at DESC, a.id DESC LIMIT :limit"
        ),
        parameters,
    ).all()
    return Results([_hit(row) for row in rows], len(rows), found, fallback=True)


def mark_indexed(session: Session | Connection, entries: Sequence[IndexEntry]) -> None:
    """Record which version of each article's text the index now holds."""
    if not entries:
        return
    articles = cast(Table, Article.__table__)
    session.execute(
        update(articles)
        .where(articles.c.id == bindparam("key"))
        .values(indexed_hash=bindparam("hash")),
        [{"key": e.article_id, "hash": e.content_hash} for e in entries],
    )


def _dialect(session: Session | Connection) -> str:
    bind = session.get_bind() if isinstance(session, Session) else session
    return bind.dialect.name


def max_indexed_id(session: Session | Connection) -> int:
    """The newest article the index holds (articles are indexed in id order)."""
    dialect = _dialect(session)
    if dialect == "sqlite" and _engine["name"] == "tantivy":
        # newest first along the primary key: stops at the first indexed article
        sql = (
            "SELECT coalesce((SELECT id FROM articles WHERE indexed_hash = content_hash "
            "ORDER BY id DESC LIMIT 1), 0)"
        )
    elif dialect == "sqlite":
        sql = "SELECT coalesce(max(rowid), 0) FROM search_index"
    elif dialect == "postgresql":
        sql = "SELECT coalesce(max(article_id), 0) FROM search_documents"
    else:
        return 0
    return int(session.execute(text(sql)).scalar() or 0)


def _hit(row: Sequence[object]) -> Hit:
    when = row[5]
    if isinstance(when, str):
        when = datetime.fromisoformat(when)
    assert isinstance(when, datetime)
    return Hit(
        article_id=int(row[0]),  # type: ignore[call-overload]
        title=str(row[1]),
        body=str(row[2]),
        source=str(row[3]),
        link=str(row[4]) if row[4] else None,
        when=when,
    )


class UnavailableSearchIndex:
    """Where no index exists yet (PostgreSQL until its implementation lands):
    storing is a no-op, so ingest and summaries work; searching says why not."""

    available = False

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect

    def store(self, session: Session | Connection, entries: Sequence[IndexEntry]) -> bool:
        return False

    def clear(self, session: Session) -> None:
        return None

    def search(self, session: Session, query: Query, *, offset: int, limit: int) -> Results:
        raise StoreError(f"search is not available on {self.dialect} yet")

    def newer_matches(
        self, session: Session, query: Query, *, after_id: int, until_id: int, limit: int
    ) -> tuple[list[Hit], int]:
        return [], until_id


_engine = {"name": "tantivy", "directory": ""}


def configure_search(engine: str, index_dir: str = "") -> None:
    """The index a SQLite deployment uses (settings ``search.engine``/``index_dir``)."""
    _engine.update(name=engine, directory=index_dir)


def search_engine() -> str:
    return _engine["name"]


def _tantivy_directory(session: Session | Connection) -> Path:
    if _engine["directory"]:
        return Path(_engine["directory"])
    bind = session.get_bind() if isinstance(session, Session) else session
    database = bind.engine.url.database
    if not database or database == ":memory:":
        raise StoreError("search.index_dir must be set for an in-memory database")
    return Path(database + ".search")


def search_index_for(session: Session | Connection) -> SearchIndex:
    dialect = _dialect(session)
    if dialect == "sqlite" and _engine["name"] == "tantivy":
        from digests.search.tantivy_index import TantivySearchIndex

        return TantivySearchIndex(_tantivy_directory(session))
    if dialect == "sqlite":
        return SqliteSearchIndex()
    if dialect == "postgresql":
        from digests.search.postgres import PostgresSearchIndex

        return PostgresSearchIndex()
    return UnavailableSearchIndex(dialect)
