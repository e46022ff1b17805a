"""What every search index shares: the interface, its data and the query building.

An index lives beside the articles and is written with them: an article's
entry is stored with its summary (the summarize stage segments each article
once, for both), dropped when the article is deleted (also through its
source) or its text changes, and ``newsdigest reindex`` rebuilds it. Each
engine (``fts5``, ``tantivy_index``, ``postgres``) imports this module and no
other engine; ``factory.open_search_index`` chooses one from the settings.

User input reaches an engine only as quoted words built here (``Syntax`` is
how one engine spells a word, AND, OR and NOT).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol, cast

from sqlalchemy import Table, bindparam, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from digests.errors import StoreError
from digests.search.query import Query, Term
from digests.search.terms import as_written, is_han, is_han_phrase, term_words
from digests.store.models import Article
from digests.text.tokens import is_acronym

# Matches are counted up to here ("200+"), as many as a reader can page
# through (the bot's 40 pages of 5): counting every match of a common word
# would cost more than ranking the page.
COUNT_CAP = 200
# At most this many of the index's best matches are checked against what only
# the stored text can tell (a phrase as written, an excluded word, and on
# tantivy also source: and since:); checking goes in growing batches and stops
# as soon as the page and one more match are known.
CANDIDATES = 1000
FIRST_CHECK = 40
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
    # The Chinese character pairs of the article's title and body as stored
    # (``text_pairs``): FTS5 removes them later by recomputing them from that
    # text, so they must be exactly these (no default).
    pairs: str


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
    more: bool = False  # ``total`` is a lower bound: more matches were not counted


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

    def max_indexed_id(self, session: Session) -> int:
        """The newest article the index holds (articles are indexed in id order)."""
        ...


# -- query building ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Syntax:
    """How one engine spells a query: a word (in which fields), AND, OR, NOT."""

    word: Callable[[str, bool], str]  # (word, titles only) -> clause
    both: str
    either: str
    without: str  # "{kept} ... {dropped}"


def term_clause(term: Term, syntax: Syntax, titles_only: bool = False) -> str | None:
    words = term_words(term.text)
    if not words:
        return None
    return "(" + syntax.both.join(syntax.word(word, titles_only) for word in words) + ")"


def match_expression(query: Query, syntax: Syntax, *, titles_only: bool = False) -> str | None:
    """The engine's query for ``query`` (over titles only: for ranking title
    matches); None when nothing is searchable. Every word is quoted."""
    groups = []
    for group in query.groups:
        clauses = [c for term in group if (c := term_clause(term, syntax, titles_only))]
        if clauses:
            groups.append("(" + syntax.either.join(clauses) + ")")
    if not groups:
        return None
    expression = syntax.both.join(groups)
    if titles_only:
        return expression
    # A phrase is excluded only where written together: ``holds`` checks that.
    excluded = [
        c for term in query.excluded if not term.phrase and (c := term_clause(term, syntax))
    ]
    if excluded:
        expression = syntax.without.format(kept=expression, dropped=syntax.either.join(excluded))
    return expression


def searchable(query: Query) -> bool:
    """Whether any wanted term has a word an index holds (not only punctuation,
    emoji or stop words): what ``match_expression`` needs to say anything."""
    return any(term_words(term.text) for term in query.terms)


def needles(query: Query) -> list[str]:
    """Words to highlight: each term as typed and the words it was analyzed into."""
    out: list[str] = []
    for term in query.terms:
        out.append(term.text)
        out.extend(term.text.split())
        out.extend(word for word in term_words(term.text) if len(word) > 1 or is_han(word))
    return sorted(set(out), key=len, reverse=True)


_LATIN_EDGE = "0-9A-Za-z"
_LATIN_WORD = re.compile(r"[0-9A-Za-z]")


@lru_cache(maxsize=256)
def _verbatim(text: str) -> re.Pattern[str] | None:
    """``text`` as written (case and spacing aside, but an acronym in capitals),
    not inside a longer Latin word."""
    parts = text.split() if is_acronym(text) else text.casefold().split()
    if not parts:
        return None
    pattern = r"\s*".join(re.escape(part) for part in parts)
    if re.match(f"[{_LATIN_EDGE}]", parts[0]):
        pattern = f"(?<![{_LATIN_EDGE}])" + pattern
    if re.search(f"[{_LATIN_EDGE}]$", parts[-1]):
        pattern += f"(?![{_LATIN_EDGE}])"
    return re.compile(pattern)


def appears(text: str, title: str, body: str) -> bool:
    """Whether ``text`` is written in the title or the body, as one piece."""
    pattern = _verbatim(text)
    if pattern is None:
        return True
    if is_acronym(text):
        return any(pattern.search(part) for part in (title, body))
    return any(pattern.search(part.casefold()) for part in (title, body))


def holds(query: Query, title: str, body: str) -> bool:
    """What the index cannot see: each group made only of quoted phrases has
    one of them written as typed; no excluded term is written anywhere. (SQL
    checks the same with LIKE, see ``add_filters``; this also keeps a Latin
    phrase from matching inside a longer word.)"""
    for group in query.groups:
        if all(term.phrase for term in group) and not any(
            appears(term.text, title, body) for term in group
        ):
            return False
    return not any(appears(term.text, title, body) for term in query.excluded)


def refine(query: Query, rows: Sequence[Any]) -> list[Any]:
    """The rows (id, title, body, ...) of a page that ``hold``."""
    if not query.excluded and not any(term.phrase for term in query.terms):
        return list(rows)
    return [row for row in rows if holds(query, row[1], row[2])]


def cursor_after(hits: Sequence[Hit], limit: int, until_id: int) -> int:
    """Where an alert's next look starts: after the last article read when the
    page was full, else after everything indexed up to ``until_id``."""
    return hits[-1].article_id if len(hits) == limit else until_id


# -- SQL every engine reads its hits with -----------------------------------------

# Columns of a hit, in ``hit_of``'s order, over ``m`` (rows with the article id
# as ``rowid``) joined as in ``HIT_FILTERS``.
HIT_SELECT = (
    "SELECT a.id, a.title, a.body, s.name, coalesce(a.url, a.link), "
    "coalesce(a.published_at, a.fetched_at) AS at "
)
HIT_FILTERS = """
    JOIN articles a ON a.id = m.rowid
    JOIN sources s ON s.id = a.source_id
    WHERE {where}
