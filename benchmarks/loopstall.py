"""Event-loop stall benchmark: chat replies while `newsdigest run` ingests, before and after.

    .venv/bin/python -m benchmarks.loopstall [--runs 3] [--feeds 200] [--before REV]
        [--after REV] [--cap 180] [--cadence-ms 20] [--keep-worktree]

Issue 12. A real `newsdigest run` process (fresh SQLite file, a config file
pointing at the fake Bot API server on 127.0.0.1, fetch.allowed_networks =
["127.0.0.0/8"]) ingests its first round: N distinct local JSON feeds (cut from
../shared/eval/zh_news_raw.jsonl as `benchmarks.ingest` cuts them) and, added
between the first and the second half, one hostile RSS feed: an item whose
`<AUTHOR>` (upper-case) holds one 80 KB string and one whose `<dc:publisher>`
does (feedparser's e-mail regex is quadratic on such a string). The sources are
added beforehand with the command line (`sources import` for the feeds, the same
path as `sources add`, and `sources add` for the hostile feed).

A simulated user sends `/help` at a fixed 20 ms cadence (open loop: the next
command does not wait for the previous reply, each from a chat of its own, so a
reply is matched to its command by chat id) from the moment the bot has answered
a first warm-up `/help` until every source has been fetched once and every
article stored has been summarized (both polled in the database: the window
covers the summarize stage that follows the fetch round) or the cap passes
(reported as "did not finish"); then a grace for
replies still due (until every command is answered, no reply came for 5 s, or
60 s passed). Reported per pass:

- reply latency p50/p95/max: sendMessage arriving at the fake server minus the
  update being queued there; a command never answered counts as end - sent, a
  lower bound (marked >=);
- longest stall: the longest interval during which no reply arrived while a
  command was outstanding: the bot gave its users nothing for that long. A
  loop frozen for F seconds shows as a stall of at least F - 20 ms (the
  cadence), so this bounds the loop's longest stall from outside;
- time from the first feed request to every source fetched, and to every
  stored article summarized.

"before" is the code at REV (default 0a3efbc) checked out in a git worktree
under the temp dir (removed afterwards unless it was there already or
--keep-worktree), "after" the working tree as it is (or --after REV, in a
worktree too). Each bot and command-line process gets PYTHONPATH set to its
side's root; where it really imports from is checked, printed and recorded.
Passes are interleaved (before, after, before, ...) so both see the same
machine load. Writes benchmarks/results/loopstall.md and loopstall.json.
The corpus is read from ../shared at run time; without it the benchmark is skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any, NamedTuple

from rich.console import Console
from rich.table import Table

from benchmarks.ingest import CORPUS, json_feed, load_rows
from bot.fake_telegram import FakeTelegram
from digests.feedserver import FeedServer
from digests.localserver import Request

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
COMMAND = ".venv/bin/python -m benchmarks.loopstall"
DEFAULT_BEFORE = "0a3efbc"
CADENCE_SECONDS = 0.020
CAP_SECONDS = 180.0
GRACE_SECONDS = 60.0
GRACE_IDLE_SECONDS = 5.0
WARM_UP_SECONDS = 120.0
POLL_SECONDS = 0.1
HOSTILE_CHARS = 80 * 1024
GOAL_MS = 100.0
WARM_CHAT = 9_999_999
FIRST_CHAT = 10_000_000
# How the bot is started (before --config FILE run); benchmarks.loopprobe starts
# it through its probes instead.
BOT: list[str] = ["-m", "bot.cli"]


# -- the numbers (pure) -----------------------------------------------------------


class Command(NamedTuple):
    sent: float
    replied: float | None  # None: no reply by the end of the measurement


@dataclass(frozen=True)
class Stall:
    seconds: float
    start: float | None  # when it began (same clock as the commands); None: no command
    censored: bool  # still going at the end: the true stall is at least this long


def longest_stall(commands: Iterable[Command], end: float) -> Stall:
    """The longest interval in which no reply arrived while some command was
    outstanding. It starts at a reply (or at a send when nothing was outstanding)
    and ends at the next reply, or at ``end`` if commands were still unanswered."""
    events: list[tuple[float, int]] = []
    for command in commands:
        events.append((command.sent, 1))
        if command.replied is not None and command.replied <= end:
            if command.replied < command.sent:
                raise ValueError(f"a reply before its command: {command}")
            events.append((command.replied, 0))
    events.sort()  # at equal times a reply (0) comes first
    outstanding = 0
    since: float | None = None
    best = Stall(0.0, None, False)
    for at, is_send in events:
        if is_send:
            outstanding += 1
            if since is None:
                since = at
            continue
        assert since is not None
        if at - since > best.seconds:
            best = Stall(at - since, since, False)
        outstanding -= 1
        since = at if outstanding else None
    if outstanding and since is not None and end - since > best.seconds:
        best = Stall(end - since, since, True)
    return best


def latencies(commands: Iterable[Command], end: float) -> list[tuple[float, bool]]:
    """Each command's reply latency and whether it is censored: an unanswered
    command counts ``end - sent``, a lower bound."""
    values: list[tuple[float, bool]] = []
    for command in commands:
        if command.replied is None or command.replied > end:
            values.append((end - command.sent, True))
        else:
            values.append((command.replied - command.sent, False))
    return values


def lower_bound(values: Iterable[tuple[float, bool]], chosen: float) -> bool:
    """Whether a statistic equal to ``chosen`` is only a lower bound: some
    censored latency at or below it could really be larger."""
    return any(censored and value <= chosen for value, censored in values)


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered) - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


# -- feeds ------------------------------------------------------------------------


def hostile_feed(chars: int = HOSTILE_CHARS) -> bytes:
    """RSS 2.0: one item whose <AUTHOR> holds one ``chars``-long string, one whose
    <dc:publisher> does, and an ordinary item."""
    long = "x" * chars
    items = (
        "<item><guid>hostile-author</guid><title>Upper-case author</title>"
        f"<description>A long author field.</description><AUTHOR>{long}</AUTHOR></item>"
        "<item><guid>hostile-publisher</guid><title>Long publisher</title>"
        "<description>A long publisher field.</description>"
        f"<dc:publisher>{long}</dc:publisher></item>"
        "<item><guid>hostile-plain</guid><title>Plain item</title>"
        "<description>Nothing unusual here.</description></item>"
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>hostile</title><link>http://127.0.0.1/</link>{items}</channel></rss>"
    ).encode()


def opml(feeds: Sequence[tuple[str, str]]) -> bytes:
    outlines = "".join(
        f'<outline type="rss" text="{escape(name)}" title="{escape(name)}" xmlUrl="{escape(url)}"/>'
        for name, url in feeds
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><opml version="2.0">'
        f"<head><title>loopstall</title></head><body>{outlines}</body></opml>"
    ).encode()


# -- the servers in this process ----------------------------------------------------


class TimedTelegram(FakeTelegram):
    """The fake Bot API server, noting (time.monotonic()) each chat's first reply."""

    def __init__(self) -> None:
        super().__init__()
        self.replied: dict[int, float] = {}

    async def _send_message(self, parameters, *, edit=False):  # type: ignore[no-untyped-def]
        message = await super()._send_message(parameters, edit=edit)
        at = time.monotonic()
        with self._changed:
            self.replied.setdefault(int(parameters["chat_id"]), at)
            self._changed.notify_all()
        return message


