"""Composing editions: stories, ranking, caps, sections, empty days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from digests.editions.compose import (
    ComposeOptions,
    EditionArticle,
    compose,
    digest_from_dict,
    digest_to_dict,
)

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
DAY = date(2026, 11, 25)
_ids = iter(range(1, 10_000))


def art(
    source: str,
    title: str,
    keywords: tuple[str, ...] = (),
    *,
    story: int | None = None,
    hours_ago: float = 1.0,
    summary: tuple[str, ...] = ("第一句。", "第二句。", "第三句。"),
) -> EditionArticle:
    article_id = next(_ids)
    return EditionArticle(
        id=article_id,
        source_id=hash(source) % 1000,
        source_name=source,
        title=title,
        link=f"https://{abs(hash(source)) % 97}.example/{article_id}",
        summary_line=summary[0] if summary else "",
        summary=summary,
        keywords=keywords,
        story_id=story or article_id,
        fetched_at=NOW - timedelta(hours=hours_ago),
    )


def build(articles: list[EditionArticle], **options: object):
    return compose(
        articles, schedule="daily", edition_date=DAY, now=NOW, options=ComposeOptions(**options)
    )  # type: ignore[arg-type]


def test_same_story_from_several_sources_is_one_item_with_every_source() -> None:
    first = art("联合早报", "临江新航线开通", ("航线", "临江港", "集装箱", "货船"))
    copy = art(
        "界面",
        "临江港两条新航线开通运营",
        ("航线", "临江港", "集装箱", "运输"),
        story=first.story_id,
    )
    other = art("界面", "图书馆推出夜间自习室", ("图书馆", "自习", "座位", "预约"))
    digest = build([first, copy, other])
    assert len(digest.items) == 2
    merged = next(i for i in digest.items if len(i.article_ids) == 2)
    assert {merged.source, *(s.name for s in merged.also)} == {"联合早报", "界面"}
    assert digest.articles_read == 3


@pytest.mark.parametrize(
    ("first", "second", "merged"),
    [
        (("临江区启动冬季防寒保障预案", ()), ("临江区启动冬季防寒保障预案 应对寒潮", ()), True),
        (("Ferry returns to Gull Island", ()), ("Gull Island ferry returns after pause", ()), True),
        (
            ("天气A", ("寒潮", "降温", "防寒", "应急")),
            ("预案B", ("寒潮", "降温", "防寒", "应急")),
            True,
        ),
        (("临江区启动冬季防寒保障预案", ()), ("区图书馆推出夜间自习室", ()), False),
        (("天气A", ("寒潮", "降温")), ("预案B", ("寒潮", "降温")), False),  # too few keywords
    ],
    ids=["zh-titles", "en-titles", "keywords", "different", "few-keywords"],
)
def test_same_event_clustering(first: tuple, second: tuple, merged: bool) -> None:
    digest = build([art("A", first[0], first[1]), art("B", second[0], second[1])])
    assert (len(digest.items) == 1) is merged


def test_more_sources_rank_higher_then_priority_then_recency() -> None:
    widely = [art(s, "全市推进老旧小区改造", ("改造", "小区", "老旧", "加装电梯")) for s in "ABC"]
    old_single = art("D", "江豚监测浮标获奖", ("江豚", "浮标"), hours_ago=20)
    new_single = art("E", "夜市接入线上点单", ("夜市", "点单"), hours_ago=1)
    digest = build([old_single, new_single, *widely])
    assert [i.title for i in digest.items][:3] == [
        "全市推进老旧小区改造",
        "夜市接入线上点单",
        "江豚监测浮标获奖",
    ]
    preferred = build([old_single, new_single], source_priority={"D": 5.0})
    assert preferred.items[0].title == "江豚监测浮标获奖"


def test_caps_per_source_and_per_edition_count_what_is_left_out() -> None:
    zh = [
        "寒潮来袭",
        "图书馆开放",
        "地铁调整",
        "夜市点单",
        "航线开通",
        "马拉松报名",
        "消防检查",
        "江豚浮标",
    ]
    en = ["Ferry returns", "Library reopens", "Election nears"]
    articles = [art("A", title, (title,)) for title in zh]
    articles += [art("B", title, (title,)) for title in en]
    digest = build(articles, max_items=6, max_items_per_source=4)
    sources = [i.source for i in digest.items]
    assert len(sources) == 6 and sources.count("A") <= 4
    assert digest.left_out == 11 - 6


def test_summary_sentences_and_fallbacks() -> None:
    digest = build(
        [
            art("A", "标题", summary=("一。", "二。", "三。")),
            art("B", "", summary=("只有一句没有标题。",)),
        ],
        summary_sentences=2,
    )
    by_source = {i.source: i for i in digest.items}
    assert by_source["A"].summary == ("一。", "二。")
    assert by_source["B"].title.startswith("只有一句")


@pytest.mark.parametrize("mode", ["source", "topic", "none"])
def test_sections(mode: str) -> None:
    articles = [
        art("A", "寒潮来袭启动预案", ("寒潮", "预案")),
        art("B", "寒潮导致航班取消", ("寒潮", "航班")),
        art("A", "图书馆延长开放", ("图书馆",)),
    ]
    digest = build(articles, sections=mode)
    names = [s.name for s in digest.sections]
    if mode == "source":
        assert sorted(names) == ["A", "B"]  # type: ignore[type-var]
    elif mode == "topic":
        assert names[0] == "寒潮" and names[-1] is None
    else:
        assert names == [None]
    assert sum(len(s.items) for s in digest.sections) == 3


def test_empty_day() -> None:
    digest = build([])
    assert digest.empty and digest.items == [] and digest.articles_read == 0


def test_digest_round_trips_through_its_stored_form() -> None:
    digest = build([art("A", "标题一", ("词",)), art("B", "Title two", ("word",))])
    assert digest_from_dict(digest_to_dict(digest)) == digest
