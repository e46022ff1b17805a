"""Summarization benchmark: newsdigest's extractive summarizer against anchors, one run.

    .venv/bin/python -m benchmarks.summarize [--limit N] [--only SET]

What is measured (all systems side by side, same inputs, same budgets):

1. Quality: ROUGE-1/2/L F1 (x100, macro-averaged over documents) of the summary
   against the reference. Chinese sets use character-level ROUGE after NFKC,
   lower-casing and dropping whitespace, punctuation and symbols (see
   benchmarks/rouge_zh.py); English sets use the rouge-score package
   (rouge1/rouge2/rougeL, Porter stemmer, F1; rougeL, not rougeLsum).
   Sets (read at run time from ../shared/eval, never copied into the project):

   - lcsts3      LCSTS PART III pairs with human_label >= 3, 1 sentence
   - headlines   news articles against their own headline, 1 sentence (title withheld)
   - clts-3      CLTS / CLTS+ samples, 3 sentences
   - clts-chars  the same, character budget = length of the reference
   - cnndm       CNN/DailyMail test articles from FRANK, 3 sentences
   - xsum        XSum test articles from FRANK, 1 sentence

   Chinese sets are also scored on raw characters (punctuation counts), as the
   published LCSTS and CLTS results are.

   Systems: newsdigest (digests.summarize.summarize), lead (Lead-k), TF-IDF
   centroid (cosine to the article's centroid, as in MEAD), textrank4zh,
   sumy TextRank / LexRank / LSA / Luhn (jieba words for Chinese, a regex word
   tokenizer + English stemmer and stop words for English), snownlp, and the greedy
   extractive oracle (upper bound: adds the sentence that most increases
   ROUGE-1 + ROUGE-2 F1 until the budget is used or nothing improves).
   Summaries are the chosen sentences in article order, joined with "" (Chinese)
   or " " (English). Under a character budget every ranked system takes sentences
   in its own rank order while they fit, never cuts one, stops at the first that
   does not fit, and keeps the top sentence alone if even that one does not fit.
   An anchor that raises on a document gets an empty summary there (counted).

2. Leave one set out: each set scored with ranking weights tuned on the other
   sets of its language (benchmarks/tune_summarize.py), beside the shipped
   weights and Lead-k: how the weights do on a set they were not chosen on.

3. Keywords: precision@5 against the withheld headline (benchmarks/keywords.py).

4. Speed, paired: in each of 3 passes over zh_news_raw.jsonl (3 sentences, title
   passed) every system runs on each article back to back, so all see the same
   load: newsdigest (summary), newsdigest's whole per-article analysis (summary,
   keywords, search words), lead, TF-IDF centroid, sumy LexRank / TextRank,
   textrank4zh and snownlp (every 5th article), and one plain pass of the
   segmenter in use, jieba.lcut and jieba.lcut with HMM off. Ratios are taken on
   the same articles; jieba's dictionary load is timed first, apart.

Writes benchmarks/results/summarize.md and summarize.json after a full run (a run
with --limit or --only only prints its tables).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import importlib.util
import json
import logging
import math
import os
import platform
import re
import statistics
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from benchmarks import keywords as keyword_benchmark
from benchmarks import tune_summarize as tuning
from benchmarks.rouge_zh import (
    Scores,
    ngrams,
    normalize_zh,
    rouge_n_counts,
    rouge_zh,
    rouge_zh_raw,
)
from benchmarks.tune_summarize import LeftOut
from digests.summarize.rank import RankParams

REPO = Path(__file__).resolve().parents[1]
EVAL = REPO.parent / "shared" / "eval"
RESULTS = REPO / "benchmarks" / "results"
COMMAND = ".venv/bin/python -m benchmarks.summarize"

Lang = Literal["zh", "en"]
Ranked = list[tuple[int, str]]  # (position among the system's own units, unit), best first

SET_NAMES = ("lcsts3", "headlines", "clts-3", "clts-chars", "cnndm", "xsum")
ZH_SYSTEMS = (
    "newsdigest",
    "lead",
    "tfidf-centroid",
    "textrank4zh",
    "sumy-textrank",
    "sumy-lexrank",
    "sumy-lsa",
    "sumy-luhn",
    "snownlp",
    "oracle",
)
EN_SYSTEMS = (
    "newsdigest",
    "lead",
    "tfidf-centroid",
    "sumy-textrank",
    "sumy-lexrank",
    "sumy-lsa",
    "sumy-luhn",
    "oracle",
)
# Slow anchors run on every SLOW_EVERY-th article (their ratios to newsdigest
# are taken on those same articles); the rest on every article.
SLOW_SPEED = {"textrank4zh", "snownlp"}
SLOW_EVERY = 5
SPEED_PASSES = 3
SUMMARY_SENTENCES = 3  # speed runs ask every system for three sentences


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Doc:
    id: str
    text: str
    reference: str
    title: str | None


@dataclass(frozen=True)
class Budget:
    sentences: int | None = None
    chars: int | None = None


@dataclass(frozen=True)
class EvalSet:
    name: str
    lang: Lang
    docs: list[Doc]
    sentences: int | None  # None: character budget = len(reference)
    about: str

    def budget(self, doc: Doc) -> Budget:
        if self.sentences is None:
            return Budget(chars=len(doc.reference))
        return Budget(sentences=self.sentences)

    @property
    def budget_label(self) -> str:
        if self.sentences is None:
            return "characters = len(reference)"
        return f"{self.sentences} sentence" + ("s" if self.sentences > 1 else "")


def _rows(name: str) -> list[dict[str, Any]]:
    path = EVAL / name
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _title(row: dict[str, Any]) -> str | None:
    title = row.get("title")
    return title if isinstance(title, str) and title.strip() else None


def _doc(row: dict[str, Any], *, withhold_title: bool = False) -> Doc:
    return Doc(
        id=str(row["id"]),
        text=row["text"],
        reference=row["summary"],
        title=None if withhold_title else _title(row),
    )


def load_sets(only: set[str] | None, limit: int | None) -> list[EvalSet]:
    def wanted(name: str) -> bool:
        return only is None or name in only

    def cut(docs: list[Doc]) -> list[Doc]:
        return docs[:limit] if limit is not None else docs

    sets: list[EvalSet] = []
    if wanted("lcsts3"):
        docs = [_doc(r) for r in _rows("zh_summ_lcsts_part3.jsonl") if r["human_label"] >= 3]
        sets.append(EvalSet("lcsts3", "zh", cut(docs), 1, "LCSTS PART III, human_label >= 3"))
    if wanted("headlines"):
        # The title IS the reference here, so it is never passed to a system.
        docs = [_doc(r, withhold_title=True) for r in _rows("zh_headline_pairs.jsonl")]
        sets.append(
            EvalSet("headlines", "zh", cut(docs), 1, "article vs its own headline (title withheld)")
        )
    if wanted("clts-3") or wanted("clts-chars"):
        docs = cut([_doc(r) for r in _rows("zh_summ_clts_samples.jsonl")])
        if wanted("clts-3"):
            sets.append(EvalSet("clts-3", "zh", docs, 3, "CLTS + CLTS+ samples"))
        if wanted("clts-chars"):
            sets.append(EvalSet("clts-chars", "zh", docs, None, "CLTS + CLTS+ samples"))
    if wanted("cnndm") or wanted("xsum"):
        rows = _rows("en_summ_frank_cnndm_xsum.jsonl")
        for name, dataset, k in (("cnndm", "cnndm", 3), ("xsum", "xsum", 1)):
            if wanted(name):
                docs = [_doc(r) for r in rows if r["dataset"] == dataset]
                sets.append(EvalSet(name, "en", cut(docs), k, f"FRANK {dataset} test articles"))
    return sets


def load_speed_corpus(limit: int | None) -> list[Doc]:
    docs = [
        Doc(id=str(r["id"]), text=r["text"], reference="", title=_title(r))
        for r in _rows("zh_news_raw.jsonl")
    ]
    return docs[:limit] if limit is not None else docs


# --------------------------------------------------------------------------- sentences

_ZH_CLOSERS = "”’」』）)】》\"'"
_ZH_SPLIT = re.compile(
    rf"(?<=[。！？!?；;…])(?![。！？!?；;…{_ZH_CLOSERS}])"
    rf"|(?<=[。！？!?；;…][{_ZH_CLOSERS}])(?![{_ZH_CLOSERS}])"
    r"|\n"
)
_EN_BOUNDARY = re.compile(
    r"[.!?][\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])"
    r"|(?<=[a-z0-9%])[.!?](?=[A-Z][a-z])"  # "1958.His": paragraphs glued without a space
    r"|\n+"
)
_EN_ABBREVIATIONS = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "st",
        "jr",
        "sr",
        "gen",
        "sen",
        "rep",
        "gov",
        "lt",
        "col",
        "capt",
        "sgt",
        "cpl",
        "maj",
        "adm",
        "rev",
        "fr",
        "hon",
        "no",
        "vs",
        "etc",
        "inc",
        "ltd",
        "co",
        "corp",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "u.s",
        "u.k",
    }
)


def split_zh(text: str) -> list[str]:
    """Fallback Chinese splitter: after 。！？!?；;… (with closing quotes), and at newlines."""
    return [part.strip() for part in _ZH_SPLIT.split(text) if part and part.strip()]


def split_en(text: str) -> list[str]:
    """Fallback English splitter: . ! ? + space + capital/digit (or a glued "word.Word"),
    not after Mr./Dr./initials, and at newlines."""
    sentences: list[str] = []
    start = 0
    for match in _EN_BOUNDARY.finditer(text):
        head = text[start : match.start() + 1]
        last = head.rsplit(None, 1)[-1].rstrip(".").lower() if head.strip() else ""
        if match.group().startswith(".") and (
            last in _EN_ABBREVIATIONS or (len(last) == 1 and last.isalpha())
        ):
            continue
        sentences.append(text[start : match.end()].strip())
        start = match.end()
    sentences.append(text[start:].strip())
    return [s for s in sentences if s]


@dataclass
class Splitter:
    """Sentence units shared by lead, oracle and the sumy anchors."""

    project: Callable[[str], list[str]] | None

    @property
    def label(self) -> str:
        if self.project is not None:
            return "digests.summarize.rank.split_sentences (both languages)"
        return "benchmark fallback splitter (digests.summarize.rank.split_sentences is absent)"

    def __call__(self, text: str, lang: Lang) -> list[str]:
        if self.project is not None:
            return [s for s in self.project(text) if s.strip()]
        return split_zh(text) if lang == "zh" else split_en(text)


def joiner(lang: Lang) -> str:
    return "" if lang == "zh" else " "


def select(ranked: Ranked, budget: Budget, sep: str) -> list[str]:
    """Apply a budget to a ranking; the chosen units come back in article order."""
    if budget.sentences is not None:
        chosen = ranked[: budget.sentences]
    else:
        assert budget.chars is not None
        chosen, used = [], 0
        for position, unit in ranked:
            extra = len(unit) + (len(sep) if chosen else 0)
            if used + extra > budget.chars:
                if not chosen:
                    chosen.append((position, unit))  # the top unit alone, even if too long
                break
            chosen.append((position, unit))
            used += extra
    return [unit for _, unit in sorted(chosen)]


# --------------------------------------------------------------------------- anchors


NETWORKX_NOTES: list[str] = []


def patch_networkx_for_textrank4zh() -> None:
    """Let textrank4zh 0.3 run on networkx 3 (benchmark process only).

    It calls ``networkx.from_numpy_matrix`` (removed in networkx 3), and networkx 3's
    ``pagerank`` needs SciPy, which the ``bench`` extra does not install; without SciPy,
    networkx's own pure-Python power iteration (what ``pagerank`` was in networkx 1.x/2.x,
    same alpha / tolerance) is used instead.
    """
    import networkx

    if not hasattr(networkx, "from_numpy_matrix"):
        networkx.from_numpy_matrix = networkx.from_numpy_array  # type: ignore[attr-defined]
        NETWORKX_NOTES.append("networkx.from_numpy_matrix = networkx.from_numpy_array")
    if importlib.util.find_spec("scipy") is None:
        from networkx.algorithms.link_analysis import pagerank_alg

        networkx.pagerank = pagerank_alg._pagerank_python
        NETWORKX_NOTES.append(
            "networkx.pagerank = networkx's pure-Python _pagerank_python (SciPy is not installed)"
        )


class SumyTokenizer:
    """What sumy's Sentence needs: to_sentences / to_words, without NLTK data."""

    _EN_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")

    def __init__(self, lang: Lang, splitter: Splitter, jieba: ModuleType) -> None:
        self.lang = lang
        self.splitter = splitter
        self.jieba = jieba

    def to_sentences(self, text: str) -> list[str]:
        return self.splitter(text, self.lang)

    def to_words(self, sentence: str) -> list[str]:
        if self.lang == "zh":
            return [w for w in self.jieba.lcut(sentence) if normalize_zh(w)]
        return self._EN_WORD.findall(sentence)


