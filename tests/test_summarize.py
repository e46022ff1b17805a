"""Summaries and keywords: properties, bad input, boilerplate, the stage and the CLI."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digests.summarize.keywords import IdfTable, keywords
from digests.summarize.rank import PARAMS, prepare, rank_document, summarize, visible_length
from tests.conftest import CORPUS, SAMPLE_ISSUE, needs_shared

ZH_SENTENCES = [
    "临江区今天发布滨江片区更新三年行动方案。",
    "方案提出三年内建成十二公里沿江步道。",
    "区政务服务中心将推行就近办和掌上办。",
    "居民步行十五分钟即可到达公园绿地。",
    "专家认为，滨江更新将带动周边商业发展。",
    "首批五个项目将于明年春天开工。",
    "区财政设立专项资金保障项目推进。",
]
EN_SENTENCES = [
    "The Gull Island ferry returned on Monday after a two-year pause.",
    "The first crossing was full, and passengers cheered as the boat left the pier.",
    "Repairs to the old pier cost the town four million dollars.",
    "The mayor said the ferry would run every hour in summer.",
    "Local shops expect more visitors from the mainland.",
]

sentence_lists = st.lists(st.sampled_from(ZH_SENTENCES + EN_SENTENCES), min_size=0, max_size=12)


@settings(max_examples=120, deadline=None)
@given(
    sentence_lists,
    st.one_of(st.none(), st.integers(1, 5)),
    st.one_of(st.none(), st.integers(1, 300)),
)
def test_summary_properties(sentences: list[str], count: int | None, chars: int | None) -> None:
    text = "".join(sentences)
    chosen = summarize(text, sentences=count, chars=chars)
    assert chosen == summarize(text, sentences=count, chars=chars)  # deterministic
    assert len(chosen) == len(set(chosen))  # never twice
    position = 0
    for sentence in chosen:  # the article's own sentences, never cut, in article order
        found = text.find(sentence, position)
        assert found >= 0
        position = found + len(sentence)
    if count is not None:
        assert len(chosen) <= count
    if chars is not None:
        assert sum(visible_length(s) for s in chosen) <= chars
    if count is None and chars is None:
        assert len(chosen) <= 3


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\n ",
        "只有一句话",
        "没有任何标点符号的一段很长很长的文字" * 20,
        "Only English here. Nothing else at all. Third sentence.",
        "1234567890 3.14 2026-11-25 100%",
        "<p>HTML <b>remnants</b> &amp; tags</p><script>x</script>。还有中文。",
        "。。。！！！？？？",
        "😀🎉👍" * 50,
    ],
    ids=[
        "empty",
        "blank",
        "one-sentence",
        "no-punctuation",
        "english",
        "numbers",
        "html",
        "marks",
        "emoji",
    ],
)
def test_bad_input_gives_a_sensible_or_empty_summary(text: str) -> None:
    chosen = summarize(text, sentences=2)
    assert len(chosen) <= 2
    assert all(sentence in text for sentence in chosen)


def test_huge_article_is_summarized_in_bounded_work() -> None:
    text = "".join(ZH_SENTENCES) * 2000  # about 200,000 characters
    chosen = summarize(text, sentences=3)
    assert 1 <= len(chosen) <= 3 and len(set(chosen)) == len(chosen)


@pytest.mark.parametrize(
    ("text", "forbidden"),
    [
        ("本报讯 临江区今天发布滨江片区更新方案。方案提出建设沿江步道。", "本报讯"),
        ("南都讯　记者刘一　陈二　深圳地铁将设头等车厢。乘客可以买双倍票。", "记者"),
        ("新华社北京11月20日电（记者 张三）国务院召开常务会议。会议部署了工作。", "新华社"),
        ("(CNN) -- The ferry returned on Monday. Passengers cheered.", "(CNN)"),
    ],
    ids=["benbaoxun", "reporters", "xinhua", "cnn"],
)
def test_datelines_and_bylines_are_never_summary_content(text: str, forbidden: str) -> None:
    chosen = summarize(text, sentences=2)
    assert chosen and all(forbidden not in sentence for sentence in chosen)


def test_credits_are_never_chosen() -> None:
    text = "（图片来源：视觉中国）临江区今天发布滨江片区更新方案。责任编辑：王五。"
    assert summarize(text, sentences=3) == ["临江区今天发布滨江片区更新方案。"]


def test_title_pulls_the_summary_towards_it() -> None:
    text = "".join(ZH_SENTENCES)
    assert ZH_SENTENCES[5] not in summarize(text, sentences=2)
    assert ZH_SENTENCES[5] in summarize(text, "首批项目明年春天开工", sentences=2)


def test_lead_is_preferred_when_nothing_else_stands_out() -> None:
    assert summarize("".join(ZH_SENTENCES), sentences=1) == [ZH_SENTENCES[0]]


def test_keywords_prefer_title_words_and_rare_terms() -> None:
    document = prepare("".join(ZH_SENTENCES), "滨江片区更新方案发布")
    found = keywords(document)
    assert 5 <= len(found) <= 10 and len(set(found)) == len(found)
    assert found[0] in {"滨江", "片区", "更新", "方案"}
    common = IdfTable(
        documents=1000, frequencies={"滨江": 900, "片区": 900, "更新": 900, "方案": 900}
    )
    assert keywords(document, common)[0] not in {"滨江", "片区", "更新", "方案"}


def test_english_keywords_are_shown_as_written() -> None:
    found = keywords(prepare(" ".join(EN_SENTENCES), "Gull Island ferry returns"))
    assert "ferry" in found and "Gull" in found
    assert not any(word.endswith("i") and word[:-1] + "y" in found for word in found)


@pytest.mark.parametrize("segmenter", ["rjieba", "jieba"])
def test_the_segmenter_loads_once_per_process(segmenter: str) -> None:
    program = textwrap.dedent(
        f"""
        from digests.text import tokens
        tokens.use_segmenter({segmenter!r})
        loads = []
        original = tokens._load_{segmenter}
        def counting():
            loads.append(1)
            return original()
        tokens._load_{segmenter} = counting
        from digests.summarize.rank import summarize
        assert not tokens.is_loaded()
        texts = ["临江区发布方案。居民很高兴。", "第二篇。内容不同。", "English only. Twice."]
        for text in texts * 3:
            summarize(text)
        print(len(loads), tokens.load_segmenter().name)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", segmenter]