class TimedFeeds(FeedServer):
    """The feed server, noting (time.monotonic()) the first request and each path's."""

    def __init__(self) -> None:
        super().__init__()
        self.first_request: float | None = None
        self.requested: dict[str, float] = {}

    async def route(self, request: Request, writer):  # type: ignore[no-untyped-def]
        at = time.monotonic()
        with self._lock:
            if self.first_request is None:
                self.first_request = at
            self.requested.setdefault(request.path, at)
        await super().route(request, writer)


class Sender(threading.Thread):
    """A user sending /help every ``cadence`` seconds, each from a new chat; late
    sends are not caught up in a burst (the schedule slides instead)."""

    def __init__(self, telegram: FakeTelegram, cadence: float) -> None:
        super().__init__(name="loopstall-sender", daemon=True)
        self.telegram = telegram
        self.cadence = cadence
        self.sent: dict[int, float] = {}
        self._halt = threading.Event()

    def run(self) -> None:
        chat = FIRST_CHAT
        next_at = time.monotonic()
        while not self._halt.is_set():
            now = time.monotonic()
            if now < next_at:
                self._halt.wait(next_at - now)
                continue
            self.sent[chat] = time.monotonic()
            self.telegram.user_sends(chat, "/help")
            chat += 1
            next_at = max(next_at + self.cadence, time.monotonic())

    def halt(self) -> None:
        self._halt.set()
        if self.is_alive():
            self.join(timeout=10)


