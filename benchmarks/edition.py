"""Edition benchmark: compose and render one edition from 10^4 new articles.

    .venv/bin/python -m benchmarks.edition [--articles 10000] [--runs 3]

Articles: ../shared/eval/zh_news_raw.jsonl (931), summarized once each with
the project's summarizer (not timed: at ingest every article is summarized
once), then repeated with distinct ids (and distinct story ids: the repeats
share titles, so same-event clustering must find and merge them) from eight
sources until there are N. Timed: compose (clustering, ranking, caps,
sections) and render to Telegram HTML messages. Writes
benchmarks/results/edition.md and edition.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.render import render_html
from digests.editions.compose import ComposeOptions, EditionArticle, compose
from digests.summarize.keywords import keywords
from digests.summarize.rank import prepare, rank_document

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "eval" / "zh_news_raw.jsonl"
RESULTS = REPO / "benchmarks" / "results"
NOW = datetime(2026, 11, 25, 23, 0, tzinfo=UTC)


def articles(count: int) -> list[EditionArticle]:
    rows = [json.loads(line) for line in CORPUS.read_text("utf-8").splitlines() if line.strip()]
    base = []
    for row in rows:
        document = prepare(row["text"], row.get("title"))
        ranking = rank_document(document)
        base.append(
            (row, ranking.choose(sentences=1), ranking.choose(sentences=3), keywords(document))
        )
    out = []
    for number in range(count):
        row, line, summary, words = base[number % len(base)]
        out.append(
            EditionArticle(
                id=number + 1,
                source_id=number % 8,
                source_name=f"source {number % 8}",
                title=row.get("title") or "",
                link=row.get("url") or None,
                summary_line=line[0] if line else "",
                summary=tuple(summary),
                keywords=tuple(words),
                story_id=number + 1,
                fetched_at=NOW - timedelta(minutes=number % 1440),
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    if not CORPUS.is_file():
        print(f"benchmark needs {CORPUS} (../shared is not present)", file=sys.stderr)
        return 1
    batch = articles(args.articles)
    compose_times, render_times = [], []
    for _ in range(args.runs):
        started = time.perf_counter()
        digest = compose(
            batch,
            schedule="daily",
            edition_date=date(2026, 11, 26),
            now=NOW,
            options=ComposeOptions(),
        )
        compose_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        messages = render_html(digest)
        render_times.append(time.perf_counter() - started)
    result = {
        "articles": len(batch),
        "stories": len(digest.items) + digest.left_out,
        "items": len(digest.items),
        "messages": len(messages),
        "compose_s": statistics.median(compose_times),
        "render_s": statistics.median(render_times),
    }
    report = "\n".join(
        [
            "# Edition benchmark",
            "",
            f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, Python "
            f"{platform.python_version()}, median of {args.runs} runs. Command: "
            "`.venv/bin/python -m benchmarks.edition`",
            "",
            "| articles | stories after clustering | items | messages | compose s | render s |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| {result['articles']} | {result['stories']} | {result['items']} | "
            f"{result['messages']} | {result['compose_s']:.3f} | {result['render_s']:.4f} |",
            "",
            "Articles are zh_news_raw.jsonl repeated with distinct ids and story ids; clustering",
            "merges the repeats by title and keywords, which is what the stories column shows.",
            "",
        ]
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "edition.md").write_text(report, "utf-8")
    (RESULTS / "edition.json").write_text(json.dumps(result, indent=2), "utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