def _cli(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDIGEST_")}
    return subprocess.run(
        [sys.executable, "-m", "digests.cli", "summarize", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=environment | (env or {}),
    )


def test_cli_on_a_newspaper_file() -> None:
    result = _cli(str(CORPUS / "issue_2026-11-20.txt"), "--json")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 3
    for record in records:
        assert record["line"] and 1 <= len(record["summary"]) <= 3
        assert not record["line"].startswith("本报讯")
        assert 5 <= len(record["keywords"]) <= 10


@needs_shared
def test_cli_on_the_sample_newspaper() -> None:
    result = _cli(str(SAMPLE_ISSUE))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("# ") == 3 and "keywords:" in result.stdout


def test_cli_jsonl_batch(tmp_path: Path) -> None:
    lines = [
        json.dumps(
            {"id": 1, "text": "".join(ZH_SENTENCES), "title": "滨江更新"}, ensure_ascii=False
        ),
        json.dumps({"id": "b", "text": " ".join(EN_SENTENCES)}),
        "not json",
        json.dumps({"id": 3, "text": 42}),
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines), "utf-8")
    result = _cli("--jsonl", str(source), "--sentences", "2")
    assert result.returncode == 1  # bad lines were reported
    assert [line.split(": ")[2] for line in result.stderr.splitlines()] == ["line 3", "line 4"]
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records] == [1, "b"]
    assert all(set(r) == {"id", "summary", "keywords"} for r in records)
    assert records[1]["summary"].count(". ") == 1  # two English sentences, joined by a space
    by_chars = _cli("--jsonl", "-", "--chars", "30", stdin=lines[0])
    assert by_chars.returncode == 0
    assert visible_length(json.loads(by_chars.stdout)["summary"]) <= 30