# -- the code under test ---------------------------------------------------------------


@dataclass
class Side:
    label: str  # "before" or "after"
    root: Path
    describe: str
    imports: str = ""


def _git(*args: str, cwd: Path = REPO) -> str:
    return subprocess.run(
        ["git", "--no-optional-locks", "-C", str(cwd), *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@contextlib.contextmanager
def worktree(revision: str, label: str, keep: bool, console: Console) -> Iterator[Path]:
    """REV checked out in a worktree under the temp dir (reused if one is there;
    removed afterwards if this made it, unless ``keep``)."""
    full = _git("rev-parse", "--verify", f"{revision}^{{commit}}")
    path = Path(tempfile.gettempdir()) / f"nd-{label}-{full[:7]}"
    made = False
    if path.exists():
        if _git("rev-parse", "HEAD", cwd=path) != full:
            raise SystemExit(f"loopstall: {path} exists but is not at {full[:7]}")
        console.print(f"reusing the worktree {path}")
    else:
        _git("worktree", "add", "--detach", str(path), full)
        made = True
    # Compile it ahead so that the first "before" start pays no more than "after".
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(path / "bot"), str(path / "digests")],
        check=False,
        capture_output=True,
    )
    try:
        yield path
    finally:
        if made and not keep:
            _git("worktree", "remove", "--force", str(path))
            _git("worktree", "prune")
        elif made:
            console.print(f"kept the worktree {path}")


def environment(side: Side, token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDIGEST_")}
    env.update({"PYTHONPATH": str(side.root), "NEWSDIGEST_BOT_TOKEN": token, "PTB_TIMEDELTA": "1"})
    return env


def check_imports(side: Side, cwd: Path) -> str:
    """Where a process started as the bot is started (bot.cli, digests) really
    imports from; code from anywhere but the side's root ends the benchmark."""
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import bot.cli, digests; print(digests.__file__); print(bot.cli.__file__)",
        ],
        cwd=cwd,
        env=environment(side, "0:probe"),
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return f"(cannot import: {_last_line(probe.stderr)})"
    files = probe.stdout.split()
    root = side.root.resolve()
    for file in files:
        if root not in Path(file).resolve().parents:
            raise SystemExit(f"loopstall: {side.label} imports {file}, not code under {root}")
    return files[0]


class PassFailed(Exception):
    """The code under test could not be measured (it failed to start or crashed)."""


def newsdigest(side: Side, config: Path, cwd: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--config", str(config), *args],
        cwd=cwd,
        env=environment(side, "0:unused"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise PassFailed(
            f"`newsdigest {' '.join(args[:2])}` failed (exit {result.returncode}): "
            + _last_line(result.stderr)
        )
    return result.stdout


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1].strip() if lines else "(no output)"


def write_config(path: Path, database: Path, telegram: FakeTelegram) -> None:
    path.write_text(
        f'database_url = "sqlite:///{database}"\n'
        'log_level = "INFO"\n\n'
        "[fetch]\n"
        'allowed_networks = ["127.0.0.0/8"]\n\n'
        "[bot]\n"
        f'api_url = "{telegram.api_url}"\n\n'
        "[metrics]\n"
        "port = 0\n",
        "utf-8",
    )


def fetched(database: Path) -> tuple[int, int]:
    """(sources, sources checked at least once), read from the SQLite file."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=2) as connection:
        total, checked = connection.execute(
            "SELECT COUNT(*), COALESCE(SUM(last_checked_at IS NOT NULL), 0) FROM sources"
        ).fetchone()
    connection.close()
    return int(total), int(checked)


def summarized(database: Path) -> tuple[int, int]:
    """(articles stored, articles summarized), read from the SQLite file."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=2) as connection:
        total, done = connection.execute(
            "SELECT COUNT(*), COALESCE(SUM(summarized_hash IS NOT NULL), 0) FROM articles"
        ).fetchone()
    connection.close()
    return int(total), int(done)


def drain(telegram: TimedTelegram, sent: dict[int, float]) -> None:
    """Wait for the replies still due: until every command is answered, no reply
    came for GRACE_IDLE_SECONDS, or GRACE_SECONDS passed."""
    deadline = time.monotonic() + GRACE_SECONDS
    answered, last_progress = -1, time.monotonic()
    while time.monotonic() < deadline:
        with telegram._changed:
            now_answered = sum(1 for chat in sent if chat in telegram.replied)
        if now_answered == len(sent):
            return
        if now_answered != answered:
            answered, last_progress = now_answered, time.monotonic()
        elif time.monotonic() - last_progress > GRACE_IDLE_SECONDS:
            return
        time.sleep(0.2)


def stop_process(process: subprocess.Popen[bytes], wait: float = 20.0) -> bool:
    """SIGTERM, then SIGKILL if it has not ended after ``wait`` s; True if killed."""
    if process.poll() is not None:
        return False
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=wait)
        return False
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return True


