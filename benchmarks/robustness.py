"""Robustness table: each hostile source, what newsdigest did, how long it took
and the peak memory, through the production path.

    .venv/bin/python -m benchmarks.robustness [--runs 3]   (also run by benchmarks.ingest)

Every case is a source on the local feed server (127.0.0.1) added to a fresh
SQLite database and fetched by ``Engine.fetch_now`` (what ``newsdigest fetch``
runs: download under the fetch limits, parse in the parser processes, store,
summarize), in a fresh Python process per case and pass, so the peak resident
memory of that process and of its parser processes is the case's own. Each
round runs twice (the second forced, as an identical refetch). The outcome is
read back from the database (the source's error, pause, next check, articles
stored) and from the WARNING lines logged naming the source. The first row, an
ordinary feed, is the anchor: its time and memory are what any fetch costs.

Every document is built here from the project's own words (no third-party
text). The limits are the defaults except a shorter read timeout and total
deadline (2 s and 20 s) so that the slow cases take seconds, not minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from digests.feedserver import FeedServer, prepare_costly_bodies

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
READ_TIMEOUT = 2.0
TOTAL_DEADLINE = 20.0

_WORDS = "临江 滨江 步道 夜市 街区 改造 居民 公园 河道 工程 政务 服务 数字化 小店 示范 社区".split()


def _sentence(rng: random.Random, words: int = 12) -> str:
    return "".join(rng.choice(_WORDS) for _ in range(words)) + "。"


def _rss(items: list[str], *, encoding: str = "utf-8", declare: bool = True) -> bytes:
    head = f'<?xml version="1.0" encoding="{encoding}"?>' if declare else "<?xml version='1.0'?>"
    text = f'{head}<rss version="2.0"><channel><title>case</title>{"".join(items)}</channel></rss>'
    return text.encode(encoding)


def _item(number: int, title: str, text: str, extra: str = "") -> str:
    return (
        f"<item><guid>case-{number}</guid><title>{escape(title)}</title>"
        f"<link>https://example.com/{number}</link>"
        f"<description>{escape(text)}</description>{extra}</item>"
    )


def _ordinary(count: int = 20, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    return _rss(
        [
            _item(n, f"新闻标题 {n}", " ".join(_sentence(rng) for _ in range(8)))
            for n in range(count)
        ]
    )


def _entity_bomb() -> bytes:
    levels = ['<!ENTITY e0 "lol">'] + [
        f'<!ENTITY e{n} "{f"&e{n - 1};" * 10}">' for n in range(1, 10)
    ]
    return (
        f'<?xml version="1.0"?><!DOCTYPE rss [{"".join(levels)}]>'
        '<rss version="2.0"><channel><title>&e9;</title>'
        "<item><title>&e9;</title></item></channel></rss>"
    ).encode()


def _external_entity() -> bytes:
    return (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<rss version="2.0"><channel><title>t</title>'
        b"<item><guid>1</guid><title>&x;</title><description>&x;</description></item>"
        b"</channel></rss>"
    )


def _many_items() -> bytes:
    return _rss([_item(n, f"条目 {n}", "夜市今晚开放。") for n in range(50_000)])


def _unpunctuated_sentence() -> bytes:
    rng = random.Random(2)
    run = "".join(rng.choice(_WORDS) for _ in range(40_000))[:120_000]
    return _rss([_item(1, "没有标点的长文", run)])


def _markup_in_titles() -> bytes:
    hostile = [
        '<script>alert("x")</script>',
        "<b onclick=alert(1)>粗体</b>",
        '</a><a href="tg://resolve?domain=x">点我</a>',
        "&lt;i&gt;未闭合",
        "<pre><code>" + "x" * 50,
    ]
    return _rss([_item(n, title, title + " 正文。") for n, title in enumerate(hostile)])


def _far_future_dates() -> bytes:
    dates = ["Fri, 31 Dec 9999 23:59:59 +0000", "Sat, 01 Jan 2101 00:00:00 GMT"]
    return _rss(
        [
            _item(n, f"未来日期 {n}", "日期在远方。", f"<pubDate>{date}</pubDate>")
            for n, date in enumerate(dates)
        ]
    )


def _binary() -> bytes:
    return random.Random(3).randbytes(200_000)


def _stray_nuls() -> bytes:
    body = _ordinary(5).decode()
    middle = len(body) // 2
    return (body[:middle] + "\x00\x00" + body[middle:-20] + "\x00" + body[-20:]).encode()


def _damaged_utf8() -> bytes:
    body = _ordinary(5)
    at = body.index("新闻标题 2".encode())
    return body[:at] + b"\xff\xfe" + body[at:]


def _cp950_undeclared() -> bytes:
    titles = ["臺北市捷運新線明年通車", "颱風過境後街道清理完畢", "圖書館延長開放時間"]
    text = "市政府今日宣布，相關工程已進入最後階段，市民可望於明年初搭乘。"
    return _rss(
        [_item(n, title, text * 4) for n, title in enumerate(titles)],
        encoding="cp950",
        declare=False,
    )


def _deep_markup() -> bytes:
    nested = "<div>" * 100_000 + "深处的文字。" + "</div>" * 100_000
    return _rss([_item(1, "层层嵌套", nested)])


def _huge_title() -> bytes:
    return _rss([_item(1, "长" * 2_000_000, "正文。")])


def _shared_link_no_guid() -> bytes:
    items = "".join(
        f"<item><title>同一链接 {n}</title><link>https://example.com/same</link>"
        f"<description>第 {n} 条，内容不同。</description></item>"
        for n in range(3)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"{items}</channel></rss>"
    ).encode()


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    what: str
    document: Callable[[], bytes] | None = None  # served at /mem/NAME
    path: str | None = None  # else this path on the feed server


CASES: tuple[Case, ...] = (
    Case("ordinary", "an ordinary RSS feed, 20 items (the anchor)", _ordinary),
    Case("entity-bomb", "billion laughs: 10^9 'lol' by nested entities", _entity_bomb),
    Case("xxe", "an external entity naming file:///etc/passwd", _external_entity),
    Case("gzip-bomb", "64 KiB of gzip inflating to 64 MiB", path="/bomb"),
    Case("endless", "a chunked body that never ends", path="/endless"),
    Case("slow-drip", "one byte every 0.2 s (slow-loris)", path="/drip"),
    Case("hang", "headers never sent", path="/hang"),
    Case("redirect-loop", "302 back and forth forever", path="/loop/a"),
    Case(
        "redirect-private", "302 to a private address (10.1.2.3)", path="/to?url=http://10.1.2.3/f"
    ),
    Case(
        "body-longer",
        "1 MB more than its Content-Length",
        path="/liar/ordinary?extra=1000000&plain=1",
    ),
    Case(
        "body-shorter",
        "1,000 bytes fewer than its Content-Length",
        path="/liar/ordinary?missing=1000&plain=1",
    ),
    Case("gone", "410 Gone", path="/status/410"),
    Case("server-error", "500 Internal Server Error", path="/status/500"),
    Case("rate-limited", "429 with Retry-After: 7200", path="/status/429?retry_after=7200"),
    Case("not-a-feed", "an HTML page", path="/html"),
    Case("binary", "200 KB of random bytes", _binary),
    Case("many-items", "50,000 items", _many_items),
    Case("no-punctuation", "one 120,000-character sentence", _unpunctuated_sentence),
    Case("markup-titles", "script tags and Telegram-HTML breakers in titles", _markup_in_titles),
    Case("deep-markup", "100,000 nested <div> in an item", _deep_markup),
    Case("huge-title", "a 2,000,000-character title", _huge_title),
    Case("future-dates", "pubDate in 9999 and 2101", _far_future_dates),
    Case("stray-nuls", "valid UTF-8 with three NUL bytes", _stray_nuls),
    Case("damaged-utf8", "declared UTF-8 with two invalid bytes", _damaged_utf8),
    Case(
        "cp950-undeclared", "Traditional Chinese in CP950, no charset anywhere", _cp950_undeclared
    ),
    Case("shared-link", "3 items, no guid, one link", _shared_link_no_guid),
)


# ---- one case, in its own process ----------------------------------------------


class _SourceLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().splitlines()[0]
        if "source #" in message:
            self.lines.append(message)


def _peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024  # ru_maxrss is in KiB on Linux


def _source_state(db: Any, source_id: int) -> dict[str, Any]:
    from sqlalchemy import func, select

    from digests.store.models import Article, Source

    with db.read() as session:
        source = session.get(Source, source_id)
        articles = session.scalars(
            select(Article).where(Article.source_id == source_id).order_by(Article.id)
        ).all()
        stored = session.scalar(
            select(func.count()).select_from(Article).where(Article.source_id == source_id)
        )
        state: dict[str, Any] = {
            "stored": stored,
            "error": source.last_error,
            "enabled": source.enabled,
            "paused_reason": getattr(source, "disabled_reason", None),
            "next_check_s": (
                (source.next_check_at - datetime.now(UTC)).total_seconds()
                if source.next_check_at
                else None
            ),
            "location": source.location,
            "longest_title": max((len(a.title) for a in articles), default=0),
            "longest_summary_line": max(
                (len(line) for a in articles for line in (a.summary or [])), default=0
            ),
            "latest_published": max(
                (a.published_at.isoformat() for a in articles if a.published_at), default=None
            ),
            "sample_title": articles[0].title[:40] if articles else None,
        }
    return state


def run_case(url: str) -> dict[str, Any]:
    """Fetch ``url`` as the one source of a fresh database, twice; what happened."""
    from digests.config import FetchSettings, Settings
    from digests.engine import Engine
    from digests.store.db import Database
    from digests.store.sources import add_source

    lines = _SourceLines()
    logging.getLogger().addHandler(lines)
    logging.getLogger().setLevel(logging.INFO)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite:///{tmp}/case.db",
            fetch=FetchSettings(
                allowed_networks=["127.0.0.0/8"],
                read_timeout=READ_TIMEOUT,
                total_deadline=TOTAL_DEADLINE,
            ),
        )
        db = Database(settings.database_url)
        db.upgrade()
        with db.write() as session:
            source_id = add_source(
                session, kind="feed", location=url, name="case", interval_seconds=1800
            ).id
        engine = Engine(settings, db)
        try:
            started = time.perf_counter()
            [first] = asyncio.run(engine.fetch_now(force=True))
            seconds = time.perf_counter() - started
            state = _source_state(db, source_id)
            first_lines = list(lines.lines)
            again = asyncio.run(engine.fetch_now(force=True))  # none if paused
        finally:
            engine.close()
    return {
        "seconds": seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "error": first.error,
        "saved": [first.saved.new, first.saved.updated, first.saved.unchanged],
        "refetch": [[o.saved.new, o.saved.updated, o.saved.unchanged] for o in again],
        "refetch_error": [o.error for o in again if o.error],
        "not_modified_again": any(o.not_modified for o in again),
        "log": first_lines,
        **state,
    }


# ---- the table -------------------------------------------------------------------


def _outcome(result: dict[str, Any]) -> str:
    if result["error"]:
        text = f"refused: {result['error']}"
        if not result["enabled"]:
            text += f" — source paused ({result['paused_reason'] or 'no reason stored'})"
        elif isinstance(result["next_check_s"], float) and result["next_check_s"] > 600:
            text += f" — next try in {result['next_check_s'] / 3600:.1f} h"
        return text
    text = f"{result['stored']} stored"
    if result["sample_title"]:
        title = str(result["sample_title"])[:20].replace("`", "'")
        text += f" (first title `{title}`)"
    if result["longest_title"] and int(result["longest_title"]) > 1000:
        text += f"; title cut to {result['longest_title']} chars"
    if result["longest_summary_line"]:
        text += f"; longest summary sentence {result['longest_summary_line']} chars"
    if result["latest_published"]:
        text += f"; latest date {str(result['latest_published'])[:16]}"
    return text


def _refetch(result: dict[str, Any]) -> str:
    if not result["refetch"]:
        return "not fetched (paused)"
    if result["refetch_error"]:
        return "error again"
    if result["not_modified_again"]:
        return "not modified"
    [[new, updated, unchanged]] = result["refetch"]
    return f"{new} new, {updated} updated, {unchanged} unchanged"


def _run_in_process(url: str) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.robustness", "--case-url", url],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    if completed.returncode != 0:
        tail = (completed.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"crashed": tail}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def bench_robustness(
    runs: int,
    progress: Callable[[str], None] | None = None,
    cases: tuple[Case, ...] = CASES,
) -> list[dict[str, Any]]:
    """Per case: the first pass's outcome, the median time and peak memory of
    ``runs`` passes (cases interleaved within each pass)."""
    prepare_costly_bodies()
    results: dict[str, list[dict[str, Any]]] = {case.name: [] for case in cases}
    with FeedServer() as server:
        ordinary = _ordinary()
        server.put("ordinary", ordinary)
        urls = {
            case.name: server.put(case.name, case.document())
            if case.document
            else server.url(str(case.path).lstrip("/"))
            for case in cases
        }
        for run in range(runs):
            for case in cases:
                if progress:
                    progress(f"pass {run + 1}/{runs}: {case.name}")
                results[case.name].append(_run_in_process(urls[case.name]))
    rows = []
    for case in cases:
        passes = results[case.name]
        first = passes[0]
        row: dict[str, Any] = {"case": case.name, "what": case.what, **first}
        timed = [p for p in passes if "seconds" in p]
        if timed:
            row["seconds"] = statistics.median(float(p["seconds"]) for p in timed)
            row["seconds_max"] = max(float(p["seconds"]) for p in timed)
            row["peak_rss_mb"] = max(float(p["peak_rss_mb"]) for p in timed)
        row["passes"] = len(timed)
        rows.append(row)
    return rows


def robustness_markdown(rows: list[dict[str, Any]], runs: int) -> list[str]:
    lines = [
        "## Robustness: hostile sources, one at a time (`python -m benchmarks.robustness`)",
        "",
        f"Each case fetched by `Engine.fetch_now` in a fresh process, {runs} passes; "
        f"read timeout {READ_TIMEOUT:g} s, total deadline {TOTAL_DEADLINE:g} s, other limits "
        "as shipped. *Seconds*: the round (download, parse in the parser processes, store, "
        "summarize), median (slowest). *Peak RSS*: the most resident memory of the process "
        "or any of its parser processes, largest of the passes; the ordinary feed is the "
        "anchor. *Log*: WARNING lines naming the source in the first round.",
        "",
        "| case | what it is | outcome | log | refetch | seconds | peak RSS MB |",
        "|---|---|---|---:|---|---:|---:|",
    ]
    for row in rows:
        if "crashed" in row:
            lines.append(
                f"| {row['case']} | {row['what']} | CRASHED: {row['crashed']} | - | - | - | - |"
            )
            continue
        outcome = _outcome(row).replace("|", "\\|")
        log = row["log"]
        assert isinstance(log, list)
        lines.append(
            f"| {row['case']} | {row['what']} | {outcome} | {len(log)} | {_refetch(row)} | "
            f"{float(row['seconds']):.2f} ({float(row['seconds_max']):.2f}) | "
            f"{float(row['peak_rss_mb']):.0f} |"
        )
    logged = [(row["case"], row["log"]) for row in rows if row.get("log")]
    if logged:
        lines += ["", "Log lines (first round, first two per case):", ""]
        for name, log in logged:
            assert isinstance(log, list)
            for line in log[:2]:
                lines.append(f"- {name}: `{str(line)[:200]}`")
    lines.append("")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--case-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case_url:
        print(json.dumps(run_case(args.case_url), default=str, ensure_ascii=False))
        return 0
    from rich.console import Console

    console = Console(stderr=True)
    with console.status("robustness ...") as status:
        rows = bench_robustness(args.runs, lambda text: status.update(f"robustness: {text}"))
    report = "\n".join(["# Robustness benchmark", "", *robustness_markdown(rows, args.runs)])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "robustness.md").write_text(report, "utf-8")
    (RESULTS / "robustness.json").write_text(
        json.dumps(rows, indent=2, default=str, ensure_ascii=False), "utf-8"
    )
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
