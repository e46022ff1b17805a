"""Newspaper issues lose nothing silently: every visible character of the
input is in an article or counted as dropped, with the reason."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digests.ingest.newspaper import (
    FURNITURE_BEFORE,
    NewspaperArticle,
    parse_issue,
    parse_newspaper,
)
from digests.sources.folders import inspect_issue, read_issue
from digests.text.normalize import normalize_line, split_lines
from tests.bigissue import corpus_phrases, corpus_sentences
from tests.conftest import CORPUS, SAMPLE_ISSUE, needs_shared
from tests.test_cli import newsdigest

DEMO_TEXT = (CORPUS / "issue_2026-11-20.txt").read_text("utf-8")


def _visible(text: str) -> Counter[str]:
    return Counter(ch for ch in text if not ch.isspace())


def _input_chars(text: str) -> Counter[str]:
    return sum((_visible(normalize_line(line)) for line in split_lines(text)), Counter())


def _article_chars(article: NewspaperArticle) -> Counter[str]:
    fields = [*article.paragraphs, *article.subheads, article.subtitle or "", article.byline or ""]
    if not article.title_derived:
        fields.append(article.title)
    return sum((_visible(text) for text in fields), Counter())


def _assert_accounted(text: str) -> None:
    parsed = parse_issue(text)
    given_chars = _input_chars(text)
    kept_chars = sum((_article_chars(a) for a in parsed.articles), Counter())
    account = parsed.account
    assert account.chars_in == sum(given_chars.values())
    assert account.chars_kept == sum(kept_chars.values())
    assert account.chars_in == account.chars_kept + account.dropped_chars
    # Nothing is invented: every kept character was in the input.
    assert not kept_chars - given_chars
    assert all(chars > 0 for _reason, chars in account.dropped)


_LINE_PIECES = st.sampled_from(
    [
        "人民城市建标杆",
        "本报讯 ",
        "■记者 ",
        "——",
        "文/",
        "。",
        "，",
        "！",
        "”",
        "“",
        "exam-",
        "ple",
        "By Ann Lee",
        "12",
        ".",
        " ",
        "\u3000",
        "\t",
        "\x00",
        "\u200b",
    ]
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.lists(_LINE_PIECES, max_size=12).map("".join), max_size=40))
def test_every_character_is_kept_or_accounted_for(lines: list[str]) -> None:
    _assert_accounted("\n".join(lines))


@settings(
    max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.text(max_size=400))
def test_any_text_is_accounted_for(text: str) -> None:
    _assert_accounted(text)


def test_real_layouts_are_accounted_for() -> None:
    _assert_accounted(DEMO_TEXT)
    account = parse_issue(DEMO_TEXT).account
    assert account.chars_kept / account.chars_in > 0.98


def _mixed_issue(seed: int) -> tuple[str, list[str], list[str]]:
    """A masthead, then articles with a dateline but no byline, then articles
    with a byline: the layout that used to lose everything before the first byline.
    Returns the text, the titles and every paragraph."""
    rng = random.Random(seed)
    sentences, phrases = corpus_sentences(), corpus_phrases()
    lines = ["临江日报", "2026年11月20日 星期五", "第3版 要闻", ""]
    titles: list[str] = []
    paragraphs: list[str] = []
    for number in range(1, 13):
        title = f"{rng.choice(phrases)}（{number}）"
        titles.append(title)
        lines += [title, ""]
        if number > 6:
            lines += [f"■记者 王{'明亮清'[number % 3]}", ""]
        body = ["".join(rng.sample(sentences, 2)) for _ in range(rng.randint(2, 4))]
        if number <= 6:
            body[0] = "本报讯 " + body[0]
        paragraphs += body
        for paragraph in body:
            lines += [paragraph, ""]
    return "\n".join(lines), titles, paragraphs


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_articles_before_the_first_byline_are_kept(seed: int) -> None:
    text, titles, paragraphs = _mixed_issue(seed)
    parsed = parse_issue(text)
    assert [a.title for a in parsed.articles] == titles
    kept = [p for a in parsed.articles for p in a.paragraphs]
    assert kept == paragraphs
    masthead = sum(len(line.replace(" ", "")) for line in text.split("\n")[:3])
    assert dict(parsed.account.dropped)[FURNITURE_BEFORE] == masthead
    _assert_accounted(text)


def test_text_before_the_first_header_without_title_becomes_an_article() -> None:
    text = (
        "沿江步道今年全线贯通。夜市也将延长营业时间。\n\n"
        "新的公交线路下月开通。\n\n"
        "河道整治工程完工\n\n■记者 李四\n\n本报讯 工程历时两年。\n"
    )
    first, second = parse_newspaper(text)
    assert first.title_derived and first.paragraphs == (
        "沿江步道今年全线贯通。夜市也将延长营业时间。",
        "新的公交线路下月开通。",
    )
    assert second.title == "河道整治工程完工" and not second.title_derived


def _wrapped_by_columns(text: str, columns: int) -> str:
    """Every line cut at ``columns`` display columns (a non-ASCII character
    takes two, as in a GBK/GB18030 fixed-width export), titles included."""
    out: list[str] = []
    for line in text.split("\n"):
        piece, used = "", 0
        for ch in line:
            width = 1 if ch.isascii() else 2
            if used + width > columns:
                out.append(piece)
                piece, used = "", 0
            piece += ch
            used += width
        out.append(piece)
    return "\n".join(out)


def _same_articles(got: list, want: list) -> None:
    assert [a.title for a in got] == [a.title for a in want]
    for got_article, want_article in zip(got, want, strict=True):
        assert got_article.lead == want_article.lead
        assert got_article.subheads == want_article.subheads
        assert got_article.paragraphs == want_article.paragraphs


@pytest.mark.parametrize("columns", [50, 60, 64, 72, 76, 80])
def test_gb18030_crlf_export_wrapped_by_columns_reads_like_the_original(columns: int) -> None:
    data = _wrapped_by_columns(DEMO_TEXT, columns).replace("\n", "\r\n").encode("gb18030")
    _same_articles(read_issue(data, "issue.txt"), read_issue(DEMO_TEXT.encode(), "issue.txt"))


@needs_shared
@pytest.mark.parametrize("columns", [50, 60, 64, 72, 76, 80])
def test_sample_wrapped_by_columns_keeps_its_dateline_paragraphs(columns: int) -> None:
    original = SAMPLE_ISSUE.read_text("utf-8")
    data = _wrapped_by_columns(original, columns).replace("\n", "\r\n").encode("gb18030")
    articles = read_issue(data, "issue.txt")
    _same_articles(articles, read_issue(original.encode(), "issue.txt"))
    for article in articles:
        assert not any(subhead.startswith("本报讯") for subhead in article.subheads)
    assert any("特色商业街" in p for p in articles[1].paragraphs)


def test_inspect_reports_the_encoding_and_the_account() -> None:
    issue = inspect_issue(DEMO_TEXT.encode("gb18030"), "issue.txt")
    assert issue.encoding == "gb18030"
    assert issue.account.chars_in == issue.account.chars_kept + issue.account.dropped_chars
    assert "characters in" in issue.account.report()


def test_parse_report_prints_the_account_on_stderr(tmp_path) -> None:
    issue = tmp_path / "issue.txt"
    text, _titles, _paragraphs = _mixed_issue(4)
    issue.write_text(text, "utf-8")
    result = newsdigest("parse", "--report", str(issue), cwd=tmp_path)
    assert result.returncode == 0
    [line] = result.stderr.splitlines()
    account = parse_issue(text).account
    # the mixed issue's masthead carries its date: 2026年11月20日
    assert line.startswith(f"{issue}: 12 articles (utf-8), dated 2026-11-20 from the masthead; ")
    assert f"{account.chars_in:,} characters in, {account.chars_kept:,} kept" in line
    assert "page furniture before the first article" in line
    assert len(result.stdout.splitlines()) == 12
    quiet = newsdigest("parse", str(issue), cwd=tmp_path)
    assert quiet.stderr == "" and quiet.stdout == result.stdout
