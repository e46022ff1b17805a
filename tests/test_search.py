"""Search on every index (tantivy and FTS5 on SQLite, tsvector on PostgreSQL): ranking,
filters, fallback, consistency, bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from digests.config import SearchSettings, Settings
from digests.engine import Engine
from digests.search.tantivy_index import TantivySearchIndex
from digests.store.articles import save_articles
from digests.store.db import Database
from digests.store.models import Article
from digests.store.sources import get_or_create_source, remove_source
from tests.builders import article
from tests.conftest import ON_POSTGRES
from tests.test_cli import newsdigest

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def store(news: Engine, source: str, items: list[tuple[str, str]], at: datetime = NOW) -> None:
    with news.db.write() as session:
        source_id = get_or_create_source(
            session, kind="feed", location=f"https://{source}.example/", name=source
        ).id
        save_articles(session, source_id, [article(t, b, guid=t) for t, b in items], at)
    news.summarize_new()


def titles(news: Engine, query: str) -> list[str]:
    found = news.search(query, per_page=20)
    assert found.problem is None, found.problem
    return [hit.title for hit in found.results.hits]


def engine_on(url: str, search: SearchSettings) -> Engine:
    """An engine over the database at ``url`` whose clock stands at NOW."""
    database = Database(url)
    database.upgrade()
    return Engine(Settings(database_url=url, search=search), database, clock=lambda: NOW)


@pytest.fixture(params=["tantivy", "fts5", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The same tests on each index implementation (PostgreSQL when a server is given;
    on the PostgreSQL run only PostgreSQL's, so that it does not run three times)."""
    if ON_POSTGRES and request.param != "postgresql":
        pytest.skip(f"SQLite-specific: the {request.param} index works only on SQLite")
    if request.param == "postgresql":
        engine = engine_on(request.getfixturevalue("postgres_url"), SearchSettings())
    else:
        url = f"sqlite:///{tmp_path / 'search.db'}"
        engine = engine_on(url, SearchSettings(engine=request.param))
    yield engine
    engine.close()


