"""Keyword benchmark: does an article's top five name what its headline names?

    .venv/bin/python -m benchmarks.keywords

Sets (read at run time from ../shared/eval, never copied into the project):
``headlines`` (410 articles with their own headline) and ``raw`` (the 931
articles of zh_news_raw with their titles). The headline is withheld from
every system; a keyword counts as found when it is written in the headline
(NFKC, case folded). Precision@5 = found among the first five / 5, averaged
over articles (an article with fewer than five keywords is not excused).

Systems, same texts: newsdigest (``digests.summarize.keywords`` over the
product's one segmentation, with the corpus IDF a store holding the set's
articles would have, as the running bot learns it), the same without any
IDF (a diagnostic: what the IDF adds or costs), and the two anchors of
jieba.analyse: ``extract_tags`` (TF-IDF over jieba's own IDF table) and
``textrank`` (its defaults: nouns and verbs).

Besides the table, the first keywords of a sample of articles are shown per
system (article ids only: the texts stay in ../shared), for a reader to judge.
Writes benchmarks/results/keywords.md and keywords.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import platform
import sys
import unicodedata
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from digests.records import IdfTable
from digests.summarize.keywords import document_terms, keywords
from digests.summarize.rank import Document, prepare
from digests.text.tokens import load_segmenter

REPO = Path(__file__).resolve().parents[1]
EVAL = REPO.parent / "shared" / "eval"
RESULTS = REPO / "benchmarks" / "results"
COMMAND = ".venv/bin/python -m benchmarks.keywords"
TOP = 5
SAMPLE = 6


@dataclass(frozen=True, slots=True)
class Article:
    id: str
    text: str
    headline: str


SETS = {
    "headlines": ("zh_headline_pairs.jsonl", "summary"),
    "raw": ("zh_news_raw.jsonl", "title"),
}


def load(name: str) -> list[Article]:
    file, headline = SETS[name]
    with (EVAL / file).open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return [
        Article(str(row["id"]), row["text"], row[headline])
        for row in rows
        if row.get(headline) and row.get("text")
    ]


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def precision(found: Sequence[str], headline: str) -> float:
    written = _folded(headline)
    return sum(1 for word in found[:TOP] if _folded(word) in written) / TOP


def anchors() -> dict[str, Callable[[Article], list[str]]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # jieba imports the deprecated pkg_resources
        import jieba
        import jieba.analyse
    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return {
        "jieba.analyse.extract_tags": lambda a: list(jieba.analyse.extract_tags(a.text, topK=TOP)),
        "jieba.analyse.textrank": lambda a: list(jieba.analyse.textrank(a.text, topK=TOP)),
    }


def corpus_idf(documents: Sequence[Document]) -> IdfTable:
    """The IDF a store holding these articles has (``term_stats``)."""
    frequencies: Counter[str] = Counter()
    for document in documents:
        frequencies.update(document_terms(document))
    return IdfTable(documents=len(documents), frequencies=frequencies)


class FullIdf(IdfTable):
    """IDF that rewards rarity without bound (what ``IdfTable`` did before)."""

    def idf(self, term: str) -> float:
        count = self.frequencies.get(term, 0)
        return math.log((self.documents + 1) / (count + 1)) + 1.0


@dataclass
class SetResult:
    name: str
    articles: int
    precision: dict[str, float]
    sample: list[tuple[str, dict[str, list[str]]]]


def run_set(name: str, progress: Progress) -> SetResult:
    articles = load(name)
    task = progress.add_task(f"{name}: segmenting", total=len(articles))
    documents = []
    for article in articles:
        documents.append(prepare(article.text, None))
        progress.advance(task)
    idf = corpus_idf(documents)
    full = FullIdf(documents=idf.documents, frequencies=idf.frequencies)

    def of_article(extract: Callable[[Article], list[str]]) -> Callable[[int], list[str]]:
        return lambda number: extract(articles[number])

    systems: dict[str, Callable[[int], list[str]]] = {
        "newsdigest": lambda n: keywords(documents[n], idf, TOP),
        "newsdigest, full IDF (the rule before; diagnostic)": lambda n: keywords(
            documents[n], full, TOP
        ),
        "newsdigest without IDF (diagnostic)": lambda n: keywords(documents[n], None, TOP),
        **{name: of_article(extract) for name, extract in anchors().items()},
    }
    scores: dict[str, float] = {}
    found: dict[str, list[list[str]]] = {}
    for system, extract in systems.items():
        task = progress.add_task(f"{name}: {system}", total=len(articles))
        lists = []
        for number in range(len(articles)):
            lists.append(extract(number))
            progress.advance(task)
        found[system] = lists
        scores[system] = sum(
            precision(words, a.headline) for words, a in zip(lists, articles, strict=True)
        ) / len(articles)
    step = max(1, len(articles) // SAMPLE)
    sample = [
        (articles[n].id, {system: found[system][n] for system in systems})
        for n in range(0, len(articles), step)
    ][:SAMPLE]
    return SetResult(name, len(articles), scores, sample)


def precision_table(results: Sequence[SetResult]) -> str:
    """Precision@5 per system (rows) and set (columns), as markdown."""
    lines = [
        "| system | " + " | ".join(f"{r.name} ({r.articles})" for r in results) + " |",
        "|---|" + "---:|" * len(results),
    ]
    for system in results[0].precision:
        cells = " | ".join(f"{r.precision[system]:.3f}" for r in results)
        lines.append(f"| {system} | {cells} |")
    return "\n".join(lines)


def report(results: Sequence[SetResult], segmenter: str) -> str:
    systems = list(results[0].precision)
    lines = [
        "# Keyword benchmark",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, Python "
        f"{platform.python_version()}; segmenter {segmenter}. Command: `{COMMAND}`. "
        "How it is scored: the docstring of `benchmarks/keywords.py` (precision@5 of "
        "keywords written in the withheld headline).",
        "",
        precision_table(results),
    ]
    for result in results:
        lines += [
            "",
            f"## First {TOP} keywords, every {result.articles // SAMPLE}th article of "
            + result.name,
            "",
        ]
        lines.append("| article | " + " | ".join(systems) + " |")
        lines.append("|---|" + "---|" * len(systems))
        for article_id, by_system in result.sample:
            cells = " | ".join("、".join(by_system[s]) for s in systems)
            lines.append(f"| `{article_id[:28]}` | {cells} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    if not EVAL.is_dir():
        print(f"keyword benchmark needs the evaluation data at {EVAL} (absent)", file=sys.stderr)
        return 2
    console = Console(stderr=True)
    segmenter = load_segmenter().name
    with Progress(console=console, transient=True) as progress:
        results = [run_set(name, progress) for name in SETS]
    text = report(results, segmenter)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "keywords.md").write_text(text, encoding="utf-8")
    data: dict[str, Any] = {
        "segmenter": segmenter,
        "sets": {r.name: {"articles": r.articles, "precision_at_5": r.precision} for r in results},
    }
    (RESULTS / "keywords.json").write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