@dataclass
class Anchors:
    """Lazily built third-party summarizers, each exposed as a full ranking."""

    splitter: Splitter
    jieba: ModuleType
    _sumy: dict[tuple[str, Lang], Any] = field(default_factory=dict)
    _tokenizers: dict[Lang, SumyTokenizer] = field(default_factory=dict)
    _tr4s: Any = None
    last_nan: bool = False  # did the last sumy ranking contain NaN scores?

    def rank(self, system: str, text: str, lang: Lang) -> Ranked:
        if system == "lead":
            return list(enumerate(self.splitter(text, lang)))
        if system.startswith("sumy-"):
            return self._rank_sumy(system, text, lang)
        if system == "tfidf-centroid":
            return self._rank_centroid(text, lang)
        if system == "textrank4zh":
            return self._rank_textrank4zh(text)
        if system == "snownlp":
            return self._rank_snownlp(text)
        raise ValueError(system)

    def _sumy_summarizer(self, system: str, lang: Lang) -> Any:
        key = (system, lang)
        if key not in self._sumy:
            from sumy.nlp.stemmers import Stemmer
            from sumy.summarizers.lex_rank import LexRankSummarizer
            from sumy.summarizers.lsa import LsaSummarizer
            from sumy.summarizers.luhn import LuhnSummarizer
            from sumy.summarizers.text_rank import TextRankSummarizer
            from sumy.utils import get_stop_words

            classes = {
                "sumy-textrank": TextRankSummarizer,
                "sumy-lexrank": LexRankSummarizer,
                "sumy-lsa": LsaSummarizer,
                "sumy-luhn": LuhnSummarizer,
            }
            language = "chinese" if lang == "zh" else "english"
            summarizer = classes[system](Stemmer(language))  # Chinese: sumy's null stemmer
            summarizer.stop_words = get_stop_words(language)
            self._sumy[key] = summarizer
        return self._sumy[key]

    def _rank_sumy(self, system: str, text: str, lang: Lang) -> Ranked:
        from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence

        tokenizer = self._tokenizers.setdefault(
            lang, SumyTokenizer(lang, self.splitter, self.jieba)
        )
        units = tokenizer.to_sentences(text)
        sentences = [Sentence(unit, tokenizer) for unit in units]
        document = ObjectDocumentModel([Paragraph(sentences)])
        position = {id(s): i for i, s in enumerate(sentences)}
        order: list[Any] = []
        self.last_nan = False

        def keep_all(infos: list[Any]) -> list[Any]:
            # sumy passes the SentenceInfos sorted best first: record the full ranking.
            order.extend(info.sentence for info in infos)
            self.last_nan = any(math.isnan(float(info.rating)) for info in infos)
            return infos

        self._sumy_summarizer(system, lang)(document, keep_all)
        return [(position[id(s)], units[position[id(s)]]) for s in order]

    def _rank_centroid(self, text: str, lang: Lang) -> Ranked:
        """TF-IDF centroid (as in MEAD): sentences by the cosine of their TF-IDF
        vector to the article's centroid; IDF over the article's sentences,
        sumy's stop words out, English words stemmed; ties in article order."""
        from sumy.nlp.stemmers import Stemmer
        from sumy.utils import get_stop_words

        language = "chinese" if lang == "zh" else "english"
        stop, stem = get_stop_words(language), Stemmer(language)
        tokenizer = self._tokenizers.setdefault(
            lang, SumyTokenizer(lang, self.splitter, self.jieba)
        )
        units = tokenizer.to_sentences(text)
        words = [
            [stem(w.lower()) for w in tokenizer.to_words(u) if w.lower() not in stop] for u in units
        ]
        frequency = Counter(w for sentence in words for w in set(sentence))
        idf = {w: math.log(len(units) / df) + 1.0 for w, df in frequency.items()}
        vectors = [{w: c * idf[w] for w, c in Counter(sentence).items()} for sentence in words]
        centroid: Counter[str] = Counter()
        for vector in vectors:
            centroid.update(vector)

        def cosine(vector: dict[str, float]) -> float:
            norm = math.sqrt(sum(v * v for v in vector.values()))
            dot = sum(v * centroid[w] for w, v in vector.items())
            return dot / norm if norm else 0.0

        scores = [cosine(v) for v in vectors]
        order = sorted(range(len(units)), key=lambda i: (-scores[i], i))
        return [(i, units[i]) for i in order]

    def _rank_textrank4zh(self, text: str) -> Ranked:
        if self._tr4s is None:
            patch_networkx_for_textrank4zh()
            from textrank4zh import TextRank4Sentence

            self._tr4s = TextRank4Sentence()
        tr4s = self._tr4s
        tr4s.analyze(text=text, lower=True, source="all_filters")
        # Library default sentence_min_len=6: shorter sentences are never picked.
        items = tr4s.get_key_sentences(num=len(tr4s.sentences))
        return [(int(item.index), str(item.sentence)) for item in items]

    @staticmethod
    def _rank_snownlp(text: str) -> Ranked:
        from snownlp import SnowNLP

        snow = SnowNLP(text)
        units: list[str] = snow.sentences  # snownlp's own clauses (split at ，。？！；)
        free: dict[str, list[int]] = {}
        for i, unit in enumerate(units):
            free.setdefault(unit, []).append(i)
        return [(free[unit].pop(0), unit) for unit in snow.summary(len(units))]