@pytest.fixture
def news(backend: Engine) -> Engine:
    store(
        backend,
        "wire",
        [
            ("临江港新开两条内河航线", "货船从临江港驶出。新航线每周开行三班。"),
            ("滨江步道首段建成", "步道全长约二点八公里。市民可以沿江散步。新的航线也在规划。"),
            ("中国科学院专家来访", "专家介绍了研究成果。双方将开展合作。"),
        ],
        NOW - timedelta(days=3),
    )
    store(
        backend,
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
    return backend


def test_a_title_match_ranks_above_a_body_match(news: Engine) -> None:
    assert titles(news, "航线") == ["临江港新开两条内河航线", "滨江步道首段建成"]


def test_every_word_in_the_title_ranks_above_a_body_that_repeats_them(backend: Engine) -> None:
    store(
        backend,
        "wire",
        [
            ("港口航线调整", "今天公布。"),
            ("港口新闻", "港口航线一再调整：" + "港口的航线，航线的港口。" * 12),
        ],
    )
    assert titles(backend, "港口 航线") == ["港口航线调整", "港口新闻"]


def test_a_word_inside_a_longer_compound_is_found(news: Engine) -> None:
    assert titles(news, "科学院") == ["中国科学院专家来访"]
    assert titles(news, "学院") == ["中国科学院专家来访"]


def test_one_and_two_character_queries_are_answered(news: Engine) -> None:
    assert titles(news, "港") == ["临江港新开两条内河航线"]
    assert titles(news, "江港") == ["临江港新开两条内河航线"]  # across a word boundary
    assert "滨江步道首段建成" in titles(news, "沿")  # body only: the substring fallback
    fallback = news.search("沿")
    assert fallback.results.fallback and fallback.results.total >= 1


def test_phrases_exclusions_or_and_english_stems(news: Engine) -> None:
    assert titles(news, '"maker space"') == ["Library reopens with maker space"]
    assert titles(news, '"space maker"') == []
    assert titles(news, "opening") == ["Ferry pier opens", "Library reopens with maker space"]
    assert titles(news, "航线 -步道") == ["临江港新开两条内河航线"]
    assert set(titles(news, "ferry OR library")) == {
        "Ferry pier opens",
        "Library reopens with maker space",
    }


def test_source_and_date_filters(news: Engine) -> None:
    assert titles(news, "航线 source:gazette") == []
    assert titles(news, '航线 source:"WIRE"') == ["临江港新开两条内河航线", "滨江步道首段建成"]
    assert titles(news, "opens since:1d") == [
        "Ferry pier opens",
        "Library reopens with maker space",
    ]
    assert titles(news, "航线 since:1d") == []
    assert titles(news, "航线 since:2026-11-01") != []


def test_recency_breaks_ties(news: Engine) -> None:
    store(news, "wire", [("灯塔维修完成", "灯塔维修完成。")], NOW - timedelta(days=2))
    store(news, "gazette", [("灯塔维修完成", "灯塔维修完成。")], NOW - timedelta(days=1))
    found = news.search("灯塔")
    assert [h.source for h in found.results.hits] == ["gazette", "wire"]


def test_results_are_paged(news: Engine) -> None:
    first = news.search("航线", per_page=1)
    second = news.search("航线", page=1, per_page=1)
    assert first.pages == 2 and first.results.total == 2
    assert [h.title for h in first.results.hits + second.results.hits] == [
        "临江港新开两条内河航线",
        "滨江步道首段建成",
    ]


def _index_rows(news: Engine) -> int:
    """Entries the index holds (tantivy: documents; FTS5 and PostgreSQL: rows)."""
    with news.db.read() as session:
        index = news.search_index
        if isinstance(index, TantivySearchIndex):
            index.index.reload()
            return int(index.index.searcher().num_docs)
        table = "search_index" if news.db.is_sqlite else "search_documents"
        return int(session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


def test_the_index_follows_updates_and_deletes(news: Engine) -> None:
    store(news, "wire", [("滨江步道首段建成", "步道改为夜间开放。灯光秀吸引市民。")], NOW)
    assert titles(news, "灯光秀") == ["滨江步道首段建成"]
    assert "滨江步道首段建成" not in titles(news, "公里")  # the old text is gone
    with news.db.read() as session:
        articles = session.scalar(select(func.count(Article.id)))
    assert _index_rows(news) == articles
    with news.db.write() as session:
        remove_source(session, "https://gazette.example/", purge=True, now=NOW)
    assert titles(news, "ferry") == []  # at once, whatever the index still holds
    news.summarize_new()  # an outside index (tantivy) drops them on its next round
    assert _index_rows(news) == 3


def test_an_interrupted_index_is_completed_by_the_next_run(news: Engine) -> None:
    with news.db.write() as session:  # as a crash between storing and indexing leaves it
        news.search_index.clear(session)
    assert titles(news, "ferry") == []
    assert news.search("航线").results.fallback  # only the substring scan finds it
    news.summarize_new()
    assert titles(news, "ferry") == ["Ferry pier opens"]
    assert not news.search("航线").results.fallback


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("-航线", "only_excluded"),
        ("!!!，。", "nothing_searchable"),
        ("😀🎉", "nothing_searchable"),
    ],
)
def test_bad_input_gets_a_reason(news: Engine, query: str, problem: str) -> None:
    assert news.search(query).problem == problem


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
def test_search_syntax_in_a_query_is_text(news: Engine, query: str) -> None:
    found = news.search(query)  # never an error from the database
    assert found.problem in (None, "empty", "nothing_searchable")


def test_search_on_the_command_line(news: Engine, tmp_path: Path) -> None:
    env = {
        "NEWSDIGEST_DATABASE_URL": news.db.url,
        "NEWSDIGEST_SEARCH__ENGINE": news.settings.search.engine,
    }
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
    news: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("digests.search.fts5.COMMON", 2)  # every query here is "common"
    monkeypatch.setattr("digests.search.postgres.SCORED", 0)  # no tier is scored
    monkeypatch.setattr("digests.search.postgres.NEWEST_WINDOW", 1)  # windows grow from 1 id
    assert titles(news, "航线") == ["临江港新开两条内河航线", "滨江步道首段建成"]
    first = news.search("航线", per_page=1)
    second = news.search("航线", page=1, per_page=1)
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
    news = engine_on(f"sqlite:///{tmp_path / 'crash.db'}", SearchSettings(engine="tantivy"))

    def crash(*_args: object) -> None:
        raise RuntimeError("killed between the index commit and the database commit")

    monkeypatch.setattr("digests.search.tantivy_index.mark_indexed", crash)
    with pytest.raises(RuntimeError):
        store(news, "wire", [("江州港开通新航线", "航线开通。")])
    monkeypatch.undo()
    news.summarize_new()  # the next round indexes it again: replaced, not doubled
    assert titles(news, "航线") == ["江州港开通新航线"]
    assert _index_rows(news) == 1
    index = news.search_index
    assert isinstance(index, TantivySearchIndex)
    holder = index.index.writer(heap_size=15_000_000, num_threads=1)  # another process
    store(news, "wire", [("南屿港扩建工程", "码头扩建工程启动。")])  # summarized; indexing waits
    assert titles(news, "扩建工程") == []
    del holder
    news.summarize_new()
    assert titles(news, "扩建工程") == ["南屿港扩建工程"]
    news.close()