# -- one pass ------------------------------------------------------------------------


@dataclass
class Pass:
    side: str
    number: int
    commands: int = 0
    unanswered: int = 0
    p50_ms: float = 0.0
    p50_censored: bool = False
    p95_ms: float = 0.0
    p95_censored: bool = False
    max_ms: float = 0.0
    stall_ms: float = 0.0
    stall_censored: bool = False
    stall_at_s: float | None = None  # after the first feed request
    finished: bool = False
    ingest_s: float | None = None  # first feed request -> every source fetched
    summarized_s: float | None = None  # first feed request -> every article summarized
    articles: int = 0
    window_s: float = 0.0  # first command -> every article summarized (or the cap)
    start_to_first_request_s: float | None = None  # negative: ingest began before
    hostile_requested_s: float | None = None  # after the first feed request
    sources: int = 0
    checked: int = 0
    failed: int = 0
    hostile_articles: int | None = None
    hostile_error: str | None = None
    exit_code: int | None = None
    killed: bool = False
    error: str | None = None  # the pass could not be measured: why
    notes: list[str] = field(default_factory=list)


def run_pass(
    side: Side,
    number: int,
    rows: list[dict[str, str]],
    feeds: int,
    cap: float,
    cadence: float,
    workdir: Path,
) -> Pass:
    """One pass; a side that cannot be measured is a pass with ``error`` set."""
    outcome = Pass(side=side.label, number=number)
    directory = workdir / f"{side.label}-{number}"
    directory.mkdir()
    try:
        _measure(side, outcome, directory, rows, feeds, cap, cadence)
    except PassFailed as failure:
        outcome.error = str(failure)
    return outcome