# --------------------------------------------------------------------------- oracle and scoring


class Scorer:
    """ROUGE F1 for one language, plus the tokens the oracle optimizes on."""

    def __init__(self, lang: Lang) -> None:
        self.lang = lang
        if lang == "en":
            from rouge_score import rouge_scorer, tokenizers

            self._rouge = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
            self._tokenizer = tokenizers.DefaultTokenizer(use_stemmer=True)

    def tokens(self, text: str) -> list[str]:
        if self.lang == "zh":
            return list(normalize_zh(text))
        return list(self._tokenizer.tokenize(text))

    def score(self, summary: str, reference: str) -> Scores:
        if self.lang == "zh":
            return rouge_zh(summary, reference)
        result = self._rouge.score(reference, summary)  # (target, prediction)
        return Scores(
            r1=result["rouge1"].fmeasure, r2=result["rouge2"].fmeasure, rl=result["rougeL"].fmeasure
        )


def oracle(units: Sequence[str], reference: str, budget: Budget, scorer: Scorer) -> list[str]:
    """Greedy extractive oracle on ROUGE-1 + ROUGE-2 F1, same budget rules as the others."""
    sep = len(joiner(scorer.lang))
    tokens = [scorer.tokens(u) for u in units]
    reference_tokens = scorer.tokens(reference)
    ref1, ref2 = ngrams(reference_tokens, 1), ngrams(reference_tokens, 2)
    limit = budget.sentences if budget.sentences is not None else len(units)
    chosen: list[int] = []
    best, used = 0.0, 0
    while len(chosen) < limit:
        candidates = [i for i in range(len(units)) if i not in chosen]
        if budget.chars is not None:
            fits = [
                i
                for i in candidates
                if used + len(units[i]) + (sep if chosen else 0) <= budget.chars
            ]
            candidates = fits if fits or chosen else candidates
        pick, pick_score = None, best
        for i in candidates:
            sequence = [t for j in sorted([*chosen, i]) for t in tokens[j]]
            value = rouge_n_counts(ngrams(sequence, 1), ref1) + rouge_n_counts(
                ngrams(sequence, 2), ref2
            )
            if value > pick_score:
                pick, pick_score = i, value
        if pick is None:
            break
        used += len(units[pick]) + (sep if chosen else 0)
        chosen.append(pick)
        best = pick_score
    return [units[i] for i in sorted(chosen)]


