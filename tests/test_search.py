"""Search on every index (tantivy and FTS5 on SQLite, tsvector on PostgreSQL): ranking,
filters, fallback, consistency, bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from digests.search.index import configure_search, search_engine, search_index_for
from digests.search.service import search
from digests.search.tantivy_index import TantivySearchIndex
from digests.store.articles import save_articles
from digests.store.db import Database
from digests.store.models import Article
from digests.store.sources import get_or_create_source, remove_source
from digests.summarize.stage import summarize_stored
from tests.builders import article
from tests.conftest import ON_POSTGRES
from tests.test_cli import newsdigest

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def store(db: Database, source: str, items: list[tuple[str, str]], at: datetime = NOW) -> None:
    with db.write() as session:
        source_id = get_or_create_source(
            session, kind="feed", location=f"https://{source}.example/", name=source
        ).id
        save_articles(session, source_id, [article(t, b, guid=t) for t, b in items], at)
    summarize_stored(db)


def titles(db: Database, query: str) -> list[str]:
    found = search(db, query, per_page=20, now=NOW)
    assert found.problem is None, found.problem
    return [hit.title for hit in found.results.hits]


@pytest.fixture(params=["tantivy", "fts5", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The same tests on each index implementation (PostgreSQL when a server is given;
    on the PostgreSQL run only PostgreSQL's, so that it does not run three times)."""
    if ON_POSTGRES and request.param != "postgresql":
        pytest.skip(f"SQLite-specific: the {request.param} index works only on SQLite")
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'search.db'}"
        configure_search(request.param)
    database = Database(url)
    database.upgrade()
    yield database
    database.close()
    configure_search("tantivy")


@pytest.fixture
def news(backend: Database) -> Database:
    db = backend
    store(
        db,
        "wire",
        [
            ("临江港新开两条内河航线", "货船从临江港驶出。新航线每周开行三班。"),
            ("滨江步道首段建成", "步道全长约二点八公里。市民可以沿江散步。新的航线也在规划。"),
            ("中国科学院专家来访", "专家介绍了研究成果。双方将开展合作。"),
        ],
        NOW - timedelta(days=3),
    )
    store(
        db,
        "gazette",
        [
            (
                "Library reopens with maker space",
                "The library opened on Saturday. Hours are longer.",
            ),
            ("Ferry pier opens", "The new ferry pier serves two routes to the island."),
        ],
        NOW - timedelta(hours=2),
    )
    return db


def test_a_title_match_ranks_above_a_body_match(news: Database) -> None:
    assert titles(news, "航线") == ["临江港新开两条内河航线", "滨江步道首段建成"]


def test_a_word_inside_a_longer_compound_is_found(news: Database) -> None:
    assert titles(news, "科学院") == ["中国科学院专家来访"]
    assert titles(news, "学院") == ["中国科学院专家来访"]


def test_one_and_two_character_queries_are_answered(news: Database) -> None:
    assert titles(news, "港") == ["临江港新开两条内河航线"]
    assert titles(news, "江港") == ["临江港新开两条内河航线"]  # across a word boundary
    assert "滨江步道首段建成" in titles(news, "沿")  # body only: the substring fallback
    fallback = search(news, "沿", now=NOW)
    assert fallback.results.fallback and fallback.results.total >= 1


def test_phrases_exclusions_or_and_english_stems(news: Database) -> None:
    assert titles(news, '"maker space"') == ["Library reopens with maker space"]
    assert titles(news, '"space maker"') == []
    assert titles(news, "opening") == ["Ferry pier opens", "Library reopens with maker space"]
    assert titles(news, "航线 -步道") == ["临江港新开两条内河航线"]
    assert set(titles(news, "ferry OR library")) == {
        "Ferry pier opens",
        "Library reopens with maker space",
    }


def test_source_and_date_filters(news: Database) -> None:
    assert titles(news, "航线 source:gazette") == []
    assert titles(news, '航线 source:"WIRE"') == ["临江港新开两条内河航线", "滨江步道首段建成"]
    assert titles(news, "opens since:1d") == [
        "Ferry pier opens",
        "Library reopens with maker space",
    ]
    assert titles(news, "航线 since:1d") == []
    assert titles(news, "航线 since:2026-11-01") != []


def test_recency_breaks_ties(news: Database) -> None:
    store(news, "wire", [("灯塔维修完成", "灯塔维修完成。")], NOW - timedelta(days=2))
    store(news, "gazette", [("灯塔维修完成", "灯塔维修完成。")], NOW - timedelta(days=1))
    found = search(news, "灯塔", now=NOW)
    assert [h.source for h in found.results.hits] == ["gazette", "wire"]


def test_results_are_paged(news: Database) -> None:
    first = search(news, "航线", per_page=1, now=NOW)
    second = search(news, "航线", page=1, per_page=1, now=NOW)
    assert first.pages == 2 and first.results.total == 2
    assert [h.title for h in first.results.hits + second.results.hits] == [
        "临江港新开两条内河航线",
        "滨江步道首段建成",
    ]


