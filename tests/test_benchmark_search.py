"""The search benchmark's harness: its corpus, its queries and its scoring (not
the engines, which tests/test_search*.py cover)."""

from __future__ import annotations

import random
import re
import statistics
from collections import Counter

import pytest
from rich.console import Console
from rich.progress import Progress

from benchmarks import search as bench
from tests.conftest import needs_shared


def _doc(key: str, language: str, title: str, *paragraphs: str, origin: str = "x:1") -> bench.Doc:
    return bench.Doc(key, origin, language, title, paragraphs)


WORDS = "harbor council river market school bridge train storm budget park vote rain".split()


def _real() -> list[bench.Doc]:
    """Forty Chinese and ten English articles of made-up sentences."""
    rng = random.Random(1)

    def zh() -> str:
        clause = lambda: "".join(chr(rng.randrange(0x4E00, 0x4E00 + 800)) for _ in range(8))  # noqa: E731
        return f"{clause()}，{clause()}。"

    def en() -> str:
        return " ".join(rng.choice(WORDS) for _ in range(9)) + "."

    docs = [
        _doc(
            f"zh-{n}",
            "zh",
            f"第{n}条新闻",
            *("".join(zh() for _ in range(n % 5 + 1)) for _ in range(3)),
        )
        for n in range(40)
    ]
    docs += [
        _doc(
            f"en-{n}",
            "en",
            f"Headline {n} of the day in the city",
            " ".join(en() for _ in range(n % 3 + 2)),
        )
        for n in range(10)
    ]
    return docs


def test_distractors_are_repeatable_and_never_clone_a_title() -> None:
    real = _real()
    made = bench.distractors(real, 300, random.Random(7))
    assert made == bench.distractors(real, 300, random.Random(7))
    titles = {bench.folded(d.title) for d in real}
    assert not any(bench.folded(d.title) in titles for d in made)
    assert len({d.title for d in made}) == len(made)
    assert all(d.origin == "" and d.title and d.paragraphs for d in made)


def test_distractors_follow_the_real_lengths_and_english_share() -> None:
    real = _real()
    made = bench.distractors(real, 600, random.Random(11))
    share = sum(d.language == "en" for d in made) / len(made)
    assert share == pytest.approx(bench.english_share(real), abs=0.04)
    for language in ("zh", "en"):
        want = statistics.mean(len(d.text) for d in real if d.language == language)
        got = statistics.mean(len(d.text) for d in made if d.language == language)
        assert want * 0.9 < got < want * 1.35, language


def test_distractor_bodies_are_real_sentences_of_other_articles() -> None:
    real = _real()
    spare = {"zh-0", "zh-1", "en-0"}

    def said(docs: list[bench.Doc]) -> set[str]:
        return {s for d in docs for p in d.paragraphs for s in bench.sentences(p, d.language)}

    donors = said([d for d in real if d.key not in spare])
    made = bench.distractors(real, 100, random.Random(3), spare=spare)
    assert said(made) <= donors
    assert not said(made) & said([d for d in real if d.key in spare])


@pytest.mark.parametrize(
    ("values", "share", "expected"),
    [([1.0], 0.95, 1.0), ([1.0, 2.0], 0.5, 1.0), (list(range(1, 101)), 0.95, 95)],
    ids=["one value", "median of two", "p95 of a hundred"],
)
def test_percentile_is_nearest_rank(values: list[float], share: float, expected: float) -> None:
    assert bench.percentile(sorted(values), share) == expected


def test_engine_queries_quote_user_words() -> None:
    assert bench._fts5_match(['a"b', "c"], ["d"]) == '("a""b" AND "c") NOT ("d")'
    assert bench._tsquery(["it's"], []) == "'it''s'"
    assert bench._tsquery(["a"], ["b", "c"]) == "('a') & !('b' & 'c')"


def _measured(answers: dict[str, list[int]], probes: list[bench.Probe]) -> bench.Measured:
    docs = [
        _doc("t", "zh", "夜市开张", "夜市今晚开张。"),
        _doc("u", "zh", "柳家渡夜市", "柳家渡的夜市很热闹。"),
        _doc("v", "zh", "滨江步道", "滨江步道修好了。"),
    ]
    system = bench.System(
        "fake", "tantivy", True, 1.0, None, 0, lambda p: bench.Answer(answers[p.text])
    )
    with Progress(console=Console(quiet=True)) as progress:
        return bench.measure(
            system,
            probes,
            1,
            [d.key for d in docs],
            lambda n: (docs[n].title, docs[n].text),
            progress,
        )


def test_scoring_counts_ranks_and_wrong_results() -> None:
    probes = [
        bench.Probe("exclusion", "夜市 -柳家渡", "t", "", ("夜市",), excluded="柳家渡"),
        bench.Probe("phrase", '"滨江步道"', "v", "", ("滨江步道",), phrase="滨江步道"),
        bench.Probe("phrase-swapped", '"步道滨江"', None, "", ("步道滨江",), phrase="步道滨江"),
        bench.Probe("two-char", "夜市", "u", "", ("夜市",)),
    ]
    row = _measured(
        {"夜市 -柳家渡": [1, 0], '"滨江步道"': [2], '"步道滨江"': [2], "夜市": [0, 2]}, probes
    )
    assert row.mrr == {"exclusion": 0.5, "phrase": 1.0, "two-char": 0.0}
    assert vars(row.checks["exclusion"]) == {
        "queries": 1,
        "queries_ok": 0,
        "results": 2,
        "results_bad": 1,
    }
    assert row.checks["phrase"].queries_ok == 1
    assert row.checks["phrase-swapped"].queries_ok == 0
    assert row.found == {"exclusion": 1, "phrase": 1, "two-char": 0}


@needs_shared
def test_queries_follow_the_rules() -> None:
    real = bench.real_documents()
    assert len({" ".join(d.text.split()) for d in real}) == len(real)
    by_key = {d.key: d for d in real}
    probes = bench.Drawer(real, random.Random(bench.SEED)).draw()
    assert Counter(p.kind for p in probes) == bench.COUNTS
    again = bench.Drawer(real, random.Random(bench.SEED)).draw()
    assert again == probes
    for probe in probes:
        target = by_key[probe.target] if probe.target else None
        title = bench.folded(target.title) if target else ""
        if probe.kind == "multi-word":
            words = probe.text.split()
            assert 2 <= len(words) <= 3
            assert all(re.fullmatch(r"[\u3400-\u9fff]+", w) for w in words)
        elif probe.kind == "two-char":
            assert len(probe.text) == 2 and probe.text in title
        elif probe.kind == "one-char":
            assert len(probe.text) == 1 and probe.text in title
        elif probe.kind == "latin-in-zh":
            assert re.search(r"[A-Za-z]", probe.text) and probe.text.casefold() in title
        elif probe.kind == "phrase":
            assert probe.phrase and len(probe.phrase) >= 4 and probe.phrase in title
            assert probe.text == f'"{probe.phrase}"'
        elif probe.kind == "exclusion":
            word, excluded = probe.text.split(" -")
            assert excluded == probe.excluded and word in title
            assert target is not None
            assert excluded not in bench.folded(target.title + "\n" + target.text)
            assert any(word in d.title + d.text and excluded in d.title + d.text for d in real)