# --------------------------------------------------------------------------- runs


@dataclass
class SystemResult:
    scores: list[Scores] = field(default_factory=list)
    raw: list[Scores] = field(default_factory=list)  # Chinese: on raw characters
    failures: int = 0
    first_error: str = ""
    nan_docs: int = 0  # sumy: documents whose sentence scores contained NaN

    def mean(self) -> dict[str, float | int]:
        n = len(self.scores)

        def avg(values: Iterable[float]) -> float:
            return round(100 * sum(values) / n, 2) if n else 0.0

        means: dict[str, float | int] = {
            "r1": avg(s.r1 for s in self.scores),
            "r2": avg(s.r2 for s in self.scores),
            "rl": avg(s.rl for s in self.scores),
            "n": n,
        }
        if self.raw:
            means |= {
                "raw_r1": avg(s.r1 for s in self.raw),
                "raw_r2": avg(s.r2 for s in self.raw),
                "raw_rl": avg(s.rl for s in self.raw),
            }
        return means


@dataclass
class Runner:
    summarize: Callable[..., list[str]]
    splitter: Splitter
    anchors: Anchors
    _rankings: dict[tuple[str, str], Ranked] = field(default_factory=dict)
    _nan: set[tuple[str, str]] = field(default_factory=set)

    def summary(self, system: str, doc: Doc, budget: Budget, lang: Lang, scorer: Scorer) -> str:
        sep = joiner(lang)
        if system == "newsdigest":
            chosen = self.summarize(
                doc.text, doc.title, sentences=budget.sentences, chars=budget.chars
            )
        elif system == "oracle":
            chosen = oracle(self.splitter(doc.text, lang), doc.reference, budget, scorer)
        else:
            key = (system, doc.id)  # clts-3 and clts-chars share one ranking per document
            if key not in self._rankings:
                self._rankings[key] = self.anchors.rank(system, doc.text, lang)
                if system.startswith("sumy-") and self.anchors.last_nan:
                    self._nan.add(key)
            chosen = select(self._rankings[key], budget, sep)
        return sep.join(chosen)

    def run_set(self, eval_set: EvalSet, progress: Progress) -> dict[str, SystemResult]:
        systems = ZH_SYSTEMS if eval_set.lang == "zh" else EN_SYSTEMS
        scorer = Scorer(eval_set.lang)
        results = {name: SystemResult() for name in systems}
        task = progress.add_task(eval_set.name, total=len(eval_set.docs) * len(systems))
        for system in systems:
            progress.update(task, description=f"{eval_set.name}: {system}")
            for doc in eval_set.docs:
                budget = eval_set.budget(doc)
                try:
                    text = self.summary(system, doc, budget, eval_set.lang, scorer)
                except Exception as error:  # an anchor must never end the run
                    result = results[system]
                    result.failures += 1
                    result.first_error = result.first_error or f"{doc.id}: {error!r}"[:200]
                    text = ""
                results[system].scores.append(scorer.score(text, doc.reference))
                if eval_set.lang == "zh":
                    results[system].raw.append(rouge_zh_raw(text, doc.reference))
                results[system].nan_docs += (system, doc.id) in self._nan
                progress.advance(task)
        return results


