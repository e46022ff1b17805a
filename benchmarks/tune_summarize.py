"""Choose the summarizer's ranking weights on dev halves, report held-out halves.

    .venv/bin/python -m benchmarks.tune_summarize [--rounds 2]

Split: documents at even positions of each set are the dev half (tuned on),
odd positions the test half (reported, never tuned on). One parameter set per
language (zh: LCSTS>=3, headline pairs, CLTS; en: CNN/DM, XSum), never per set.
Coordinate search: each weight in turn over a small grid, keeping the best
(R1+R2+RL)/3 pooled over the documents of the language's dev halves; a few rounds.
Prints the chosen parameters and dev/test scores; copy them into
digests/summarize/rank.py PARAMS by hand (so every change is reviewed).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path

from benchmarks.rouge_zh import rouge_zh as char_rouge
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


def rouge_zh(summary: str, reference: str) -> tuple[float, float, float]:
    scores = char_rouge(summary, reference)
    return scores.r1, scores.r2, scores.rl


def _rouge_en() -> Callable[[str, str], tuple[float, float, float]]:
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


def evaluate(sets: list[EvalSet], params: RankParams, half: int) -> dict[str, float]:
    scorers = {"zh": rouge_zh, "en": _rouge_en()}
    result = {}
    for eval_set in sets:
        score = scorers[eval_set.language]
        totals = [0.0, 0.0, 0.0]
        docs = eval_set.docs[half::2]
        for document, reference in docs:
            joiner = "" if eval_set.language == "zh" else " "
            summary = joiner.join(
                summarize_document(document, sentences=eval_set.budget, params=params)
            )
            for k, value in enumerate(score(summary, reference)):
                totals[k] += value
        result[eval_set.name] = sum(totals) / 3 / max(1, len(docs)) * 100
    return result


def tune(sets: list[EvalSet], language: str, rounds: int) -> RankParams:
    mine = [s for s in sets if s.language == language]
    best = PARAMS[language]

    sizes = {s.name: len(s.docs[0::2]) for s in mine}

    def objective(params: RankParams) -> float:
        # Pooled over documents: a 6-document dev half cannot steer the choice.
        scores = evaluate(mine, params, half=0)
        return sum(scores[name] * sizes[name] for name in scores) / sum(sizes.values())

    best_score = objective(best)
    for _ in range(rounds):
        for name, values in GRID.items():
            for value in values:
                candidate = dataclasses.replace(best, **{name: type(getattr(best, name))(value)})
                score = objective(candidate)
                if score > best_score + 1e-6:
                    best, best_score = candidate, score
        print(f"{language}: dev mean {best_score:.2f} with {best}", file=sys.stderr)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--language", choices=["zh", "en"], action="append")
    parser.add_argument(
        "--report",
        action="store_true",
        help="only report PARAMS and a lead setting, dev and held-out",
    )
    args = parser.parse_args()
    sets = load_sets()
    if args.report:
        for language in args.language or ["zh", "en"]:
            mine = [s for s in sets if s.language == language]
            lead = dataclasses.replace(
                PARAMS[language],
                centroid=0.0,
                directed=0.0,
                position=100.0,
                title=0.0,
                short_chars=0,
                long_chars=10**6,
                mmr_lambda=1.0,
            )
            for name, params in (("newsdigest", PARAMS[language]), ("lead", lead)):
                dev, held_out = evaluate(mine, params, 0), evaluate(mine, params, 1)
                print(
                    f"[{language}] {name:10s} dev "
                    + json.dumps({k: round(v, 2) for k, v in dev.items()})
                    + " held-out "
                    + json.dumps({k: round(v, 2) for k, v in held_out.items()})
                )
        return 0
    for language in args.language or ["zh", "en"]:
        before_dev = evaluate([s for s in sets if s.language == language], PARAMS[language], 0)
        before_test = evaluate([s for s in sets if s.language == language], PARAMS[language], 1)
        chosen = tune(sets, language, args.rounds)
        mine = [s for s in sets if s.language == language]
        print(f"[{language}] current dev {before_dev} test {before_test}")
        print(
            f"[{language}] chosen  dev {evaluate(mine, chosen, 0)} test {evaluate(mine, chosen, 1)}"
        )
        print(f"[{language}] {chosen}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
