"""Ingest benchmark: one command, numbers side by side with anchors in the same run.

    .venv/bin/python -m benchmarks.ingest [--runs 3] [--feeds 200]

1. Articles/s for parse + normalize + store: ../shared/eval/zh_news_raw.jsonl
   (931 articles) turned into one JSON Feed in memory, served by the local
   feed server on 127.0.0.1, fetched once, then decoded, sniffed, parsed,
   HTML-cleaned and stored (dedup and near-duplicate lookup included) into a
   fresh SQLite file. Anchors on the same items: feedparser alone on the same
   items as RSS 2.0 (what a plain RSS bot does per fetch, no storage), and
   json.loads alone (a floor).
2. Feeds/s: 200 distinct local feeds (5 items each, cut from the same corpus)
   fetched, parsed and stored by the engine's `refresh_sources` at several
   concurrency limits, its parser processes started before the clock (a running
   bot's round), then summarized by `summarize_new` (the CPU half in those
   processes); and once as a one-off `newsdigest fetch` does it (`fetch_due`
   starting its own processes, summarizing in-process).
3. Robustness: each hostile source (bombs, lies, traps, odd encodings and
   dates) fetched alone through the production path: outcome, seconds, peak
   memory (``benchmarks.robustness``; needs nothing from ../shared).
   ``--robustness-only`` runs just this part.

Writes benchmarks/results/ingest.md and ingest.json. The corpus text is read
from ../shared at run time; none of it is stored in the project.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from html import escape
from pathlib import Path

import feedparser
from rich.console import Console
from rich.table import Table

from benchmarks import robustness
from digests.config import FetchSettings, Settings
from digests.engine import Engine
from digests.feedserver import FeedServer
from digests.ingest.fetch import fetch_url, make_client
from digests.ingest.parse import parse_feed_bytes
from digests.sources.refresh import fetch_due, policy_from_settings
from digests.store.articles import save_articles
from digests.store.db import Database
from digests.store.sources import add_source

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "eval" / "zh_news_raw.jsonl"
RESULTS = REPO / "benchmarks" / "results"
SETTINGS = FetchSettings(allowed_networks=["127.0.0.0/8"], max_bytes=64 * 1024 * 1024)


def load_rows() -> list[dict[str, str]]:
    return [json.loads(line) for line in CORPUS.read_text("utf-8").splitlines() if line.strip()]


def _html(text: str) -> str:
    return "".join(f"<p>{escape(p)}</p>" for p in text.split("\n") if p.strip())


def json_feed(rows: list[dict[str, str]]) -> bytes:
    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "benchmark",
            "items": [
                {
                    "id": r["id"],
                    "url": r.get("url") or None,
                    "title": r["title"],
                    "content_html": _html(r["text"]),
                }
                for r in rows
            ],
        },
        ensure_ascii=False,
    ).encode()


def rss_feed(rows: list[dict[str, str]]) -> bytes:
    items = "".join(
        f"<item><guid>{escape(r['id'])}</guid><title>{escape(r['title'])}</title>"
        f"<description>{escape(_html(r['text']))}</description></item>"
        for r in rows
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>benchmark</title>{items}</channel></rss>"
    ).encode()


async def _fetch_once(url: str) -> bytes:
    policy = policy_from_settings(SETTINGS)
    async with make_client(policy) as client:
        result = await fetch_url(client, url, policy)
    assert result.body is not None
    return result.body


def bench_articles(rows: list[dict[str, str]], runs: int) -> dict[str, float]:
    document = json_feed(rows)
    rss = rss_feed(rows)
    timings: dict[str, list[float]] = {
        "fetch": [],
        "parse": [],
        "store": [],
        "feedparser": [],
        "json": [],
    }
    with FeedServer() as server:
        url = server.put("bench.json", document, "application/feed+json")
        for _ in range(runs):
            started = time.perf_counter()
            body = asyncio.run(_fetch_once(url))
            timings["fetch"].append(time.perf_counter() - started)

            started = time.perf_counter()
            parsed = parse_feed_bytes(body, content_type="application/feed+json")
            timings["parse"].append(time.perf_counter() - started)

            with tempfile.TemporaryDirectory() as tmp:
                db = Database(f"sqlite:///{tmp}/bench.db")
                db.upgrade()
                with db.write() as session:
                    source = add_source(
                        session, kind="feed", location=url, name="bench", interval_seconds=1800
                    ).id
                started = time.perf_counter()
                with db.write() as session:
                    saved = save_articles(session, source, parsed.articles, datetime.now(UTC))
                timings["store"].append(time.perf_counter() - started)
                db.close()
            assert saved.new + saved.same_story >= 1

            started = time.perf_counter()
            anchor = feedparser.parse(rss)
            timings["feedparser"].append(time.perf_counter() - started)
            assert len(anchor.entries) == len(rows)

            started = time.perf_counter()
            json.loads(document)
            timings["json"].append(time.perf_counter() - started)
    median = {name: statistics.median(values) for name, values in timings.items()}
    n = len(rows)
    return {
        "articles": n,
        "stored_articles": saved.new,
        "same_story": saved.same_story,
        "feed_bytes": len(document),
        "fetch_s": median["fetch"],
        "parse_s": median["parse"],
        "store_s": median["store"],
        "newsdigest_parse_store_per_s": n / (median["parse"] + median["store"]),
        "newsdigest_parse_per_s": n / median["parse"],
        "newsdigest_store_per_s": n / median["store"],
        "anchor_feedparser_per_s": n / median["feedparser"],
        "anchor_json_loads_per_s": n / median["json"],
    }


def _feed_round(urls: list[str], limit: int, *, running: bool) -> dict[str, float]:
    """One round over fresh sources: ``running`` as the bot's engine does it (its
    parser processes up before the clock), else as a one-off `newsdigest fetch`."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite:///{tmp}/feeds.db",
            fetch=SETTINGS.model_copy(update={"concurrency": limit}),
        )
        db = Database(settings.database_url)
        db.upgrade()
        with db.write() as session:
            for i, url in enumerate(urls):
                add_source(
                    session, kind="feed", location=url, name=f"feed {i}", interval_seconds=1800
                )
        engine = Engine(settings, db)
        try:
            if running:
                engine.parser().start()
            started = time.perf_counter()
            if running:
                outcomes = asyncio.run(engine.refresh_sources())
            else:
                outcomes = asyncio.run(fetch_due(db, settings.fetch))
            elapsed = time.perf_counter() - started
            started = time.perf_counter()
            summarized = engine.summarize_new()
            summarize_seconds = time.perf_counter() - started
        finally:
            engine.close()
    return {
        "concurrency": limit,
        "running": running,
        "feeds": len(outcomes),
        "failed": sum(1 for o in outcomes if o.error),
        "seconds": elapsed,
        "feeds_per_s": len(outcomes) / elapsed,
        "summarized": summarized,
        "summarize_s": summarize_seconds,
    }


