"""The store: migrations, dedup by guid and URL, near-duplicate stories, write locking."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from digests.ingest.dedup import estimated_jaccard, sketch
from digests.store.articles import save_articles
from digests.store.db import Database, _without_jit
from digests.store.models import Article
from digests.store.sources import add_source
from tests.builders import article

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
STORY = (
    "临江区沿江步道青石湾段今天正式向市民开放，全长三点二公里，沿线新建了两座观景平台和一处亲水码头。"
    "区建设管理委员会介绍，步道采用透水铺装，夜间照明全部使用节能灯具，沿途还设置了十二处休息座椅。"
    "附近居民表示，以前江边堆满杂物，如今可以带着孩子散步看江景，生活品质明显提高了。"
)


def _source(db: Database, name: str) -> int:
    with db.write() as session:
        return add_source(
            session,
            kind="feed",
            location=f"https://{name}.example/feed",
            name=name,
            interval_seconds=600,
        ).id


def _articles(db: Database) -> list[Article]:
    with db.read() as session:
        return list(session.scalars(select(Article).order_by(Article.id)))


def test_upgrade_is_idempotent_and_keeps_rows(db: Database) -> None:
    source = _source(db, "a")
    with db.write() as session:
        save_articles(session, source, [article("t", "body text")], NOW)
    db.upgrade()
    assert len(_articles(db)) == 1


def test_same_guid_updates_instead_of_adding(db: Database) -> None:
    source = _source(db, "a")
    with db.write() as session:
        first = save_articles(session, source, [article("Old title", "old body", guid="g1")], NOW)
    with db.write() as session:
        second = save_articles(
            session, source, [article("New title", "new body", guid="g1")], NOW + timedelta(hours=1)
        )
    with db.write() as session:
        third = save_articles(session, source, [article("New title", "new body", guid="g1")], NOW)
    assert (first.new, second.updated, third.unchanged) == (1, 1, 1)
    [row] = _articles(db)
    assert (row.title, row.body, row.fetched_at) == ("New title", "new body", NOW)


def test_same_canonical_url_updates(db: Database) -> None:
    source = _source(db, "a")
    with db.write() as session:
        save_articles(
            session,
            source,
            [article("A", "one", url="https://e.org/a?id=1&utm_source=rss#top")],
            NOW,
        )
        result = save_articles(
            session, source, [article("A2", "two", url="https://E.org/a?id=1")], NOW
        )
    assert result.updated == 1
    [row] = _articles(db)
    assert row.url == "https://e.org/a?id=1" and row.title == "A2"


def test_same_guid_in_another_source_is_another_article(db: Database) -> None:
    first, second = _source(db, "a"), _source(db, "b")
    with db.write() as session:
        save_articles(session, first, [article("t", "x", guid="g")], NOW)
        save_articles(session, second, [article("t", "x", guid="g")], NOW)
    assert len(_articles(db)) == 2


def test_near_duplicate_across_sources_is_the_same_story_both_kept(db: Database) -> None:
    city, wire = _source(db, "city"), _source(db, "wire")
    reedited = STORY.replace("今天正式", "于本周四正式") + "区里计划明年继续向东延伸。"
    unrelated = (
        "临江港新开两条内河集装箱航线，每周往返六个班次，"
        "预计每年可减少公路运输三万车次，降低物流成本。"
    )
    with db.write() as session:
        save_articles(session, city, [article("步道开放", STORY, guid="c1")], NOW)
        result = save_articles(
            session,
            wire,
            [
                article("沿江步道首段建成", reedited, guid="w1"),
                article("新航线", unrelated, guid="w2"),
            ],
            NOW,
        )
    assert result.new == 2 and result.same_story == 1
    rows = _articles(db)
    assert len(rows) == 3
    assert rows[1].story_id == rows[0].id
    assert rows[2].story_id == rows[2].id


def test_sketch_similarity_separates_reedits_from_other_stories() -> None:
    reedited = STORY.replace("三点二公里", "约三公里") + "区里计划明年继续向东延伸。"
    other = (
        "本届半程马拉松共设置三个项目，报名通道将于下周一开启，赛事路线沿滨江大道展开，终点设在青石湾广场。"
        * 2
    )
    assert estimated_jaccard(sketch(STORY), sketch(reedited)) >= 0.6
    assert estimated_jaccard(sketch(STORY), sketch(other)) < 0.2
    assert sketch("太短") == ()


def test_concurrent_writers_wait_instead_of_failing(db: Database) -> None:
    source = _source(db, "a")
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            for i in range(20):
                with db.write() as session:
                    session.scalar(select(Article.id).limit(1))  # read, then write
                    save_articles(
                        session,
                        source,
                        [article(f"t{number}-{i}", f"body {number} {i}", guid=f"{number}-{i}")],
                        NOW,
                    )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len(_articles(db)) == 80


@pytest.mark.sqlite_only("SQLite's journal mode (WAL) is what is tested")
def test_sqlite_runs_in_wal_mode(db: Database) -> None:
    with db.read() as session:
        assert session.connection().exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_naive_datetimes_are_refused(db: Database) -> None:
    source = _source(db, "a")
    with pytest.raises(Exception, match="naive"), db.write() as session:
        save_articles(session, source, [article("t", "b")], datetime(2026, 1, 1))


def test_near_duplicates_within_one_batch_and_across_batches_share_a_story(db: Database) -> None:
    from digests.store.articles import StoryCache

    city, wire, blog = _source(db, "city"), _source(db, "wire"), _source(db, "blog")
    cache = StoryCache()
    with db.write() as session:
        save_articles(
            session,
            city,
            [
                article("步道", STORY, guid="1"),
                article("步道（更新）", STORY + "补充一句。", guid="2"),
            ],
            NOW,
            cache,
        )
    with db.write() as session:
        result = save_articles(
            session, wire, [article("转载", "转载：" + STORY, guid="w")], NOW, cache
        )
    with db.write() as session:
        later = save_articles(session, blog, [article("再转", STORY, guid="b")], NOW)  # fresh cache
    assert result.same_story == 1 and later.same_story == 1
    rows = _articles(db)
    assert {row.story_id for row in rows} == {rows[0].id}


def test_migrations_match_the_models(db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from digests.store.models import Base, is_mapped_table

    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_name": lambda name, kind, _parent: kind != "table" or is_mapped_table(name)
            },
        )
        assert compare_metadata(context, Base.metadata) == []


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("postgresql+psycopg://u@127.0.0.1/db", "-c jit=off"),
        (
            "postgresql+psycopg://u@127.0.0.1/db?options=-c%20statement_timeout%3D5000",
            "-c statement_timeout=5000 -c jit=off",
        ),
    ],
)
def test_postgresql_connections_run_without_jit_after_the_options_given(
    url: str, options: str
) -> None:
    assert _without_jit(make_url(url)) == options
