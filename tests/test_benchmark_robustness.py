"""The robustness benchmark's harness: a case runs in its own process through
the production path, and its row says what happened."""

from __future__ import annotations

from benchmarks.robustness import CASES, bench_robustness, robustness_markdown


def _cases(*names: str) -> tuple:
    chosen = tuple(case for case in CASES if case.name in names)
    assert len(chosen) == len(names)
    return chosen


def test_rows_report_outcome_refetch_time_and_memory() -> None:
    rows = bench_robustness(1, cases=_cases("ordinary", "server-error", "markup-titles"))
    by_name = {row["case"]: row for row in rows}
    ordinary = by_name["ordinary"]
    assert ordinary["stored"] == 20 and ordinary["error"] is None
    assert ordinary["not_modified_again"] is True
    assert ordinary["peak_rss_mb"] > 10 and ordinary["seconds"] > 0
    failing = by_name["server-error"]
    assert failing["stored"] == 0 and "500" in failing["error"]
    assert any("source #1" in line and "500" in line for line in failing["log"])
    assert by_name["markup-titles"]["stored"] == 5
    table = "\n".join(robustness_markdown(rows, 1))
    assert "| ordinary |" in table and "refused: HTTP status 500" in table
    assert "CRASHED" not in table