def _measure(
    side: Side,
    outcome: Pass,
    directory: Path,
    rows: list[dict[str, str]],
    feeds: int,
    cap: float,
    cadence: float,
) -> None:
    database = directory / "newsdigest.db"
    config = directory / "config.toml"
    log = directory / "bot.log"
    with TimedTelegram() as telegram, TimedFeeds() as server:
        urls = [
            (
                f"feed {i}",
                server.put(
                    f"feed-{i}.json",
                    json_feed([rows[(i * 5 + k) % len(rows)] for k in range(5)]),
                    "application/feed+json",
                ),
            )
            for i in range(feeds)
        ]
        hostile = server.put("hostile.xml", hostile_feed(), "application/rss+xml")
        write_config(config, database, telegram)
        half = feeds // 2
        for part, chunk in (("first", urls[:half]), ("second", urls[half:])):
            if chunk:
                listing = directory / f"{part}.opml"
                listing.write_bytes(opml(chunk))
                newsdigest(side, config, directory, "sources", "import", str(listing))
            if part == "first":
                newsdigest(side, config, directory, "sources", "add", hostile, "--name", "hostile")
        outcome.sources = fetched(database)[0]

        with log.open("wb") as handle:
            bot = subprocess.Popen(
                [sys.executable, *BOT, "--config", str(config), "run"],
                cwd=directory,
                env=environment(side, telegram.token),
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
            sender = Sender(telegram, cadence)
            try:
                telegram.user_sends(WARM_CHAT, "/help")
                deadline = time.monotonic() + WARM_UP_SECONDS
                while not telegram.wait_for(lambda: WARM_CHAT in telegram.replied, 0.5):
                    if bot.poll() is not None or time.monotonic() > deadline:
                        raise PassFailed(_failure(bot, log, "did not answer a first /help"))
                sender.start()
                started = time.monotonic()
                done_at: float | None = None  # every source fetched
                summarized_at: float | None = None  # and every article summarized
                while time.monotonic() < started + cap:
                    if done_at is None:
                        outcome.sources, outcome.checked = fetched(database)
                        if outcome.checked >= outcome.sources:
                            done_at = time.monotonic()
                    if done_at is not None:
                        outcome.articles, done = summarized(database)
                        if outcome.articles and done >= outcome.articles:
                            summarized_at = time.monotonic()
                            break
                    if bot.poll() is not None:
                        raise PassFailed(_failure(bot, log, "ended during the pass"))
                    time.sleep(POLL_SECONDS)
                sender.halt()
                window_end = summarized_at if summarized_at is not None else time.monotonic()
                sent = dict(sender.sent)
                drain(telegram, sent)
                end = time.monotonic()
                with telegram._changed:
                    replied = dict(telegram.replied)
            finally:
                sender.halt()
                outcome.killed = stop_process(bot)
                outcome.exit_code = bot.returncode
    commands = [Command(at, replied.get(chat)) for chat, at in sent.items()]
    measured = latencies(commands, end)
    values = [value for value, _censored in measured]
    stall = longest_stall(commands, end)
    first = server.first_request
    outcome.commands = len(commands)
    outcome.unanswered = sum(1 for _value, censored in measured if censored)
    p50, p95 = percentile(values, 0.50), percentile(values, 0.95)
    outcome.p50_ms, outcome.p50_censored = p50 * 1000, lower_bound(measured, p50)
    outcome.p95_ms, outcome.p95_censored = p95 * 1000, lower_bound(measured, p95)
    outcome.max_ms = max(values, default=0.0) * 1000
    outcome.stall_ms = stall.seconds * 1000
    outcome.stall_censored = stall.censored
    outcome.finished = summarized_at is not None
    outcome.window_s = window_end - started
    if first is not None:
        outcome.start_to_first_request_s = first - started
        if stall.start is not None:
            outcome.stall_at_s = stall.start - first
        if done_at is not None:
            outcome.ingest_s = done_at - first
        if summarized_at is not None:
            outcome.summarized_s = summarized_at - first
        hostile_path = "/" + hostile.split("/", 3)[3]
        if hostile_path in server.requested:
            outcome.hostile_requested_s = server.requested[hostile_path] - first
    if outcome.start_to_first_request_s is not None and outcome.start_to_first_request_s < 0:
        outcome.notes.append("ingest began before the first timed command")
    if outcome.killed:
        outcome.notes.append("the bot did not stop within 20 s of SIGTERM and was killed")
    elif outcome.exit_code:
        outcome.notes.append(f"the bot exited with {outcome.exit_code} after SIGTERM")
    outcome.notes += log_notes(log.read_text("utf-8", "replace"))
    _source_facts(side, config, directory, outcome)


def _source_facts(side: Side, config: Path, directory: Path, outcome: Pass) -> None:
    """Failed sources and what the hostile feed stored, as `sources list` tells it."""
    listing = newsdigest(side, config, directory, "sources", "list", "--json")
    rows = [json.loads(line) for line in listing.splitlines() if line.strip()]
    outcome.checked = sum(1 for row in rows if row.get("last_checked_at"))
    outcome.failed = sum(1 for row in rows if row.get("last_error"))
    outcome.notes += [
        f"source {row.get('name')!r} failed: {row['last_error']}"
        for row in rows
        if row.get("last_error") and row.get("name") != "hostile"
    ][:5]
    for row in rows:
        if row.get("name") == "hostile":
            outcome.hostile_articles = row.get("articles")
            outcome.hostile_error = row.get("last_error")


def log_notes(text: str) -> list[str]:
    """What the bot's log says went wrong beyond the sources' own failures
    (reported from the database): errors, other warnings, tracebacks."""
    notes = []
    lines = text.splitlines()
    errors = [line for line in lines if " ERROR " in line]
    warnings = [line for line in lines if " WARNING " in line and "newsdigest.ingest" not in line]
    for kind, found in (("ERROR", errors), ("WARNING", warnings)):
        if found:
            first = found[0].split(" ", 2)[-1][:200]
            notes.append(f"the bot logged {len(found)} {kind} line(s), the first: {first}")
    if "Traceback" in text:
        notes.append("a traceback in the bot's log")
    return notes


def _failure(bot: subprocess.Popen[bytes], log: Path, what: str) -> str:
    stop_process(bot, wait=5)
    text = log.read_text("utf-8", "replace")
    return f"`newsdigest run` {what} (exit {bot.returncode}): {_last_line(text)}"


# -- the report ---------------------------------------------------------------------------


def summary(passes: Sequence[Pass]) -> dict[str, Any]:
    measured = [p for p in passes if p.error is None]
    result: dict[str, Any] = {
        "passes": len(passes),
        "measured": len(measured),
        "errors": sorted({p.error for p in passes if p.error}),
        "goal_met": False,
    }
    if not measured:
        return result
    finished = [p for p in measured if p.finished]
    ingest = [p.ingest_s for p in finished if p.ingest_s is not None]
    summarizing = [p.summarized_s for p in finished if p.summarized_s is not None]
    worst = max(measured, key=lambda p: p.stall_ms)
    result.update(
        {
            "finished": len(finished),
            "stall_worst_ms": worst.stall_ms,
            "stall_worst_censored": worst.stall_censored,
            "stall_median_ms": statistics.median(p.stall_ms for p in measured),
            "p50_median_ms": statistics.median(p.p50_ms for p in measured),
            "p95_median_ms": statistics.median(p.p95_ms for p in measured),
            "p95_censored": any(p.p95_censored for p in measured),
            "max_worst_ms": max(p.max_ms for p in measured),
            "unanswered": sum(p.unanswered for p in measured),
            "ingest_median_s": statistics.median(ingest) if len(ingest) == len(measured) else None,
            "summarized_median_s": (
                statistics.median(summarizing) if len(summarizing) == len(measured) else None
            ),
            "failed_median": statistics.median(p.failed for p in measured),
            "hostile_articles": sorted({p.hostile_articles for p in measured}, key=str),
            "goal_met": len(measured) == len(passes)
            and all(p.stall_ms < GOAL_MS and p.finished for p in measured),
        }
    )
    return result


def _ms(value: float, at_least: bool = False) -> str:
    return f"{'≥' if at_least else ''}{value:,.0f}"


def _ingest(p: Pass, cap: float) -> str:
    return f"{p.ingest_s:.1f}" if p.ingest_s is not None else f"did not finish (≥{cap:.0f})"


def _summarized(p: Pass, cap: float) -> str:
    if p.summarized_s is None:
        return f"did not finish (≥{cap:.0f})"
    return f"{p.summarized_s:.1f}"


def summary_rows(sides: dict[str, dict[str, Any]], cap: float) -> list[tuple[str, ...]]:
    labels = list(sides)

    def row(name: str, render: Any) -> tuple[str, ...]:
        return (
            name,
            *[render(sides[label]) if sides[label]["measured"] else "-" for label in labels],
        )

    return [
        (
            "passes measured",
            *[f"{sides[label]['measured']}/{sides[label]['passes']}" for label in labels],
        ),
        row(
            "longest stall, worst pass (ms)",
            lambda s: _ms(s["stall_worst_ms"], s["stall_worst_censored"]),
        ),
        row("longest stall, median pass (ms)", lambda s: _ms(s["stall_median_ms"])),
        row("reply p50, median pass (ms)", lambda s: _ms(s["p50_median_ms"])),
        row(
            "reply p95, median pass (ms)",
            lambda s: _ms(s["p95_median_ms"], s["p95_censored"]),
        ),
        row(
            "reply max, worst pass (ms)",
            lambda s: _ms(s["max_worst_ms"], s["unanswered"] > 0),
        ),
        row(
            "first feed request → all fetched, median (s)",
            lambda s: (
                f"{s['ingest_median_s']:.1f}"
                if s["ingest_median_s"] is not None
                else f"did not finish (≥{cap:.0f})"
            ),
        ),
        row(
            "first feed request → all summarized, median (s)",
            lambda s: (
                f"{s['summarized_median_s']:.1f}"
                if s.get("summarized_median_s") is not None
                else f"did not finish (≥{cap:.0f})"
            ),
        ),
        row("passes that finished", lambda s: f"{s['finished']}/{s['passes']}"),
        row("commands never answered (all passes)", lambda s: f"{s['unanswered']}"),
        row("failed sources, median", lambda s: f"{s['failed_median']:.0f}"),
        row("hostile feed: articles stored", lambda s: ", ".join(map(str, s["hostile_articles"]))),
        (
            f"goal: longest stall < {GOAL_MS:.0f} ms",
            *["met" if sides[label]["goal_met"] else "not met" for label in labels],
        ),
    ]


PASS_COLUMNS = (
    "side",
    "#",
    "commands",
    "unanswered",
    "p50 ms",
    "p95 ms",
    "max ms",
    "longest stall ms",
    "stall began (s after 1st request)",
    "start → 1st request (s)",
    "hostile requested (s)",
    "1st request → all fetched (s)",
    "1st request → all summarized (s)",
    "articles",
    "failed",
    "hostile articles",
    "bot killed",
)


def pass_row(p: Pass, cap: float) -> tuple[str, ...]:
    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    if p.error is not None:
        return (p.side, str(p.number), "not measured (see notes)", *["-"] * 14)
    return (
        p.side,
        str(p.number),
        str(p.commands),
        str(p.unanswered),
        _ms(p.p50_ms, p.p50_censored),
        _ms(p.p95_ms, p.p95_censored),
        _ms(p.max_ms, p.unanswered > 0),
        _ms(p.stall_ms, p.stall_censored),
        seconds(p.stall_at_s),
        seconds(p.start_to_first_request_s),
        seconds(p.hostile_requested_s),
        _ingest(p, cap),
        _summarized(p, cap),
        str(p.articles),
        str(p.failed),
        "-" if p.hostile_articles is None else str(p.hostile_articles),
        "yes" if p.killed else "no",
    )


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|---|" + "---:|" * (len(header) - 1),
        *["| " + " | ".join(row) + " |" for row in rows],
    ]


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(load: tuple[float, float], elapsed: float) -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "cpu": _cpu(),
        "machine": platform.machine(),
        "system": platform.system(),
        "python": platform.python_version(),
        "load_average_start": load[0],
        "load_average_end": load[1],
        "seconds": round(elapsed),
    }