"""


def _like_text(text: str) -> str:
    """A LIKE pattern for ``text`` written anywhere: spacing as in the stored
    text (none between Chinese characters), ``%`` and ``_`` taken literally."""
    parts = text.split()
    joined = (" " if any(_LATIN_WORD.search(part) for part in parts) else "").join(parts)
    escaped = joined.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def filter_conditions(
    query: Query, conditions: list[str], parameters: dict[str, object], *, postgres: bool
) -> None:
    """``source:`` and ``since:`` as SQL conditions on ``a`` (articles) and ``s``
    (sources). SQLite compares stored datetimes as text; PostgreSQL takes a datetime."""
    if query.sources:
        names = []
        for number, name in enumerate(query.sources):
            parameters[f"source{number}"] = name.casefold()
            names.append(f":source{number}")
        conditions.append(f"lower(s.name) IN ({', '.join(names)})")
    if query.since is not None:
        since = query.since.astimezone(UTC)
        parameters["since"] = since if postgres else since.replace(tzinfo=None).isoformat(sep=" ")
        conditions.append("coalesce(a.published_at, a.fetched_at) >= :since")


def verbatim_conditions(
    query: Query, conditions: list[str], parameters: dict[str, object], *, postgres: bool
) -> None:
    """What only the stored text can tell, as SQL conditions on ``a``: quoted
    phrases (each group made only of them has one written as typed) and
    excluded terms (Chinese ones and phrases not written anywhere: the index
    cannot tell a word the segmenter cut differently). PostgreSQL needs ILIKE."""
    number = 0

    def written(term: Term) -> str:
        nonlocal number
        key = f"verbatim{number}"
        number += 1
        if is_han_phrase(term.text):  # no case to fold: a plain substring search, much faster
            parameters[key] = as_written(term.text)
            find = "strpos({column}, :{key}) > 0" if postgres else "instr({column}, :{key}) > 0"
        else:
            parameters[key] = _like_text(term.text)
            like = "ILIKE" if postgres else "LIKE"
            find = "{column} " + like + " :{key} ESCAPE '\\'"
        return (
            "(" + " OR ".join(find.format(column=c, key=key) for c in ("a.title", "a.body")) + ")"
        )

    for group in query.groups:
        if all(term.phrase for term in group):
            conditions.append("(" + " OR ".join(written(term) for term in group) + ")")
    for term in query.excluded:
        if term.phrase or is_han_phrase(term.text):
            conditions.append("NOT " + written(term))


def add_filters(
    query: Query, conditions: list[str], parameters: dict[str, object], *, postgres: bool
) -> None:
    """Every condition SQL checks: ``filter_conditions`` and ``verbatim_conditions``."""
    filter_conditions(query, conditions, parameters, postgres=postgres)
    verbatim_conditions(query, conditions, parameters, postgres=postgres)


@dataclass(frozen=True, slots=True)
class Window:
    """One page of ranked article ids, and how many matches are known."""

    ids: list[int]
    total: int
    more: bool  # at least ``total``: matches beyond were not counted


def ranked_window(
    ranked: Callable[[int], Sequence[int]],
    check: Callable[[Sequence[int]], Sequence[int]] | None,
    offset: int,
    limit: int,
) -> Window:
    """The page ``offset:offset+limit`` of what ``ranked(depth)`` (the index's
    best ``depth`` ids, best first) returns. Without ``check`` the index alone
    decides, and matches are counted up to ``COUNT_CAP``. With it, the best
    candidates are checked in growing batches (``check`` keeps those that pass,
    in order) until the page and one match beyond it are known, the matches run
    out, or ``CANDIDATES`` were checked."""
    if check is None:
        depth = max(offset + limit, COUNT_CAP) + 1
        ids = list(ranked(depth))
        more = len(ids) >= depth
        return Window(ids[offset : offset + limit], min(len(ids), depth - 1), more)
    wanted = offset + limit + 1
    depth = min(CANDIDATES, max(FIRST_CHECK, 2 * wanted))
    kept: list[int] = []
    checked = 0
    while True:
        ids = list(ranked(depth))
        kept.extend(check(ids[checked:]))
        checked = len(ids)
        exhausted = len(ids) < depth
        if len(kept) >= wanted or exhausted or depth >= CANDIDATES:
            break
        depth = min(CANDIDATES, depth * 4)
    more = len(kept) >= wanted and not exhausted
    return Window(kept[offset : offset + limit], len(kept), more)


def ranked_once(rank: Callable[[int], list[int]], least: int) -> Callable[[int], list[int]]:
    """``rank`` for an index that scores every match whatever the depth asked
    (SQL engines): asked once, at least ``least`` deep, and sliced after."""
    ranked: list[int] = []
    deepest = 0

    def best(depth: int) -> list[int]:
        nonlocal ranked, deepest
        if depth > deepest:
            deepest = max(depth, least)
            ranked = rank(deepest)
        return ranked[:depth]

    return best


def passing_ids(session: Session, ids: Sequence[int], query: Query, *, postgres: bool) -> list[int]:
    """Of ``ids`` (in rank order), those whose stored text holds every condition
    of ``verbatim_conditions`` (and ``filter_conditions``); no text is sent back."""
    if not ids:
        return []
    conditions = ["a.id IN :ids"]
    parameters: dict[str, Any] = {"ids": list(ids)}
    add_filters(query, conditions, parameters, postgres=postgres)
    passing = {
        int(row[0])
        for row in session.execute(
            text(
                "SELECT a.id FROM articles a JOIN sources s ON s.id = a.source_id WHERE "
                + " AND ".join(conditions)
            ).bindparams(bindparam("ids", expanding=True)),
            parameters,
        )
    }
    return [i for i in ids if i in passing]


def rows_by_id(session: Session, ids: Sequence[int]) -> list[Any]:
    """``HIT_SELECT`` rows of the articles ``ids``, in that order (an article
    deleted since the index was written is left out)."""
    if not ids:
        return []
    rows = session.execute(
        text(
            HIT_SELECT + "FROM articles a JOIN sources s ON s.id = a.source_id WHERE a.id IN :ids"
        ).bindparams(bindparam("ids", expanding=True)),
        {"ids": list(ids)},
    ).all()
    by_id = {int(row[0]): row for row in rows}
    return [by_id[i] for i in ids if i in by_id]


def results_of(
    session: Session,
    query: Query,
    window: Window,
    found: list[str],
    offset: int,
    limit: int,
    *,
    postgres: bool,
) -> Results:
    """The page's hits; when the index matched nothing, the substring fallback."""
    if window.total == 0:
        return substring_fallback(session, query, found, offset, limit, postgres=postgres)
    rows = refine(query, rows_by_id(session, window.ids))
    return Results([hit_of(row) for row in rows], window.total, found, more=window.more)


