"""Search as callers use it: text in, a page of results out, or a reason why not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from digests.search.base import Results, SearchIndex, searchable
from digests.search.query import Query, parse_query
from digests.store.db import Database

PER_PAGE = 5
MAX_PAGES = 40


@dataclass(frozen=True, slots=True)
class SearchPage:
    text: str
    query: Query
    results: Results
    page: int  # from 0
    per_page: int
    # "empty" | "only_excluded" | "nothing_searchable" | "past_end"
    problem: str | None = None

    @property
    def pages(self) -> int:
        """Pages known to hold results (a lower bound when not every match was counted)."""
        known = -(-self.results.total // self.per_page)
        if self.results.more:
            known = max(known, self.page + 2)
        return min(MAX_PAGES, max(1, known))

    @property
    def total_label(self) -> str:
        """The number found as a reader sees it: ``200+`` when counting stopped."""
        return f"{self.results.total}+" if self.results.more else str(self.results.total)

    @property
    def pages_label(self) -> str:
        more = self.results.more and self.pages < MAX_PAGES
        return f"{self.pages}+" if more else str(self.pages)


def search(
    db: Database,
    index: SearchIndex,
    text: str,
    *,
    page: int = 0,
    per_page: int = PER_PAGE,
    now: datetime | None = None,
) -> SearchPage:
    query = parse_query(text, now or datetime.now(UTC))
    page = max(0, min(page, MAX_PAGES - 1))
    empty = Results([], 0, [])
    if query.empty:
        problem = "only_excluded" if query.excluded else "empty"
        return SearchPage(text, query, empty, page, per_page, problem)
    if not searchable(query):  # only punctuation, emoji or stop words
        return SearchPage(text, query, empty, page, per_page, "nothing_searchable")
    with db.read() as session:
        results = index.search(session, query, offset=page * per_page, limit=per_page)
    found = SearchPage(text, query, results, page, per_page)
    if page > 0 and not results.hits and page >= found.pages:
        return SearchPage(text, query, results, page, per_page, "past_end")
    return found
