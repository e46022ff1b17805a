"""The summarize benchmark's scoring, its paired speed ratios and the tuner's noise guard."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from benchmarks.rouge_zh import rouge_zh, rouge_zh_raw
from benchmarks.summarize import Speed
from benchmarks.tune_summarize import clear_gain, neutral_params
from digests.summarize.rank import RankParams


def test_raw_character_rouge_counts_punctuation_and_the_normalized_one_does_not() -> None:
    assert rouge_zh("夜市，开张。", "夜市开张").r1 == 1.0
    raw = rouge_zh_raw("夜市，开张。", "夜市开张")
    assert raw.r1 == pytest.approx(2 * (4 / 6) * 1.0 / (4 / 6 + 1.0))
    assert rouge_zh_raw("夜市 开张", "夜市开张").r1 == 1.0  # whitespace is no token


def test_speed_ratios_are_the_median_of_paired_passes() -> None:
    speed = Speed(
        ("slow", "fast"),
        articles={"slow": 10, "fast": 10},
        seconds={"slow": [2.0, 4.0, 9.0], "fast": [1.0, 1.0, 3.0]},
        subset_seconds={"slow": [1.0, 1.0, 1.0], "fast": [0.5, 0.25, 0.5]},
    )
    assert speed.ratio("slow", "fast") == 3.0  # passes: 2, 4, 3
    assert speed.ratio("slow", "fast", subset=True) == 2.0
    assert speed.per_second("fast") == 10.0  # the median pass: 1 s


@dataclasses.dataclass
class FixedSet:
    """A set whose per-document scores are given per weight setting."""

    scores: dict[RankParams, list[float]]

    def values(self, params: RankParams, _rouge: object) -> list[float]:
        return self.scores[params]


def test_a_weight_change_is_kept_only_when_its_gain_is_clearly_above_noise() -> None:
    start = neutral_params("zh")
    change = dataclasses.replace(start, centroid=2.0)

    def both(before: Sequence[float], after: Sequence[float]) -> FixedSet:
        return FixedSet({start: list(before), change: list(after)})

    steady = both([10.0] * 100, [10.5 + (i % 2) * 0.1 for i in range(100)])
    assert clear_gain([steady], change, start, rouge=None)  # type: ignore[arg-type]
    noisy = both([10.0] * 100, [10.5 + (30.0 if i % 2 else -30.0) for i in range(100)])
    assert not clear_gain([noisy], change, start, rouge=None)  # type: ignore[arg-type]
    worse = both([10.0] * 100, [9.0] * 100)
    assert not clear_gain([worse], change, start, rouge=None)  # type: ignore[arg-type]
    # each set weighs the same: a clear gain on one set is lost to a loss on another
    assert not clear_gain([steady, worse], change, start, rouge=None)  # type: ignore[arg-type]


def test_the_centroid_baseline_ranks_the_sentence_closest_to_the_rest_first() -> None:
    pytest.importorskip("sumy", reason="benchmark extra (pip install -e '.[bench]')")
    import jieba

    from benchmarks.summarize import Anchors, Splitter
    from digests.summarize.rank import split_sentences

    anchors = Anchors(Splitter(split_sentences), jieba)
    text = (
        "The weather was cold today. Harbour ferries carry commuters across the harbour. "
        "New harbour ferries and more ferries for harbour commuters start in May."
    )
    ranked = anchors.rank("tfidf-centroid", text, "en")
    assert ranked[0][0] == 2
    assert sorted(position for position, _unit in ranked) == [0, 1, 2]
