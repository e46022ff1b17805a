"""Web benchmark: requests/s and latency of the edition pages and the search page,
with the bot delivering an edition at the same time, beside framework anchors.

    .venv/bin/python -m benchmarks.web [--chats 3000] [--seconds 15] [--concurrency 16]
        [--runs 3] [--real -1] [--results DIR]

Before any clock starts, a SQLite database in a temp dir is filled through the
product's own code paths: the demo corpus (``digests/demo_corpus``) served as
feeds on 127.0.0.1 and fetched by ``Engine.fetch_now`` (its e-paper issue from
a watched folder), and, when ``../shared/eval`` is there, every real Chinese
article of it (``benchmarks.search.real_documents``: zh_news_raw, LCSTS,
CLTS; read at run time, never copied) stored through ``save_articles`` from
eight feed sources over the last 20 hours, then ``Engine.summarize_new``
(summaries and the search index). Without ../shared only the demo corpus is
used. Two schedules: ``daily`` (public: ``web.public = ["daily"]``) and
``team`` (private: its pages open only with the token of their link); each
gets its latest edition built; N subscribers follow ``daily``.

The bot process (this one) then serves the real endpoint
(``digests.web.server.start_server(..., engine=engine)``: Starlette on uvicorn
in a thread of its own) and, when a condition says so, runs the real
``bot.delivery.Deliverer`` (pacing off, so it is as busy as it can be) on its
event loop in the main thread, over the same engine and database, delivering
the ``daily`` edition to the N subscribers again and again (when every chat
has it, the harness forgets the ledger rows and the next round plans and sends
it once more) for as long as the condition lasts.

The outside world runs in a second process, as it would in production: the
fake Telegram Bot API server (``benchmarks.delivery.TimedFake``: it stamps
each message's arrival) and the readers, C concurrent keep-alive HTTP/1.1
clients (plain asyncio streams: a client that costs little CPU, so that the
two cores go to the server) that each send a request as soon as the previous
one is answered, for S seconds per window. Latency is measured in the client,
from writing the request to reading the last byte of the body.

Targets:
- ``edition``: the public edition page ``/e/daily/DATE``;
- ``search``: ``/search?q=WORD``, the words drawn from the stored titles by a
  rule that never looks at the product (``draw_queries``: every title
  segmented by plain jieba after NFKC, its two-character all-Chinese words and
  its Latin words of four letters or more, pooled, sorted, and sampled with a
  fixed seed); each client walks the list from its own offset;
- ``private``: the ``team`` edition's page with its token (``?t=``), as its
  link in a Telegram message gives it;
- anchors, the same bytes every time (the public edition page as the product
  rendered it, fetched once before the clocks): a minimal Starlette app on the
  same uvicorn setup and socket (``digests.web.server.HttpServer``: the
  framework's and the server's floor),
  a minimal aiohttp app in a thread with its own event loop, like uvicorn's
  (on the product's socket: aiohttp sets TCP_NODELAY itself; skipped when
  aiohttp is not installed: it is in the ``bench`` extra), and the standard
  library's ``ThreadingHTTPServer`` (with ``disable_nagle_algorithm``).

Conditions: *idle* (nothing else runs) and *delivering* (the Deliverer sends
throughout the window). Under *delivering* the product paths and the
Starlette floor are measured, plus a window with no requests at all
("delivery alone"), so the effect goes both ways: what delivery costs the
pages, and what the pages cost delivery (messages that arrived at the fake
server during each window, per second).

Each pass measures every target once under each condition (idle first, then
delivering), ``--runs`` passes after a short untimed warm-up of each target.
A window's req/s is the requests answered within it divided by its length;
p50/p95/p99 are nearest-rank over its requests. The tables show the median
over passes (req/s with its range); every window is listed too. Writes
benchmarks/results/web.md and web.json (or into ``--results DIR``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import re
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, urlsplit

from benchmarks import revisions
from benchmarks.delivery import TimedFake, _bot, _markdown
from benchmarks.loopstall import percentile

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
EVAL = REPO.parent / "shared" / "eval"
CORPUS = REPO / "digests" / "demo_corpus"
SEED = 20261205
FIRST_CHAT = 1_000_000
REAL_SOURCES = 8
QUERIES = 200
BASE_URL = "https://news.example.org"

EDITION, SEARCH, PRIVATE = "edition", "search", "private"
STARLETTE, AIOHTTP, THREADING = "anchor: Starlette", "anchor: aiohttp", "anchor: http.server"
NOTHING = "delivery alone"
IDLE, DELIVERING = "idle", "delivering"
PRODUCT = (EDITION, SEARCH, PRIVATE)
ANCHORS = (STARLETTE, AIOHTTP, THREADING)
# In report order: what each condition measures.
IDLE_TARGETS = (*PRODUCT, *ANCHORS)
BUSY_TARGETS = (*PRODUCT, STARLETTE, NOTHING)
_PAGES = {
    EDITION: "public edition `/e/daily/DATE`",
    SEARCH: "search `/search?q=WORD`",
    PRIVATE: "private edition `/e/team/DATE?t=…`",
}
SHOWN = {
    **_PAGES,
    STARLETTE: "Starlette + uvicorn, fixed page",
    AIOHTTP: "aiohttp, fixed page",
    THREADING: "http.server ThreadingHTTPServer, fixed page, TCP_NODELAY",
    NOTHING: "no requests",
}

_TWO_HAN = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2}$")
_LATIN_WORD = re.compile(r"^[A-Za-z]{4,}$")


# -- pure parts ---------------------------------------------------------------------


def draw_queries(
    titles: Iterable[str], count: int, seed: int, segment: Callable[[str], list[str]]
) -> list[str]:
    """Search words by a rule blind to the product: each title's words (``segment``
    of its NFKC form) that are two Chinese characters, or Latin letters only and
    four or more of them, pooled without repeats, sorted, then ``count`` of them
    sampled with ``seed`` (all of them when there are fewer)."""
    from benchmarks.search import nfkc

    pool = sorted(
        {
            word
            for title in titles
            for word in segment(nfkc(title))
            if _TWO_HAN.match(word) or _LATIN_WORD.match(word)
        }
    )
    return random.Random(seed).sample(pool, min(count, len(pool)))


def parse_head(head: bytes) -> tuple[int, int, bool]:
    """(status, Content-Length, the server will close) of an HTTP/1.1 response
    head; a response without a length (chunked, or read to the end) is refused:
    no server measured here sends one."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise ValueError(f"not an HTTP/1.x status line: {lines[0]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "content-length" not in headers:
        raise ValueError("a response without Content-Length")
    close = headers.get("connection", "").lower() == "close" or parts[0] == "HTTP/1.0"
    return int(parts[1]), int(headers["content-length"]), close


@dataclass
class Window:
    """One target under one condition for one pass."""

    target: str
    condition: str
    number: int
    seconds: float
    requests: int
    errors: int
    requests_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    delivered: int  # messages that arrived at the fake Telegram server within it
    delivered_per_second: float


def window_of(target: str, condition: str, number: int, measured: dict[str, Any]) -> Window:
    """A window's numbers from what the load process measured."""
    latencies = sorted(measured["latencies_ms"])
    seconds = measured["seconds"]
    return Window(
        target=target,
        condition=condition,
        number=number,
        seconds=round(seconds, 3),
        requests=len(latencies),
        errors=measured["errors"],
        requests_per_second=round(len(latencies) / seconds, 1),
        p50_ms=round(percentile(latencies, 0.50), 2),
        p95_ms=round(percentile(latencies, 0.95), 2),
        p99_ms=round(percentile(latencies, 0.99), 2),
        delivered=measured["delivered"],
        delivered_per_second=round(measured["delivered"] / seconds, 1),
    )


@dataclass
class Summary:
    """A target under a condition over every pass: medians (req/s also its range)."""

    target: str
    condition: str
    passes: int
    requests_per_second: float
    requests_per_second_shown: str
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    delivered_per_second: float


def summarize(windows: Sequence[Window]) -> list[Summary]:
    """Per (target, condition), in the order first seen: the median of each number
    over the passes, req/s as "median (min–max)", errors summed."""
    groups: dict[tuple[str, str], list[Window]] = {}
    for w in windows:
        groups.setdefault((w.target, w.condition), []).append(w)
    out = []
    for (target, condition), found in groups.items():
        rates = [w.requests_per_second for w in found]
        out.append(
            Summary(
                target=target,
                condition=condition,
                passes=len(found),
                requests_per_second=statistics.median(rates),
                requests_per_second_shown=revisions.spread(rates),
                p50_ms=statistics.median(w.p50_ms for w in found),
                p95_ms=statistics.median(w.p95_ms for w in found),
                p99_ms=statistics.median(w.p99_ms for w in found),
                errors=sum(w.errors for w in found),
                delivered_per_second=statistics.median(w.delivered_per_second for w in found),
            )
        )
    return out


def _ms(value: float) -> str:
    return "-" if value != value else f"{value:,.1f}"  # NaN: no request answered


def _of(rows: Sequence[Summary], target: str, condition: str) -> Summary | None:
    return next((s for s in rows if s.target == target and s.condition == condition), None)


def paths_table(rows: Sequence[Summary]) -> str:
    header = (
        "path",
        "condition",
        "req/s: median (min–max)",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "errors",
        "delivery msg/s meanwhile",
    )
    body = [
        (
            SHOWN[s.target],
            s.condition,
            s.requests_per_second_shown,
            _ms(s.p50_ms),
            _ms(s.p95_ms),
            _ms(s.p99_ms),
            str(s.errors),
            f"{s.delivered_per_second:,.0f}" if s.condition == DELIVERING else "-",
        )
        for target in (*PRODUCT, STARLETTE)
        for s in rows
        if s.target == target
    ]
    return _markdown(header, body, left=2)


def effect_table(rows: Sequence[Summary]) -> str:
    """Per path: idle against delivering, req/s and p95."""
    header = (
        "path",
        "req/s idle",
        "req/s delivering",
        "change",
        "p95 ms idle",
        "p95 ms delivering",
    )
    body = []
    for target in (*PRODUCT, STARLETTE):
        idle, busy = _of(rows, target, IDLE), _of(rows, target, DELIVERING)
        if idle is None or busy is None:
            continue
        body.append(
            (
                SHOWN[target],
                f"{idle.requests_per_second:,.0f}",
                f"{busy.requests_per_second:,.0f}",
                revisions.change(idle.requests_per_second, busy.requests_per_second),
                _ms(idle.p95_ms),
                _ms(busy.p95_ms),
            )
        )
    return _markdown(header, body)


def anchors_table(rows: Sequence[Summary]) -> str:
    """The anchors side by side, idle, with the product's public page beside them."""
    header = ("server", "req/s: median (min–max)", "p50 ms", "p95 ms", "p99 ms", "errors")
    body = [
        (
            SHOWN[s.target] + (" (the product)" if s.target == EDITION else ""),
            s.requests_per_second_shown,
            _ms(s.p50_ms),
            _ms(s.p95_ms),
            _ms(s.p99_ms),
            str(s.errors),
        )
        for target in (*ANCHORS, EDITION)
        for s in rows
        if s.target == target and s.condition == IDLE
    ]
    return _markdown(header, body)


def delivery_table(rows: Sequence[Summary]) -> str:
    """Delivery's messages/s alone and during each path's load."""
    header = ("during", "delivery msg/s", "against alone")
    alone = _of(rows, NOTHING, DELIVERING)
    body = []
    for target in (NOTHING, *PRODUCT, STARLETTE):
        s = _of(rows, target, DELIVERING)
        if s is None:
            continue
        against = (
            revisions.change(alone.delivered_per_second, s.delivered_per_second)
            if alone is not None and target != NOTHING
            else "-"
        )
        body.append((SHOWN[target], f"{s.delivered_per_second:,.0f}", against))
    return _markdown(header, body)


def every_window_table(windows: Sequence[Window]) -> str:
    header = (
        "#",
        "target",
        "condition",
        "s",
        "requests",
        "errors",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "delivered",
    )
    body = [
        (
            str(w.number),
            w.target,
            w.condition,
            f"{w.seconds:.1f}",
            f"{w.requests:,}",
            str(w.errors),
            f"{w.requests_per_second:,.1f}",
            _ms(w.p50_ms),
            _ms(w.p95_ms),
            _ms(w.p99_ms),
            f"{w.delivered:,}",
        )
        for w in windows
    ]
    return _markdown(header, body, left=3)


def report(
    command: str,
    facts: dict[str, Any],
    when: str,
    setup: dict[str, Any],
    windows: Sequence[Window],
) -> str:
    rows = summarize(windows)
    corpus = setup["corpus"]
    real = (
        f"{corpus['real']:,} real Chinese articles of ../shared/eval in {REAL_SOURCES} sources"
        if corpus["real"]
        else "no real articles (../shared/eval absent or `--real 0`)"
    )
    skipped = "".join(f"\n\nSkipped: {reason}." for reason in setup.get("skipped", []))
    return (
        "# Web benchmark\n\n"
        f"`{command}`\n\n" + revisions.machine_line(facts, when) + "\n\n"
        f"The bot process serves the real endpoint (Starlette on uvicorn, its own thread) "
        f"over a SQLite database of {corpus['articles']:,} articles (the demo corpus, "
        f"{corpus['demo']:,}, fetched as feeds; {real}), summarized and indexed by the "
        f"product. Pages: the public edition ({setup['bytes']['edition']:,} bytes, "
        f"{setup['edition_items']} stories), the private one with its token "
        f"({setup['bytes']['private']:,} bytes), search for {setup['queries']} words drawn "
        f"from the stored titles ({setup['queries_with_hits']} of them find something; "
        f"pages of {setup['bytes']['search_mean']:,} bytes on average). "
        f"{setup['concurrency']} keep-alive clients in another process (with the fake "
        f"Telegram server), {setup['seconds']:g} s per window, {setup['runs']} pass(es). "
        f"*Delivering*: the real Deliverer, pacing off, sends the daily edition "
        f"({setup['parts']} message(s) per chat) to {setup['chats']:,} subscribers "
        f"over and over in the same process during the window. How everything is made "
        f"and measured: the docstring of `benchmarks/web.py`."
        + skipped
        + "\n\nThe endpoint's socket names IPPROTO_TCP, so asyncio sets TCP_NODELAY on the "
        "connections it accepts (before that fix every response waited ~40 ms for the "
        "client's delayed ACK: 364 req/s for the fixed page against 8,834 with it, in the "
        "first run of this benchmark). Edition pages are rendered once per edition and "
        "language and served from memory after; the access check runs on every request."
        + "\n\n## Per path\n\n"
        + paths_table(rows)
        + "\n## Delivery's effect on the pages\n\n"
        + effect_table(rows)
        + "\n## Anchors: the same page with nothing behind it (idle)\n\n"
        "The bytes of the public edition page, pre-rendered; each server in a thread of\n"
        "its own in the bot process, as the product's endpoint is.\n\n"
        + anchors_table(rows)
        + "\n## The pages' effect on delivery\n\n"
        "Messages that arrived at the fake Telegram server per second of each window.\n\n"
        + delivery_table(rows)
        + "\n## Every window\n\n"
        + every_window_table(windows)
    )


# -- the load process (readers and the fake Telegram server) ------------------------


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0


async def _client(
    host: str, port: int, paths: Sequence[bytes], offset: int, deadline: float, tally: Tally
) -> None:
    """Requests one after another on a keep-alive connection until ``deadline``
    (perf_counter); only answers that ended by then count."""
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    host_header = f"Host: {host}:{port}\r\n\r\n".encode()
    number = offset
    try:
        while time.perf_counter() < deadline:
            path = paths[number % len(paths)]
            number += 1
            try:
                if writer is None or reader is None:
                    reader, writer = await asyncio.open_connection(host, port)
                began = time.perf_counter()
                writer.write(b"GET " + path + b" HTTP/1.1\r\n" + host_header)
                status, length, close = parse_head(await reader.readuntil(b"\r\n\r\n"))
                await reader.readexactly(length)
                ended = time.perf_counter()
            except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                tally.errors += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                await asyncio.sleep(0.01)
                continue
            if ended <= deadline:
                if status == 200:
                    tally.latencies_ms.append((ended - began) * 1000)
                else:
                    tally.errors += 1
            if close:
                writer.close()
                reader = writer = None
    finally:
        if writer is not None:
            writer.close()


async def load_window(
    telegram: TimedFake,
    host: str,
    port: int,
    paths: Sequence[str],
    concurrency: int,
    seconds: float,
) -> dict[str, Any]:
    """C clients over ``paths`` (none: just wait) for ``seconds``; and the messages
    that arrived at ``telegram`` meanwhile."""
    with telegram._lock:
        telegram.sent.clear()  # what arrived before is not counted; keeps memory flat
    tally = Tally()
    raw = [p.encode() for p in paths]
    opened = time.monotonic()
    began = time.perf_counter()
    if raw:
        step = max(1, len(raw) // concurrency)
        await asyncio.gather(
            *(
                _client(host, port, raw, n * step, began + seconds, tally)
                for n in range(concurrency)
            )
        )
    else:
        await asyncio.sleep(seconds)
    with telegram._lock:
        delivered = sum(
            1
            for messages in telegram.sent.values()
            for m in messages
            if opened <= m.get("arrived", 0.0) <= opened + seconds
        )
    return {
        "latencies_ms": tally.latencies_ms,
        "errors": tally.errors,
        "seconds": seconds,
        "delivered": delivered,
    }


def load_process(connection: Connection) -> None:
    """The outside world: the fake Telegram server, and readers on command."""
    with TimedFake(seed=7) as telegram:
        connection.send((telegram.api_url, telegram.token))
        while (command := connection.recv()) is not None:
            connection.send(asyncio.run(load_window(telegram, *command)))


class Outside:
    """The load process, started once (spawned: this process has threads)."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(target=load_process, args=(child,), name="web-load")
        self.process.start()
        child.close()
        if not self.connection.poll(60):
            raise SystemExit("benchmarks.web: the load process did not start")
        self.api_url, self.token = self.connection.recv()
        self._lock = threading.Lock()

    def window(
        self, host: str, port: int, paths: Sequence[str], concurrency: int, seconds: float
    ) -> dict[str, Any]:
        with self._lock:
            self.connection.send((host, port, list(paths), concurrency, seconds))
            result: dict[str, Any] = self.connection.recv()
            return result

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.send(None)
        self.process.join(30)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)


# -- anchors ------------------------------------------------------------------------


def _bound() -> socket.socket:
    """A listening socket on 127.0.0.1 made as the product makes its endpoint's."""
    from digests.web.server import _listening_socket

    return _listening_socket("127.0.0.1", 0)


def served(app: Any, sock: socket.socket) -> Any:
    """``app`` on the product's uvicorn setup (``HttpServer``), on ``sock``."""
    from digests.web.server import HttpServer

    return HttpServer(sock, app)


def fixed_page_app(body: bytes) -> Any:
    """A one-route Starlette app answering ``body``."""
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    async def page(_request: object) -> HTMLResponse:
        return HTMLResponse(body)

    return Starlette(routes=[Route("/", page)])


class AiohttpAnchor:
    """``body`` from a one-route aiohttp app, in a thread with its own event loop."""

    def __init__(self, body: bytes) -> None:
        from aiohttp import web

        self.socket = _bound()
        self.port = int(self.socket.getsockname()[1])
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def page(_request: web.Request) -> web.Response:
            return web.Response(body=body, content_type="text/html", charset="utf-8")

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            app = web.Application()
            app.router.add_get("/", page)
            runner = web.AppRunner(app, access_log=None)
            self.loop.run_until_complete(runner.setup())
            self.loop.run_until_complete(web.SockSite(runner, self.socket).start())
            ready.set()
            self.loop.run_forever()
            self.loop.run_until_complete(runner.cleanup())
            self.loop.close()

        self.thread = threading.Thread(target=run, name="aiohttp", daemon=True)
        self.thread.start()
        if not ready.wait(10):
            raise SystemExit("benchmarks.web: the aiohttp anchor did not start")

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.socket.close()


class ThreadingAnchor:
    """``body`` from the standard library's ThreadingHTTPServer (HTTP/1.1 keep-alive)."""

    def __init__(self, body: bytes) -> None:
        class Page(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            disable_nagle_algorithm = True  # TCP_NODELAY: else each answer waits ~40 ms

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="http.server", daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- the site -----------------------------------------------------------------------


def plain_jieba() -> Callable[[str], list[str]]:
    """Plain jieba's ``lcut`` (the default dictionary), as benchmarks.search draws with."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # jieba imports the deprecated pkg_resources
        import jieba

    jieba.setLogLevel(60)
    segmenter = jieba.Tokenizer()
    segmenter.initialize()
    return segmenter.lcut  # type: ignore[no-any-return]


def settings_for(directory: Path) -> Any:
    from digests.config import (
        DeliverySettings,
        FetchSettings,
        ScheduleSettings,
        Settings,
        WebSettings,
    )

    return Settings(
        database_url=f"sqlite:///{directory / 'newsdigest.db'}",
        fetch=FetchSettings(allowed_networks=["127.0.0.0/8"]),
        delivery=DeliverySettings(messages_per_second=0, per_chat_interval=0),
        web=WebSettings(public=["daily"], base_url=BASE_URL, search=True),
        schedules=[ScheduleSettings(name="daily"), ScheduleSettings(name="team")],
    )


def store_demo(settings: Any, directory: Path) -> None:
    """The demo corpus as bot/demo.py ingests it: feeds on 127.0.0.1, an e-paper folder."""
    from bot.demo import DEMO_FEEDS, ISSUE
    from digests.engine import Engine
    from digests.feedserver import FeedServer

    engine = Engine.open(settings)
    epaper = directory / "epaper"
    epaper.mkdir()
    try:
        with FeedServer(root=CORPUS) as server:
            for file, name in DEMO_FEEDS:
                engine.add_source(server.url(f"files/{file}"), name=name, interval_seconds=1800)
            engine.add_source(str(epaper.resolve()), name="临江区报 e-paper", interval_seconds=600)
            shutil.copy(CORPUS / ISSUE, epaper / ISSUE)
            asyncio.run(engine.fetch_now(force=True))
    finally:
        engine.close()


def store_real(settings: Any, limit: int, now: datetime) -> int:
    """The real Chinese articles of ../shared/eval (at most ``limit``; negative: all),
    stored from REAL_SOURCES feeds over the last 20 hours; returns how many."""
    from benchmarks.search import real_documents
    from digests.engine import Engine
    from digests.records import RawArticle
    from digests.store.articles import StoryCache, save_articles
    from digests.store.sources import add_source

    docs = [d for d in real_documents() if d.language == "zh"]
    docs = docs if limit < 0 else docs[:limit]
    if not docs:
        return 0
    engine = Engine.open(settings)
    try:
        with engine.db.write() as session:
            sources = [
                add_source(
                    session,
                    kind="feed",
                    location=f"https://news{n}.example.cn/feed.xml",
                    name=f"新闻源{n + 1}",
                    interval_seconds=1800,
                ).id
                for n in range(REAL_SOURCES)
            ]
        step = timedelta(hours=20) / len(docs)
        stories = StoryCache()
        batch = 100
        for start in range(0, len(docs), batch):
            fetched = now - step * (len(docs) - start)
            by_source: dict[int, list[Any]] = {}
            for number in range(start, min(start + batch, len(docs))):
                doc = docs[number]
                by_source.setdefault(sources[number % REAL_SOURCES], []).append(
                    RawArticle(
                        title=doc.title,
                        paragraphs=doc.paragraphs,
                        url=f"https://news{number % REAL_SOURCES}.example.cn/{doc.key}.html",
                        guid=doc.key,
                        published=fetched,
                    )
                )
            with engine.db.write() as session:
                for source, items in by_source.items():
                    save_articles(session, source, items, fetched, stories)
        engine.parser().start()  # the CPU half in worker processes, as a bot does it
        engine.summarize_new()
    finally:
        engine.close()
    return len(docs)


@dataclass
class Site:
    directory: Path
    settings: Any
    daily_id: int
    paths: dict[str, list[str]]
    setup: dict[str, Any]


def prepare(directory: Path, chats: int, real: int) -> Site:
    """The database, its editions and subscribers; the paths of each target."""
    from sqlalchemy import func, select

    from digests.editions.build import build_edition
    from digests.editions.links import edition_path
    from digests.editions.schedule import latest_slot
    from digests.engine import Engine
    from digests.store.models import Article, Edition
    from tests.botkit import EARLIER, add_subscribers

    settings = settings_for(directory)
    skipped = []
    store_demo(settings, directory)
    stored_real = store_real(settings, real, datetime.now(UTC)) if real and EVAL.is_dir() else 0
    now = datetime.now(UTC)  # the editions hold everything fetched until now
    if real and not EVAL.is_dir():
        skipped.append(f"real articles ({EVAL} is not present)")
    engine = Engine.open(settings)
    try:
        engine.summarize_new()  # nothing left, unless the demo round left some
        add_subscribers(engine.db, range(FIRST_CHAT, FIRST_CHAT + chats), created_at=now - EARLIER)
        editions: dict[str, Any] = {}
        for spec in settings.schedules:
            slot = latest_slot(spec, now)
            assert slot is not None
            build_edition(
                engine.db,
                settings.digest,
                now=now,
                schedule=spec.name,
                edition_date=slot.edition_date,
                slot=slot.slot,
            )
            with engine.db.read() as session:
                editions[spec.name] = session.scalars(
                    select(Edition).where(Edition.schedule == spec.name)
                ).one()
        with engine.db.read() as session:
            articles = session.scalar(select(func.count(Article.id))) or 0
            titles = list(session.scalars(select(Article.title).order_by(Article.id)))
        daily, team = editions["daily"], editions["team"]
        link = engine.edition_link(team, "zh")
        assert link is not None
        private = urlsplit(link)
        queries = draw_queries(titles, QUERIES, SEED, plain_jieba())
        hits = sum(1 for q in queries if engine.search(q).results.total > 0)
        public = edition_path("daily", daily.edition_date, daily.slot)
        paths = {
            EDITION: [f"/e/daily/{daily.edition_date}"],
            SEARCH: [f"/search?q={quote(q)}" for q in queries],
            PRIVATE: [f"{private.path}?{private.query}"],
        }
        digest = engine.edition_digest(daily.id)
        setup = {
            "corpus": {"articles": articles, "demo": articles - stored_real, "real": stored_real},
            "edition_items": sum(len(s.items) for s in digest.sections),
            "public_path": public,
            "queries": len(queries),
            "queries_with_hits": hits,
            "chats": chats,
            "skipped": skipped,
        }
        return Site(directory, settings, daily.id, paths, setup)
    finally:
        engine.close()


def forget(db: Any, edition_id: int) -> None:
    """The harness, between delivery rounds: the edition's ledger rows go, so the
    next round plans and sends it to every chat again."""
    from sqlalchemy import delete

    from digests.store.models import Delivery

    with db.write() as session:
        session.execute(delete(Delivery).where(Delivery.edition_id == edition_id))


async def keep_delivering(deliverer: Any, edition_id: int, stop: asyncio.Event) -> int:
    """Delivery rounds until ``stop``; returns how many began."""
    deliverer.stopping = stop
    rounds = 0
    while not stop.is_set():
        rounds += 1
        await deliverer.tick()
        if not stop.is_set():
            await asyncio.to_thread(forget, deliverer.db, edition_id)
    return rounds


@dataclass
class Target:
    name: str
    port: int
    paths: list[str]


async def measure(
    args: argparse.Namespace,
    site: Site,
    outside: Outside,
    targets: dict[str, Target],
    deliverer: Any,
) -> tuple[list[Window], int]:
    loop = asyncio.get_running_loop()

    async def window(target: Target, seconds: float) -> dict[str, Any]:
        return await loop.run_in_executor(
            None,
            outside.window,
            "127.0.0.1",
            target.port,
            target.paths,
            args.concurrency,
            seconds,
        )

    for target in targets.values():
        if target.paths:
            say(f"warming up {target.name}")
            await window(target, args.warmup)
    idle = [t for t in IDLE_TARGETS if t in targets]
    busy = [t for t in BUSY_TARGETS if t in targets]
    windows: list[Window] = []
    rounds = 0
    for number in range(1, args.runs + 1):
        for name in idle:
            say(f"pass {number}/{args.runs}: {name}, idle")
            windows.append(window_of(name, IDLE, number, await window(targets[name], args.seconds)))
        stop = asyncio.Event()
        sent = deliverer.stats.sent
        delivering = asyncio.create_task(keep_delivering(deliverer, site.daily_id, stop))
        deadline = time.monotonic() + 60
        while deliverer.stats.sent == sent and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for name in busy:
            say(f"pass {number}/{args.runs}: {name}, delivering")
            measured = await window(targets[name], args.seconds)
            windows.append(window_of(name, DELIVERING, number, measured))
        stop.set()
        rounds += await delivering
    return windows, rounds


async def serve_and_measure(
    args: argparse.Namespace, site: Site, outside: Outside
) -> tuple[list[Window], dict[str, Any]]:
    import httpx

    from bot.delivery import Deliverer
    from bot.render import TelegramRenderer
    from digests.engine import Engine
    from digests.web.server import start_server

    engine = Engine.open(site.settings, renderer=TelegramRenderer())
    engine.warm_up(parser=False)  # as the bot does before serving
    anchors: list[Any] = []
    bot = _bot(SimpleNamespace(token=outside.token, api_url=outside.api_url))  # type: ignore[arg-type]
    await bot.initialize()
    try:
        with start_server("127.0.0.1", 0, lambda: True, engine=engine) as server:
            async with httpx.AsyncClient(base_url=server.url(""), timeout=30) as client:
                pages = {}
                for name in PRODUCT:
                    for path in site.paths[name][:20]:
                        response = await client.get(path)
                        if response.status_code != 200:
                            raise SystemExit(f"{path}: {response.status_code}")
                        pages.setdefault(name, []).append(len(response.content))
                body = (await client.get(site.paths[EDITION][0])).content
            site.setup["bytes"] = {
                "edition": pages[EDITION][0],
                "private": pages[PRIVATE][0],
                "search_mean": round(statistics.mean(pages[SEARCH])),
            }
            targets = {name: Target(name, server.port, site.paths[name]) for name in PRODUCT}
            anchors.append(served(fixed_page_app(body), _bound()))
            targets[STARLETTE] = Target(STARLETTE, anchors[-1].port, ["/"])
            try:
                anchors.append(AiohttpAnchor(body))
                targets[AIOHTTP] = Target(AIOHTTP, anchors[-1].port, ["/"])
            except ImportError:
                site.setup["skipped"].append(
                    "the aiohttp anchor (aiohttp is not installed: `pip install -e '.[bench]'`)"
                )
            anchors.append(ThreadingAnchor(body))
            targets[THREADING] = Target(THREADING, anchors[-1].port, ["/"])
            targets[NOTHING] = Target(NOTHING, server.port, [])
            deliverer = Deliverer(bot, engine)
            windows, rounds = await measure(args, site, outside, targets, deliverer)
            site.setup["delivery_rounds"] = rounds
            site.setup["delivery_sent"] = deliverer.stats.sent
            site.setup["parts"] = _parts(engine, site.daily_id)
            await asyncio.to_thread(deliverer.ledger_writes.close)
    finally:
        for anchor in anchors:
            anchor.close()
        await bot.shutdown()
        engine.close()
    return windows, site.setup


def _parts(engine: Any, edition_id: int) -> int:
    """Messages per chat of the edition (its first rendering's parts)."""
    from sqlalchemy import select

    from digests.store.models import EditionRender

    with engine.db.read() as session:
        render = session.scalars(
            select(EditionRender).where(EditionRender.edition_id == edition_id)
        ).first()
    return len(render.parts) if render is not None else 0


@contextlib.contextmanager
def outside_world() -> Iterator[Outside]:
    outside = Outside()
    try:
        yield outside
    finally:
        outside.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--chats", type=int, default=3000, help="subscribers of the daily edition")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each window")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent clients")
    parser.add_argument("--runs", type=int, default=3, help="timed passes")
    parser.add_argument("--warmup", type=float, default=2.0, help="untimed seconds per target")
    parser.add_argument(
        "--real",
        type=int,
        default=-1,
        help="real Chinese articles from ../shared/eval (-1: all; 0: the demo corpus only)",
    )
    parser.add_argument("--results", type=Path, default=None, help="where to write web.md/json")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.seconds <= 0 or args.concurrency < 1 or args.chats < 1:
        parser.error("--runs, --seconds, --concurrency and --chats must be positive")
    results = args.results or RESULTS
    given = list(sys.argv[1:] if argv is None else argv)
    shown = [
        a for n, a in enumerate(given) if a != "--results" and given[n - 1 : n] != ["--results"]
    ]
    command = " ".join([".venv/bin/python -m benchmarks.web", *shown])
    started = time.monotonic()
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="nd-web-") as directory:
        say("preparing the database (demo corpus, real articles, editions, subscribers)")
        site = prepare(Path(directory), args.chats, args.real)
        site.setup.update(
            {"concurrency": args.concurrency, "seconds": args.seconds, "runs": args.runs}
        )
        with outside_world() as outside:
            windows, setup = asyncio.run(serve_and_measure(args, site, outside))
    facts = revisions.machine_facts(load_start, time.monotonic() - started)
    text = report(command, facts, f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC", setup, windows)
    results.mkdir(parents=True, exist_ok=True)
    (results / "web.md").write_text(text, "utf-8")
    record = {
        "command": command,
        "machine": facts,
        "setup": setup,
        "summary": [asdict(s) for s in summarize(windows)],
        "windows": [asdict(w) for w in windows],
    }
    (results / "web.json").write_text(
        json.dumps(record, indent=2, ensure_ascii=False) + "\n", "utf-8"
    )
    print(text)
    return 0


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
