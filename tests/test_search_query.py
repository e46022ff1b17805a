"""The query language: words, phrases, exclusions, OR, filters; bad input is text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from digests.search.query import MAX_TERMS, Term, parse_query

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_words_phrases_exclusions_and_or() -> None:
    query = parse_query('数字化转型 "滨江 步道" -夜市 -"night market" 港口 OR 航线', NOW)
    assert query.groups == (
        (Term("数字化转型"),),
        (Term("滨江 步道", phrase=True),),
        (Term("港口"), Term("航线")),
    )
    assert query.excluded == (Term("夜市"), Term("night market", phrase=True))


def test_filters() -> None:
    query = parse_query('ferry source:"Harbor Gazette" source:临江晚报 since:7d', NOW)
    assert query.sources == ("Harbor Gazette", "临江晚报")
    assert query.since == NOW - timedelta(days=7)
    assert parse_query("x since:2026-01-01", NOW).since == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_query("x since:24h", NOW).since == NOW - timedelta(hours=24)
    bad = parse_query("x since:yesterday", NOW)
    assert bad.since is None and bad.problems == ("since:yesterday",)


def test_search_syntax_is_text_or_ignored() -> None:
    # An unclosed quote runs to the end: all of it is a phrase of plain text.
    assert parse_query('" * NEAR( OR OR', NOW).groups == ((Term("* NEAR( OR OR", True),),)
    assert parse_query("* NEAR( OR OR", NOW).groups == ((Term("NEAR("),),)
    assert parse_query("OR OR", NOW).empty
    assert parse_query("- -- ***", NOW).empty
    assert parse_query("https://example.com/a", NOW).groups == ((Term("https://example.com/a"),),)
    assert parse_query("!!!，。？", NOW).groups == ((Term("!!!，。？"),),)


def test_long_input_is_cut_not_refused() -> None:
    query = parse_query(" ".join(f"词{i}" for i in range(1000)), NOW)
    assert len(query.groups) == MAX_TERMS and query.problems


@given(st.text(max_size=400))
def test_any_text_parses(text: str) -> None:
    query = parse_query(text, NOW)
    assert all(term.text and term.text == term.text.strip() for term in query.terms)