def report(
    argv: Sequence[str],
    facts: dict[str, Any],
    sides: Sequence[Side],
    passes: Sequence[Pass],
    summaries: dict[str, dict[str, Any]],
    settings: dict[str, Any],
) -> str:
    cap = settings["cap_s"]
    command = " ".join([COMMAND, *argv])
    lines = [
        "# Event-loop stall: chat replies while `newsdigest run` ingests",
        "",
        f"`{command}`",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on **{facts['cpus']} CPUs** "
        f"({facts['cpu']}, {facts['machine']}), Python {facts['python']}; load average "
        f"{facts['load_average_start']:.1f} at the start, {facts['load_average_end']:.1f} "
        f"at the end; {facts['seconds']} s in all.",
        "",
        *[f"- **{side.label}**: {side.describe}; imports `{side.imports}`" for side in sides],
        "",
        f"A real `newsdigest run` (fresh SQLite file, the fake Bot API server on 127.0.0.1) "
        f"ingests its first round: {settings['feeds']} distinct JSON feeds of 5 articles "
        "(cut from zh_news_raw.jsonl) and, added between their halves, one hostile RSS feed "
        f"(`<AUTHOR>` and `<dc:publisher>` each holding one {HOSTILE_CHARS // 1024} KB "
        "string). "
        f"Meanwhile a user sends `/help` every {settings['cadence_ms']:.0f} ms (open loop, "
        "one chat per command) from the bot's first answer until every source has been "
        "fetched once and every article stored is summarized (the summarize stage "
        f"follows the fetch round) or {cap:.0f} s passed, then a grace for replies due "
        "(until all are "
        f"answered, none came for {GRACE_IDLE_SECONDS:.0f} s, or {GRACE_SECONDS:.0f} s "
        "passed). Latency: sendMessage arriving at the fake server minus the update "
        "queued there; a command never answered counts until the end. **Longest stall**: "
        "the longest interval with a command outstanding and no reply arriving: a loop "
        "frozen for F s shows as at least F s minus the cadence, so it bounds the bot's "
        "longest event-loop stall from outside. ≥: still going (or unanswered) at the end. "
        f"{settings['runs']} timed pass(es) per side, interleaved (before, after, ...).",
        "",
        *_table(["", *summaries], summary_rows(summaries, cap)),
        "",
        "## Every pass",
        "",
        *_table(PASS_COLUMNS, [pass_row(p, cap) for p in passes]),
        "",
    ]
    notes = [
        f"- {p.side} #{p.number}: {note}"
        for p in passes
        for note in ([f"not measured: {p.error}"] if p.error else []) + p.notes
    ]
    errors = sorted({f"{p.side}: {p.hostile_error}" for p in passes if p.hostile_error})
    notes += [f"- hostile feed's recorded error, {error}" for error in errors]
    if notes:
        lines += ["## Notes", "", *notes, ""]
    return "\n".join(lines)


