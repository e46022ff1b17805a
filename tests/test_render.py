"""Telegram rendering: length limits in UTF-16 units, allowed tags only, escaping."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.render import MESSAGE_LIMIT, render_html, telegram_length
from digests.editions.compose import Digest, Item, Section, SourceLink
from digests.editions.pages import render_page, render_text

ALLOWED_TAG = re.compile(r'^<(?:b|/b|i|/i|/a|a href="https?://[^"<>]*")>$')
TIME = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)

texts = st.lists(
    st.sampled_from([*"新闻标题<>&\"' ab😀𝕏\u200d\n", "&amp;", "<b>", "</a>"]),
    min_size=1,
    max_size=150,
).map("".join)
links = st.one_of(
    st.none(),
    st.sampled_from(
        ["https://e.org/a?x=1&y=<2>", "javascript:alert(1)", "data:text/html,x", "ftp://x/"]
    ),
)
items = st.builds(
    Item,
    title=texts,
    link=links,
    summary=st.lists(texts, max_size=3).map(tuple),
    source=texts,
    also=st.lists(st.builds(SourceLink, name=texts, link=links), max_size=3).map(tuple),
    time=st.just(TIME),
    keywords=st.just(()),
    article_ids=st.just((1,)),
    score=st.just(1.0),
)
digests = st.builds(
    Digest,
    schedule=st.just("daily"),
    edition_date=st.just(date(2026, 11, 25)),
    articles_read=st.integers(0, 10_000),
    top_keywords=st.lists(texts, max_size=5).map(tuple),
    sections=st.lists(
        st.builds(
            Section,
            name=st.one_of(st.none(), texts),
            items=st.lists(items, min_size=1, max_size=8).map(tuple),
        ),
        max_size=4,
    ).map(tuple),
    left_out=st.integers(0, 50),
)


def _tags_balanced(message: str) -> bool:
    stack: list[str] = []
    for tag in re.findall(r"<(/?)([a-z]+)", message):
        closing, name = tag
        if closing:
            if not stack or stack.pop() != name:
                return False
        else:
            stack.append(name)
    return not stack


@settings(max_examples=150, deadline=None)
@given(digests, st.sampled_from([MESSAGE_LIMIT, 600, 200]), st.sampled_from(["zh", "en"]))
def test_messages_respect_limits_tags_and_escaping(
    digest: Digest, limit: int, language: str
) -> None:
    messages = render_html(digest, language=language, limit=limit)
    assert messages
    for message in messages:
        assert telegram_length(message) <= limit
        assert all(ALLOWED_TAG.match(tag) for tag in re.findall(r"<[^>]*>", message))
        assert _tags_balanced(message)
        for href in re.findall(r'href="([^"]*)"', message):
            assert href.startswith(("http://", "https://"))


def _digest(*items: Item, left_out: int = 0) -> Digest:
    return Digest(
        "daily", date(2026, 11, 25), 42, ("寒潮", "航线"), (Section("源", items),), left_out
    )


def _item(
    title: str, summary: tuple[str, ...] = ("一句。",), link: str | None = "https://e.org/1"
) -> Item:
    return Item(
        title,
        link,
        summary,
        "源",
        (SourceLink("界面", "https://j.example/2"),),
        TIME,
        (),
        (1,),
        1.0,
    )


def test_external_text_arrives_as_text() -> None:
    [message] = render_html(_digest(_item("<b>&</b>", ("x < y & z",))))
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in message and "x &lt; y &amp; z" in message
    assert (
        '<a href="https://e.org/1"><b>' in message
        and '另见: <a href="https://j.example/2">界面</a>' in message
    )


def test_unsafe_links_are_not_links() -> None:
    [message] = render_html(_digest(_item("标题", link="javascript:alert(1)")))
    assert "javascript" not in message and "<b>标题</b>" in message


def test_long_editions_split_between_items() -> None:
    items = [_item(f"第{i}条新闻", ("很长的摘要句子。" * 40,)) for i in range(40)]
    messages = render_html(_digest(*items))
    assert len(messages) > 1
    assert all(telegram_length(m) <= MESSAGE_LIMIT for m in messages)
    joined = "\n".join(messages)
    assert all(f"第{i}条新闻" in joined for i in range(40))
    assert messages[0].startswith("<b>daily · 2026-11-25</b>")


def test_an_item_longer_than_a_message_is_shortened_not_broken() -> None:
    huge = _item("巨" * 5000, ("长" * 6000, "句" * 3000))
    [message] = render_html(_digest(huge))
    assert telegram_length(message) <= MESSAGE_LIMIT and message.count("<b>") == message.count(
        "</b>"
    )
    assert "…" in message


def test_emoji_count_as_two_utf16_units() -> None:
    assert telegram_length("😀") == 2 and telegram_length("<b>中&amp;</b>") == 2


def test_empty_edition_and_left_out() -> None:
    empty = Digest("daily", date(2026, 11, 25), 0, (), ())
    assert "今天没有新的文章。" in render_html(empty)[0]
    assert "Nothing new today." in render_text(empty, language="en")
    [message] = render_html(_digest(_item("标题"), left_out=7))
    assert "另有 7 条未列出" in message


@pytest.mark.parametrize(
    ("count", "read", "left_out"),
    [
        (1, "1 article read", "1 more story not listed"),
        (2, "2 articles read", "2 more stories not listed"),
    ],
)
def test_counted_phrases_agree_with_the_number_in_english(
    count: int, read: str, left_out: str
) -> None:
    digest = Digest("daily", date(2026, 11, 25), count, (), (Section("源", (_item("x"),)),), count)
    [message] = render_html(digest, language="en")
    text = render_text(digest, language="en")
    page = render_page(digest, language="en")
    for shown in (message, text, page):
        assert read in shown and left_out in shown
    assert "今日阅读 1 篇文章" in render_text(Digest("daily", date(2026, 11, 25), 1, (), ()))


def test_plain_text_and_page() -> None:
    digest = _digest(_item("<script>标题</script>"))
    text = render_text(digest)
    assert "<script>标题</script>" in text and "界面" in text
    page = render_page(digest)
    assert page.startswith("<!DOCTYPE html>") and "<script>" not in page
    assert "&lt;script&gt;标题&lt;/script&gt;" in page


def test_a_huge_source_name_is_shortened_too() -> None:
    item = Item("短", None, (), "😀" * 3000, (), TIME, (), (1,), 1.0)
    for limit in (MESSAGE_LIMIT, 300, 120):
        for message in render_html(_digest(item), limit=limit):
            assert telegram_length(message) <= limit and _tags_balanced(message)


def test_a_huge_header_still_fits() -> None:
    digest = Digest("d" * 500, date(2026, 11, 25), 1, tuple("话题" * 200 for _ in range(10)), ())
    for limit in (MESSAGE_LIMIT, 200):
        [message] = render_html(digest, limit=limit)
        assert telegram_length(message) <= limit


def test_a_huge_section_name_is_shortened() -> None:
    digest = Digest("daily", date(2026, 11, 25), 1, (), (Section("😀" * 3000, (_item("标题"),)),))
    for limit in (MESSAGE_LIMIT, 200):
        assert all(telegram_length(m) <= limit for m in render_html(digest, limit=limit))
