"""fetch -> parse -> store through real 127.0.0.1 servers and a real SQLite file."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.utils import formatdate
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from digests.config import FetchSettings, SearchSettings, Settings
from digests.editions.compose import compose, digest_from_dict, digest_to_dict
from digests.editions.pages import render_text
from digests.engine import Engine, work
from digests.feedserver import FeedServer
from digests.ingest.backoff import next_check_time
from digests.search.factory import open_search_index
from digests.sources.refresh import SourceOutcome, fetch_due
from digests.store.articles import save_articles
from digests.store.db import Database
from digests.store.editions import articles_between
from digests.store.models import Article, IngestedFile, Source
from digests.store.sources import add_source
from digests.summarize.analysis import Analysis, NotAnalyzed, analyze_batch
from digests.summarize.stage import summarize_stored
from tests.builders import article, rss
from tests.conftest import CORPUS, SHARED_FEEDS, FreshDatabases

FEED_FILES = sorted(
    p.relative_to(SHARED_FEEDS).as_posix()
    for p in (SHARED_FEEDS.rglob("*") if SHARED_FEEDS.is_dir() else [])
    if p.suffix in {".xml", ".json"} and p.name != "MANIFEST.json"
)
# Files that are not feeds we read: CDF (a dead 1997 format), an empty
# document, and a DOCTYPE declaring entities (refused on purpose).
EXPECTED_REFUSALS = {
    "feedparser/tests/illformed/rss_empty_document.xml",
    "feedparser/tests/wellformed/cdf/channel_abstract_map_description.xml",
    "feedparser/tests/wellformed/cdf/channel_lastmod.xml",
    "feedparser/tests/wellformed/rdf/doctype_contains_entity_decl.xml",
}
ZH = "zh_real/Richasy_Rodel.Reader/src/Utilities/FeedParser.Test/TestData/"
MINIFLUX = "other_parsers/miniflux_v2/internal/reader/parser/testdata/"
RSSBOT = "other_parsers/iovxw_rssbot/tests/data/"
CHARDET = "feedparser/tests/illformed/chardet/"
# file: (items, first item title, last item title)
TABLE = {
    f"{CHARDET}gb2312.xml": (1, "不归移民漫画系列：专业工作", None),
    f"{CHARDET}euckr.xml": (1, "EUC-KR 에서 TypeKey 한글닉네임 표시하기", None),
    f"{CHARDET}koi8r.xml": (1, "Как пережить новогоднюю ночь", None),
    f"{CHARDET}eucjp.xml": (1, "ゲーム三昧な正月", None),
    f"{CHARDET}shiftjis.xml": (1, "DrecomRSSに記事投稿が反映されない…", None),
    f"{RSSBOT}rss_0.91.xml": (
        2,
        "rss_0.91.channel.item[0].title",
        "rss_0.91.channel.item[1].title",
    ),
    f"{RSSBOT}rss_0.9.xml": (2, "rss_0.9.item[0].title", "rss_0.9.item[1].title"),
    f"{RSSBOT}rss_1.0.xml": (2, "rss_1.0.item[0].title", "rss_1.0.item[1].title"),
    f"{RSSBOT}rss_2.0.xml": (2, "rss_2.0.channel.item[0].title", "rss_2.0.channel.item[1].title"),
    f"{RSSBOT}atom_0.3.xml": (2, "atom_0.3.feed.entry[0].title", "atom_0.3.feed.entry[1].title"),
    f"{RSSBOT}atom_1.0.xml": (2, "atom_1.0.feed.entry[0].title", "atom_1.0.feed.entry[1].title"),
    f"{MINIFLUX}encoding_ISO-8859-1.xml": (
        40,
        "Red Dead Redemption 2: Hinweise auf PC-Umsetzung in App von Rockstar Games",
        "Xiaomi: Das Mi Mix 3 hat keine Notch und eine versteckte Frontkamera",
    ),
    f"{MINIFLUX}encoding_WINDOWS-1251.xml": (50, "Цитата #17703", "Цитата #17220"),
    f"{MINIFLUX}rdf_UTF8.xml": (
        60,
        "OLED-TVs: Vorsichtsmaßnahmen gegen Einbrennen",
        "Mi Mix 3: Xiaomi-Flaggschiff mit Kamera-Slider und 10 GByte RAM",
    ),
    f"{MINIFLUX}no_encoding_ISO-8859-1.xml": (
        9,
        "Perturbateurs endocriniens : quels effets sur le cerveau ?",
        "Psychologue à domicile : de la clinique à l'état brut",
    ),
    f"{MINIFLUX}small_atom.xml": (
        20,
        "Parse podcast categories",
        "Reuse a Reader instead of copying to a buffer when parsing an atom feed",
    ),
    f"{ZH}Atom/ruanyifeng.xml": (
        3,
        "科技爱好者周刊（第 375 期）：一扇门的 Bug",
        "科技爱好者周刊（第 374 期）：6GHz 的问题",
    ),
    f"{ZH}Atom/v2ex.xml": (50, "[生活] 因为智能家居吵架", None),
    f"{ZH}Podcast/ld.xml": (
        190,
        "昔日“用户思维”，今朝“韭菜思维”，聊聊大厂的傲慢与偏见",
        "社交软件大乱战",
    ),
    f"{ZH}Rss/meituan.xml": (
        10,
        "美团 LongCat Interaction 团队发布大模型交互系统技术报告 WOWService",
        "LongCat-Flash-Thinking 正式发布，更强、更专业，保持极速！",
    ),
    f"{ZH}Rss/ruanyifeng.xml": (
        6,
        "科技爱好者周刊（第 375 期）：一扇门的 Bug",
        "国产大模型接入 Claude Code 教程：以 Doubao-Seed-Code 为例",
    ),
    "zh_real/exposir_RSS/feeds/zaobao.json": (
        196,
        "俄安全会议秘书抵达中国 将与王毅讨论国际和地区安全形势",
        "东京上野动物园两大熊猫启程返回中国",
    ),
    "zh_real/exposir_RSS/feeds/cctv.json": (
        53,
        "在村里为老人们画长城的人，被邀请来了真长城！",
        "成都市人大常委会原主任包惠被查",
    ),
    # 115 items, some articles listed under several guids ("...#0", "...#1")
    # with one URL: an item's identity is its guid, so 115 articles (the
    # repeats join one story, which is what editions show).
    "zh_real/exposir_RSS/feeds/bbc-zh-home.json": (
        115,
        "馬斯克的SpaceX準備將100萬顆AI算力衛星送入太空",
        None,
    ),
    "zh_real/exposir_RSS/feeds/people-politics.json": (
        5,
        "韩正会见中美高级别二轨对话美方代表团",
        "学习卡丨“人不负青山，青山定不负人”",
    ),
    "zh_real/exposir_RSS/feeds/xwlb.json": (24, "新闻联播 2026/01/31", "新闻联播 2026/01/08"),
}
CHANNEL_TITLES = {
    # The file itself holds "?" where its author's converter lost characters.
    f"{CHARDET}big5.xml": "我希望??很容易?其翻?成中文，并有助于改??件。 感?您??本文。",
    f"{RSSBOT}encoding.xml": "虎扑足球新闻",
    "feedparser/tests/encoding/euc-kr.xml": "년",
    "zh_real/exposir_RSS/feeds/caixin-latest.json": "财新网 - 最新文章",
}


def run(db: Database, settings: FetchSettings, **kwargs) -> dict[str, SourceOutcome]:
    outcomes = asyncio.run(fetch_due(db, settings, **kwargs))
    return {o.name: o for o in outcomes}


def add(db: Database, name: str, location: str, kind: str = "feed", every: int = 600) -> int:
    with db.write() as session:
        return add_source(
            session, kind=kind, location=location, name=name, interval_seconds=every
        ).id


def count(db: Database, source_id: int | None = None) -> int:
    query = select(func.count(Article.id))
    if source_id is not None:
        query = query.where(Article.source_id == source_id)
    with db.read() as session:
        return int(session.scalar(query) or 0)


@pytest.fixture(scope="module")
def all_feeds(
    shared_feed_server: FeedServer,
    tmp_path_factory: pytest.TempPathFactory,
    fresh_databases: FreshDatabases,
) -> Iterator[tuple[Database, dict[str, SourceOutcome]]]:
    with fresh_databases.fresh(tmp_path_factory.mktemp("feeds")) as url:
        db = Database(url)
        for file in FEED_FILES:
            add(db, file, shared_feed_server.url(f"files/{file}"))
        settings = FetchSettings(allowed_networks=["127.0.0.0/8"], total_deadline=30)
        yield db, run(db, settings)
        db.close()


def test_every_feed_file_is_processed(all_feeds: tuple[Database, dict[str, SourceOutcome]]) -> None:
    db, outcomes = all_feeds
    assert len(FEED_FILES) >= 240 and set(outcomes) == set(FEED_FILES)
    refused = {name for name, outcome in outcomes.items() if outcome.error}
    assert refused == EXPECTED_REFUSALS
    assert count(db) > 1000


@pytest.mark.parametrize(
    "file", sorted(TABLE), ids=lambda f: f.rsplit("/", 2)[-2] + "/" + f.rsplit("/", 1)[-1]
)
def test_feed_table(all_feeds: tuple[Database, dict[str, SourceOutcome]], file: str) -> None:
    db, outcomes = all_feeds
    items, first, last = TABLE[file]
    assert outcomes[file].saved.new == items
    with db.read() as session:
        source = session.scalar(select(Source).where(Source.name == file))
        titles = list(
            session.scalars(
                select(Article.title).where(Article.source_id == source.id).order_by(Article.id)
            )
        )
    assert len(titles) == items
    assert titles[0] == first
    if last is not None:
        assert titles[-1] == last


@pytest.mark.parametrize("file", sorted(CHANNEL_TITLES))
def test_channel_titles_decode(
    all_feeds: tuple[Database, dict[str, SourceOutcome]], file: str
) -> None:
    db, _ = all_feeds
    with db.read() as session:
        assert (
            session.scalar(select(Source.feed_title).where(Source.name == file))
            == CHANNEL_TITLES[file]
        )


def test_korean_item_text_decodes(all_feeds: tuple[Database, dict[str, SourceOutcome]]) -> None:
    db, _ = all_feeds
    with db.read() as session:
        source = session.scalar(
            select(Source).where(Source.name.endswith("encoding/euc-kr-item.xml"))
        )
        assert session.scalar(select(Article.body).where(Article.source_id == source.id)) == "년"


def test_unchanged_feed_is_a_304_that_stores_nothing(
    db: Database, feed_server: FeedServer, fetch_settings: FetchSettings
) -> None:
    source = add(db, "wire", feed_server.url("files/zh_wire.xml"))
    first = run(db, fetch_settings)["wire"]
    with db.read() as session:
        before = [(a.id, a.updated_at) for a in session.scalars(select(Article))]
    second = run(db, fetch_settings, force=True)["wire"]
    assert first.saved.new == 5 and second.not_modified
    with db.read() as session:
        assert [(a.id, a.updated_at) for a in session.scalars(select(Article))] == before
        assert session.get(Source, source).error_count == 0


def test_changed_items_update_in_place(
    db: Database, feed_server: FeedServer, fetch_settings: FetchSettings
) -> None:
    url = feed_server.put(
        "changing.xml",
        rss(
            ("g1", "https://e.org/1", "First", "one"),
            ("g2", "https://e.org/2?utm_source=rss", "Second", "two"),
        ),
    )
    source = add(db, "changing", url)
    assert run(db, fetch_settings)["changing"].saved.new == 2
    feed_server.put(
        "changing.xml",
        rss(
            ("g1", "https://e.org/1", "First, corrected", "one, corrected"),
            ("", "https://e.org/2#comments", "Second", "two"),  # guid dropped: URL still matches
            ("g3", "https://e.org/3", "Third", "three"),
        ),
    )
    saved = run(db, fetch_settings, force=True)["changing"].saved
    assert (saved.new, saved.updated, saved.unchanged) == (1, 1, 1)
    assert count(db, source) == 3


def test_bad_sources_do_not_stop_the_others(
    db: Database,
    feed_server: FeedServer,
    fetch_settings: FetchSettings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = add(db, "good", feed_server.url("files/en_world.xml"))
    bad = {
        "missing": feed_server.url("status/404"),
        "broken": feed_server.url("status/500"),
        "hanging": feed_server.url("hang"),
        "html": feed_server.url("html"),
        "loop": feed_server.url("loop/a"),
        "bomb": feed_server.url("bomb"),
        "not-a-feed": feed_server.put("junk.xml", b"\x00\x01binary junk", "application/rss+xml"),
    }
    ids = {name: add(db, name, url) for name, url in bad.items()}
    settings = fetch_settings.model_copy(update={"total_deadline": 1.5})
    now = datetime.now(UTC)
    with caplog.at_level(logging.WARNING, logger="newsdigest.ingest"):
        outcomes = run(db, settings, now=now)
    assert outcomes["good"].saved.new == 5 and count(db, good) == 5
    for name, source_id in ids.items():
        assert outcomes[name].error, name
        with db.read() as session:
            source = session.get(Source, source_id)
            assert source.last_error and source.error_count == 1
            assert source.next_check_at == now + timedelta(seconds=1200)
        lines = [
            r.getMessage() for r in caplog.records if f"#{source_id} {name} " in r.getMessage()
        ]
        assert len(lines) == 1 and "\n" not in lines[0]


def test_a_failure_later_loses_nothing(
    db: Database, feed_server: FeedServer, fetch_settings: FetchSettings
) -> None:
    url = feed_server.put(
        "flaky.xml",
        rss(("a", "https://e.org/a", "A", "alpha"), ("b", "https://e.org/b", "B", "beta")),
    )
    source = add(db, "flaky", url)
    run(db, fetch_settings)
    feed_server.put("flaky.xml", b"<html><body>maintenance</body></html>", "text/html")
    outcome = run(db, fetch_settings, force=True)["flaky"]
    assert outcome.error and "HTML" in outcome.error
    assert count(db, source) == 2


def test_due_sources_respect_their_schedule(
    db: Database, feed_server: FeedServer, fetch_settings: FetchSettings
) -> None:
    add(db, "wire", feed_server.url("files/zh_wire.xml"))
    now = datetime.now(UTC)
    assert "wire" in run(db, fetch_settings, now=now)
    assert run(db, fetch_settings, now=now + timedelta(seconds=599)) == {}
    assert "wire" in run(db, fetch_settings, now=now + timedelta(seconds=601))


@pytest.mark.parametrize(
    ("errors", "expected"),
    [(0, 600), (1, 1200), (2, 2400), (3, 4800), (10, 3600 * 6), (50, 3600 * 6)],
)
def test_backoff_doubles_and_is_capped(errors: int, expected: int) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert next_check_time(now, 600, errors, 3600 * 6) == now + timedelta(seconds=expected)


def test_folder_source_ingests_each_new_issue_once(
    db: Database, tmp_path: Path, fetch_settings: FetchSettings, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "epaper"
    folder.mkdir()
    source = add(db, "epaper", str(folder), kind="folder")
    issue = (CORPUS / "issue_2026-11-20.txt").read_text("utf-8")
    (folder / "2026-11-20.txt").write_text(issue, "utf-8")
    (folder / "notes.md").write_text("not an issue", "utf-8")
    first = run(db, fetch_settings)["epaper"]
    assert (first.files, first.saved.new) == (1, 3)
    assert run(db, fetch_settings, force=True)["epaper"].files == 0
    (folder / "2026-11-21.txt").write_bytes(issue.replace("临江区", "临江新区").encode("gb18030"))
    (folder / "broken.txt").write_bytes(b"\xff\xfe\x00" + bytes(range(256)) * 4)
    with caplog.at_level(logging.WARNING, logger="newsdigest.ingest"):
        third = run(db, fetch_settings, force=True)["epaper"]
    assert third.error is None and third.files == 2 and third.saved.new == 3
    with db.read() as session:
        files = {
            f.name: f
            for f in session.scalars(select(IngestedFile).where(IngestedFile.source_id == source))
        }
    assert set(files) == {"2026-11-20.txt", "2026-11-21.txt", "broken.txt"}
    assert files["broken.txt"].error and files["2026-11-21.txt"].article_count == 3
    assert count(db, source) == 6


def folder_source(db: Database, folder: Path, name: str) -> Path:
    """A newspaper folder source, ``folder`` made empty."""
    folder.mkdir()
    add(db, name, str(folder), kind="folder")
    return folder


def test_a_newspaper_issues_items_show_their_paper_not_the_time_the_file_was_read(
    db: Database, tmp_path: Path, fetch_settings: FetchSettings
) -> None:
    folder = folder_source(db, tmp_path / "epaper", "临江区报 e-paper")
    add(db, "wire", "https://wire.example/rss", kind="feed")
    (folder / "2026-11-20.txt").write_text((CORPUS / "issue_2026-11-20.txt").read_text("utf-8"))
    run(db, fetch_settings)
    with db.write() as session:
        wire = session.scalar(select(Source).where(Source.name == "wire"))
        assert wire is not None
        save_articles(
            session, wire.id, [article("港口新航线", "临江港开通新航线。")], datetime.now(UTC)
        )
    with db.read() as session:
        stored = articles_between(session, datetime.now(UTC) - timedelta(days=1), datetime.now(UTC))
    assert {a.source_name: a.from_issue for a in stored} == {
        "临江区报 e-paper": True,
        "wire": False,
    }
    digest = compose(
        stored, schedule="daily", edition_date=date(2026, 11, 20), now=datetime.now(UTC)
    )
    text = render_text(digest, tz=UTC)
    assert re.search(r"^\s*临江区报 e-paper$", text, re.MULTILINE), text
    assert re.search(r"^\s*wire · \d\d:\d\d$", text, re.MULTILINE), text
    assert digest_from_dict(digest_to_dict(digest)) == digest  # stored and read back


def test_missing_folder_is_an_error_on_the_source(
    db: Database, tmp_path: Path, fetch_settings: FetchSettings
) -> None:
    folder = folder_source(db, tmp_path / "gone", "gone")
    shutil.rmtree(folder)
    assert "does not exist" in (run(db, fetch_settings)["gone"].error or "")


def test_an_unexpected_error_in_one_source_is_recorded_not_raised(
    db: Database,
    feed_server: FeedServer,
    fetch_settings: FetchSettings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import digests.sources.refresh as pipeline

    real_save = pipeline.save_articles

    def save_with_a_bug(session, source_id, articles, *args):  # a bug we have not met yet
        if any("ferry" in article.title for article in articles):
            raise RuntimeError("boom\nsecond line")
        return real_save(session, source_id, articles, *args)

    monkeypatch.setattr(pipeline, "save_articles", save_with_a_bug)
    add(db, "buggy", feed_server.url("files/en_world.xml"))
    add(db, "fine", feed_server.url("files/zh_wire.xml"))
    with caplog.at_level(logging.WARNING, logger="newsdigest.ingest"):
        outcomes = run(db, fetch_settings)
    assert outcomes["fine"].saved.new == 5
    assert outcomes["buggy"].error == "internal error: RuntimeError: boom second line"
    [line] = [r for r in caplog.records if "buggy" in r.getMessage()]
    assert line.levelname == "ERROR" and "\n" not in line.getMessage()
    assert line.exc_info is not None  # a bug: its stack is logged once


def test_oversized_issue_file_is_refused_and_recorded(
    db: Database, tmp_path: Path, fetch_settings: FetchSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import digests.sources.refresh as pipeline

    monkeypatch.setattr(pipeline, "MAX_ISSUE_BYTES", 1000)
    folder = tmp_path / "epaper"
    folder.mkdir()
    (folder / "huge.txt").write_text("标题\n\n■记者 某某\n\n" + "很长的正文。" * 1000, "utf-8")
    source = add(db, "epaper", str(folder), kind="folder")
    assert run(db, fetch_settings)["epaper"].files == 1
    with db.read() as session:
        record = session.scalar(select(IngestedFile).where(IngestedFile.source_id == source))
    assert record.error and "too large" in record.error and count(db, source) == 0


def test_stored_articles_get_summaries_and_keywords_once(
    db: Database, feed_server: FeedServer, fetch_settings: FetchSettings
) -> None:
    from digests.store.models import TermStat

    url = feed_server.put(
        "summaries.xml",
        rss(
            (
                "a",
                "https://e.org/a",
                "滨江步道开放",
                "本报讯 临江区滨江步道今天开放。步道全长三公里。市民纷纷前来散步。",
            ),
            (
                "b",
                "https://e.org/b",
                "Ferry returns",
                "The Gull Island ferry returned. Passengers cheered.",
            ),
        ),
    )
    add(db, "mixed", url)
    index = open_search_index(SearchSettings(), db)
    assert run(db, fetch_settings)["mixed"].saved.new == 2
    assert summarize_stored(db, index) == 2
    with db.read() as session:
        rows = {a.guid: a for a in session.scalars(select(Article))}
        stats = {t.term: t.documents for t in session.scalars(select(TermStat))}
    assert rows["a"].language == "zh" and rows["b"].language == "en"
    assert rows["a"].summary_line == "临江区滨江步道今天开放。"  # dateline stripped
    assert rows["a"].summary and rows["a"].keywords and "滨江" in rows["a"].keywords
    assert rows["b"].summary_line == "The Gull Island ferry returned."
    assert stats["滨江"] == 1 and stats["ferri"] == 1

    feed_server.put(
        "summaries.xml",
        rss(
            (
                "a",
                "https://e.org/a",
                "滨江步道开放",
                "临江区滨江步道今天正式开放。步道全长三公里。",
            ),
            (
                "b",
                "https://e.org/b",
                "Ferry returns",
                "The Gull Island ferry returned. Passengers cheered.",
            ),
        ),
    )
    run(db, fetch_settings, force=True)
    summarize_stored(db, index)
    with db.read() as session:
        updated = session.scalar(select(Article).where(Article.guid == "a"))
        assert updated.summary_line == "临江区滨江步道今天正式开放。"
        assert updated.summarized_hash == updated.content_hash
        assert session.get(TermStat, "滨江").documents == 1  # counted once per article


def _stored_articles(db: Database) -> list[tuple[str | None, str]]:
    with db.read() as session:
        return [(a.title, a.body) for a in session.scalars(select(Article).order_by(Article.id))]


def test_summaries_made_in_the_parser_processes_are_those_made_here(
    settings: Settings, db: Database, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(work, "ANALYSIS_CHUNK", 4)
    add(db, "wire", feed_server.url("files/zh_wire.xml"))
    add(db, "world", feed_server.url("files/en_world.xml"))
    assert all(outcome.error is None for outcome in run(db, settings.fetch).values())
    articles = _stored_articles(db)
    here = analyze_batch(articles)
    assert len(articles) > work.ANALYSIS_CHUNK  # more than one task to the processes
    assert not any(isinstance(item, NotAnalyzed) for item in here)

    engine = Engine(settings, db)
    try:
        engine.parser().start()
        assert engine.analyze_articles(articles) == here
        assert engine.summarize_new() == len(articles)
    finally:
        engine.parser().close()
    with db.read() as session:
        lines = [a.summary_line for a in session.scalars(select(Article).order_by(Article.id))]
    assert lines == [item.summary_line for item in here if isinstance(item, Analysis)]


def test_an_analysis_past_its_budget_loses_only_its_own_article_for_this_round(
    settings: Settings,
    db: Database,
    feed_server: FeedServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    add(db, "wire", feed_server.url("files/zh_wire.xml"))  # Chinese: jieba is needed
    assert run(db, settings.fetch)["wire"].error is None
    stored = len(_stored_articles(db))
    # A big user dictionary: a fresh worker loads it before its first article
    # (about a second), far past a 1 ms budget and pebble's 0.1 s check, every time.
    dictionary = tmp_path / "words.txt"
    dictionary.write_text("".join(f"测试词{n} 5\n" for n in range(300_000)), "utf-8")
    text = settings.text.model_copy(update={"user_dictionary": str(dictionary)})
    engine = Engine(settings.model_copy(update={"text": text}), db)
    pool = engine.parser()
    try:
        pool.start()
        pool.budget_seconds = 0.001
        with caplog.at_level(logging.ERROR, logger="newsdigest.summarize"):
            assert engine.summarize_new() == 0
        failures = [r.getMessage() for r in caplog.records if "not summarized" in r.getMessage()]
        assert len(failures) == stored
        assert all("the summarizing process failed" in line for line in failures)
        pool.budget_seconds = settings.fetch.parse_budget
        assert engine.summarize_new() == stored  # nothing lost: the next round has them
    finally:
        pool.close()


def test_an_interrupted_engine_stops_summarizing_between_batches_and_loses_nothing(
    settings: Settings, db: Database, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from digests.summarize import stage

    monkeypatch.setattr(stage, "BATCH", 3)
    add(db, "wire", feed_server.url("files/zh_wire.xml"))
    assert run(db, settings.fetch)["wire"].error is None
    stored = len(_stored_articles(db))
    assert stored > stage.BATCH
    engine = Engine(settings, db)
    batches = []
    analyze = engine.analyze_articles

    def analyze_then_stop(articles):  # type: ignore[no-untyped-def]
        batches.append(len(articles))
        engine.interrupt()  # a SIGTERM arrives during the first batch
        return analyze(articles)

    monkeypatch.setattr(engine, "analyze_articles", analyze_then_stop)
    assert engine.summarize_new() == stage.BATCH  # the batch under way is finished
    assert batches == [stage.BATCH]
    assert Engine(settings, db).summarize_new() == stored - stage.BATCH  # the rest, next run


def test_the_parser_processes_segment_with_the_operators_user_dictionary(
    settings: Settings, db: Database, feed_server: FeedServer, tmp_path: Path
) -> None:
    text = "柳家渡夜市今晚开市。柳家渡夜市有一百多个摊位。柳家渡的居民很高兴。"
    add(db, "night", feed_server.put("night.xml", rss(("n", "https://e.org/n", "夜市开市", text))))
    assert run(db, settings.fetch)["night"].saved.new == 1
    dictionary = tmp_path / "names.txt"
    dictionary.write_text("柳家渡 100 ns\n", "utf-8")
    words = settings.text.model_copy(update={"user_dictionary": str(dictionary)})
    engine = Engine(settings.model_copy(update={"text": words}), db)
    try:
        engine.parser().start()
        assert engine.summarize_new() == 1
    finally:
        engine.parser().close()
    with db.read() as session:
        article = session.scalar(select(Article))
    assert "柳家渡" in article.keywords and "柳家" not in article.keywords


@pytest.mark.parametrize(
    ("status", "header", "wait"),
    [
        (429, "7200", 7200),
        (503, "an HTTP-date 4 h from now", 4 * 3600),
        (503, "9999999999", 7 * 24 * 3600),  # capped at a week
        (429, "soon", None),  # unreadable: the usual backoff
        (500, "7200", None),  # only 429 and 503 carry it
    ],
)
def test_a_servers_retry_after_is_obeyed(
    db: Database,
    feed_server: FeedServer,
    fetch_settings: FetchSettings,
    status: int,
    header: str,
    wait: int | None,
) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    if header.startswith("an HTTP-date"):  # read against the fetcher's own (real) clock
        header = formatdate(time.time() + 4 * 3600, usegmt=True)
    source_id = add(db, "busy", feed_server.url(f"status/{status}?retry_after={quote(header)}"))
    outcome = run(db, fetch_settings, now=now)["busy"]
    assert outcome.error and f"HTTP status {status}" in outcome.error
    with db.read() as session:
        source = session.get(Source, source_id)
    backoff = now + timedelta(seconds=1200)  # the usual: interval 600 s, doubled once
    if wait is None:
        assert source.next_check_at == backoff
        return
    assert "the server asks to wait" in outcome.error
    if header.isdigit():
        assert source.next_check_at == now + timedelta(seconds=wait)
    else:  # the seconds left until the date when the fetcher read it: within a minute
        waited = (source.next_check_at - now).total_seconds()
        assert wait - 60 < waited <= wait


def test_every_item_dropped_is_one_log_line_naming_the_source(
    db: Database,
    feed_server: FeedServer,
    fetch_settings: FetchSettings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = feed_server.put(
        "sparse.xml",
        rss(
            ("a", "https://e.org/a", "滨江步道开放", "步道今天开放。"),
            ("b", "https://e.org/b", "", ""),
            ("c", "https://e.org/c", "", ""),
        ),
    )
    source_id = add(db, "sparse", url)
    with caplog.at_level(logging.WARNING, logger="newsdigest.ingest"):
        assert run(db, fetch_settings)["sparse"].saved.new == 1
    lines = [r.getMessage() for r in caplog.records if f"#{source_id} sparse" in r.getMessage()]
    assert lines == [
        f"source #{source_id} sparse: 2 item(s) with neither a title nor any text dropped"
    ]
