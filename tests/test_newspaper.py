"""Newspaper issues: article boundaries, layout repairs and encodings."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digests.errors import DecodeError
from digests.ingest.newspaper import is_lead, parse_newspaper
from digests.sources.refresh import read_issue
from digests.text.encoding import decode_bytes
from tests.conftest import CORPUS, SAMPLE_ISSUE, needs_shared

DEMO_ISSUE = CORPUS / "issue_2026-11-20.txt"
DEMO_EXPECTED = json.loads((CORPUS / "issue_2026-11-20.expected.json").read_text("utf-8"))


def _bodies(articles) -> list[str]:
    return [p for a in articles for p in a.paragraphs]


@needs_shared
def test_sample_issue_has_three_articles_with_repaired_layout() -> None:
    articles = parse_newspaper(SAMPLE_ISSUE.read_text("utf-8"))
    assert [a.title for a in articles] == [
        "人民城市建标杆 实现更高质量发展",
        "助力城市数字化转型——上海将诞生10条数字化小店示范街 首条示范街在杨浦“点亮”",
        "这场久别重逢在杨浦发生",
    ]
    assert articles[0].subtitle == "区委学习会讨论侧记"
    assert [a.byline for a in articles] == ["戚佳佳 申佳琦 沈宇虹", "高靓", "汤顺佳"]
    assert [a.lead for a in articles] == [True, True, False]
    text = "\n".join(_bodies(articles))
    for joined in ("高端生产性服务业", "特色商业街", "为促进", "保障作用。"):
        assert joined in text
    assert text.count("发展道路更宽。") == 1
    assert "人民城市人民建" not in text and "人民城市为人民" not in text
    assert "实现生态环境更绿、市容颜值更高、绿色发展道路更宽" in articles[0].subheads
    assert articles[2].subheads == ("视频看了十遍,不敢相信有这么巧的事", "找到妈妈就是最大的喜事")
    for article in articles:
        for subhead in article.subheads:
            assert subhead not in article.paragraphs


@pytest.mark.parametrize(
    "number", range(len(DEMO_EXPECTED["articles"])), ids=lambda n: f"article-{n + 1}"
)
def test_demo_issue_matches_expectations(number: int) -> None:
    articles = parse_newspaper(DEMO_ISSUE.read_text("utf-8"))
    assert len(articles) == len(DEMO_EXPECTED["articles"])
    got, want = articles[number], DEMO_EXPECTED["articles"][number]
    assert got.title == want["title"]
    assert got.subtitle == want["subtitle"]
    assert got.byline == want["byline"]
    assert got.lead == want["lead"]
    assert list(got.subheads) == want["subheads"]
    assert len(got.paragraphs) == want["paragraph_count"]
    for fragment in want["joined_fragments"]:
        assert any(fragment in p for p in got.paragraphs), fragment


def test_demo_issue_drops_repeated_tail_and_slogan() -> None:
    text = "\n".join(_bodies(parse_newspaper(DEMO_ISSUE.read_text("utf-8"))))
    assert text.count(DEMO_EXPECTED["repeated_tail"]) == 1
    for slogan in DEMO_EXPECTED["slogan_lines"]:
        assert slogan not in text


ISSUE_TEXT = DEMO_ISSUE.read_text("utf-8")


@pytest.mark.parametrize(
    ("encode", "label"),
    [
        (lambda t: t.encode("utf-8"), "utf-8"),
        (lambda t: b"\xef\xbb\xbf" + t.encode("utf-8"), "utf-8 with BOM"),
        (lambda t: t.encode("gb18030"), "gb18030"),
        (lambda t: t.encode("gbk"), "gbk"),
        (lambda t: t.encode("utf-16"), "utf-16 with BOM"),
        (lambda t: t.replace("\n", "\r\n").encode("utf-8"), "CRLF"),
        (lambda t: t.replace("\n", "\r\n").encode("gb18030"), "gb18030 + CRLF"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_issue_encodings_are_detected(encode, label: str) -> None:
    articles = read_issue(encode(ISSUE_TEXT), "issue.txt")
    assert [a.title for a in articles] == [a["title"] for a in DEMO_EXPECTED["articles"]], label


def test_forced_encoding_is_used_strictly() -> None:
    data = ISSUE_TEXT.encode("gb18030")
    assert (
        read_issue(data, "x.txt", encoding="gbk")[0].title == DEMO_EXPECTED["articles"][0]["title"]
    )
    with pytest.raises(DecodeError):
        read_issue(data, "x.txt", encoding="utf-8")
    with pytest.raises(DecodeError, match="unknown encoding"):
        read_issue(data, "x.txt", encoding="no-such-codec")


def test_identity_is_file_name_and_title() -> None:
    articles = read_issue(ISSUE_TEXT.encode(), "2026-11-20.txt")
    assert articles[0].guid == f"2026-11-20.txt#{articles[0].title}"


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        ("本报讯 12月25日,区委召开会议。", True),
        ("本报北京11月20日电 记者从会上获悉。", True),
        ("新华社上海11月20日电(记者 张三)今天", True),
        ("明年是开局之年。", False),
        ("“本报讯”三个字很常见。", False),
    ],
    ids=["benbaoxun", "benbao-dateline", "xinhua", "plain", "quoted"],
)
def test_lead_detection(paragraph: str, expected: bool) -> None:
    assert is_lead(paragraph) is expected


def test_issue_without_bylines_splits_on_datelines() -> None:
    text = (
        "第一条新闻标题\n\n本报讯 这是第一篇文章的第一段。内容很长很长。\n\n第二段在这里。\n\n"
        "第二条新闻标题\n\n本报讯 这是第二篇文章。\n"
    )
    articles = parse_newspaper(text)
    assert [a.title for a in articles] == ["第一条新闻标题", "第二条新闻标题"]
    assert articles[0].paragraphs == (
        "本报讯 这是第一篇文章的第一段。内容很长很长。",
        "第二段在这里。",
    )


def test_english_issue_with_hyphenated_break() -> None:
    text = (
        "Ferry returns to Gull Island\n\nBy Ann Lee\n\nThe ferry line reopened on Monday after "
        "two years of repairs, and the first crossing was full. Officials said the exam-\n\n"
        "ple would be followed.\n\nA new schedule\n\nBoats leave every hour.\n"
    )
    [article] = parse_newspaper(text)
    assert article.byline == "Ann Lee"
    assert article.subheads == ("A new schedule",)
    assert "the example would be followed." in article.paragraphs[0]


def test_empty_and_blank_input_gives_no_articles() -> None:
    assert parse_newspaper("") == []
    assert parse_newspaper("\n \n\u3000\n") == []


def test_undecodable_bytes_are_an_input_error() -> None:
    with pytest.raises(DecodeError):
        decode_bytes(b"\x00\xff" * 50 + b"\xfe\x00\x81", forced="ascii")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.text(
            alphabet=st.sampled_from("人民城市建标杆，。?！■记者 本报讯——\n\u3000abc."), max_size=40
        ),
        max_size=30,
    )
)
def test_parser_never_fails_and_keeps_paragraphs_clean(lines: list[str]) -> None:
    articles = parse_newspaper("\n".join(lines))
    for article in articles:
        for paragraph in article.paragraphs:
            assert paragraph and paragraph == paragraph.strip()
            assert "\n" not in paragraph and "\u3000" not in paragraph


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_parser_never_fails_on_any_text(text: str) -> None:
    parse_newspaper(text)


def _hard_wrapped(text: str, width: int, *, indent: bool, blank_between_paragraphs: bool) -> str:
    """The issue as a fixed-width export lays it out: paragraphs cut every
    ``width`` characters, optionally indented, optionally separated by blank lines."""
    from digests.text.normalize import ends_complete

    out: list[str] = []
    previous_complete = True
    for line in (raw for raw in text.split("\n") if raw.strip()):
        if len(line) <= 30 and not ends_complete(line) and previous_complete:
            out.append(line)  # titles, bylines, subheads stay whole
        else:
            start = "\u3000\u3000" + line if indent and previous_complete else line
            previous_complete = ends_complete(line)
            out.extend(start[i : i + width] for i in range(0, len(start), width))
        if blank_between_paragraphs and previous_complete:
            out.append("")
    return "\n".join(out)


@pytest.mark.parametrize("width", [24, 30, 36])
@pytest.mark.parametrize(
    ("indent", "blank"),
    [(True, False), (False, True), (True, True)],
    ids=["indented", "blank-lines", "both"],
)
def test_hard_wrapped_exports_give_the_same_articles(width: int, indent: bool, blank: bool) -> None:
    original = parse_newspaper(ISSUE_TEXT)
    wrapped = parse_newspaper(
        _hard_wrapped(ISSUE_TEXT, width, indent=indent, blank_between_paragraphs=blank)
    )
    assert [a.title for a in wrapped] == [a.title for a in original]
    for got, want in zip(wrapped, original, strict=True):
        assert got.subheads == want.subheads
        assert got.paragraphs == want.paragraphs


@pytest.mark.parametrize(
    ("head", "tail", "joined"),
    [
        ("高端生产性服", "务业", "高端生产性服务业"),
        ("12月2", "1日", "12月21日"),
        ("增长5.", "6%", "增长5.6%"),
        ("使用Open", "AI模型", "使用OpenAI模型"),
        ("the ferry", "returned", "the ferry returned"),
        ("an exam-", "ple", "an example"),
        ("first,", "second", "first, second"),
        ("提振,", "明年", "提振,明年"),
    ],
)
def test_join_broken(head: str, tail: str, joined: str) -> None:
    from digests.text.normalize import join_broken

    assert join_broken(head, tail) == joined


def test_editor_credit_and_inner_byline_do_not_start_articles() -> None:
    text = (
        "第3版 要闻\n\n"
        "河道整治工程完工\n\n■记者 李四\n\n"
        "本报讯 历时两年的河道整治工程昨日完工。沿岸新增绿地三万平方米。\n\n"
        "记者 王五 摄\n\n工程还同步改造了雨污管网。\n\n责任编辑：赵六\n"
    )
    [article] = parse_newspaper(text)
    assert article.title == "河道整治工程完工" and article.byline == "李四"
    assert article.paragraphs[-1] == "工程还同步改造了雨污管网。"
    assert article.subheads == ()
    assert all("第3版" not in p for p in article.paragraphs)


def test_text_without_any_header_is_one_article_with_a_derived_title() -> None:
    [article] = parse_newspaper("今天天气很好。我们去公园散步。\n\n公园里人很多。\n")
    assert article.title == "今天天气很好。"
    assert article.paragraphs == ("今天天气很好。我们去公园散步。", "公园里人很多。")