@pytest.mark.parametrize(
    "line",
    ["Harbor Town opens a new ferry pier on Monday", "临江区滨江步道青石湾段正式开放"],
    ids=["en", "zh"],
)
def test_cli_summarizes_one_line_without_a_full_stop_as_itself(line: str) -> None:
    """Not laid out as a newspaper issue (no sentence ends), yet a one-sentence
    article: its summary is the line."""
    result = _cli("-", "--json", stdin=line + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    [record] = [json.loads(text) for text in result.stdout.splitlines()]
    assert record["line"] == line and record["summary"] == [line]
    assert record["keywords"]
    plain = _cli("-", stdin=line)
    assert plain.returncode == 0 and f"  - {line}\n" in plain.stdout


@pytest.mark.parametrize(
    ("args", "stdin", "named"),
    [
        (["-"], "", "standard input"),
        (["-"], " \n\t\n\n", "standard input"),
        (["--jsonl", "-"], "", "standard input"),
        (["--jsonl", "-"], "\n\n", "standard input"),
        (["EMPTY"], None, "EMPTY"),
    ],
    ids=["stdin", "blank-stdin", "jsonl-stdin", "jsonl-blank-lines", "empty-file"],
)
def test_cli_empty_input_says_so_and_fails(
    tmp_path: Path, args: list[str], stdin: str | None, named: str
) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    args = [str(empty) if arg == "EMPTY" else arg for arg in args]
    result = _cli(*args, stdin=stdin)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    named = str(empty) if named == "EMPTY" else named
    expected = f"newsdigest: error: empty input: nothing to summarize in {named}"
    assert result.stderr.splitlines() == [expected]


def test_cli_bad_budget_is_one_line() -> None:
    result = _cli("--jsonl", "-", "--sentences", "0", stdin="")
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1


def test_operator_user_dictionary_keeps_names_whole(tmp_path: Path) -> None:
    text = "柳家渡夜市今晚开市。柳家渡夜市有一百多个摊位。柳家渡的居民很高兴。"
    plain = json.loads(_cli("--jsonl", "-", stdin=json.dumps({"id": 1, "text": text})).stdout)
    assert "柳家渡" not in plain["keywords"]
    dictionary = tmp_path / "names.txt"
    dictionary.write_text("柳家渡 100 ns\n", "utf-8")
    result = _cli(
        "--jsonl",
        "-",
        stdin=json.dumps({"id": 1, "text": text}),
        env={"NEWSDIGEST_TEXT__USER_DICTIONARY": str(dictionary)},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["keywords"][0] == "柳家渡"
    missing = _cli("--jsonl", "-", stdin="", env={"NEWSDIGEST_TEXT__USER_DICTIONARY": "/nope.txt"})
    assert missing.returncode == 1 and "text.user_dictionary" in missing.stderr


@pytest.mark.parametrize(
    ("text", "length"),
    [("中文  测试", 5), ("e\u0301te\u0301", 3), ("👍🏽 ok", 4), ("a\u200db", 2), ("  plain  ", 5)],
    ids=["spaces", "combining", "skin-tone", "joiner", "trimmed"],
)
def test_visible_length_counts_what_a_reader_sees(text: str, length: int) -> None:
    assert visible_length(text) == length


def test_one_article_that_cannot_be_analyzed_fails_alone_with_its_traceback() -> None:
    from digests.summarize.analysis import Analysis, NotAnalyzed, analyze_batch

    good = "临江区滨江步道今天开放。步道全长三公里。"
    outcomes = analyze_batch([("步道开放", good), ("坏的", None), (None, good)])  # type: ignore[list-item]
    assert isinstance(outcomes[0], Analysis) and isinstance(outcomes[2], Analysis)
    assert outcomes[0].summary_line == outcomes[2].summary_line == "临江区滨江步道今天开放。"
    failed = outcomes[1]
    assert isinstance(failed, NotAnalyzed)
    assert failed.reason.startswith("AttributeError") and "Traceback" in failed.details


@pytest.mark.parametrize(
    ("body", "cut", "whole", "fragment"),
    [
        (
            "The city opened a new exhibition hall on Friday. The hall shows harbour history.",
            "City opens new exhibition hall and exp...",
            "City opens new exhibition hall and expo",
            "exp",
        ),
        (
            "柳家渡夜市今晚开张。摊主们早早布置了摊位。居民很高兴。",
            "夜市开张，采访经营…",
            "夜市开张，采访经营者",
            "经营",
        ),
    ],
)
def test_a_word_cut_by_a_truncated_title_is_no_keyword(
    body: str, cut: str, whole: str, fragment: str
) -> None:
    assert fragment not in keywords(prepare(body, cut))
    assert prepare(body, cut).title_tokens == prepare(body, whole).title_tokens[:-1]


def test_the_corpus_idf_sinks_common_words_but_does_not_reward_rarity() -> None:
    table = IdfTable(documents=100, frequencies={"发布": 30, "夜市": 5, "柳家渡": 1})
    assert table.idf("柳家渡") == table.idf("夜市") == table.idf("从未见过")
    assert table.idf("发布") < table.idf("夜市")
    assert IdfTable(documents=10, frequencies={"发布": 9}).idf("发布") == 1.0  # too few to tell


def test_a_sentence_does_not_vote_for_its_own_centrality() -> None:
    # Two short sentences on one topic and a long one on another: counted with
    # its own words, the long one would be the most central.
    document = prepare(
        "夜市今晚开张。夜市今晚很热闹。明天天气晴朗气温回升风力减弱空气清新适合出游踏青。"
    )
    centrality_only = dataclasses.replace(PARAMS["zh"], directed=0.0, position=0.0, title=0.0)
    scores = rank_document(document, centrality_only).scores
    assert scores[0] == scores[1] > scores[2] == 0.0
