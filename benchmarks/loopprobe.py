"""What holds up chat replies while `newsdigest run` ingests: loopstall passes with a probed bot.

    .venv/bin/python -m benchmarks.loopprobe [--runs 1] [--feeds 200] [--extend 4]
        [--variants plain,gc-freeze,switch-0.5ms]

Diagnosis for issue 12, next to ``benchmarks.loopstall`` (same feeds, hostile
feed, fake Bot API server, /help every 20 ms, same stall arithmetic), on the
working tree only. The bot is started through ``benchmarks.loopprobe_bot``,
which records inside the bot process every generation-2 garbage collection
(thread, duration), how late each 5 ms ``asyncio.sleep`` on the loop wakes, and
when the fetch round and the summarize stage begin and end. The user keeps
sending for --extend seconds after every source is fetched (loopstall stops
there), so the summarize stage, which runs in a thread after the fetch round,
is measured too.

Variants change the bot process, never the code (counterfactuals):
- ``plain``: as it is;
- ``gc-freeze``: ``gc.collect(); gc.freeze()`` after the engine's warm-up, so the
  start-up heap is left out of every later collection;
- ``switch-0.5ms``: ``sys.setswitchinterval(0.0005)`` (CPython's default is 5 ms):
  a thread that wants the GIL waits at most about that long for a busy one.

Reported per variant and phase (before the round, fetch round, summarize): reply
latency p50/p95/max, the longest stall (as loopstall: no reply while a command
is outstanding), how late the loop's 5 ms sleeps woke (mean, p95, max) and the
generation-2 collections (count, longest, threads); and for each pass what
coincided with its longest stall. Passes interleave the variants. Writes
benchmarks/results/loopprobe.md and loopprobe.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from benchmarks import loopstall, revisions
from benchmarks.ingest import CORPUS, load_rows

RESULTS = loopstall.RESULTS
COMMAND = ".venv/bin/python -m benchmarks.loopprobe"
VARIANTS: dict[str, dict[str, str]] = {
    "plain": {},
    "gc-freeze": {"ND_PROBE_GC_FREEZE": "1"},
    "switch-0.5ms": {"ND_PROBE_SWITCH_INTERVAL": "0.0005"},
}
PHASES = ("before the round", "fetch round", "summarize")


# -- the numbers (pure) -----------------------------------------------------------


def phase_windows(marks: Sequence[dict[str, Any]], end: float) -> dict[str, tuple[float, float]]:
    """Each phase's [begin, end) on the monotonic clock, from the bot's marks;
    a phase still running at ``end`` ends there."""
    at = {mark["text"]: mark["at"] for mark in marks}
    fetch = at.get("refresh_sources begins", end)
    fetched = at.get("refresh_sources ends", end)
    summarize = at.get("summarize_new begins", end)
    return {
        "before the round": (float("-inf"), fetch),
        "fetch round": (fetch, fetched),
        "summarize": (summarize, at.get("summarize_new ends", end)),
    }


def longest_stall_from(
    commands: Sequence[loopstall.Command], end: float, window: tuple[float, float]
) -> float:
    """loopstall's longest stall over all ``commands`` (no reply while some command
    is outstanding), among the stalls that began within ``window``; seconds."""
    events: list[tuple[float, int]] = []
    for command in commands:
        events.append((command.sent, 1))
        if command.replied is not None and command.replied <= end:
            events.append((command.replied, 0))
    events.sort()
    outstanding, since, best = 0, None, 0.0
    for at, is_send in events:
        if is_send:
            outstanding += 1
            if since is None:
                since = at
            continue
        assert since is not None
        if window[0] <= since < window[1]:
            best = max(best, at - since)
        outstanding -= 1
        since = at if outstanding else None
    if outstanding and since is not None and window[0] <= since < window[1]:
        best = max(best, end - since)
    return best


@dataclass
class PhaseNumbers:
    commands: int = 0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    max_ms: float = 0.0
    stall_ms: float = 0.0
    sleeps: int = 0
    late_mean_ms: float = 0.0
    late_p95_ms: float = 0.0
    late_max_ms: float = 0.0
    full_collections: int = 0
    full_collection_max_ms: float = 0.0
    collection_threads: list[str] = field(default_factory=list)


def phase_numbers(
    commands: Sequence[loopstall.Command],
    end: float,
    lags: Sequence[dict[str, Any]],
    collections: Sequence[dict[str, Any]],
    window: tuple[float, float],
) -> PhaseNumbers:
    """The numbers of the commands sent, the stalls, the loop's sleeps and the
    generation-2 collections that began within ``window``."""
    begin, stop = window
    sent = [c for c in commands if begin <= c.sent < stop]
    values = [value for value, _censored in loopstall.latencies(sent, end)]
    late = sorted(lag["ms"] for lag in lags if begin <= lag["at"] < stop)
    full = [g for g in collections if g["generation"] == 2 and begin <= g["at"] < stop]
    return PhaseNumbers(
        commands=len(sent),
        p50_ms=loopstall.percentile(values, 0.5) * 1000 if values else 0.0,
        p95_ms=loopstall.percentile(values, 0.95) * 1000 if values else 0.0,
        max_ms=max(values, default=0.0) * 1000,
        stall_ms=longest_stall_from(commands, end, window) * 1000,
        sleeps=len(late),
        late_mean_ms=statistics.mean(late) if late else 0.0,
        late_p95_ms=loopstall.percentile(late, 0.95) if late else 0.0,
        late_max_ms=late[-1] if late else 0.0,
        full_collections=len(full),
        full_collection_max_ms=max((g["ms"] for g in full), default=0.0),
        collection_threads=sorted({g["thread"] for g in full}),
    )


def coinciding(
    stall: loopstall.Stall,
    collections: Sequence[dict[str, Any]],
    windows: dict[str, tuple[float, float]],
) -> list[str]:
    """What overlapped the stall: generation-2 collections (any overlap) and the
    phase it began in."""
    if stall.start is None:
        return []
    begin, stop = stall.start, stall.start + stall.seconds
    found = [f"phase: {name}" for name, (a, b) in windows.items() if a <= begin < b]
    found += [
        f"gen-2 collection {g['ms']:.0f} ms in {g['thread']} "
        f"(began {(g['at'] - begin) * 1000:+.0f} ms from the stall's start)"
        for g in collections
        if g["generation"] == 2 and g["at"] < stop and g["at"] + g["ms"] / 1000 > begin - 0.02
    ]
    return found


# -- one pass ------------------------------------------------------------------------


@dataclass
class ProbePass:
    variant: str
    number: int
    stall_ms: float = 0.0
    p95_ms: float = 0.0
    ingest_s: float | None = None
    phases: dict[str, PhaseNumbers] = field(default_factory=dict)
    stall_with: list[str] = field(default_factory=list)
    froze: str = ""
    error: str | None = None


@contextlib.contextmanager
def probed(out: Path, variant: str, extend: float) -> Iterator[dict[str, Any]]:
    """loopstall with the bot started through the probes, the commands kept,
    and every source counted as fetched only ``extend`` s after it was."""
    saved = (loopstall.BOT, loopstall.latencies, loopstall.fetched)
    env_before = dict(os.environ)
    captured: dict[str, Any] = {}
    done_at: dict[str, float] = {}

    def latencies(commands: Any, end: float) -> list[tuple[float, bool]]:
        commands = list(commands)
        captured["commands"], captured["end"] = commands, end
        return saved[1](commands, end)

    def fetched(database: Path) -> tuple[int, int]:
        total, checked = saved[2](database)
        if checked >= total:
            first = done_at.setdefault("at", time.monotonic())
            if time.monotonic() - first < extend:
                return total, checked - 1
        return total, checked

    loopstall.BOT = ["-m", "benchmarks.loopprobe_bot", str(out)]
    loopstall.latencies = latencies  # type: ignore[assignment]
    loopstall.fetched = fetched  # type: ignore[assignment]
    os.environ.update(VARIANTS[variant])
    try:
        yield captured
    finally:
        loopstall.BOT, loopstall.latencies, loopstall.fetched = saved  # type: ignore[assignment]
        os.environ.clear()
        os.environ.update(env_before)


def run_probe(
    variant: str, number: int, rows: list[dict[str, str]], args: argparse.Namespace, work: Path
) -> ProbePass:
    outcome = ProbePass(variant, number)
    directory = work / f"{variant}-{number}"
    directory.mkdir()
    out = directory / "probe.jsonl"
    side = loopstall.Side("after", loopstall.REPO, "the working tree")
    with probed(out, variant, args.extend) as captured:
        measured = loopstall.run_pass(
            side, number, rows, args.feeds, loopstall.CAP_SECONDS, 0.020, directory
        )
    if measured.error or "commands" not in captured:
        outcome.error = measured.error or "no commands measured"
        return outcome
    records = [json.loads(line) for line in out.read_text("utf-8").splitlines() if line]
    marks = [r for r in records if r["kind"] == "mark"]
    lags = [r for r in records if r["kind"] == "lag"]
    collections = [r for r in records if r["kind"] == "gc"]
    commands, end = captured["commands"], captured["end"]
    windows = phase_windows(marks, end)
    outcome.stall_ms, outcome.p95_ms = measured.stall_ms, measured.p95_ms
    outcome.ingest_s = measured.ingest_s
    outcome.phases = {
        name: phase_numbers(commands, end, lags, collections, window)
        for name, window in windows.items()
    }
    outcome.stall_with = coinciding(loopstall.longest_stall(commands, end), collections, windows)
    outcome.froze = next((m["text"] for m in marks if m["text"].startswith("gc.freeze")), "")
    return outcome


# -- the report ------------------------------------------------------------------------


def _row(p: ProbePass, name: str) -> tuple[str, ...]:
    n = p.phases[name]
    threads = ", ".join(n.collection_threads) or "-"
    return (
        p.variant,
        str(p.number),
        name,
        str(n.commands),
        f"{n.p50_ms:,.0f}",
        f"{n.p95_ms:,.0f}",
        f"{n.max_ms:,.0f}",
        f"{n.stall_ms:,.0f}",
        f"{n.late_mean_ms:.1f} / {n.late_p95_ms:.1f} / {n.late_max_ms:.1f}",
        f"{n.full_collections}"
        + (f" (≤{n.full_collection_max_ms:.0f} ms; {threads})" if n.full_collections else ""),
    )


HEADER = (
    "variant",
    "#",
    "phase",
    "commands",
    "reply p50 ms",
    "p95 ms",
    "max ms",
    "longest stall ms",
    "loop's 5 ms sleep late: mean / p95 / max ms",
    "gen-2 collections (longest; threads)",
)


def report(
    argv: Sequence[str],
    facts: dict[str, Any],
    passes: Sequence[ProbePass],
    args: argparse.Namespace,
) -> str:
    rows = [
        _row(p, name) for p in passes if not p.error for name in PHASES if p.phases[name].commands
    ]
    lines = [
        "# What holds up chat replies while `newsdigest run` ingests (probed loopstall passes)",
        "",
        f"`{' '.join([COMMAND, *argv])}`",
        "",
        revisions.machine_line(facts, f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"),
        "",
        f"The working tree ({loopstall.REPO}), as `benchmarks.loopstall` runs it "
        f"({args.feeds} feeds plus the hostile one, `/help` every 20 ms), with the bot "
        "started through `benchmarks/loopprobe_bot.py`: it records every generation-2 "
        "garbage collection in the bot process (thread, duration), how late each 5 ms "
        "`asyncio.sleep` on the loop wakes, and when the fetch round and the summarize "
        "stage (a thread, after the round) run. The user keeps sending for "
        f"{args.extend:.0f} s after every source is fetched (loopstall stops there), so "
        "part of the summarize stage is measured too. Variants change the process, not "
        "the code: *gc-freeze* = `gc.collect(); gc.freeze()` after the engine's warm-up; "
        "*switch-0.5ms* = `sys.setswitchinterval(0.0005)` (default 5 ms). Latency per "
        "phase: commands sent in it; longest stall: loopstall's (no reply while a "
        "command is outstanding) among those that began in the phase. The summarize "
        "stage outlasts the pass: its rows cover its first seconds.",
        "",
        *loopstall._table(HEADER, rows),
        "",
        "## What coincided with each pass's longest stall",
        "",
        *[
            f"- {p.variant} #{p.number}: longest stall {p.stall_ms:,.0f} ms (whole pass), "
            f"p95 {p.p95_ms:,.0f} ms; "
            + ("; ".join(p.stall_with) or "nothing recorded")
            + (f"; {p.froze}" if p.froze else "")
            for p in passes
            if not p.error
        ],
        *[f"- {p.variant} #{p.number}: not measured: {p.error}" for p in passes if p.error],
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="passes per variant")
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument(
        "--extend", type=float, default=4.0, help="seconds of commands after all is fetched"
    )
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated")
    args = parser.parse_args(argv)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {unknown}; known: {', '.join(VARIANTS)}")
    console = Console(stderr=True)
    if not CORPUS.is_file():
        console.print(f"loopprobe: skipped: it needs {CORPUS}")
        return 0
    rows = load_rows()
    started, load = time.monotonic(), os.getloadavg()[0]
    passes: list[ProbePass] = []
    with tempfile.TemporaryDirectory(prefix="loopprobe-") as directory:
        for number in range(1, args.runs + 1):
            for variant in variants:
                with console.status(f"{variant} pass {number}/{args.runs} ..."):
                    result = run_probe(variant, number, rows, args, Path(directory))
                passes.append(result)
                console.print(
                    f"{variant} #{number}: "
                    + (
                        result.error
                        or f"longest stall {result.stall_ms:,.0f} ms; "
                        + "; ".join(result.stall_with)
                    )
                )
    facts = revisions.machine_facts(load, time.monotonic() - started)
    shown = list(argv if argv is not None else sys.argv[1:])
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = report(shown, facts, passes, args)
    (RESULTS / "loopprobe.md").write_text(text, "utf-8")
    (RESULTS / "loopprobe.json").write_text(
        json.dumps(
            {"machine": facts, "settings": vars(args), "passes": [asdict(p) for p in passes]},
            indent=2,
            ensure_ascii=False,
        ),
        "utf-8",
    )
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
