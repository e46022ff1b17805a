"""Scale benchmark: one and two workers on PostgreSQL, one process on SQLite.

    .venv/bin/python -m benchmarks.scale [--feeds 200] [--items 5] [--chats 5000] [--repeat 1]
        [--before REV] [--keep-worktree]

Three setups side by side, each running the real commands as separate processes:

- SQLite, one ``newsdigest run`` (the bot: also long-polls the Bot API) — the
  anchor: what one file and one process do;
- PostgreSQL, one ``newsdigest worker``;
- PostgreSQL, two ``newsdigest worker`` processes on the same database.

Each setup gets two fresh databases, one per phase:

- ingest: FEEDS RSS feeds of ITEMS distinct articles each (synthetic Chinese
  drawn from the words of the project's demo corpus), served by a FeedServer in
  this process, all due at once. Timed from the first feed request the server
  sees (so process start-up — imports, connecting, the first job — is outside
  the window for every setup and reported apart) until every article is stored
  and summarized (the jieba dictionary load of each process is inside it).
- delivery: one edition already built, CHATS subscribers, pacing off. Timed
  from the first sendMessage the fake Bot API server receives to the last; the
  fake server's record checks that every chat got it exactly once.

The feed server and the fake Bot API server run in this process (threads with
their own event loops), so on a small machine they compete with the processes
for the same cores and may be the bottleneck; CPU seconds per phase are reported
to show where the time went. PostgreSQL: $TEST_POSTGRES_URL, else the throwaway
server of ``scripts/postgres.sh`` on port 55433; a database is created per phase
and dropped after.

--before REV (default off) also measures revision REV with its own copy of this
module (the benchmark changed with the product), checked out in a worktree:
each round of each side is then a fresh process of that side's code
(``benchmarks.revisions``; its ``newsdigest`` processes import that side's
code too), before and after interleaved round by round, and a before-vs-after
table is added. Writes benchmarks/results/scale.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.progress import Progress, TaskID
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from benchmarks import revisions
from benchmarks.delivery import ArrivalClock, TimedFake
from bot.fake_telegram import FakeTelegram
from digests.config import Settings
from digests.editions.build import build_edition
from digests.editions.schedule import latest_slot
from digests.feedserver import FeedServer
from digests.ingest.parse import parse_feed_bytes
from digests.localserver import Request
from digests.sources.refresh import read_issue
from digests.store.db import Database, describe_url
from digests.store.deliveries import ledger_counts
from digests.store.models import Article, Delivery, Source
from digests.store.sources import add_source
from digests.text.tokens import load_segmenter, words
from tests.botkit import EARLIER, add_subscribers, store_news

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
DEMO_CORPUS = REPO / "digests" / "demo_corpus"
POSTGRES_ENV = "TEST_POSTGRES_URL"
DEFAULT_POSTGRES = "postgresql+psycopg://newsdigest@127.0.0.1:55433/postgres"
POLL_SECONDS = 0.1
# A machine busier than this before a phase is doing other work: wait for it.
IDLE_BELOW = 0.15
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Setup:
    name: str
    backend: str  # "sqlite" or "postgresql"
    command: str  # "run" or "worker"
    processes: int


SETUPS = (
    Setup("SQLite, `newsdigest run`", "sqlite", "run", 1),
    Setup("PostgreSQL, `newsdigest worker`", "postgresql", "worker", 1),
    Setup("PostgreSQL, 2 × `newsdigest worker`", "postgresql", "worker", 2),
)


@dataclass(frozen=True)
class Cpu:
    """CPU seconds spent in a window, by whom, and how busy the machine was."""

    processes: tuple[float, ...]  # each newsdigest process
    database: float | None  # the PostgreSQL backends serving the database (None: SQLite)
    bench: float  # this process: feed server, fake Bot API server, polling
    machine_busy: float  # share of all the machine's cores busy, whoever used them
    elsewhere: float  # busy CPU seconds none of the above account for: other work


@dataclass(frozen=True)
class Phase:
    """One timed phase of one setup: its window and the CPU spent in it."""

    items: int  # articles summarized, or messages that arrived
    startup_s: float  # processes started -> first request to the server
    stored_s: float  # ingest: first request -> every article stored (0 for delivery)
    seconds: float  # first request -> done
    cpu: Cpu  # spent within the window

    @property
    def per_second(self) -> float:
        return self.items / max(self.seconds, 1e-9)


@dataclass(frozen=True)
class Delivered:
    phase: Phase
    exactly_once: int
    duplicated: int
    missing: int
    per_process: list[int]  # messages sent by each process (the ledger's claimed_by)


@dataclass(frozen=True)
class Outcome:
    setup: Setup
    ingest: Phase
    delivery: Delivered


# -- articles (pure) -------------------------------------------------------------


def demo_words() -> list[str]:
    """The content words of the demo corpus's Chinese articles (written for the
    project), in order, repeats kept: drawing from them keeps the corpus's
    word frequencies."""
    bodies = [
        article.body
        for name in ("zh_wire.xml", "zh_city.json")
        for article in parse_feed_bytes((DEMO_CORPUS / name).read_bytes()).articles
    ]
    for issue in sorted(DEMO_CORPUS.glob("issue_*.txt")):
        bodies += [article.body for article in read_issue(issue.read_bytes(), issue.name)]
    return [word for body in bodies for word in words(body, "zh")]


def _sentence(rng: random.Random, vocabulary: Sequence[str]) -> str:
    picked = rng.choices(vocabulary, k=rng.randint(10, 18))
    comma = rng.randint(3, len(picked) - 3)
    return "".join(picked[:comma]) + "，" + "".join(picked[comma:]) + "。"


def make_articles(vocabulary: Sequence[str], count: int, seed: int = 7) -> list[tuple[str, str]]:
    """``count`` distinct (title, body) pairs of synthetic Chinese: sentences of
    words drawn at random, 12-20 sentences in paragraphs of three or four
    (about 500 characters, like the demo articles).

    Whole corpus sentences reshuffled would share long runs of text, and the
    near-duplicate lookup would spend its time on look-alikes that real news
    seldom has; random words share about as few 4-grams as unrelated stories."""
    rng = random.Random(seed)
    articles = []
    for number in range(1, count + 1):
        sentences = [_sentence(rng, vocabulary) for _ in range(rng.randint(12, 20))]
        paragraphs = []
        while sentences:
            size = rng.randint(3, 4)
            paragraphs.append("".join(sentences[:size]))
            sentences = sentences[size:]
        title = "".join(rng.choices(vocabulary, k=rng.randint(4, 7)))
        articles.append((f"{title}（第{number}篇）", "\n".join(paragraphs)))
    return articles


def rss(feed: int, articles: Sequence[tuple[str, str]], published: datetime) -> bytes:
    items = "".join(
        f'<item><guid isPermaLink="false">scale-{feed}-{n}</guid><title>{escape(title)}</title>'
        f"<pubDate>{format_datetime(published)}</pubDate><description>"
        + escape("".join(f"<p>{escape(p)}</p>" for p in body.split("\n")))
        + "</description></item>"
        for n, (title, body) in enumerate(articles)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>scale feed {feed}</title>{items}</channel></rss>"
    ).encode()


# -- the servers in this process --------------------------------------------------


class TimedFeedServer(FeedServer):
    """The feed server, noting when the first request arrived (time.monotonic())."""

    first_request: float | None = None

    async def route(self, request: Request, writer):  # type: ignore[no-untyped-def]
        if self.first_request is None:
            self.first_request = time.monotonic()
        await super().route(request, writer)


# -- databases ----------------------------------------------------------------------


class Databases:
    """Fresh databases: a SQLite file in ``directory``, or a new database on the
    PostgreSQL server, dropped (with any connection left) when the phase ends."""

    def __init__(self, directory: Path, postgres_url: str) -> None:
        self.directory = directory
        self.postgres_url = postgres_url
        self._admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")

    def check_postgres(self) -> None:
        try:
            with self._admin.connect() as connection:
                connection.execute(text("SELECT 1"))
        except OperationalError:
            raise SystemExit(
                f"scale: PostgreSQL is not reachable at {describe_url(self.postgres_url)}: "
                f"set {POSTGRES_ENV} or start one with `bash scripts/postgres.sh start`"
            ) from None

    @contextmanager
    def fresh(self, backend: str) -> Iterator[str]:
        name = f"newsdigest_scale_{uuid.uuid4().hex[:12]}"
        if backend == "sqlite":
            yield f"sqlite:///{self.directory / name}.db"
            return
        with self._admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield (
                make_url(self.postgres_url).set(database=name).render_as_string(hide_password=False)
            )
        finally:
            with self._admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        self._admin.dispose()


# -- processes ----------------------------------------------------------------------


def _command() -> list[str]:
    script = Path(sys.executable).with_name("newsdigest")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "bot.cli"]


def environment(telegram: FakeTelegram, database_url: str) -> dict[str, str]:
    """This environment without NEWSDIGEST_ settings, plus the benchmark's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDIGEST_")}
    env.update(
        {
            "NEWSDIGEST_BOT_TOKEN": telegram.token,
            "NEWSDIGEST_BOT__API_URL": telegram.api_url,
            "NEWSDIGEST_DATABASE_URL": database_url,
            "NEWSDIGEST_DELIVERY__MESSAGES_PER_SECOND": "0",
            "NEWSDIGEST_DELIVERY__PER_CHAT_INTERVAL": "0",
            "NEWSDIGEST_METRICS__PORT": "0",
            "NEWSDIGEST_FETCH__ALLOWED_NETWORKS": '["127.0.0.0/8"]',
            "PTB_TIMEDELTA": "1",
        }
    )
    return env


