"""Choose the summarizer's ranking weights, and say how they do on a set they never saw.

    .venv/bin/python -m benchmarks.tune_summarize [--rounds 2] [--language zh]

Leave one set out: for each evaluation set of a language, weights are tuned on
the language's other sets and the left-out set is scored with them, so every
set's number comes from weights chosen without it (what a news set outside
../shared would see). Then weights are tuned on every set of the language:
those are the ones to copy into digests/summarize/rank.py PARAMS by hand (so
every change is reviewed).

Sets: zh LCSTS >= 3 (1 sentence), headline pairs (1 sentence, title withheld),
CLTS (3 sentences); en CNN/DM (3), XSum (1). Score: the mean of ROUGE-1, -2 and
-L F1 over a set's documents (raw characters for Chinese, as published results
count; rouge-score with stemming for English); tuning maximizes the mean over
sets, each set weighing the same whatever its size (a large set must not decide
alone). Coordinate search: each weight in turn over a small grid, keeping a
change only when its gain is clearly above noise (``clear_gain``); a few
rounds, from neutral weights (``neutral_params``), never from the shipped ones
(those were chosen on these sets).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks.rouge_zh import rouge_zh_raw
from digests.summarize.rank import PARAMS, Document, RankParams, prepare, summarize_document

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
GRID: dict[str, list[float]] = {
    "centroid": [0.0, 0.5, 1.0, 2.0],
    "directed": [0.0, 0.25, 0.5, 1.0, 2.0],
    "backward_penalty": [0.0, 0.5, 1.0, 2.0],
    "position": [0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0],
    "position_decay": [0.25, 0.5, 1.0, 1.5, 2.0, 3.0],
    "mmr_lambda": [0.5, 0.7, 0.85, 1.0],
    "short_chars": [0, 8, 12, 20, 40, 60],
    "long_chars": [60, 100, 160, 250, 400, 100000],
}
Score = Callable[[str, str], tuple[float, float, float]]
# A weight changes only when the gain is this many standard errors above zero
# (about 95% one-sided): a grid of ~40 values per round would otherwise keep
# whichever value the training sets' noise happens to favour.
SIGNIFICANT_ERRORS = 2.0
# A set this small is scored, never tuned on: its noise would block every change
# (clts-3 has 12 documents).
MIN_TUNING_DOCS = 50


def rouge_zh(summary: str, reference: str) -> tuple[float, float, float]:
    scores = rouge_zh_raw(summary, reference)
    return scores.r1, scores.r2, scores.rl


def _rouge_en() -> Score:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)

    def score(summary: str, reference: str) -> tuple[float, float, float]:
        result = scorer.score(reference, summary)
        return result["rouge1"].fmeasure, result["rouge2"].fmeasure, result["rougeL"].fmeasure

    return score


@dataclasses.dataclass
class EvalSet:
    name: str
    language: str
    budget: int
    docs: list[tuple[Document, str]]
    # summary -> its mean ROUGE, per document: most weight changes leave most
    # documents' summaries as they were, and ROUGE costs more than ranking.
    memo: list[dict[str, float]] = dataclasses.field(default_factory=list)

    def values(self, params: RankParams, rouge: Score) -> list[float]:
        """Mean of ROUGE-1/2/L F1 (x100) of each document's summary."""
        if not self.memo:
            self.memo = [{} for _ in self.docs]
        joiner = "" if self.language == "zh" else " "
        values = []
        for (document, reference), memo in zip(self.docs, self.memo, strict=True):
            chosen = summarize_document(document, sentences=self.budget, params=params)
            summary = joiner.join(chosen)
            if (value := memo.get(summary)) is None:
                value = memo[summary] = sum(rouge(summary, reference)) / 3 * 100
            values.append(value)
        return values

    def score(self, params: RankParams, rouge: Score) -> float:
        """The set's mean over its documents."""
        return statistics.fmean(self.values(params, rouge)) if self.docs else 0.0


def load_sets() -> list[EvalSet]:
    def rows(name: str) -> list[dict]:
        return [json.loads(line) for line in (EVAL / name).read_text("utf-8").splitlines() if line]

    lcsts = [r for r in rows("zh_summ_lcsts_part3.jsonl") if r.get("human_label", 0) >= 3]
    headlines = rows("zh_headline_pairs.jsonl")
    clts = rows("zh_summ_clts_samples.jsonl")
    english = rows("en_summ_frank_cnndm_xsum.jsonl")
    specs = [
        ("lcsts3", "zh", 1, lcsts, True),
        ("headlines", "zh", 1, headlines, False),  # the title is the reference: withheld
        ("clts-3", "zh", 3, clts, True),
        ("cnndm", "en", 3, [r for r in english if r["dataset"] == "cnndm"], True),
        ("xsum", "en", 1, [r for r in english if r["dataset"] == "xsum"], True),
    ]
    return [
        EvalSet(
            name,
            language,
            budget,
            [
                (prepare(r["text"], (r.get("title") or None) if use_title else None), r["summary"])
                for r in data
            ],
        )
        for name, language, budget, data, use_title in specs
    ]