def bench_feeds(
    rows: list[dict[str, str]], feeds: int, concurrency: list[int], runs: int
) -> list[dict[str, float]]:
    """Per setting, the pass with the median fetch time of ``runs`` (settings
    interleaved within each run, so all see the same machine load)."""
    with FeedServer() as server:
        urls = [
            server.put(
                f"feed-{i}.json",
                json_feed([rows[(i * 5 + k) % len(rows)] for k in range(5)]),
                "application/feed+json",
            )
            for i in range(feeds)
        ]
        setups = [(limit, True) for limit in concurrency] + [(SETTINGS.concurrency, False)]
        passes: dict[tuple[int, bool], list[dict[str, float]]] = {setup: [] for setup in setups}
        for _ in range(runs):
            for limit, running in setups:
                passes[(limit, running)].append(_feed_round(urls, limit, running=running))
    results = []
    for setup in setups:
        ordered = sorted(passes[setup], key=lambda r: r["seconds"])
        median = dict(ordered[len(ordered) // 2])
        median["seconds_min"] = ordered[0]["seconds"]
        median["seconds_max"] = ordered[-1]["seconds"]
        median["passes"] = len(ordered)
        results.append(median)
    return results


def write_results(articles: dict[str, float], feeds: list[dict[str, float]], runs: int) -> str:
    lines = [
        "# Ingest benchmark",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"Python {platform.python_version()}, median of {runs} runs. "
        "Command: `.venv/bin/python -m benchmarks.ingest`",
        "",
        f"## Articles/s: zh_news_raw.jsonl as one JSON Feed ({articles['articles']:.0f} items, "
        f"{articles['feed_bytes'] / 1e6:.1f} MB, served on 127.0.0.1)",
        "",
        "| what | articles/s | seconds |",
        "|---|---:|---:|",
        f"| newsdigest parse + normalize + store (dedup, story lookup) | "
        f"{articles['newsdigest_parse_store_per_s']:,.0f} | "
        f"{articles['parse_s'] + articles['store_s']:.3f} |",
        f"| newsdigest parse + normalize only | {articles['newsdigest_parse_per_s']:,.0f} | "
        f"{articles['parse_s']:.3f} |",
        f"| newsdigest store only (SQLite, WAL) | {articles['newsdigest_store_per_s']:,.0f} | "
        f"{articles['store_s']:.3f} |",
        f"| anchor: feedparser.parse, same items as RSS 2.0, no storage | "
        f"{articles['anchor_feedparser_per_s']:,.0f} | - |",
        f"| anchor: json.loads alone (floor) | {articles['anchor_json_loads_per_s']:,.0f} | - |",
        "",
        f"Fetch of the whole feed (gzip) took {articles['fetch_s']:.3f} s. Stored "
        f"{articles['stored_articles']:.0f} articles; {articles['same_story']:.0f} were recorded "
        "as near-duplicates of an earlier story.",
        "",
        "## Feeds/s: distinct local feeds (5 items each), fetch + parse + store",
        "",
        "Then the summarize stage over what was stored, timed apart: it is CPU work,",
        "the same whatever the fetch concurrency (the first run in each process pays",
        "the jieba load). *running*: the engine's parser processes were up before the",
        "clock, as in `newsdigest run`, and summarizing runs in them; *one-off*: the",
        "round starts its own processes and summarizes in-process, as `newsdigest fetch`.",
        "",
        "Per row the pass with the median fetch time; in brackets the fastest and slowest.",
        "",
        "| concurrency | parser processes | feeds | failed | seconds (min–max) | feeds/s "
        "| summarized | summarize s |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
        *[
            f"| {r['concurrency']:.0f} | {'running' if r['running'] else 'one-off'} | "
            f"{r['feeds']:.0f} | {r['failed']:.0f} | "
            f"{r['seconds']:.2f} ({r['seconds_min']:.2f}–{r['seconds_max']:.2f}) | "
            f"{r['feeds_per_s']:.1f} | {r['summarized']:.0f} | {r['summarize_s']:.2f} |"
            for r in feeds
        ],
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument(
        "--loopstall",
        action="store_true",
        help="then also run benchmarks.loopstall (event-loop stall in `newsdigest run`, "
        "before and after; its own results file)",
    )
    parser.add_argument(
        "--robustness-only", action="store_true", help="only the hostile-source table"
    )
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    with console.status("robustness ...") as status:
        hostile = robustness.bench_robustness(
            args.runs, lambda text: status.update(f"robustness: {text}")
        )
    hostile_lines = robustness.robustness_markdown(hostile, args.runs)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.robustness_only or not CORPUS.is_file():
        if not args.robustness_only:
            print(f"{CORPUS} is absent: only the robustness table", file=sys.stderr)
        (RESULTS / "robustness.md").write_text(
            "\n".join(["# Robustness benchmark", "", *hostile_lines]), "utf-8"
        )
        print("\n".join(hostile_lines))
        return 0
    rows = load_rows()
    with console.status("articles/s ..."):
        articles = bench_articles(rows, args.runs)
    with console.status(f"{args.feeds} feeds ..."):
        feeds = bench_feeds(rows, args.feeds, [1, 8, 32], args.runs)
    report = write_results(articles, feeds, args.runs) + "\n" + "\n".join(hostile_lines)
    (RESULTS / "ingest.md").write_text(report, "utf-8")
    (RESULTS / "ingest.json").write_text(
        json.dumps(
            {"articles": articles, "feeds": feeds, "robustness": hostile},
            indent=2,
            default=str,
            ensure_ascii=False,
        ),
        "utf-8",
    )
    table = Table(title="ingest")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in (
        "newsdigest_parse_store_per_s",
        "newsdigest_parse_per_s",
        "newsdigest_store_per_s",
        "anchor_feedparser_per_s",
        "anchor_json_loads_per_s",
    ):
        table.add_row(key, f"{articles[key]:,.0f}")
    for row in feeds:
        how = "running" if row["running"] else "one-off"
        table.add_row(
            f"feeds/s at concurrency {row['concurrency']:.0f} ({how})",
            f"{row['feeds_per_s']:.1f}",
        )
    Console().print(table)
    if args.loopstall:
        from benchmarks import loopstall

        return loopstall.main(["--runs", str(args.runs), "--feeds", str(args.feeds)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