class Processes:
    """``setup.processes`` copies of ``newsdigest COMMAND``, logging to files."""

    def __init__(self, setup: Setup, env: dict[str, str], directory: Path, label: str) -> None:
        self.command = [*_command(), setup.command]
        self.logs: list[Path] = []
        self.started = time.monotonic()
        self.running: list[subprocess.Popen[bytes]] = []
        self._files: list[TextIO] = []
        for number in range(setup.processes):
            log = directory / f"{label}-{number}.log"
            handle = log.open("w", encoding="utf-8")
            self.logs.append(log)
            self._files.append(handle)
            self.running.append(
                subprocess.Popen(
                    self.command,
                    cwd=directory,
                    env=env,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                )
            )

    def check_alive(self) -> None:
        for process, log in zip(self.running, self.logs, strict=True):
            if process.poll() is not None:
                self.stop(check=False)
                raise SystemExit(self._failure(process, log))

    def stop(self, *, check: bool = True) -> None:
        """SIGTERM each (a clean stop), kill any that outlives a minute; with
        ``check``, one that failed or logged a traceback ends the benchmark."""
        for process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for handle in self._files:
            handle.close()
        if not check:
            return
        for process, log in zip(self.running, self.logs, strict=True):
            if process.returncode != 0 or "Traceback" in log.read_text("utf-8", "replace"):
                raise SystemExit(self._failure(process, log))

    def _failure(self, process: subprocess.Popen[bytes], log: Path) -> str:
        tail = log.read_text("utf-8", "replace").strip().splitlines()[-15:]
        return (
            f"scale: `newsdigest {self.command[-1]}` ended with exit code "
            f"{process.returncode}; its log ends:\n" + "\n".join(tail)
        )


