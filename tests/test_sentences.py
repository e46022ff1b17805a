"""Sentence splitting: Chinese, English and mixed text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digests.ingest.newspaper import parse_newspaper
from digests.text.sentences import MAX_SENTENCE_CHARS, split_sentences
from tests.conftest import SAMPLE_ISSUE, needs_shared

CASES = {
    "chinese-marks": (
        "增长了。下降了！为什么？结束；",
        ["增长了。", "下降了！", "为什么？", "结束；"],
    ),
    "closing-quote-kept": (
        "他说：“我很高兴。”然后走了。",
        ["他说：“我很高兴。”", "然后走了。"],
    ),
    "no-split-inside-quote": (
        "“你晚上睡哪里?睡在地铁站。”多年不见。",
        ["“你晚上睡哪里?睡在地铁站。”", "多年不见。"],
    ),
    "decimal": (
        "GDP增长5.6%，好于预期。股价涨了3.25元。",
        ["GDP增长5.6%，好于预期。", "股价涨了3.25元。"],
    ),
    "ellipsis": (
        "我想回家去补……”她说。等等……再说",
        ["我想回家去补……”", "她说。", "等等……", "再说"],
    ),
    "half-width-in-chinese": (
        "提振?明年再出新招。效能;聚焦开放。",
        ["提振?", "明年再出新招。", "效能;聚焦开放。"],
    ),
    "english-abbreviations": (
        "Mr. Smith met Dr. J. K. Rowling at 5 p.m. in the U.S. office. It went well.",
        ["Mr. Smith met Dr. J. K. Rowling at 5 p.m. in the U.S. office.", "It went well."],
    ),
    "english-quote": ('He said: "Stop." Then he left!', ['He said: "Stop."', "Then he left!"]),
    "english-decimal-and-url": (
        "Rates rose 3.5 percent, see example.com. Markets fell.",
        ["Rates rose 3.5 percent, see example.com.", "Markets fell."],
    ),
    "english-ellipsis": ("Wait... They came. Then...", ["Wait...", "They came.", "Then..."]),
    "mixed-scripts": (
        "苹果发布了iPhone 17。Analysts said it sold well. 销量增长12.5%！",
        ["苹果发布了iPhone 17。", "Analysts said it sold well.", "销量增长12.5%！"],
    ),
    "tail-kept": ("第一句。没有句号的最后一句", ["第一句。", "没有句号的最后一句"]),
    "paragraphs": ("第一段没有标点\n第二段。", ["第一段没有标点", "第二段。"]),
    "short-clauses-run-on": ("1.解决问题；2.从人开始；", ["1.解决问题；2.从人开始；"]),
    "long-clause-stands-alone": (
        "市区道路改造工程今年共完成十二条主次干道的拓宽和路面翻新工作，总长度超过三十公里；"
        "新建的滨江步道已对市民开放；设置在夜市牌坊西侧。",
        [
            "市区道路改造工程今年共完成十二条主次干道的拓宽和路面翻新工作，总长度超过三十公里；",
            "新建的滨江步道已对市民开放；设置在夜市牌坊西侧。",
        ],
    ),
    "colon-is-a-clause-mark": ("记者获悉：步道开放。", ["记者获悉：步道开放。"]),
    "reversed-quotes-close": (
        "网友称这是”女强男弱“。她笑了。",
        ["网友称这是”女强男弱“。", "她笑了。"],
    ),
    "no-split-inside-brackets": (
        "会议（上午九时开始。下午结束）顺利举行。后续另行通知。",
        ["会议（上午九时开始。下午结束）顺利举行。", "后续另行通知。"],
    ),
    "brackets": ("（完）会议结束。（记者 张三）", ["（完）会议结束。", "（记者 张三）"]),
}


@pytest.mark.parametrize(("text", "expected"), CASES.values(), ids=CASES.keys())
def test_split(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@needs_shared
def test_sample_newspaper_paragraphs_split_into_sentences() -> None:
    articles = parse_newspaper(SAMPLE_ISSUE.read_text("utf-8"))
    for article in articles:
        for paragraph in article.paragraphs:
            sentences = split_sentences(paragraph)
            assert _compact("".join(sentences)) == _compact(paragraph)
    lead = split_sentences(articles[2].paragraphs[0])
    assert lead[0] == "“我的身份证在上海丢了,我想回家去补……”"


@given(st.text(max_size=400))
def test_splitting_loses_nothing_but_whitespace(text: str) -> None:
    sentences = split_sentences(text)
    assert all(s and s == s.strip() for s in sentences)
    assert _compact("".join(sentences)) == _compact(text)


def _compact(text: str) -> str:
    return "".join(text.split())


@given(
    st.text(
        alphabet=st.sampled_from([*"滨江步道开放市民散步", *"，、 ：,", *"abc"]),
        min_size=0,
        max_size=3000,
    )
)
def test_a_unit_without_sentence_ends_is_cut_within_the_bound_losing_nothing(text: str) -> None:
    sentences = split_sentences(text)
    assert all(0 < len(s) <= MAX_SENTENCE_CHARS and s == s.strip() for s in sentences)
    assert _compact("".join(sentences)) == _compact(text)


def test_a_120000_character_sentence_is_cut_at_clause_marks_and_summarized_short() -> None:
    from digests.summarize.analysis import analyze

    clause = "临江区滨江步道沿线的口袋公园和观景平台已经对市民开放，"
    sentence = clause * (120_000 // len(clause))
    pieces = split_sentences(sentence)
    assert all(piece.endswith("，") for piece in pieces[:-1])
    assert max(map(len, pieces)) <= MAX_SENTENCE_CHARS
    assert len(analyze("步道", sentence).summary_line) <= MAX_SENTENCE_CHARS