@dataclass
class Speed:
    """Per system and pass: seconds spent on the articles it ran, every system
    timed on each article back to back (paired: all see the same load)."""

    systems: tuple[str, ...]
    articles: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, list[float]] = field(default_factory=dict)
    # the same on the articles the slow anchors run on (every SLOW_EVERY-th)
    subset_seconds: dict[str, list[float]] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)

    def median(self, system: str) -> float:
        return statistics.median(self.seconds[system])

    def per_second(self, system: str) -> float:
        return self.articles[system] / self.median(system)

    def ratio(self, slower: str, faster: str, *, subset: bool = False) -> float:
        """Median over passes of ``slower``'s time / ``faster``'s on the same articles."""
        times = self.subset_seconds if subset else self.seconds
        return statistics.median(
            a / b for a, b in zip(times[slower], times[faster], strict=True) if b > 0
        )


def speed_calls(
    runner: Runner, jieba: ModuleType, segmenter: Callable[[str], object]
) -> dict[str, Callable[[Doc], object]]:
    from snownlp import SnowNLP

    from digests.records import IdfTable
    from digests.summarize.analysis import analyze

    budget = Budget(sentences=SUMMARY_SENTENCES)
    no_idf = IdfTable()

    def ranked(system: str) -> Callable[[Doc], object]:
        return lambda d: select(runner.anchors.rank(system, d.text, "zh"), budget, "")

    def full(doc: Doc) -> object:
        analysis = analyze(doc.title, doc.text)
        return analysis.summary, analysis.keywords.best(no_idf)

    return {
        "newsdigest": lambda d: runner.summarize(d.text, d.title, sentences=SUMMARY_SENTENCES),
        "newsdigest, whole analysis": full,
        "lead": ranked("lead"),
        "tfidf-centroid": ranked("tfidf-centroid"),
        "sumy-lexrank": ranked("sumy-lexrank"),
        "sumy-textrank": ranked("sumy-textrank"),
        "textrank4zh": ranked("textrank4zh"),
        "snownlp": lambda d: SnowNLP(d.text).summary(SUMMARY_SENTENCES),
        "segmenter in use": lambda d: segmenter(d.text),
        "jieba.lcut": lambda d: jieba.lcut(d.text),
        "jieba.lcut, HMM off": lambda d: jieba.lcut(d.text, HMM=False),
    }


def run_speed(
    runner: Runner, jieba: ModuleType, docs: list[Doc], progress: Progress
) -> tuple[Speed, str]:
    from digests.text.tokens import load_segmenter

    segmenter = load_segmenter()
    calls = speed_calls(runner, jieba, segmenter.cut)
    speed = Speed(tuple(calls))
    for name, fn in calls.items():
        with contextlib.suppress(Exception):
            fn(docs[0])  # warm-up: lazy imports, model and stop-word loading
        speed.articles[name] = sum(
            1 for i in range(len(docs)) if name not in SLOW_SPEED or i % SLOW_EVERY == 0
        )
        speed.seconds[name], speed.subset_seconds[name], speed.failures[name] = [], [], 0
    task = progress.add_task("speed", total=SPEED_PASSES * len(docs))
    for number in range(SPEED_PASSES):
        progress.update(task, description=f"speed: pass {number + 1}")
        spent = dict.fromkeys(calls, 0.0)
        on_subset = dict.fromkeys(calls, 0.0)
        names = list(calls)
        for index, doc in enumerate(docs):
            in_subset = index % SLOW_EVERY == 0
            start = (index + number) % len(names)  # no system always runs first on an article
            for name in names[start:] + names[:start]:
                fn = calls[name]
                if name in SLOW_SPEED and not in_subset:
                    continue
                started = time.perf_counter()
                try:
                    fn(doc)
                except Exception:
                    speed.failures[name] += number == 0
                seconds = time.perf_counter() - started
                spent[name] += seconds
                if in_subset:
                    on_subset[name] += seconds
            progress.advance(task)
        for name in calls:
            speed.seconds[name].append(spent[name])
            speed.subset_seconds[name].append(on_subset[name])
    return speed, segmenter.name


# --------------------------------------------------------------------------- report


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _versions() -> str:
    names = ("rouge-score", "sumy", "textrank4zh", "snownlp", "networkx", "numpy", "jieba")
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (missing)")
    return ", ".join(found)