def cpu_of(pid: int) -> float:
    """User + system CPU seconds a process has used so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def machine_ticks() -> tuple[int, int]:
    """(all, idle) CPU ticks of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(values), values[3] + values[4]  # idle + iowait


@dataclass(frozen=True)
class _Sample:
    processes: list[float]
    database: dict[int, float]
    bench: float
    machine: tuple[int, int]


class CpuMeter:
    """Samples the CPU used by the processes under test, the PostgreSQL backends
    of their database (found in pg_stat_activity), this process and the machine."""

    def __init__(self, processes: Processes, db: Database) -> None:
        self.processes = processes
        self.db = db
        self.start: _Sample | None = None

    def _backends(self) -> dict[int, float]:
        if self.db.is_sqlite:
            return {}
        with self.db.read() as session:
            pids = session.scalars(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            ).all()
        return {int(pid): cpu_of(int(pid)) for pid in pids}

    def sample(self) -> _Sample:
        return _Sample(
            [cpu_of(process.pid) for process in self.processes.running],
            self._backends(),
            time.process_time(),
            machine_ticks(),
        )

    def begin(self) -> None:
        if self.start is None:
            self.start = self.sample()

    def since_begin(self) -> Cpu:
        end = self.sample()
        start = self.start
        assert start is not None
        all_ticks = end.machine[0] - start.machine[0]
        busy_ticks = all_ticks - (end.machine[1] - start.machine[1])
        processes = tuple(b - a for a, b in zip(start.processes, end.processes, strict=True))
        # A backend that started within the window counts from zero; one that
        # ended within it is lost (the workers' pools keep theirs).
        database = sum(used - start.database.get(pid, 0.0) for pid, used in end.database.items())
        bench = end.bench - start.bench
        return Cpu(
            processes=processes,
            database=None if self.db.is_sqlite else database,
            bench=bench,
            machine_busy=busy_ticks / max(all_ticks, 1),
            elsewhere=max(0.0, busy_ticks / CLOCK_TICKS - sum(processes) - database - bench),
        )