def _index_rows(db: Database) -> int:
    """Entries the index holds (tantivy: documents; FTS5 and PostgreSQL: rows)."""
    with db.read() as session:
        index = search_index_for(session)
        if isinstance(index, TantivySearchIndex):
            index.index.reload()
            return int(index.index.searcher().num_docs)
        table = "search_index" if db.is_sqlite else "search_documents"
        return int(session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


def test_the_index_follows_updates_and_deletes(news: Database) -> None:
    store(news, "wire", [("滨江步道首段建成", "步道改为夜间开放。灯光秀吸引市民。")], NOW)
    assert titles(news, "灯光秀") == ["滨江步道首段建成"]
    assert "滨江步道首段建成" not in titles(news, "公里")  # the old text is gone
    with news.read() as session:
        articles = session.scalar(select(func.count(Article.id)))
    assert _index_rows(news) == articles
    with news.write() as session:
        remove_source(session, "https://gazette.example/", purge=True, now=NOW)
    assert titles(news, "ferry") == []  # at once, whatever the index still holds
    summarize_stored(news)  # an outside index (tantivy) drops them on its next round
    assert _index_rows(news) == 3


def test_an_interrupted_index_is_completed_by_the_next_run(news: Database) -> None:
    with news.write() as session:  # as a crash between storing and indexing leaves it
        search_index_for(session).clear(session)
    assert titles(news, "ferry") == []
    assert search(news, "航线", now=NOW).results.fallback  # only the substring scan finds it
    summarize_stored(news)
    assert titles(news, "ferry") == ["Ferry pier opens"]
    assert not search(news, "航线", now=NOW).results.fallback


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("-航线", "only_excluded"),
        ("!!!，。", "nothing_searchable"),
        ("😀🎉", "nothing_searchable"),
        ("的 了", "nothing_searchable"),
    ],
)
def test_bad_input_gets_a_reason(news: Database, query: str, problem: str) -> None:
    assert search(news, query, now=NOW).problem == problem


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "*",
        "NEAR(",
        "NEAR(航线 港, 2)",
        "OR OR",
        "航线 OR",
        "AND NOT",
        "a*b",
        "{title}: x",
        "航线" * 1000,
        "临江 harbor 😀 ferry",
        "col:航线",
        "'; DROP TABLE articles; --",
    ],
)
def test_search_syntax_in_a_query_is_text(news: Database, query: str) -> None:
    found = search(news, query, now=NOW)  # never an error from the database
    assert found.problem in (None, "empty", "nothing_searchable")


def test_search_on_the_command_line(news: Database, tmp_path: Path) -> None:
    env = {"NEWSDIGEST_DATABASE_URL": news.url, "NEWSDIGEST_SEARCH__ENGINE": search_engine()}
    result = newsdigest("search", "航线", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["title"] for line in result.stdout.splitlines()] == [
        "临江港新开两条内河航线",
        "滨江步道首段建成",
    ]
    empty = newsdigest("search", "!!!", cwd=tmp_path, env=env)
    assert empty.returncode == 1 and "nothing to search for" in empty.stderr
    rebuilt = newsdigest("reindex", cwd=tmp_path, env=env)
    assert rebuilt.returncode == 0 and "reindexed 5 articles" in rebuilt.stderr
    assert _index_rows(news) == 5


def test_a_very_common_word_ranks_title_matches_then_lists_the_rest(
    news: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("digests.search.index.COMMON", 2)  # every query here is "common"
    monkeypatch.setattr("digests.search.index.COUNT_CAP", 2)
    assert titles(news, "航线") == ["临江港新开两条内河航线", "滨江步道首段建成"]
    first = search(news, "航线", per_page=1, now=NOW)
    second = search(news, "航线", page=1, per_page=1, now=NOW)
    assert [h.title for h in first.results.hits + second.results.hits] == [
        "临江港新开两条内河航线",
        "滨江步道首段建成",
    ]
    assert titles(news, "航线 -步道") == ["临江港新开两条内河航线"]
    assert titles(news, "航线 -临江港") == ["滨江步道首段建成"]


@pytest.mark.sqlite_only("the tantivy index beside a SQLite file is what is tested")
def test_tantivy_stays_consistent_through_a_crash_and_a_busy_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure_search("tantivy")
    db = Database(f"sqlite:///{tmp_path / 'crash.db'}")
    db.upgrade()

    def crash(*_args: object) -> None:
        raise RuntimeError("killed between the index commit and the database commit")

    monkeypatch.setattr("digests.search.tantivy_index.mark_indexed", crash)
    with pytest.raises(RuntimeError):
        store(db, "wire", [("江州港开通新航线", "航线开通。")])
    monkeypatch.undo()
    configure_search("tantivy")
    summarize_stored(db)  # the next round indexes it again: replaced, not doubled
    assert titles(db, "航线") == ["江州港开通新航线"]
    assert _index_rows(db) == 1
    with db.read() as session:
        index = search_index_for(session)
    assert isinstance(index, TantivySearchIndex)
    holder = index.index.writer(heap_size=15_000_000, num_threads=1)  # another process
    store(db, "wire", [("南屿港扩建工程", "码头扩建工程启动。")])  # summarized; indexing waits
    assert titles(db, "扩建工程") == []
    del holder
    summarize_stored(db)
    assert titles(db, "扩建工程") == ["南屿港扩建工程"]
    db.close()
