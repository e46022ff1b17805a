"""Big newspaper issue benchmark (issue 12): a folder source holding one issue
of about 19 MB (about 29,000 short articles, made by tests/bigissue.py),
stored through the real path and then summarized.

    .venv/bin/python -m benchmarks.bigissue [--runs 3] [--articles 29000] [--profile OUT.prof]

Each pass runs in a fresh process on a fresh SQLite file: ``fetch_due``
(which stores, as the bot runs it) scans the folder source, then
``summarize_stored`` summarizes and indexes everything stored (its first call
pays jieba's dictionary load, about 1 s). The stages inside the scan are timed
by wrapping the functions it calls: decode (``decode_bytes``), parse
(``parse_newspaper``), store (``save_articles``; of it, the near-duplicate
lookup ``StoryIndex.find``). Peak memory is the process's ru_maxrss after the
scan and after summarizing. ``--profile`` runs one pass under cProfile and
prints where the time went.

Writes benchmarks/results/bigissue.md and bigissue.json.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import functools
import importlib
import json
import platform
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
STAGES = ("decode", "parse", "store", "store_story_lookup", "scan_total", "summarize")


def _timed(spent: defaultdict[str, float], stage: str, function: Callable[..., Any]) -> Any:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[stage] += time.perf_counter() - started

    return wrapper


def _issue_module() -> Any:
    """Where the folder-issue code lives (``digests.sources.folders``; before it was
    moved, ``digests.sources.refresh``), so one command measures either."""
    try:
        return importlib.import_module("digests.sources.folders")
    except ImportError:
        return importlib.import_module("digests.sources.refresh")


def one_pass(folder: Path, workdir: Path, profile: Path | None) -> dict[str, float]:
    from digests.config import FetchSettings, SearchSettings
    from digests.ingest import dedup
    from digests.search.factory import open_search_index
    from digests.sources.refresh import fetch_due
    from digests.store.db import Database
    from digests.store.sources import add_source
    from digests.summarize.stage import summarize_stored

    spent: defaultdict[str, float] = defaultdict(float)
    module = _issue_module()
    for name, stage in (
        ("decode_bytes", "decode"),
        ("parse_newspaper", "parse"),
        ("save_articles", "store"),
    ):
        setattr(module, name, _timed(spent, stage, getattr(module, name)))
    dedup.StoryIndex.find = _timed(spent, "store_story_lookup", dedup.StoryIndex.find)  # type: ignore[method-assign]

    db = Database(f"sqlite:///{workdir / 'bigissue.db'}")
    db.upgrade()
    with db.write() as session:
        add_source(
            session, kind="folder", location=str(folder), name="paper", interval_seconds=3600
        )
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    started = time.perf_counter()
    outcomes = asyncio.run(fetch_due(db, FetchSettings(allowed_networks=["127.0.0.0/8"])))
    spent["scan_total"] = time.perf_counter() - started
    rss_scan = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    summarized = summarize_stored(db, open_search_index(SearchSettings(), db))
    spent["summarize"] = time.perf_counter() - started
    if profiler:
        profiler.disable()
        assert profile is not None
        profiler.dump_stats(profile)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
    db.close()
    (outcome,) = outcomes
    if outcome.error:
        raise SystemExit(f"the scan failed: {outcome.error}")
    return {
        **{stage: round(spent[stage], 3) for stage in STAGES},
        "stored": outcome.saved.new,
        "same_story": outcome.saved.same_story,
        "summarized": summarized,
        "peak_rss_mb_after_scan": round(rss_scan, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _run_child(folder: Path, profile: Path | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bigissue-db-") as workdir:
        command = [sys.executable, "-m", "benchmarks.bigissue", "--one-pass", str(folder), workdir]
        if profile:
            command += ["--profile", str(profile)]
        done = subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True)
        if profile:
            sys.stderr.write(done.stderr)
        return json.loads(done.stdout.strip().splitlines()[-1])


def _report(runs: list[dict[str, float]], articles: int, size: int, passes: int) -> str:
    median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Big newspaper issue (issue 12)",
        "",
        f"Run {when} on {platform.machine()}, Python {platform.python_version()}, "
        f"median of {passes} pass(es), each in a fresh process on a fresh SQLite file. "
        "Command: `.venv/bin/python -m benchmarks.bigissue`",
        "",
        f"One folder source, one issue: {articles:,} articles, {size:,} bytes of UTF-8 "
        f"(tests/bigissue.py). Stored {median['stored']:,.0f} articles "
        f"({median['same_story']:,.0f} recorded as near-duplicates of an earlier story); "
        f"summarized {median['summarized']:,.0f}.",
        "",
        "| stage | seconds (median) | each pass |",
        "|---|---:|---|",
    ]
    labels = {
        "decode": "decode (decode_bytes)",
        "parse": "parse (parse_newspaper)",
        "store": "store (save_articles, all batches)",
        "store_story_lookup": "  of it: near-duplicate lookup (StoryIndex.find)",
        "scan_total": "whole scan (fetch_due)",
        "summarize": "summarize + index (summarize_stored)",
    }
    for stage in STAGES:
        each = ", ".join(f"{run[stage]:.2f}" for run in runs)
        lines.append(f"| {labels[stage]} | {median[stage]:.2f} | {each} |")
    lines += [
        "",
        f"Peak memory (ru_maxrss): {median['peak_rss_mb_after_scan']:.0f} MB after the scan, "
        f"{median['peak_rss_mb']:.0f} MB after summarizing (median).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--articles", type=int, default=None)
    parser.add_argument("--profile", type=Path, default=None, help="one pass under cProfile")
    parser.add_argument("--one-pass", nargs=2, type=Path, metavar=("FOLDER", "WORKDIR"))
    args = parser.parse_args(argv)
    if args.one_pass:
        folder, workdir = args.one_pass
        print(json.dumps(one_pass(folder, workdir, args.profile)))
        return 0
    sys.path.insert(0, str(REPO))
    from tests.bigissue import FULL_ARTICLES, write_issue

    articles = args.articles or FULL_ARTICLES
    with tempfile.TemporaryDirectory(prefix="bigissue-") as tmp:
        folder = Path(tmp) / "issues"
        folder.mkdir()
        write_issue(folder / "issue.txt", articles)
        size = (folder / "issue.txt").stat().st_size
        if args.profile:
            print(json.dumps(_run_child(folder, args.profile)))
            return 0
        runs = []
        for number in range(1, args.runs + 1):
            runs.append(_run_child(folder, None))
            print(f"pass {number}: {json.dumps(runs[-1])}", file=sys.stderr)
    report = _report(runs, articles, size, args.runs)
    if articles == FULL_ARTICLES:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "bigissue.md").write_text(report, "utf-8")
        (RESULTS / "bigissue.json").write_text(
            json.dumps({"articles": articles, "bytes": size, "runs": runs}, indent=2), "utf-8"
        )
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