def machine_busy(seconds: float) -> float:
    """The share of all cores busy over the next ``seconds``."""
    first = machine_ticks()
    time.sleep(seconds)
    last = machine_ticks()
    all_ticks = last[0] - first[0]
    return 1 - (last[1] - first[1]) / max(all_ticks, 1)


def settle(limit: float, console: Console) -> float:
    """Wait (up to ``limit`` seconds) for the machine to be nearly idle, so that a
    phase does not start amid other work; returns the last busy share seen."""
    deadline = time.monotonic() + limit
    busy = machine_busy(1.0)
    if busy > IDLE_BELOW:
        console.print(f"waiting for the machine to settle ({busy:.0%} busy) …")
    while busy > IDLE_BELOW and time.monotonic() < deadline:
        busy = machine_busy(1.0)
    return busy


def wait_until(done: Callable[[], bool], processes: Processes, timeout: float, what: str) -> float:
    """Poll ``done`` until it holds; returns time.monotonic() when it did."""
    deadline = time.monotonic() + timeout
    while not done():
        processes.check_alive()
        if time.monotonic() > deadline:
            processes.stop(check=False)
            raise SystemExit(f"scale: timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(POLL_SECONDS)
    return time.monotonic()


# -- the phases ---------------------------------------------------------------------


def ingest_phase(
    setup: Setup,
    url: str,
    articles: Sequence[tuple[str, str]],
    feeds: int,
    workdir: Path,
    progress: Progress,
    task: TaskID,
    timeout: float,
    ready: Callable[[], object],
) -> Phase:
    db = Database(url)
    db.upgrade()
    per_feed = -(-len(articles) // feeds)
    published = datetime.now(UTC) - timedelta(minutes=30)
    with TimedFeedServer() as server, FakeTelegram() as telegram:
        with db.write() as session:
            for feed in range(feeds):
                chunk = articles[feed * per_feed : (feed + 1) * per_feed]
                if chunk:
                    location = server.put(f"scale-{feed}.xml", rss(feed, chunk, published))
                    add_source(
                        session,
                        kind="feed",
                        location=location,
                        name=f"scale feed {feed}",
                        interval_seconds=3600,
                    )
        expected = len(articles)
        stored_at: float | None = None

        def counts() -> tuple[int, int]:
            with db.read() as session:
                stored = session.scalar(select(func.count(Article.id))) or 0
                summarized = (
                    session.scalar(
                        select(func.count(Article.id)).where(
                            Article.summarized_hash == Article.content_hash
                        )
                    )
                    or 0
                )
            return stored, summarized

        progress.reset(task, total=expected, description=f"{setup.name}: ingest")
        ready()
        processes = Processes(setup, environment(telegram, url), workdir, "ingest")
        meter = CpuMeter(processes, db)

        def done() -> bool:
            nonlocal stored_at
            if server.first_request is not None:
                meter.begin()
            stored, summarized = counts()
            if stored_at is None and stored >= expected:
                stored_at = time.monotonic()
            progress.update(task, completed=summarized)
            return summarized >= expected

        finished = wait_until(done, processes, timeout, "every article to be summarized")
        cpu = meter.since_begin()
        processes.stop()
    db.close()
    first = server.first_request
    assert first is not None and stored_at is not None
    return Phase(
        items=expected,
        startup_s=first - processes.started,
        stored_s=stored_at - first,
        seconds=finished - first,
        cpu=cpu,
    )


def prepare_broadcast(url: str, chats: int) -> None:
    """News, an edition of the latest slot and ``chats`` subscribers; the news
    sources are not due (a fetch would leave the machine)."""
    settings = Settings(database_url=url)
    db = Database(url)
    db.upgrade()
    now = datetime.now(UTC)
    store_news(db, now - EARLIER)
    with db.write() as session:
        session.execute(update(Source).values(next_check_at=now + timedelta(days=1)))
    add_subscribers(db, range(1, chats + 1), created_at=now - EARLIER)
    slot = latest_slot(settings.schedules[0], now)
    assert slot is not None
    build_edition(db, settings.digest, now=now, edition_date=slot.edition_date, slot=slot.slot)
    db.close()


def delivery_phase(
    setup: Setup,
    url: str,
    chats: int,
    workdir: Path,
    progress: Progress,
    task: TaskID,
    timeout: float,
    ready: Callable[[], object],
) -> Delivered:
    prepare_broadcast(url, chats)
    db = Database(url)
    progress.reset(task, total=chats, description=f"{setup.name}: delivery")
    with TimedFake() as telegram:
        clock = ArrivalClock(telegram)

        def arrived() -> int:
            with telegram._lock:
                return sum(len(messages) for messages in telegram.sent.values())

        ready()
        processes = Processes(setup, environment(telegram, url), workdir, "delivery")
        meter = CpuMeter(processes, db)

        def done() -> bool:
            count = arrived()
            if count:
                meter.begin()
            progress.update(task, completed=count)
            if count < chats:
                return False
            with db.read() as session:
                ledger = ledger_counts(session)
            return not ledger.get("pending") and not ledger.get("sending")

        wait_until(done, processes, timeout, "the broadcast to settle")
        cpu = meter.since_begin()
        processes.stop()
        first, last = clock.window()
        with telegram._lock:
            received = [len(telegram.sent.get(chat, [])) for chat in range(1, chats + 1)]
    with db.read() as session:
        senders = session.execute(
            select(Delivery.claimed_by, func.count())
            .where(Delivery.state == "sent")
            .group_by(Delivery.claimed_by)
        ).all()
    db.close()
    phase = Phase(
        items=sum(received),
        startup_s=first - processes.started,
        stored_s=0.0,
        seconds=last - first,
        cpu=cpu,
    )
    return Delivered(
        phase=phase,
        exactly_once=sum(1 for n in received if n == 1),
        duplicated=sum(1 for n in received if n > 1),
        missing=sum(1 for n in received if n == 0),
        per_process=sorted((int(count) for _worker, count in senders), reverse=True),
    )


# -- the report -----------------------------------------------------------------------


def _median_phase(phases: Sequence[Phase]) -> Phase:
    """The run with the median rate (its other numbers come with it)."""
    ordered = sorted(phases, key=lambda phase: phase.per_second)
    return ordered[(len(ordered) - 1) // 2]


def summary_table(outcomes: Sequence[Outcome]) -> str:
    head = (
        "| setup | processes | ingest articles/s | delivery msg/s | exactly once | duplicated "
        "| missing |\n|---|---:|---:|---:|---:|---:|---:|\n"
    )
    rows = ""
    for setup in SETUPS:
        runs = [o for o in outcomes if o.setup == setup]
        if not runs:
            continue
        ingest = _median_phase([o.ingest for o in runs])
        delivery = _median_phase([o.delivery.phase for o in runs])
        rows += (
            f"| {setup.name} | {setup.processes} | {ingest.per_second:,.1f} "
            f"| {delivery.per_second:,.1f} "
            f"| {min(o.delivery.exactly_once for o in runs):,} "
            f"| {max(o.delivery.duplicated for o in runs)} "
            f"| {max(o.delivery.missing for o in runs)} |\n"
        )
    return head + rows


def detail_table(outcomes: Sequence[Outcome]) -> str:
    head = (
        "| setup | run | phase | start → first request (s) | window (s) | all stored (s) "
        "| rate /s | CPU s: newsdigest | CPU s: PostgreSQL | CPU s: this process "
        "| CPU s: other work | machine busy | sent per process |\n"
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n"
    )
    rows = ""
    for setup in SETUPS:
        runs = [o for o in outcomes if o.setup == setup]
        for number, outcome in enumerate(runs, 1):
            for name, phase, extra in (
                ("ingest", outcome.ingest, ""),
                (
                    "delivery",
                    outcome.delivery.phase,
                    " + ".join(f"{n:,}" for n in outcome.delivery.per_process),
                ),
            ):
                stored = f"{phase.stored_s:.2f}" if name == "ingest" else "-"
                cpu = phase.cpu
                processes = " + ".join(f"{seconds:.1f}" for seconds in cpu.processes)
                database = "-" if cpu.database is None else f"{cpu.database:.1f}"
                rows += (
                    f"| {setup.name} | {number} | {name} | {phase.startup_s:.2f} "
                    f"| {phase.seconds:.2f} | {stored} | {phase.per_second:,.1f} "
                    f"| {processes} | {database} | {cpu.bench:.1f} | {cpu.elsewhere:.1f} "
                    f"| {cpu.machine_busy:.0%} "
                    f"| {extra or '-'} |\n"
                )
    return head + rows


def outcome_from(data: dict[str, Any]) -> Outcome:
    """An Outcome from its ``dataclasses.asdict`` form (a child's record)."""

    def phase(values: dict[str, Any]) -> Phase:
        cpu = {**values["cpu"], "processes": tuple(values["cpu"]["processes"])}
        return Phase(
            **{
                **revisions.known_fields(Phase, values),
                "cpu": Cpu(**revisions.known_fields(Cpu, cpu)),
            }
        )

    delivered = data["delivery"]
    return Outcome(
        setup=Setup(**revisions.known_fields(Setup, data["setup"])),
        ingest=phase(data["ingest"]),
        delivery=Delivered(
            **{
                **revisions.known_fields(Delivered, delivered),
                "phase": phase(delivered["phase"]),
            }
        ),
    )


COMPARISON_HEADER = (
    "setup",
    "runs (before / after)",
    "ingest articles/s before: median (min–max)",
    "ingest after",
    "change",
    "delivery msg/s before: median (min–max)",
    "delivery after",
    "change",
    "exactly once, worst run (before / after)",
    "duplicated, worst",
    "missing, worst",
)


def comparison_rows(before: Sequence[Outcome], after: Sequence[Outcome]) -> list[list[str]]:
    """Per setup: ingest articles/s and delivery msg/s of each side (median and
    range over runs) with the change of the medians, and the worst run of each
    side for exactly once, duplicated and missing."""
    rows = []
    for setup in SETUPS:
        sides = [[o for o in outcomes if o.setup == setup] for outcomes in (before, after)]
        if not any(sides):
            continue
        cells = [setup.name, " / ".join(str(len(side)) for side in sides)]
        for rate in (
            lambda o: o.ingest.per_second,
            lambda o: o.delivery.phase.per_second,
        ):
            values = [[rate(o) for o in side] for side in sides]
            cells += [revisions.spread(values[0]), revisions.spread(values[1])]
            cells.append(
                revisions.change(median(values[0]), median(values[1])) if all(values) else "-"
            )
        for count, choose in (("exactly_once", min), ("duplicated", max), ("missing", max)):
            cells.append(
                " / ".join(
                    f"{choose(getattr(o.delivery, count) for o in side):,}" if side else "-"
                    for side in sides
                )
            )
        rows.append(cells)
    return rows


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    return (
        "| "
        + " | ".join(header)
        + " |\n|---|"
        + "---:|" * (len(header) - 1)
        + "\n"
        + "".join("| " + " | ".join(row) + " |\n" for row in rows)
    )


def before_after(
    before: Sequence[Outcome], after: Sequence[Outcome], found: Sequence[revisions.Side]
) -> str:
    revision = found[0].describe.split(" ", 1)[0] if found else "before"
    return (
        "\n## Before vs after\n\n"
        "Each round of each side is a fresh process running that side's own copy of\n"
        "`benchmarks/scale.py` (cwd and PYTHONPATH at its root; the `newsdigest` processes\n"
        "it starts inherit that PYTHONPATH), one round of the three setups, before and\n"
        "after interleaved round by round. The SQLite `newsdigest run` row is the anchor\n"
        "(one file, one process). *change*: after's median against before's. Exactly\n"
        "once, duplicated and missing: the worst run of each side (before / after).\n\n"
        + _markdown(COMPARISON_HEADER, comparison_rows(before, after))
        + f"\n## Before ({revision}): where the time went\n\n"
        + detail_table(before)
    )


def report(
    outcomes: Sequence[Outcome],
    args: argparse.Namespace,
    jieba_s: float,
    load: tuple[float, float],
    elapsed: float,
    before: Sequence[Outcome] = (),
    found: Sequence[revisions.Side] = (),
) -> str:
    repeat = (
        f"Each number is the median of {args.repeat} runs (the setups interleaved, so load\n"
        "from elsewhere falls on all of them); exactly once, duplicated and missing are\n"
        "the worst run's.\n\n"
        if args.repeat > 1
        else "\n"
    )
    before_option = f" --before {args.before}" if getattr(args, "before", "") else ""
    sides = "\n".join(revisions.sides_lines(found)) + "\n\n" if found else ""
    return (
        "# Scale benchmark: one process on SQLite, one and two workers on PostgreSQL\n\n"
        f"`.venv/bin/python -m benchmarks.scale --feeds {args.feeds} --items {args.items} "
        f"--chats {args.chats} --repeat {args.repeat} --settle {args.settle:.0f}"
        f"{before_option}`\n\n"
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on **{os.cpu_count()} CPUs** "
        f"({revisions.cpu_model()}, {platform.machine()}), Python "
        f"{platform.python_version()}; load average "
        f"{load[0]:.1f} at the start, {load[1]:.1f} at the end; {elapsed:.0f} s in all.\n\n"
        + sides
        + (
            "The first two tables are the working tree's (after); the before-vs-after\n"
            "table and the before side's detail follow them.\n\n"
            if found
            else ""
        )
        + "Real processes: `newsdigest run` (the bot, which also long-polls the Bot API) on\n"
        "SQLite, `newsdigest worker` on PostgreSQL; a fresh database per phase.\n\n"
        f"- **Ingest**: {args.feeds} RSS feeds × {args.items} distinct articles (synthetic "
        "Chinese drawn\n  from the demo corpus's words), all due at once, served from this "
        "process.\n  Articles/s = articles / (first feed request → every article stored and\n"
        "  summarized). Start-up (imports, connecting, the first job) is outside the window\n"
        "  for every setup (*start → first request* below); each process's jieba\n"
        f"  dictionary load (about {jieba_s:.1f} s here) is inside it.\n"
        f"- **Delivery**: one edition to {args.chats:,} chats, pacing off. Msg/s = messages /\n"
        "  (first sendMessage → last) as the fake Bot API server saw them; exactly once,\n"
        "  duplicated and missing are counted per chat from the fake server's record.\n\n"
        + repeat
        + summary_table(outcomes)
        + "\n## Where the time went\n\n"
        "CPU seconds within each window: *newsdigest*, each process under test;\n"
        "*PostgreSQL*, the server's backends for the phase's database (the benchmark's\n"
        "polling included; on SQLite the database work is inside the process); *this\n"
        "process*, the feed server, the fake Bot API server and the polling; *other work*,\n"
        "busy CPU none of these account for: other programs on the machine (each phase\n"
        f"waits up to {args.settle:.0f} s for an idle machine before it starts, but cannot\n"
        "stop what starts later), and processes the meter does not see: the worker\n"
        "processes newsdigest parses feeds in (code after 0a3efbc) and PostgreSQL backends that\n"
        "start and end within the window (a connection opened and closed mid-phase).\n"
        "*Machine busy*: the share of all cores busy in the\n"
        "window. *All stored*: first feed request → every article stored (the rest of\n"
        "the window is summarizing). *Sent per process*: the ledger's `claimed_by` of\n"
        "sent rows.\n\n" + detail_table(outcomes) + "\nReading it:\n\n"
        "- Fetching splits across workers: a round claims a few sources at a time\n"
        "  (twice `fetch.concurrency`) as its fetches finish, so two workers started\n"
        "  together share the feeds (compare *all stored* with one and two workers).\n"
        "  Summarizing splits less: both workers summarize what is stored, and when they\n"
        "  prepare the same batch the one that writes second keeps only what is still\n"
        "  unsummarized (a transaction lock), so part of its work is discarded.\n"
        "- Delivery splits per chat: both workers send. Each message costs a claim and a\n"
        "  mark (each its own write transaction); the code measured here runs them in\n"
        "  threads (`bot.services.offload`), the event loop only waits (at 0a3efbc the\n"
        "  loop made those calls itself). PostgreSQL round trips that SQLite answers\n"
        "  in-process still cost each message; two workers overlap them until the cores\n"
        "  run out (two workers, PostgreSQL and the fake server share them: see *machine\n"
        "  busy*).\n\n"
        "Limits: the fake Bot API and feed servers share this process (one Python thread\n"
        "each, a new TCP connection per request) and the machine's cores with the processes\n"
        "and PostgreSQL, so on a small machine they may be the bottleneck; the numbers\n"
        "compare setups on one machine, not Telegram's real speed.\n"
        + (before_after(before, outcomes, found) if before else "")
    )


def run_rounds(
    args: argparse.Namespace, articles: Sequence[tuple[str, str]], console: Console
) -> list[Outcome]:
    """``args.repeat`` rounds of the three setups in this process (this tree's code)."""
    postgres_url = os.environ.get(POSTGRES_ENV) or DEFAULT_POSTGRES
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="newsdigest-scale-") as directory:
        databases = Databases(Path(directory), postgres_url)
        databases.check_postgres()
        try:
            with Progress(console=console, transient=True) as progress:

                def ready() -> float:
                    return settle(args.settle, progress.console)

                task = progress.add_task("", total=None)
                for _round in range(args.repeat):
                    for setup in SETUPS:
                        workdir = Path(directory) / f"{setup.backend}-{setup.processes}"
                        workdir.mkdir(exist_ok=True)
                        with databases.fresh(setup.backend) as url:
                            ingest = ingest_phase(
                                setup,
                                url,
                                articles,
                                args.feeds,
                                workdir,
                                progress,
                                task,
                                args.timeout,
                                ready,
                            )
                        with databases.fresh(setup.backend) as url:
                            delivery = delivery_phase(
                                setup,
                                url,
                                args.chats,
                                workdir,
                                progress,
                                task,
                                args.timeout,
                                ready,
                            )
                        outcomes.append(Outcome(setup, ingest, delivery))
                        console.print(
                            f"{setup.name}: ingest {ingest.per_second:,.1f} articles/s, "
                            f"delivery {delivery.phase.per_second:,.1f} msg/s"
                        )
        finally:
            databases.close()
    return outcomes


def run_sides(
    args: argparse.Namespace, console: Console
) -> tuple[list[Outcome], list[Outcome], list[revisions.Side]]:
    """--before: each side's own benchmark, one round per child process, the sides
    interleaved round by round. Returns (before, after, the sides)."""
    child_argv = [
        *("--feeds", str(args.feeds), "--items", str(args.items), "--chats", str(args.chats)),
        *("--repeat", "1", "--timeout", str(args.timeout), "--settle", str(args.settle)),
    ]
    results: dict[str, list[Outcome]] = {"before": [], "after": []}
    with (
        revisions.sides(args.before, args.keep_worktree, console.print) as found,
        tempfile.TemporaryDirectory(prefix="nd-scale-") as directory,
    ):
        for side in found:
            console.print(f"{side.label}: {side.describe}; imports {side.imports}")
        for number in range(1, args.repeat + 1):
            for side in found:
                console.print(f"… {side.label}, round {number}/{args.repeat}")
                out = Path(directory) / f"{side.label}-{number}"
                record = revisions.run_child(side, "scale", child_argv, out)
                got = [outcome_from(data) for data in record["outcomes"] or []]
                if len(got) != len(SETUPS):
                    raise SystemExit(f"scale: {side.label} reported {len(got)} outcomes")
                results[side.label] += got
                for outcome in got:
                    console.print(
                        f"{side.label} #{number}, {outcome.setup.name}: ingest "
                        f"{outcome.ingest.per_second:,.1f} articles/s, delivery "
                        f"{outcome.delivery.phase.per_second:,.1f} msg/s"
                    )
    return results["before"], results["after"], found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200, help="feed sources to ingest")
    parser.add_argument("--items", type=int, default=5, help="articles per feed")
    parser.add_argument("--chats", type=int, default=5000, help="subscribers to deliver to")
    parser.add_argument("--repeat", type=int, default=1, help="runs per setup (median)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per phase")
    parser.add_argument(
        "--settle",
        type=float,
        default=120,
        help="seconds to wait, at most, for a busy machine to go idle before each phase",
    )
    parser.add_argument(
        "--before",
        default="",
        metavar="REV",
        help="also run REV's own copy of this benchmark in a git worktree, round by round "
        "with this tree's (default: off)",
    )
    parser.add_argument(
        "--keep-worktree", action="store_true", help="with --before: leave a worktree made here"
    )
    args = parser.parse_args(argv)
    for name in ("feeds", "items", "chats", "repeat"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    started = time.monotonic()
    load_at_start = os.getloadavg()[0]
    jieba_started = time.perf_counter()
    load_segmenter()
    jieba_s = time.perf_counter() - jieba_started
    console = Console(stderr=True)
    before: list[Outcome] = []
    found: list[revisions.Side] = []
    if args.before:
        before, outcomes, found = run_sides(args, console)
    else:
        articles = make_articles(demo_words(), args.feeds * args.items)
        outcomes = run_rounds(args, articles, console)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale.md").write_text(
        report(
            outcomes,
            args,
            jieba_s,
            (load_at_start, os.getloadavg()[0]),
            time.monotonic() - started,
            before,
            found,
        ),
        "utf-8",
    )
    print(summary_table(outcomes))
    if before:
        print(_markdown(COMPARISON_HEADER, comparison_rows(before, outcomes)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
