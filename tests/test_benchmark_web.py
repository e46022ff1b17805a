"""The web benchmark's harness: its percentiles, its query rule, the HTTP heads
its client reads, its report, and one tiny run end to end."""

from __future__ import annotations

import importlib.util
import json
import math
import random
from pathlib import Path

import pytest

from benchmarks import web as bench

TITLES = [
    "临江 港口 夜航 开通",
    "滨江 步道 首段 建成",
    "Harbor Town opens ferry pier",
    "临江 港口 扩建 工程 启动",
    "AI 5G iPhone 新品 发布会",
]


def split(text: str) -> list[str]:
    """A stand-in segmenter: the titles above are written pre-segmented."""
    return text.split()


def test_window_percentiles_are_nearest_rank_and_rates_per_second() -> None:
    latencies = [float(n) for n in range(100, 0, -1)]  # unsorted on purpose
    measured = {"latencies_ms": latencies, "errors": 2, "seconds": 4.0, "delivered": 10}
    window = bench.window_of(bench.EDITION, bench.IDLE, 1, measured)
    assert (window.p50_ms, window.p95_ms, window.p99_ms) == (50.0, 95.0, 99.0)
    assert window.requests == 100 and window.requests_per_second == 25.0
    assert window.errors == 2 and window.delivered_per_second == 2.5
    empty = bench.window_of(
        bench.NOTHING,
        bench.DELIVERING,
        1,
        {"latencies_ms": [], "errors": 0, "seconds": 2.0, "delivered": 6},
    )
    assert empty.requests == 0 and math.isnan(empty.p95_ms)
    assert empty.delivered_per_second == 3.0


def test_queries_follow_the_rule_and_repeat_with_the_seed() -> None:
    drawn = bench.draw_queries(TITLES, 6, 7, split)
    assert drawn == bench.draw_queries(TITLES, 6, 7, split)
    shuffled = TITLES[:]
    random.Random(1).shuffle(shuffled)
    assert drawn == bench.draw_queries(shuffled, 6, 7, split)  # the pool is sorted
    pool = {"临江", "港口", "夜航", "开通", "滨江", "步道", "首段", "建成", "扩建", "工程"}
    pool |= {"启动", "新品", "Harbor", "Town", "opens", "ferry", "pier", "iPhone"}
    assert len(drawn) == 6 and len(set(drawn)) == 6 and set(drawn) <= pool
    everything = bench.draw_queries(TITLES, 1000, 7, split)
    assert set(everything) == pool  # not "AI", "5G" (short), "发布会" (three characters)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\n", (200, 12, False)),
        (
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nConnection: close\r\n\r\n",
            (404, 3, True),
        ),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", (200, 0, True)),
    ],
    ids=["keep-alive", "closing", "http/1.0"],
)
def test_response_heads(head: bytes, expected: tuple[int, int, bool]) -> None:
    assert bench.parse_head(head) == expected


@pytest.mark.parametrize(
    "head",
    [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"SSH-2.0-x\r\n\r\n"],
    ids=["no length", "not http"],
)
def test_heads_it_cannot_read_are_refused(head: bytes) -> None:
    with pytest.raises(ValueError):
        bench.parse_head(head)


def _windows() -> list[bench.Window]:
    out = []
    for number, scale in ((1, 1.0), (2, 1.2), (3, 0.9)):
        for condition, targets in (
            (bench.IDLE, bench.IDLE_TARGETS),
            (bench.DELIVERING, bench.BUSY_TARGETS),
        ):
            for n, target in enumerate(targets):
                slow = 2.0 if condition == bench.DELIVERING else 1.0
                answered = 5 if condition == bench.DELIVERING else 8 + number  # 9, 10, 11
                latency = (n + 1) * slow * scale
                latencies = [] if target == bench.NOTHING else [latency] * answered
                out.append(
                    bench.window_of(
                        target,
                        condition,
                        number,
                        {
                            "latencies_ms": latencies,
                            "errors": 0,
                            "seconds": 1.0,
                            "delivered": 300 if target == bench.NOTHING else 200,
                        },
                    )
                )
    return out


def test_summary_takes_the_median_pass() -> None:
    rows = bench.summarize(_windows())
    assert len(rows) == len(bench.IDLE_TARGETS) + len(bench.BUSY_TARGETS)
    first = rows[0]
    assert (first.target, first.condition, first.passes) == (bench.EDITION, bench.IDLE, 3)
    assert first.p50_ms == 1.0  # passes at 1.0, 1.2, 0.9
    assert first.requests_per_second_shown == "10.0 (9.0–11.0)"


def test_report_shows_every_table() -> None:
    setup = {
        "corpus": {"articles": 2037, "demo": 19, "real": 2018},
        "bytes": {"edition": 20688, "private": 20624, "search_mean": 1877},
        "edition_items": 18,
        "queries": 200,
        "queries_with_hits": 199,
        "concurrency": 16,
        "seconds": 15.0,
        "runs": 3,
        "parts": 1,
        "chats": 3000,
        "skipped": ["the aiohttp anchor (aiohttp is not installed)"],
    }
    facts = {
        "cpus": 2,
        "cpu": "x",
        "machine": "x86_64",
        "python": "3.11",
        "load_average_start": 0.5,
        "load_average_end": 1.0,
        "seconds": 600,
    }
    text = bench.report("cmd", facts, "today", setup, _windows())
    for heading in (
        "## Per path",
        "## Delivery's effect on the pages",
        "## Anchors",
        "## The pages' effect on delivery",
        "## Every window",
    ):
        assert heading in text
    assert "2,018 real Chinese articles" in text and "Skipped: the aiohttp anchor" in text
    effect = text.split("## Delivery's effect")[1].split("##")[0]
    assert "| public edition `/e/daily/DATE` | 10 | 5 | -50.0% | 1.0 | 2.0 |" in effect
    delivery = text.split("## The pages' effect on delivery")[1].split("##")[0]
    assert "| no requests | 300 | - |" in delivery and "-33.3%" in delivery


def test_a_tiny_run_end_to_end(tmp_path: Path) -> None:
    argv = ["--seconds", "0.3", "--runs", "1", "--chats", "20", "--real", "0"]
    argv += ["--warmup", "0.1", "--concurrency", "2", "--results", str(tmp_path)]
    assert bench.main(argv) == 0
    record = json.loads((tmp_path / "web.json").read_text("utf-8"))
    windows = {(w["target"], w["condition"]): w for w in record["windows"]}
    expected = {(t, bench.IDLE) for t in bench.IDLE_TARGETS}
    expected |= {(t, bench.DELIVERING) for t in bench.BUSY_TARGETS}
    if importlib.util.find_spec("aiohttp") is None:  # the bench extra is not installed
        expected.discard((bench.AIOHTTP, bench.IDLE))
    assert set(windows) == expected
    for (target, _condition), window in windows.items():
        assert window["errors"] == 0, target
        assert (window["requests"] > 0) == (target != bench.NOTHING), target
    assert windows[(bench.NOTHING, bench.DELIVERING)]["delivered"] > 0
    assert record["setup"]["queries_with_hits"] > 0
    text = (tmp_path / "web.md").read_text("utf-8")
    assert text.startswith("# Web benchmark") and "--results" not in text