def console_table(summaries: dict[str, dict[str, Any]], cap: float) -> Table:
    table = Table(title="loopstall (ingest round in `newsdigest run`)")
    table.add_column("metric")
    for label in summaries:
        table.add_column(label, justify="right")
    for row in summary_rows(summaries, cap):
        table.add_row(*row)
    return table


# -- main ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed passes per side")
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument(
        "--before", default=DEFAULT_BEFORE, help="git revision for the 'before' side"
    )
    parser.add_argument(
        "--cap", type=float, default=CAP_SECONDS, help="seconds a pass may measure at most"
    )
    parser.add_argument("--cadence-ms", type=float, default=CADENCE_SECONDS * 1000)
    parser.add_argument(
        "--after",
        default="",
        help="git revision for the 'after' side (default: the working tree as it is)",
    )
    parser.add_argument(
        "--keep-worktree", action="store_true", help="leave the worktrees made here in place"
    )
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    if not CORPUS.is_file():
        console.print(f"loopstall: skipped: it needs {CORPUS} (../shared is not present)")
        return 0
    rows = load_rows()
    started = time.monotonic()
    load_start = os.getloadavg()[0]
    head = _git("rev-parse", "--short", "HEAD")
    changed = len(_git("status", "--porcelain").splitlines())
    passes: list[Pass] = []
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="loopstall-")))
        sides = []
        for label, revision in (("before", args.before), ("after", args.after)):
            if revision:
                root = stack.enter_context(worktree(revision, label, args.keep_worktree, console))
                short = _git("rev-parse", "--short", f"{revision}^{{commit}}")
                sides.append(Side(label, root, f"{short} in a worktree ({root})"))
            else:
                described = f"the working tree ({REPO}, HEAD {head} + {changed} changed paths)"
                sides.append(Side(label, REPO, described))
        for side in sides:
            side.imports = check_imports(side, workdir)
            console.print(f"{side.label}: {side.describe}; imports {side.imports}")
        for number in range(1, args.runs + 1):
            for side in sides:
                with console.status(f"{side.label} pass {number}/{args.runs} ..."):
                    result = run_pass(
                        side, number, rows, args.feeds, args.cap, args.cadence_ms / 1000, workdir
                    )
                passes.append(result)
                if result.error:
                    console.print(f"{side.label} #{number}: not measured: {result.error}")
                else:
                    console.print(
                        f"{side.label} #{number}: longest stall "
                        f"{_ms(result.stall_ms, result.stall_censored)} ms, p95 "
                        f"{_ms(result.p95_ms, result.p95_censored)} ms, all fetched "
                        f"{_ingest(result, args.cap)} s after the first feed request"
                    )
    summaries = {side.label: summary([p for p in passes if p.side == side.label]) for side in sides}
    facts = machine((load_start, os.getloadavg()[0]), time.monotonic() - started)
    settings = {
        "runs": args.runs,
        "feeds": args.feeds,
        "cap_s": args.cap,
        "cadence_ms": args.cadence_ms,
        "grace_s": GRACE_SECONDS,
        "grace_idle_s": GRACE_IDLE_SECONDS,
        "hostile_chars": HOSTILE_CHARS,
        "goal_ms": GOAL_MS,
    }
    shown_argv = list(argv if argv is not None else sys.argv[1:])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "loopstall.md").write_text(
        report(shown_argv, facts, sides, passes, summaries, settings), "utf-8"
    )
    (RESULTS / "loopstall.json").write_text(
        json.dumps(
            {
                "machine": facts,
                "settings": settings,
                "sides": {
                    side.label: {"code": side.describe, "imports": side.imports} for side in sides
                },
                "summary": summaries,
                "passes": [asdict(p) for p in passes],
            },
            indent=2,
            ensure_ascii=False,
        ),
        "utf-8",
    )
    Console().print(console_table(summaries, args.cap))
    return 0


if __name__ == "__main__":
    sys.exit(main())