def substring_fallback(
    session: Session,
    query: Query,
    found: list[str],
    offset: int,
    limit: int,
    *,
    postgres: bool,
) -> Results:
    """Short Chinese queries the word index missed: a substring scan of the
    newest articles, so a one-character query is answered, not refused. Every
    operator holds here as in the index: each group (OR) must be written,
    excluded terms must not be, source: and since: filter."""
    terms = [t.text for t in query.terms]
    if not terms or any(not (is_han(t) and len(t) <= 2) for t in terms):
        return Results([], 0, found)
    conditions = ["1=1"]
    parameters: dict[str, object] = {"scan": FALLBACK_SCAN}
    add_filters(query, conditions, parameters, postgres=postgres)
    number = 0
    for group in query.groups:
        either = []
        for term in group:
            parameters[f"like{number}"] = f"%{term.text}%"
            either.append(f"a.title LIKE :like{number} OR a.body LIKE :like{number}")
            number += 1
        conditions.append("(" + " OR ".join(either) + ")")
    matches = (
        "FROM (SELECT id AS rowid FROM articles ORDER BY id DESC LIMIT :scan) m"
        + HIT_FILTERS.format(where=" AND ".join(conditions))
    )
    depth = max(offset + limit, COUNT_CAP) + 1
    ids = [
        int(row[0])
        for row in session.execute(
            text(
                "SELECT a.id, coalesce(a.published_at, a.fetched_at) AS at "
                f"{matches} ORDER BY at DESC, a.id DESC LIMIT :depth"
            ),
            {**parameters, "depth": depth},
        )
    ]
    rows = refine(query, rows_by_id(session, ids[offset : offset + limit]))
    more = len(ids) >= depth
    return Results(
        [hit_of(row) for row in rows], min(len(ids), depth - 1), found, fallback=True, more=more
    )


def hit_of(row: Sequence[object]) -> Hit:
    """A row of ``HIT_SELECT`` as a ``Hit``."""
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


class UnavailableSearchIndex:
    """Where no index exists (a database kind without an engine): storing is a
    no-op, so ingest and summaries work; searching says why not."""

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

    def max_indexed_id(self, session: Session) -> int:
        return 0