@dataclass
class Report:
    sets: list[EvalSet]
    quality: dict[str, dict[str, SystemResult]]
    units_per_doc: dict[str, float]
    speed: Speed | None
    segmenter: str
    keywords: str | None  # the keyword benchmark's table (markdown)
    loso: list[LeftOut] | None
    jieba_load_s: float
    jieba_cache_hit: bool
    splitter_label: str
    system_version: str
    load_average: float
    started: datetime
    elapsed_s: float

    def as_json(self) -> dict[str, Any]:
        return {
            "quality": {
                name: {system: result.mean() for system, result in systems.items()}
                for name, systems in self.quality.items()
            },
            "speed": (
                {name: round(self.speed.per_second(name), 2) for name in self.speed.systems}
                if self.speed
                else {}
            ),
            "pipeline_to_segmenter": round(self.speed.ratio("newsdigest", "segmenter in use"), 3)
            if self.speed
            else None,
            "leave_one_set_out": [
                {
                    "set": row.name,
                    "tuned_without": round(row.tuned_without, 2),
                    "shipped": round(row.shipped, 2),
                    "lead": round(row.lead, 2),
                }
                for row in self.loso or []
            ],
            "jieba_load_s": round(self.jieba_load_s, 3),
        }

    def markdown(self) -> str:
        lines = [
            "# Summarization benchmark",
            "",
            f"Run {self.started:%Y-%m-%d %H:%M} UTC; the whole run took {self.elapsed_s:.0f} s. "
            f"Machine: {_cpu()}, {os.cpu_count()} CPUs, {platform.system()} "
            f"{platform.machine()}, Python {platform.python_version()}.",
            f"Command: `{COMMAND}` (from the repo root). Packages: {_versions()}.",
            f"System under test: {self.system_version}. 1-minute load average at start: "
            f"{self.load_average:.2f} (other work on the machine slows the speed numbers).",
            "",
            "## How it is scored",
            "",
            "- Chinese sets: character-level ROUGE F1, two ways. R1/R2/RL: both sides "
            "normalized: Unicode NFKC, lower-case, then all whitespace and every punctuation "
            "or symbol character (Unicode categories P\\* and S\\*, plus invisible Z\\*/C\\* "
            "characters) are dropped; each remaining character is one token. raw R1/R2/RL: "
            "every character but whitespace is a token, punctuation included, as the published "
            "LCSTS and CLTS results count. ROUGE-N uses clipped n-gram overlap, ROUGE-L the "
            "LCS; per document, macro-averaged.",
            "- English sets: rouge-score 0.1.2, `RougeScorer(['rouge1','rouge2','rougeL'], "
            "use_stemmer=True)`, F1, macro-averaged (rougeL, not rougeLsum).",
            "- Numbers are F1 x 100. `n` = documents scored; a failed document scores 0.",
            f"- Sentence units for lead, oracle and sumy: {self.splitter_label}. textrank4zh and "
            "snownlp split on their own (textrank4zh: ?!;？！。；…… and newlines, drops "
            "sentences shorter than 6 characters from its ranking; snownlp: also at "
            "full-width commas, so its 'sentences' are clauses and its summaries are shorter).",
            "- Summaries are the chosen sentences in article order, joined with '' (Chinese) "
            "or ' ' (English). newsdigest gets the title when the set has one, never on "
            "`headlines` (the title is the reference there).",
            "- Character budget (`clts-chars`): systems take sentences in their own rank order "
            "while they fit (lead: leading sentences), never cut one, stop at the first that "
            "does not fit, and keep the top sentence alone if it alone is too long. The "
            "oracle picks greedily among the sentences that still fit. newsdigest applies "
            "`chars=` itself.",
            "- Oracle: greedy, adds the sentence that most increases ROUGE-1 + ROUGE-2 F1 "
            "(same tokens as the scorer) until the budget is used or nothing improves.",
            *[
                f"- textrank4zh compatibility patch, in this process only: {note}."
                for note in NETWORKX_NOTES
            ],
            "",
        ]
        for eval_set in self.sets:
            results = self.quality[eval_set.name]
            lines += [
                f"## {eval_set.name}: {eval_set.about}",
                "",
                f"{len(eval_set.docs)} documents, {eval_set.lang}, budget: "
                f"{eval_set.budget_label}; "
                f"{self.units_per_doc[eval_set.name]:.1f} sentence units per article.",
                "",
                *(
                    [
                        "| system | R1 | R2 | RL | raw R1 | raw R2 | raw RL | n | failures |",
                        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
                    ]
                    if eval_set.lang == "zh"
                    else [
                        "| system | R1 | R2 | RL | n | failures |",
                        "|---|---:|---:|---:|---:|---:|",
                    ]
                ),
            ]
            for system, result in results.items():
                mean = result.mean()
                raw = (
                    f"{mean['raw_r1']:.1f} | {mean['raw_r2']:.1f} | {mean['raw_rl']:.1f} | "
                    if "raw_r1" in mean
                    else ""
                )
                lines.append(
                    f"| {system} | {mean['r1']:.1f} | {mean['r2']:.1f} | "
                    f"{mean['rl']:.1f} | {raw}{mean['n']} | {result.failures} |"
                )
            nans = [f"{s} on {r.nan_docs}" for s, r in results.items() if r.nan_docs]
            if nans:
                lines += [
                    "",
                    "NaN sentence scores (sumy's power method divides by a zero norm; the "
                    "ranking then falls back to article order): " + ", ".join(nans) + ".",
                ]
            errors = [f"{s}: {r.first_error}" for s, r in results.items() if r.failures]
            if errors:
                lines += ["", "First error per failing system:", ""]
                lines += [f"- `{e}`" for e in errors]
            lines.append("")
        lines += [
            "## Notes",
            "",
            "- Earlier numbers on this machine (e.g. LCSTS Lead-1 25.1/14.1/21.3, CLTS Lead-3 "
            "31.5/12.6/19.8) kept punctuation and whitespace as tokens; scored on raw characters "
            "this benchmark's Lead reproduces them. Dropping punctuation raises the short-"
            "reference sets (LCSTS, headlines) by about one point and lowers CLTS, whose long "
            "references share many commas and full stops with any candidate.",
            "- clts-3 / clts-chars have 12 documents: differences of a few points are noise.",
            "- headlines: the reference is the article's own headline, not a human summary. "
            "Some articles start with a photo caption glued to the first sentence.",
            "- CNN/DM (Daily Mail) texts carry image captions without sentence-final "
            "punctuation, so some sentence units are very long; XSum texts sometimes join "
            "paragraphs without a space after the full stop; XSum references are lower-cased "
            "and tokenized in the source (rouge-score lower-cases anyway).",
            "- sumy LexRank on 2-4 sentence texts (LCSTS) almost always ties and keeps article "
            "order, i.e. it is Lead-1 there.",
            "- sumy LSA builds its vocabulary from a frozenset, so its row order follows "
            "Python's per-process string hashing: its scores can move by a few tenths "
            "between runs (ties broken differently). Everything else is deterministic.",
            "- newsdigest counts its character budget itself and never exceeds it; the other "
            "systems may exceed it with a single top sentence (rule above).",
            "",
        ]
        if self.loso is not None:
            lines += loso_markdown(self.loso)
        if self.keywords is not None:
            lines += [
                "## Keywords: precision@5 against the withheld headline",
                "",
                "From `benchmarks/keywords.py` in this run (its docstring says how it is "
                "scored; `benchmarks/results/keywords.md` has the judged sample).",
                "",
                self.keywords,
                "",
            ]
        if self.speed is not None:
            lines += speed_markdown(
                self.speed, self.segmenter, self.jieba_load_s, self.jieba_cache_hit
            )
        return "\n".join(lines)


