"""Delivery benchmark: one edition to 10^4 subscribers on the fake Bot API server.

    .venv/bin/python -m benchmarks.delivery [--chats 10000] [--paced-chats 10000]
        [--runs 1] [--before REV] [--keep-worktree]

Each run: a fresh SQLite copy holding the same news and N subscribers; the
edition is built, planned and delivered by the real Deliverer through
python-telegram-bot to the fake server on 127.0.0.1 (same process, own
thread). The fake server's record is the truth for what arrived.

Runs, side by side:
- ledger, pacing off, no faults: the ledger's own ceiling;
- ledger, default pace (25 msg/s overall, 1/s per chat): sustained rate;
- ledger, pacing off, faults (5% 429 retry_after=1, 1% 500, 1% hang, 0.5% 403),
  on_ambiguous = skip and = resend;
- anchor: what RSS bots commonly do — asyncio.gather over send_message, no
  ledger, no retry (64 at a time) — with and without the same faults.

Reported: messages/s (sent / time between the first and the last arrival),
build-to-last-delivery time, and per chat: exactly once, twice or more
(duplicated), never (lost: neither arrived nor accounted for), blocked (403,
correctly not sent), ambiguous (timed out after sending: ``unknown``).

--runs N repeats the whole set N times (the table shows, per run, the pass
with the median msg/s; every pass is listed too). --before REV (default off)
also measures revision REV with its own copy of this module (the benchmark
changed with the product), checked out in a worktree: each pass of each side
is then a fresh process of that side's code (``benchmarks.revisions``),
before and after interleaved, and a before-vs-after table is added.
Writes benchmarks/results/delivery.md and delivery.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from telegram import Bot
from telegram.error import TelegramError
from telegram.request import HTTPXRequest

from benchmarks import revisions
from bot.delivery import Deliverer
from bot.fake_telegram import FakeTelegram, RandomFaults
from bot.pacing import busiest_window
from bot.render import TelegramRenderer
from digests.config import DeliverySettings, Settings
from digests.editions.build import build_edition
from digests.editions.schedule import latest_slot
from digests.engine import Engine
from digests.store.db import Database
from tests.botkit import EARLIER, add_subscribers, delivery_states, store_news

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
FAULTS = RandomFaults(too_many=0.05, server_error=0.01, hang=0.01, blocked=0.005, retry_after=1)
FIRST_CHAT = 1_000_000


@dataclass
class Outcome:
    run: str
    chats: int
    messages_per_second: float
    build_to_last_delivery_s: float
    exactly_once: int
    duplicated: int
    lost: int
    blocked: int
    ambiguous: int
    ambiguous_arrived: int
    attempts: int
    busiest_second: int = 0  # most messages arriving in any one-second window


def template(directory: Path, chats: int) -> Path:
    path = directory / "template.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    store_news(db, datetime.now(UTC) - EARLIER)
    add_subscribers(
        db, range(FIRST_CHAT, FIRST_CHAT + chats), created_at=datetime.now(UTC) - EARLIER
    )
    db.close()
    return path


def _bot(telegram: FakeTelegram) -> Bot:
    request = HTTPXRequest(connection_pool_size=256, read_timeout=30, pool_timeout=30)
    return Bot(telegram.token, base_url=telegram.api_url, request=request)


def _tally(
    run: str,
    telegram: FakeTelegram,
    chats: Sequence[int],
    states: dict[int, str],
    built_at: float,
    elapsed_first_last: tuple[float, float],
) -> Outcome:
    received = {chat: len(telegram.sent.get(chat, [])) for chat in chats}
    blocked = {chat for chat, state in states.items() if state == "skipped"}
    ambiguous = {chat for chat, state in states.items() if state == "unknown"}
    first, last = elapsed_first_last
    sent = sum(received.values())
    return Outcome(
        run=run,
        chats=len(chats),
        messages_per_second=round(sent / max(last - first, 1e-9), 1),
        build_to_last_delivery_s=round(last - built_at, 2),
        exactly_once=sum(1 for n in received.values() if n == 1),
        duplicated=sum(1 for n in received.values() if n > 1),
        lost=sum(
            1
            for chat, n in received.items()
            if n == 0 and chat not in blocked and chat not in ambiguous
        ),
        blocked=len(blocked),
        ambiguous=len(ambiguous),
        ambiguous_arrived=sum(1 for chat in ambiguous if received[chat]),
        attempts=sum(telegram.attempts.values()),
        busiest_second=busiest_window(
            m["arrived"] for messages in telegram.sent.values() for m in messages
        ),
    )


class ArrivalClock:
    """First and last time a message arrived at the fake server."""

    def __init__(self, telegram: FakeTelegram) -> None:
        self.telegram = telegram

    def window(self) -> tuple[float, float]:
        stamps = [m["arrived"] for messages in self.telegram.sent.values() for m in messages]
        return (min(stamps), max(stamps)) if stamps else (0.0, 0.0)


class TimedFake(FakeTelegram):
    """The fake server, stamping each accepted message with time.monotonic()."""

    async def _send_message(self, parameters, *, edit=False):  # type: ignore[no-untyped-def]
        message = await super()._send_message(parameters, edit=edit)
        with self._lock:
            self.sent[int(parameters["chat_id"])][-1]["arrived"] = time.monotonic()
        return message


async def ledger_run(
    run: str, source: Path, workdir: Path, delivery: DeliverySettings, faults: RandomFaults | None
) -> Outcome:
    path = workdir / (re.sub(r"\W+", "_", run) + ".db")
    shutil.copy(source, path)
    settings = Settings(database_url=f"sqlite:///{path}", delivery=delivery)
    db = Database(settings.database_url)
    with TimedFake(seed=7) as telegram:
        if faults is not None:
            telegram.random_faults = faults
        bot = _bot(telegram)
        await bot.initialize()
        now = datetime.now(UTC)
        slot = latest_slot(settings.schedules[0], now)
        assert slot is not None
        built_at = time.monotonic()
        build_edition(db, settings.digest, now=now, edition_date=slot.edition_date, slot=slot.slot)
        deliverer = Deliverer(bot, Engine(settings, db, renderer=TelegramRenderer()))
        await deliverer.tick()
        await bot.shutdown()
        with db.read() as session:
            states = delivery_states(session)
        chats = sorted(states)
        outcome = _tally(run, telegram, chats, states, built_at, ArrivalClock(telegram).window())
        telegram.stop()
    db.close()
    return outcome


async def anchor_run(run: str, chats: Sequence[int], faults: RandomFaults | None) -> Outcome:
    """No ledger, no retry: gather send_message over every chat, 64 at a time."""
    with TimedFake(seed=7) as telegram:
        if faults is not None:
            telegram.random_faults = faults
        bot = _bot(telegram)
        await bot.initialize()
        limit = asyncio.Semaphore(64)
        blocked: dict[int, str] = {}

        async def one(chat: int) -> None:
            async with limit:
                try:
                    await bot.send_message(
                        chat, "第一部分 <b>一</b>", parse_mode="HTML", read_timeout=15
                    )
                except TelegramError as error:
                    if "blocked" in str(error):
                        blocked[chat] = "skipped"

        built_at = time.monotonic()
        await asyncio.gather(*(one(chat) for chat in chats))
        await bot.shutdown()
        states = {chat: blocked.get(chat, "sent") for chat in chats}
        outcome = _tally(run, telegram, chats, states, built_at, ArrivalClock(telegram).window())
        telegram.stop()
    return outcome


def _table(outcomes: list[Outcome]) -> str:
    head = (
        "| run | chats | msg/s | build → last delivery (s) | exactly once | duplicated "
        "| lost | blocked (403) | ambiguous (arrived) | requests | busiest 1 s |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    rows = "".join(
        f"| {o.run} | {o.chats:,} | {o.messages_per_second:,.1f} "
        f"| {o.build_to_last_delivery_s:.1f} "
        f"| {o.exactly_once:,} | {o.duplicated} | {o.lost} | {o.blocked} "
        f"| {o.ambiguous} ({o.ambiguous_arrived}) | {o.attempts:,} | {o.busiest_second} |\n"
        for o in outcomes
    )
    return head + rows


async def main_async(chats: int, paced_chats: int) -> list[Outcome]:
    unpaced = DeliverySettings(messages_per_second=0, per_chat_interval=0)
    outcomes = []
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        source = template(workdir, chats)
        runs: list[tuple[str, DeliverySettings, RandomFaults | None]] = [
            ("ledger, pacing off, no faults", unpaced, None),
            (
                "ledger, pacing off, faults, on_ambiguous=skip",
                unpaced,
                FAULTS,
            ),
            (
                "ledger, pacing off, faults, on_ambiguous=resend",
                unpaced.model_copy(update={"on_ambiguous": "resend"}),
                FAULTS,
            ),
        ]
        for run, delivery, faults in runs:
            print(f"… {run}", file=sys.stderr)
            outcomes.append(await ledger_run(run, source, workdir, delivery, faults))
        chat_ids = list(range(FIRST_CHAT, FIRST_CHAT + chats))
        for run, faults in (
            ("anchor: gather, no ledger, no retry, no faults", None),
            ("anchor: gather, no ledger, no retry, faults", FAULTS),
        ):
            print(f"… {run}", file=sys.stderr)
            outcomes.append(await anchor_run(run, chat_ids, faults))
        if paced_chats:
            paced_source = (
                template(workdir / "paced", paced_chats) if paced_chats != chats else source
            )
            run = "ledger, default pace (25/s, 1/s per chat), no faults"
            print(
                f"… {run} ({paced_chats:,} chats: about {paced_chats / 25:.0f} s)", file=sys.stderr
            )
            outcomes.append(await ledger_run(run, paced_source, workdir, DeliverySettings(), None))
    return outcomes


@dataclass
class Pass:
    side: str  # "before", "after", or "this tree" (no --before)
    number: int
    outcomes: list[Outcome]


def outcomes_of(data: Any) -> list[Outcome]:
    """The outcomes in a delivery.json: a list of them (older revisions) or this
    module's record (every pass's)."""
    rows = data if isinstance(data, list) else [o for p in data["passes"] for o in p["outcomes"]]
    return [Outcome(**revisions.known_fields(Outcome, row)) for row in rows]


def median_outcomes(outcomes: Sequence[Outcome]) -> list[Outcome]:
    """Per run (in the order first seen), the pass with the median msg/s (the
    lower one of two middles): its other numbers come with it."""
    by_run: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_run.setdefault(outcome.run, []).append(outcome)
    return [
        sorted(runs, key=lambda o: o.messages_per_second)[(len(runs) - 1) // 2]
        for runs in by_run.values()
    ]


def comparison_rows(passes: Sequence[Pass]) -> list[tuple[str, ...]]:
    """Per run: msg/s before and after (median and range over passes), the change
    of the medians, and the worst pass of each side for exactly once,
    duplicated and lost ("before / after")."""
    runs: dict[str, None] = {}
    for p in passes:
        for outcome in p.outcomes:
            runs.setdefault(outcome.run)

    def of(side: str, run: str) -> list[Outcome]:
        return [o for p in passes if p.side == side for o in p.outcomes if o.run == run]

    rows = []
    for run in runs:
        both = (of("before", run), of("after", run))
        rates = [[o.messages_per_second for o in side] for side in both]
        rows.append(
            (
                run,
                f"{len(both[0])} / {len(both[1])}",
                revisions.spread(rates[0]),
                revisions.spread(rates[1]),
                revisions.change(statistics.median(rates[0]), statistics.median(rates[1]))
                if all(rates)
                else "-",
                _worst(both, "exactly_once", min),
                _worst(both, "duplicated", max),
                _worst(both, "lost", max),
                _worst(both, "ambiguous", max),
            )
        )
    return rows


def _worst(both: Sequence[Sequence[Outcome]], name: str, choose: Any) -> str:
    """``choose`` (min or max) of one count over each side's passes: "before / after"."""
    return " / ".join(
        f"{choose(getattr(o, name) for o in side):,}" if side else "-" for side in both
    )


