"""Search gives right answers for every operator on every index and path:
Chinese phrases are phrases, exclusions hold under the substring fallback, no
query word is silently dropped, the command line takes the query as typed."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest
import tantivy
from sqlalchemy import inspect, text

from digests.config import SearchSettings
from digests.engine import Engine
from digests.search import base
from digests.search.postgres import tsvector_literal
from digests.search.query import parse_query
from digests.search.terms import phrase_pairs
from digests.text.pairs import text_pairs
from digests.text.tokens import is_acronym, query_term, search_terms
from tests.test_cli import newsdigest
from tests.test_migrations import upgrade_to
from tests.test_search import NOW, backend, engine_on, store, titles

__all__ = ["backend"]


@pytest.fixture
def city(backend: Engine) -> Engine:
    store(
        backend,
        "wire",
        [
            ("滨江步道夜间开放", "滨江步道今年起夜间开放。我们沿江散步。"),
            ("步道沿着滨江延伸", "新步道沿着滨江延伸三公里。工作人员在维护。"),
            ("柳家渡夜市开张", "夜市在柳家渡开张。摊位一百个。"),
            ("夜市人气旺", "柳家渡的夜市人气很旺。问题是停车难。"),
            ("青石湾夜市亮灯", "青石湾夜市今晚亮灯。编辑部走访了摊主。"),
        ],
        NOW - timedelta(days=2),
    )
    store(
        backend,
        "gazette",
        [
            ("Night market returns", "The night market returns to the pier on Friday."),
            ("Market hours change", "The market opens at night from now on."),
            ("Will the ferry run?", "Officials will decide on Monday."),
        ],
        NOW - timedelta(hours=3),
    )
    return backend


def test_a_quoted_chinese_phrase_is_a_phrase(city: Engine) -> None:
    assert titles(city, '"滨江步道"') == ["滨江步道夜间开放"]
    assert titles(city, '"步道滨江"') == []
    assert set(titles(city, "滨江 步道")) == {"滨江步道夜间开放", "步道沿着滨江延伸"}


def test_a_chinese_phrase_is_found_however_the_segmenter_cut_it(backend: Engine) -> None:
    if backend.db.is_sqlite is False:
        pytest.skip("PostgreSQL finds a phrase where its words are indexed (no pairs index)")
    # the article's words are 渡口/的/差距; the phrase's are 渡口/的/差
    store(backend, "wire", [("渡口追赶", "渡口的差距在缩小。")], NOW - timedelta(days=1))
    assert titles(backend, '"渡口的差"') == ["渡口追赶"]
    assert titles(backend, '"口的差距"') == ["渡口追赶"]
    assert titles(backend, '"差距的口"') == []


def test_quoted_english_is_a_phrase_and_excluded_phrases_only_where_together(
    city: Engine,
) -> None:
    assert titles(city, '"night market"') == ["Night market returns"]
    assert titles(city, 'market -"night market"') == ["Market hours change"]


def test_excluded_words_hold_on_the_index_and_on_the_fallback(city: Engine) -> None:
    assert titles(city, "夜市 -柳家渡") == ["青石湾夜市亮灯"]
    # one character inside body words only: the substring scan, which must honour -x too
    found = city.search("摊 -柳家渡")
    assert found.results.fallback
    assert [hit.title for hit in found.results.hits] == ["青石湾夜市亮灯"]
    assert titles(city, "摊 -柳家渡 source:gazette") == []
    # excluded as written, whatever the segmenter made of the article's words
    assert "柳家渡夜市开张" not in titles(city, "夜市 -家渡")


def test_the_fallback_keeps_every_group(city: Engine) -> None:
    found = city.search("摊 晚")
    assert found.results.fallback
    assert [hit.title for hit in found.results.hits] == ["青石湾夜市亮灯"]
    assert set(titles(city, "湾 OR 渡")) >= {"青石湾夜市亮灯", "柳家渡夜市开张"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("今年 步道", ["滨江步道夜间开放"]),
        ("工作 步道", ["步道沿着滨江延伸"]),
        ("问题 夜市", ["夜市人气旺"]),
        ("编辑 夜市", ["青石湾夜市亮灯"]),
        ("我们", ["滨江步道夜间开放"]),
        ("will ferry", ["Will the ferry run?"]),
    ],
)
def test_common_words_are_searched_not_dropped(
    city: Engine, query: str, expected: list[str]
) -> None:
    assert titles(city, query) == expected


def test_a_query_of_only_common_words_still_finds_articles(city: Engine) -> None:
    assert city.search("的").problem is None
    assert "夜市人气旺" in titles(city, "的")


def test_a_page_past_the_end_says_so(city: Engine) -> None:
    found = city.search("夜市", page=4, per_page=2)
    assert found.problem == "past_end"
    assert found.results.total == 3 and found.pages == 2


def test_the_command_line_takes_the_query_as_typed(city: Engine, tmp_path: Path) -> None:
    env = {
        "NEWSDIGEST_DATABASE_URL": city.db.url,
        "NEWSDIGEST_SEARCH__ENGINE": city.settings.search.engine,
    }
    result = newsdigest("search", "夜市", "-柳家渡", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "青石湾夜市亮灯" in result.stdout and "柳家渡" not in result.stdout
    late = newsdigest("search", "--page", "5", "夜市", cwd=tmp_path, env=env)
    assert late.returncode == 1
    assert late.stderr.strip() == "newsdigest: error: page 5 is past the end: 3 found, 1 page"
    alone = newsdigest("search", "-柳家渡", cwd=tmp_path, env=env)
    assert alone.returncode == 1 and "only excluded words" in alone.stderr
    hello = newsdigest("search", "夜市", "-hong", cwd=tmp_path, env=env)  # not -h(elp)
    assert hello.returncode == 0 and "usage" not in hello.stdout


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("5G", "5G网络覆盖全市"),
        ("h5n1", "H5N1疫苗获批"),
        ("GPT-4o", "新模型GPT-4o发布"),
        ("VIP", "地铁设立ＶＩＰ车厢"),  # full-width letters read as ASCII
    ],
)
def test_latin_codes_inside_chinese_text_are_found(
    backend: Engine, query: str, expected: str
) -> None:
    store(
        backend,
        "wire",
        [
            ("5G网络覆盖全市", "全市已建成5G基站三千个。"),
            ("H5N1疫苗获批", "新的H5N1疫苗今日获批上市。"),
            ("新模型GPT-4o发布", "公司发布GPT-4o模型。"),
            ("地铁设立ＶＩＰ车厢", "买双倍票可坐ＶＩＰ车厢。"),
        ],
    )
    assert titles(backend, query) == [expected]


def test_an_acronym_is_searched_as_written_not_as_the_word_it_spells(backend: Engine) -> None:
    store(
        backend,
        "wire",
        [
            ("那些年IT行业的反垄断案", "IT行业的反垄断案由来已久。"),
            ("深圳LED企业倒闭", "一家LED企业昨日倒闭。"),
            ("Ferry service resumes", "It said the crossing was led by the harbour office."),
        ],
    )
    assert titles(backend, "IT") == ["那些年IT行业的反垄断案"]
    assert titles(backend, "LED") == ["深圳LED企业倒闭"]
    # the lower-cased word still finds every spelling of it
    assert set(titles(backend, "led")) == {"深圳LED企业倒闭", "Ferry service resumes"}
    assert titles(backend, "反垄断 -IT") == []
    assert titles(backend, "led -LED") == ["Ferry service resumes"]


def test_counting_stops_at_the_cap_and_says_more(
    city: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("digests.search.base.COUNT_CAP", 2)
    first = city.search("夜市", per_page=1)
    assert (first.results.total, first.results.more) == (2, True)
    assert first.total_label == "2+" and first.pages_label == "2+"
    # the last page is counted exactly: the index ran out of matches
    last = city.search("夜市", page=2, per_page=1)
    assert len(last.results.hits) == 1 and not last.results.more
    assert last.total_label == "3" and last.pages == 3
    seen = [city.search("夜市", page=p, per_page=1).results.hits[0].title for p in range(3)]
    assert sorted(seen) == sorted(["柳家渡夜市开张", "夜市人气旺", "青石湾夜市亮灯"])


def test_candidates_are_checked_in_growing_batches_until_the_page_and_one_more_are_known(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("digests.search.base.FIRST_CHECK", 2)
    monkeypatch.setattr("digests.search.base.CANDIDATES", 100)
    matches = list(range(1, 201))  # best first
    asked: list[int] = []
    checked: list[int] = []

    def ranked(depth: int) -> list[int]:
        asked.append(depth)
        return matches[:depth]

    def check(ids: Sequence[int]) -> list[int]:
        checked.extend(ids)
        return [i for i in ids if i % 10 == 0]  # 10, 20, 30 ... pass

    window = base.ranked_window(ranked, check, 0, 1)  # stops once 2 are known
    assert window.ids == [10] and (window.total, window.more) == (6, True)
    assert asked == [4, 16, 64] and checked == list(range(1, 65))  # never one twice
    matches = matches[:25]
    last = base.ranked_window(ranked, check, 0, 5)  # the matches run out: counted exactly
    assert last.ids == [10, 20] and (last.total, last.more) == (2, False)
    monkeypatch.setattr("digests.search.base.CANDIDATES", 30)  # checking stops there
    matches = list(range(1, 201))
    capped = base.ranked_window(ranked, check, 0, 5)
    assert capped.ids == [10, 20, 30] and not capped.more
    unchecked = base.ranked_window(ranked, None, 1, 2)  # the index alone: counted to the cap
    assert unchecked.ids == [2, 3] and (unchecked.total, unchecked.more) == (200, False)
    matches = list(range(1, 500))
    assert base.ranked_window(ranked, None, 0, 5).more


def test_phrases_and_exclusions_hold_page_after_page_checked_one_by_one(
    city: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("digests.search.base.FIRST_CHECK", 1)
    pages = [city.search("夜市 -柳家渡", page=p, per_page=1) for p in range(2)]
    assert [h.title for h in pages[0].results.hits] == ["青石湾夜市亮灯"]
    assert pages[1].problem == "past_end"
    phrase = [city.search('"滨江步道" OR "night market"', page=p, per_page=1) for p in range(3)]
    assert sorted(h.title for page in phrase[:2] for h in page.results.hits) == [
        "Night market returns",
        "滨江步道夜间开放",
    ]
    assert phrase[2].problem == "past_end"


def test_an_alert_with_a_filter_reads_past_a_batch_the_filter_thinned(city: Engine) -> None:
    store(city, "gazette", [("夜市夜巡", "夜市今晚有巡逻。")], NOW - timedelta(hours=1))
    query = parse_query("夜市 source:gazette", NOW)
    index = city.search_index
    seen: list[str] = []
    after = 0
    with city.db.read() as session:
        until = index.max_indexed_id(session)
        while after < until:
            hits, after = index.newer_matches(
                session, query, after_id=after, until_id=until, limit=1
            )
            seen.extend(hit.title for hit in hits)
    assert seen == ["夜市夜巡"]


@pytest.mark.parametrize(
    ("written", "acronym"),
    [
        ("IT", True),
        ("LED", True),
        ("5G", True),
        ("H5N1", True),
        ("it", False),
        ("iPhone", False),
        ("A", False),
        ("5", False),
        ("Led", False),
        ("ＩＴ", False),
    ],
)
def test_acronyms_get_a_term_of_their_own(written: str, acronym: bool) -> None:
    assert is_acronym(written) is acronym
    terms = search_terms(written.lower(), written)
    assert len(terms) == (2 if acronym else 1)
    if acronym:  # the query word finds the acronym's own term, never the folded word
        assert query_term(written.lower(), written) == terms[1] != written.lower()


def test_a_phrase_holds_each_of_its_character_pairs() -> None:
    assert text_pairs("滨江步道", "步道 vip 滨江") == "滨江 江步 步道"
    assert phrase_pairs("滨江 步道") == ["滨江", "江步", "步道"]  # spaced words, written together
    assert phrase_pairs("iPhone 15发布会") == ["发布", "布会"]
    assert phrase_pairs("night market") == [] and phrase_pairs("江") == []
    body = "沿着新建的滨江步道散步。"
    assert set(phrase_pairs("滨江步道")) <= set(text_pairs("", body).split())


@pytest.mark.sqlite_only("the tantivy index beside a SQLite file is what is tested")
def test_a_tantivy_index_of_an_older_layout_is_started_again_and_filled(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "old.search"
    directory.mkdir()
    builder = tantivy.SchemaBuilder()  # the layout before the phrase pairs
    builder.add_integer_field("id", stored=True, indexed=True, fast=True)
    for field in ("title", "body", "grams"):
        builder.add_text_field(field, tokenizer_name="whitespace", index_option="freq")
    old = tantivy.Index(builder.build(), path=str(directory))
    writer = old.writer(heap_size=15_000_000, num_threads=1)
    writer.add_document(tantivy.Document(id=99, title="旧 条目", body="旧", grams=""))
    writer.commit()
    del writer, old
    news = engine_on(
        f"sqlite:///{tmp_path / 'old.db'}",
        SearchSettings(engine="tantivy", index_dir=str(directory)),
    )
    with caplog.at_level(logging.WARNING, logger="newsdigest.search"):
        store(news, "wire", [("滨江步道夜间开放", "滨江步道今年起夜间开放。")])
    assert "older layout: started again empty" in caplog.text
    assert titles(news, '"滨江步道"') == ["滨江步道夜间开放"]
    assert titles(news, "旧") == []
    news.close()


def test_postgresql_ranks_by_its_indexes_and_leaves_the_session_as_it_was(
    postgres_url: str,
) -> None:
    news = engine_on(postgres_url, SearchSettings())
    store(news, "wire", [("夜市开张", "夜市今晚开张。"), ("青石湾夜市", "青石湾的夜市亮灯。")])
    with news.db.read() as session:
        found = news.search_index.search(session, parse_query("夜市", NOW), offset=0, limit=5)
        assert {hit.title for hit in found.hits} == {"夜市开张", "青石湾夜市"}
        shown = {
            name: session.execute(text(f"SHOW {name}")).scalar()
            for name in ("enable_seqscan", "enable_indexscan", "plan_cache_mode", "jit")
        }
    assert shown == {
        "enable_seqscan": "on",
        "enable_indexscan": "on",
        "plan_cache_mode": "auto",
        "jit": "off",  # on every connection of the application
    }
    news.close()


def test_a_tsvector_literal_keeps_positions_weights_and_quotes() -> None:
    literal = tsvector_literal([("港口 o'neil 港口", "A"), ("港口 a\\b", "B"), ("港", "C")])
    assert literal == "'港口':1A,3A,4B 'o''neil':2A 'a\\\\b':5B '港':6C"
    many = tsvector_literal([(" ".join(["词"] * 300), "B"), ("词", "C")])
    spots = many.split(":", 1)[1].split(",")
    assert len(spots) == 257 and spots[-2] == "256B" and spots[-1] == "301C"


def fts5_engine(tmp_path: Path) -> Engine:
    return engine_on(f"sqlite:///{tmp_path / 'search.db'}", SearchSettings(engine="fts5"))


@pytest.mark.sqlite_only("search_pairs is the FTS5 index's table")
def test_fts5_ranks_a_phrase_by_title_then_shorter_title_then_newer_and_checks_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = fts5_engine(tmp_path)
    store(engine, "wire", [("夜间的滨江步道开放了", "滨江步道夜间开放。")], NOW - timedelta(days=3))
    store(engine, "wire", [("滨江步道开放", "滨江步道开放。")], NOW - timedelta(days=3))
    store(engine, "wire", [("散步去", "沿着滨江步道散步。")], NOW - timedelta(days=2))
    store(engine, "wire", [("江边", "滨江 步道分开写。")], NOW - timedelta(days=1))
    store(engine, "wire", [("新闻", "今天沿着滨江步道跑步。")], NOW - timedelta(hours=1))
    expected = ["滨江步道开放", "夜间的滨江步道开放了", "新闻", "散步去"]
    assert titles(engine, '"滨江步道"') == expected
    assert titles(engine, '"滨江步道" -跑步') == [t for t in expected if t != "新闻"]
    pages = [engine.search('"滨江步道"', page=p, per_page=3) for p in range(2)]
    assert [h.title for p in pages for h in p.results.hits] == expected
    # more candidates than are checked: the ranked path, with the same answers
    monkeypatch.setattr("digests.search.fts5.CANDIDATES", 1)
    assert sorted(titles(engine, '"滨江步道"')) == sorted(expected)
    engine.close()


@pytest.mark.sqlite_only("search_pairs is the FTS5 index's table")
def test_fts5_phrase_pairs_are_filled_on_upgrade_and_dropped_with_the_article(
    tmp_path: Path,
) -> None:
    engine = fts5_engine(tmp_path)
    store(engine, "wire", [("渡口追赶", "渡口的差距在缩小。"), ("步道", "滨江步道开放。")])
    database = engine.db
    upgrade_to(database, "0011", down=True)  # as before the pairs existed
    with database.engine.connect() as connection:
        assert "search_pairs" not in inspect(connection).get_table_names()
    database.upgrade()
    assert titles(engine, '"渡口的差"') == ["渡口追赶"]
    with database.write() as session:
        session.execute(text("DELETE FROM articles WHERE title = '渡口追赶'"))
    assert titles(engine, '"渡口的差"') == []
    store(engine, "wire", [("港口", "港口开放。")])  # the next index write forgets its pairs
    assert holding(engine, "渡口") == [] and holding(engine, "步道") == [article_id(engine, "步道")]
    engine.close()


def holding(engine: Engine, pairs: str) -> list[int]:
    """The ids ``search_pairs`` gives for ``pairs`` (space-separated, all required)."""
    expression = " AND ".join(f'"{pair}"' for pair in pairs.split())
    with engine.db.read() as session:
        return [
            int(row[0])
            for row in session.execute(
                text("SELECT rowid FROM search_pairs WHERE search_pairs MATCH :m ORDER BY rowid"),
                {"m": expression},
            )
        ]


def article_id(engine: Engine, title: str) -> int:
    with engine.db.read() as session:
        return int(session.scalar(text("SELECT id FROM articles WHERE title = :t"), {"t": title}))


@pytest.mark.sqlite_only("search_pairs is the FTS5 index's table")
def test_fts5_phrase_pairs_follow_an_edited_article_and_keep_the_pairs_both_texts_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("digests.search.fts5.GONE_BATCH", 1)  # removals span batches
    engine = fts5_engine(tmp_path)
    store(engine, "wire", [("追赶", "渡口的差距在缩小。"), ("步道", "滨江步道开放。")])
    edited = article_id(engine, "追赶")
    store(engine, "wire", [("追赶", "港口的差距在缩小。")])  # same article, new text
    assert holding(engine, "渡口") == []
    assert holding(engine, "港口") == holding(engine, "差距") == [edited]
    assert titles(engine, '"港口的差"') == ["追赶"] and titles(engine, '"渡口的差"') == []
    # the same text indexed again (a reindex), then the article deleted
    with engine.db.write() as session:
        session.execute(text("UPDATE articles SET indexed_hash = NULL"))
    engine.summarize_new()
    with engine.db.write() as session:
        session.execute(text("DELETE FROM articles WHERE title IN ('追赶', '步道')"))
    store(engine, "wire", [("其他", "无关。")])
    assert holding(engine, "港口") == holding(engine, "差距") == holding(engine, "步道") == []
    with engine.db.read() as session:
        assert session.scalar(text("SELECT count(*) FROM search_pairs_gone")) == 0
        session.execute(text("INSERT INTO search_pairs (search_pairs) VALUES ('integrity-check')"))
    engine.close()


@pytest.mark.sqlite_only("search_pairs is the FTS5 index's table")
def test_fts5_writes_no_pairs_for_an_entry_analyzed_before_its_article_changed(
    tmp_path: Path,
) -> None:
    engine = fts5_engine(tmp_path)
    store(engine, "wire", [("步道", "滨江步道开放。")])
    walk = article_id(engine, "步道")
    with engine.db.write() as session:
        session.execute(text("DELETE FROM search_pairs_held"))
        session.execute(text("INSERT INTO search_pairs (search_pairs) VALUES ('delete-all')"))
        stale = base.IndexEntry(walk, "an older text", "旧", "旧", "", text_pairs("旧的标题"))
        engine.search_index.store(session, [stale])
    assert holding(engine, "旧的") == []
    engine.close()