def print_tables(console: Console, report: Report) -> None:
    for eval_set in report.sets:
        table = Table(title=f"{eval_set.name} ({eval_set.budget_label}, {eval_set.lang})")
        for column in ("system", "R1", "R2", "RL", "n", "failures"):
            table.add_column(column, justify="left" if column == "system" else "right")
        for system, result in report.quality[eval_set.name].items():
            mean = result.mean()
            table.add_row(
                system,
                f"{mean['r1']:.1f}",
                f"{mean['r2']:.1f}",
                f"{mean['rl']:.1f}",
                str(mean["n"]),
                str(result.failures),
            )
        console.print(table)
        for system, result in report.quality[eval_set.name].items():
            if result.failures:
                console.print(f"  {system} failed on {result.failures}: {result.first_error}")
            if result.nan_docs:
                console.print(f"  {system}: NaN sentence scores on {result.nan_docs} documents")
    if report.speed is not None:
        console.print(
            "\n".join(speed_markdown(report.speed, report.segmenter, report.jieba_load_s))
        )
    if report.loso is not None:
        console.print("\n".join(loso_markdown(report.loso)))
    if report.keywords is not None:
        console.print(report.keywords)


def speed_markdown(
    speed: Speed, segmenter: str, jieba_load_s: float, jieba_cache_hit: bool = True
) -> list[str]:
    subset = speed.articles["textrank4zh"]
    lines = [
        f"## Speed: zh_news_raw.jsonl, {SUMMARY_SENTENCES} sentences, title passed",
        "",
        f"Paired: in each of {SPEED_PASSES} passes every system runs on each article back to "
        "back (the order rotating from article to article), so all see the same load; the "
        "median pass is shown. "
        f"{', '.join(sorted(SLOW_SPEED))} run on every {SLOW_EVERY}th article ({subset}), and "
        "their ratios to newsdigest are on those same articles. One untimed warm-up call "
        f"each first; jieba's dictionary load ({jieba_load_s:.2f} s, "
        f"{'from its cache file' if jieba_cache_hit else 'no cache file yet'}) is timed apart. "
        f"newsdigest segments with {segmenter}; `segmenter in use` is one plain pass of it "
        "over the text. `newsdigest, whole analysis` is what the product does per new article "
        "(sentences, summary, keyword candidates and their best five, the search index's "
        "words, title grams and character pairs). lead includes sentence splitting; the sumy "
        "anchors and tfidf-centroid include jieba tokenization; textrank4zh uses networkx's "
        "pure-Python PageRank (no SciPy).",
        "",
        "| system | articles/s | articles | seconds per pass | passes | failures |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in speed.systems:
        lines.append(
            f"| {name} | {speed.per_second(name):,.1f} | {speed.articles[name]} | "
            f"{speed.median(name):.3f} | {SPEED_PASSES} | {speed.failures[name]} |"
        )
    lines += [
        "",
        "| ratio (median over passes, same articles) | value |",
        "|---|---:|",
        f"| newsdigest / segmenter in use ({segmenter}) | "
        f"{speed.ratio('newsdigest', 'segmenter in use'):.2f} |",
        f"| newsdigest, whole analysis / segmenter in use | "
        f"{speed.ratio('newsdigest, whole analysis', 'segmenter in use'):.2f} |",
        f"| newsdigest / jieba.lcut | {speed.ratio('newsdigest', 'jieba.lcut'):.2f} |",
        f"| jieba.lcut / segmenter in use | {speed.ratio('jieba.lcut', 'segmenter in use'):.2f} |",
        f"| textrank4zh / newsdigest (x faster) | "
        f"{speed.ratio('textrank4zh', 'newsdigest', subset=True):.1f} |",
        f"| snownlp / newsdigest (x faster) | "
        f"{speed.ratio('snownlp', 'newsdigest', subset=True):.1f} |",
        "",
    ]
    return lines


def loso_markdown(rows: Sequence[LeftOut]) -> list[str]:
    lines = [
        "## Leave one set out",
        "",
        "Each set scored with weights tuned on the other sets of its language "
        "(`benchmarks/tune_summarize.py`: coordinate search from neutral weights, each set "
        "weighing the same, a change kept only when its paired gain exceeds two standard "
        "errors; a set under 50 documents is scored, never tuned on), beside the shipped "
        "weights (the same procedure on every set: in-sample) and Lead-k (the ranker's own "
        "sentence split and cleaning, first k sentences). Score: mean of ROUGE-1/2/L F1 x100 "
        "(Chinese on raw characters). With two English sets, each is scored with weights "
        "tuned on the other alone.",
        "",
        "| set | documents | tuned without it | shipped weights | Lead-k "
        "| weights tuned without it |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.name} | {row.documents} | {row.tuned_without:.2f} | {row.shipped:.2f} | "
            f"{row.lead:.2f} | {_params(row.params)} |"
        )
    return [*lines, ""]


def _params(params: RankParams) -> str:
    return ", ".join(f"{k}={v}" for k, v in dataclasses.asdict(params).items())


def run_loso(rounds: int, progress: Progress) -> list[LeftOut]:
    sets = tuning.load_sets()
    task = progress.add_task("leave one set out", total=len(sets))

    def on_fold(name: str) -> None:
        progress.update(task, description=f"tuning without {name}")
        progress.advance(task)

    rows: list[LeftOut] = []
    for language in ("zh", "en"):
        rows += tuning.leave_one_set_out(sets, language, rounds, on_fold)
    return rows


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--limit", type=int, help="first N documents of every set (quick runs)")
    parser.add_argument(
        "--only",
        action="append",
        choices=[*SET_NAMES, "speed", "loso", "keywords"],
        help="run only this part (repeatable): a set, 'speed', 'loso' (leave one set out), "
        "'keywords'",
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="coordinate-search rounds of the leave-one-set-out"
    )
    args = parser.parse_args(argv)
    if not EVAL.is_dir():
        print(f"summarize benchmark needs the evaluation data at {EVAL} (absent)", file=sys.stderr)
        return 2
    started_at = datetime.now(UTC)
    load_average = os.getloadavg()[0]
    started = time.perf_counter()
    only = set(args.only) if args.only else None

    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    # Counted per document instead (SystemResult.nan_docs).
    warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"sumy\.")
    import jieba

    jieba.setLogLevel(logging.WARNING)
    cache_hit = Path(tempfile.gettempdir(), "jieba.cache").is_file()
    load_started = time.perf_counter()
    jieba.initialize()  # before anything else imports or times jieba
    jieba_load_s = time.perf_counter() - load_started

    from digests.summarize import rank as summarize_module

    source = Path(summarize_module.__file__ or "")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:12] if source.is_file() else "?"
    system_version = f"digests/summarize/rank.py sha256 {digest}"
    project_split = getattr(summarize_module, "split_sentences", None)
    splitter = Splitter(project_split)
    runner = Runner(summarize_module.summarize, splitter, Anchors(splitter, jieba))

    try:
        sets = load_sets(only, args.limit)
        speed_docs = load_speed_corpus(args.limit) if only is None or "speed" in only else None
    except OSError as error:
        print(f"summarize benchmark cannot read {EVAL}: {error}", file=sys.stderr)
        return 2

    console = Console()
    speed: Speed | None = None
    segmenter = ""
    keyword_table: str | None = None
    loso: list[LeftOut] | None = None
    quality: dict[str, dict[str, SystemResult]] = {}
    with Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    ) as progress:
        if speed_docs:
            speed, segmenter = run_speed(runner, jieba, speed_docs, progress)
        for eval_set in sets:
            quality[eval_set.name] = runner.run_set(eval_set, progress)
        if (only is None or "keywords" in only) and args.limit is None:
            keyword_table = keyword_benchmark.precision_table(
                [keyword_benchmark.run_set(name, progress) for name in keyword_benchmark.SETS]
            )
        if (only is None or "loso" in only) and args.limit is None:
            loso = run_loso(args.rounds, progress)

    units = {
        s.name: statistics.fmean(len(splitter(d.text, s.lang)) for d in s.docs) if s.docs else 0.0
        for s in sets
    }
    report = Report(
        sets=sets,
        quality=quality,
        units_per_doc=units,
        speed=speed,
        segmenter=segmenter,
        keywords=keyword_table,
        loso=loso,
        jieba_load_s=jieba_load_s,
        jieba_cache_hit=cache_hit,
        splitter_label=splitter.label,
        system_version=system_version,
        load_average=load_average,
        started=started_at,
        elapsed_s=time.perf_counter() - started,
    )
    print_tables(console, report)
    console.print(f"run took {report.elapsed_s:.0f} s")
    if only is not None or args.limit is not None:
        console.print("partial run (--limit/--only): results not written")
        return 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "summarize.md").write_text(report.markdown(), "utf-8")
    (RESULTS / "summarize.json").write_text(
        json.dumps(report.as_json(), indent=2, ensure_ascii=False) + "\n", "utf-8"
    )
    console.print(f"wrote {RESULTS / 'summarize.md'} and {RESULTS / 'summarize.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