def _markdown(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    return (
        "| " + " | ".join(header) + " |\n"
        "|"
        + "---|" * left
        + "---:|" * (len(header) - left)
        + "\n"
        + "".join("| " + " | ".join(row) + " |\n" for row in rows)
    )


COMPARISON_HEADER = (
    "run",
    "passes (before / after)",
    "msg/s before: median (min–max)",
    "msg/s after: median (min–max)",
    "change",
    "exactly once, worst pass",
    "duplicated, worst pass",
    "lost, worst pass",
    "ambiguous, most",
)


def _every_pass(passes: Sequence[Pass]) -> str:
    rows = [
        (
            p.side,
            str(p.number),
            o.run,
            f"{o.chats:,}",
            f"{o.messages_per_second:,.1f}",
            f"{o.build_to_last_delivery_s:.1f}",
            f"{o.exactly_once:,}",
            str(o.duplicated),
            str(o.lost),
            str(o.blocked),
            f"{o.ambiguous} ({o.ambiguous_arrived})",
            f"{o.attempts:,}",
            str(o.busiest_second),
        )
        for p in passes
        for o in p.outcomes
    ]
    header = (
        "side",
        "#",
        "run",
        "chats",
        "msg/s",
        "build → last delivery (s)",
        "exactly once",
        "duplicated",
        "lost",
        "blocked (403)",
        "ambiguous (arrived)",
        "requests",
        "busiest 1 s",
    )
    return _markdown(header, rows, left=3)


def report(
    argv: Sequence[str],
    facts: dict[str, Any],
    found: Sequence[revisions.Side],
    passes: Sequence[Pass],
    runs: int,
) -> str:
    command = " ".join([".venv/bin/python -m benchmarks.delivery", *argv])
    main_side = "after" if found else "this tree"
    shown = median_outcomes([o for p in passes if p.side == main_side for o in p.outcomes])
    if found:
        title = (
            f"## After (the working tree): per run, the pass with the median msg/s of {runs}\n\n"
        )
    elif runs > 1:
        title = f"Per run, the pass with the median msg/s of {runs}.\n\n"
    else:
        title = ""
    text = (
        "# Delivery benchmark\n\n"
        f"`{command}`\n\n"
        + revisions.machine_line(facts, f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
        + "\n\n"
        + ("\n".join(revisions.sides_lines(found)) + "\n\n" if found else "")
        + "One edition (one message per chat) to every subscriber; the fake Bot API server's\n"
        "record is the truth. Faults: 5% 429 (retry_after 1 s), 1% 500, 1% hang (no answer,\n"
        "not delivered), 0.5% 403. *lost*: never arrived and not accounted for by the ledger;\n"
        "*ambiguous*: timed out after the request left (marked `unknown`; in brackets how\n"
        "many had in fact arrived — the fake's hang never delivers, so all of them are\n"
        "missing under `skip` and resent once under `resend`). *busiest 1 s*: the most\n"
        "messages that arrived at the fake server within any one second (the paced run's\n"
        "bound is `messages_per_second`, 25 by default; arrival adds the network's jitter).\n\n"
        + title
        + _table(shown)
    )
    if found:
        text += (
            "\n## Before vs after\n\n"
            f"Each pass of each side is a fresh process running that side's own copy of\n"
            "`benchmarks/delivery.py` (cwd and PYTHONPATH at its root), before and after\n"
            f"interleaved, {runs} pass(es) each. The anchors (gather, no ledger) run the same\n"
            "python-telegram-bot and fake server on both sides: their difference is the\n"
            "machine's noise between passes. *change*: after's median against before's.\n"
            "Exactly once, duplicated, lost: the worst pass of each side (before / after);\n"
            "with faults, exactly once + blocked + ambiguous = chats when nothing is lost.\n\n"
            + _markdown(COMPARISON_HEADER, comparison_rows(passes))
        )
    if len(passes) > 1:
        text += "\n## Every pass\n\n" + _every_pass(passes)
    return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--paced-chats", type=int, default=10_000, help="0 skips the paced run")
    parser.add_argument("--runs", type=int, default=1, help="timed passes (per side with --before)")
    parser.add_argument(
        "--before",
        default="",
        metavar="REV",
        help="also run REV's own copy of this benchmark in a git worktree, interleaved "
        "with this tree's (default: off)",
    )
    parser.add_argument(
        "--keep-worktree", action="store_true", help="with --before: leave a worktree made here"
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    started = time.monotonic()
    load_start = os.getloadavg()[0]
    passes: list[Pass] = []
    found: list[revisions.Side] = []
    if args.before:
        child_argv = ["--chats", str(args.chats), "--paced-chats", str(args.paced_chats)]
        with (
            revisions.sides(args.before, args.keep_worktree, say) as found,
            tempfile.TemporaryDirectory(prefix="nd-delivery-") as directory,
        ):
            for side in found:
                say(f"{side.label}: {side.describe}; imports {side.imports}")
            for number in range(1, args.runs + 1):
                for side in found:
                    say(f"… {side.label}, pass {number}/{args.runs}")
                    out = Path(directory) / f"{side.label}-{number}"
                    revisions.run_child(side, "delivery", child_argv, out)
                    data = json.loads((out / "delivery.json").read_text("utf-8"))
                    passes.append(Pass(side.label, number, outcomes_of(data)))
                    say(
                        f"{side.label} #{number}: "
                        + ", ".join(
                            f"{o.run}: {o.messages_per_second:,.1f} msg/s"
                            for o in passes[-1].outcomes
                        )
                    )
    else:
        for number in range(1, args.runs + 1):
            if args.runs > 1:
                say(f"pass {number}/{args.runs}")
            outcomes = asyncio.run(main_async(args.chats, args.paced_chats))
            passes.append(Pass("this tree", number, outcomes))
    facts = revisions.machine_facts(load_start, time.monotonic() - started)
    shown_argv = list(argv if argv is not None else sys.argv[1:])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "delivery.md").write_text(
        report(shown_argv, facts, found, passes, args.runs), "utf-8"
    )
    record = {
        "machine": facts,
        "settings": {"chats": args.chats, "paced_chats": args.paced_chats, "runs": args.runs},
        "sides": {side.label: {"code": side.describe, "imports": side.imports} for side in found},
        "passes": [
            {"side": p.side, "pass": p.number, "outcomes": [asdict(o) for o in p.outcomes]}
            for p in passes
        ],
    }
    if found:
        record["before_vs_after"] = [
            dict(zip(COMPARISON_HEADER, row, strict=True)) for row in comparison_rows(passes)
        ]
    (RESULTS / "delivery.json").write_text(
        json.dumps(record, indent=2, ensure_ascii=False) + "\n", "utf-8"
    )
    shown = median_outcomes([o for p in passes if p.side != "before" for o in p.outcomes])
    print(_table(shown))
    if found:
        print(_markdown(COMPARISON_HEADER, comparison_rows(passes)))
    return 0


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