def scorer(language: str) -> Score:
    return rouge_zh if language == "zh" else _rouge_en()


def mean_score(sets: Sequence[EvalSet], params: RankParams, rouge: Score) -> float:
    """Each set weighs the same."""
    return sum(s.score(params, rouge) for s in sets) / len(sets)


def clear_gain(
    sets: Sequence[EvalSet], candidate: RankParams, best: RankParams, rouge: Score
) -> bool:
    """Whether ``candidate`` beats ``best`` by more than noise: its mean gain over
    the sets (each weighing the same) exceeds twice its standard error, from
    the paired per-document differences."""
    gain, variance = 0.0, 0.0
    for eval_set in sets:
        differences = [
            a - b
            for a, b in zip(
                eval_set.values(candidate, rouge), eval_set.values(best, rouge), strict=True
            )
        ]
        gain += statistics.fmean(differences)
        if len(differences) > 1:
            variance += statistics.variance(differences) / len(differences)
    gain, error = gain / len(sets), math.sqrt(variance) / len(sets)
    return gain > 0 and gain > SIGNIFICANT_ERRORS * error


def tune(sets: Sequence[EvalSet], start: RankParams, rounds: int, rouge: Score) -> RankParams:
    best = start
    for _ in range(rounds):
        for name, values in GRID.items():
            for value in values:
                candidate = dataclasses.replace(best, **{name: type(getattr(best, name))(value)})
                if candidate != best and clear_gain(sets, candidate, best, rouge):
                    best = candidate
    return best


def neutral_params(language: str) -> RankParams:
    """Where tuning starts: every signal weighing the same, no length prior, no
    redundancy penalty, nothing learned from these sets (the title weight,
    which they cannot tune, as shipped)."""
    return dataclasses.replace(
        PARAMS[language],
        centroid=1.0,
        directed=1.0,
        backward_penalty=0.0,
        position=1.0,
        position_decay=1.0,
        mmr_lambda=1.0,
        short_chars=0,
        long_chars=100000,
    )


def lead_params(language: str) -> RankParams:
    """The ranker reduced to Lead-k (its own sentence split and cleaning)."""
    return dataclasses.replace(
        PARAMS[language],
        centroid=0.0,
        directed=0.0,
        position=100.0,
        title=0.0,
        short_chars=0,
        long_chars=10**6,
        mmr_lambda=1.0,
    )


@dataclasses.dataclass(frozen=True)
class LeftOut:
    """One set's scores: weights tuned without it, the shipped ones, Lead-k."""

    name: str
    language: str
    documents: int
    tuned_without: float
    shipped: float
    lead: float
    params: RankParams


def leave_one_set_out(
    sets: Sequence[EvalSet], language: str, rounds: int, on_fold: Callable[[str], None]
) -> list[LeftOut]:
    """Every set of ``language`` scored with weights tuned on the others."""
    mine = [s for s in sets if s.language == language]
    rouge = scorer(language)
    rows = []
    for left_out in mine:
        on_fold(left_out.name)
        others = [s for s in mine if s is not left_out and len(s.docs) >= MIN_TUNING_DOCS]
        chosen = tune(others, neutral_params(language), rounds, rouge)
        rows.append(
            LeftOut(
                left_out.name,
                language,
                len(left_out.docs),
                left_out.score(chosen, rouge),
                left_out.score(PARAMS[language], rouge),
                left_out.score(lead_params(language), rouge),
                chosen,
            )
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--language", choices=["zh", "en"], action="append")
    args = parser.parse_args()
    if not EVAL.is_dir():
        print(f"benchmarks.tune_summarize: {EVAL} is not present", file=sys.stderr)
        return 1
    sets = load_sets()
    for language in args.language or ["zh", "en"]:
        rows = leave_one_set_out(
            sets,
            language,
            args.rounds,
            lambda name: print(f"tuning without {name}", file=sys.stderr),
        )
        print(f"\n[{language}] set: tuned without it / shipped PARAMS / Lead-k, mean ROUGE x100")
        for row in rows:
            print(
                f"  {row.name:10s} n={row.documents:4d}  {row.tuned_without:6.2f} "
                f"{row.shipped:6.2f} {row.lead:6.2f}   tuned on the others: {row.params}"
            )
        mine = [s for s in sets if s.language == language and len(s.docs) >= MIN_TUNING_DOCS]
        chosen = tune(mine, neutral_params(language), args.rounds, scorer(language))
        print(f"[{language}] tuned on every set: {chosen}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
