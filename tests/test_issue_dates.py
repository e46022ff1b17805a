"""The date of a newspaper issue: file name, else masthead, else mtime."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from digests.ingest.issuedate import (
    FROM_MASTHEAD,
    FROM_MTIME,
    FROM_NAME,
    date_in_masthead,
    date_in_name,
    issue_date,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("issue_2026-11-20.txt", date(2026, 11, 20)),
        ("临江区报20261120.txt", date(2026, 11, 20)),
        ("2026_01_02-p3.txt", date(2026, 1, 2)),
        ("2026.03.04.txt", date(2026, 3, 4)),
        ("issue-20261340.txt", None),  # month 13
        ("page12345678901.txt", None),  # inside a longer number
        ("issue.txt", None),
    ],
)
def test_date_in_name(name: str, expected: date | None) -> None:
    assert date_in_name(name) == expected


def test_date_in_masthead_reads_the_top_short_lines_only() -> None:
    assert date_in_masthead("临江日报\n\n2026年11月20日 星期五\n第3版\n") == date(2026, 11, 20)
    assert date_in_masthead("LINJIANG DAILY\n2026/11/21 Saturday\n") == date(2026, 11, 21)
    long_line = "本报讯 2025年12月25日至26日，区委召开学习讨论会，" + "深入贯彻落实会议精神，" * 5
    assert date_in_masthead(f"标题\n{long_line}\n") is None
    deep = "\n".join(["一行"] * 20 + ["2026年11月20日"])
    assert date_in_masthead(deep) is None


def test_issue_date_prefers_name_then_masthead_then_mtime() -> None:
    masthead = "临江日报 2026年11月19日\n"
    modified = datetime(2026, 11, 18, 20, 0, tzinfo=UTC)
    named = issue_date("2026-11-20.txt", masthead, modified, "Asia/Shanghai")
    assert named is not None and (named.day, named.origin) == (date(2026, 11, 20), FROM_NAME)
    headed = issue_date("issue.txt", masthead, modified, "Asia/Shanghai")
    assert headed is not None and (headed.day, headed.origin) == (date(2026, 11, 19), FROM_MASTHEAD)
    # 20:00 UTC is already the next day in Shanghai
    timed = issue_date("issue.txt", "无日期\n", modified, "Asia/Shanghai")
    assert timed is not None and (timed.day, timed.origin) == (date(2026, 11, 19), FROM_MTIME)
    assert issue_date("issue.txt", "无日期\n", None, "UTC") is None
    midnight = timed.at_midnight("Asia/Shanghai")
    assert midnight.isoformat() == "2026-11-19T00:00:00+08:00"


def test_folder_issue_articles_carry_the_issue_date_and_since_respects_it(
    tmp_path: Path,
) -> None:
    """An issue read weeks after it was printed is not news of the last day."""
    from digests.config import Settings
    from digests.engine import Engine
    from digests.sources.folders import inspect_issue_file
    from digests.store.db import Database
    from tests.conftest import CORPUS

    issue = tmp_path / "临江区报_2026-10-01.txt"
    issue.write_bytes((CORPUS / "issue_2026-11-20.txt").read_bytes())
    read = inspect_issue_file(issue, zone="Asia/Shanghai")
    assert read.dated() == "dated 2026-10-01 from the file name"
    assert {a.published.isoformat() for a in read.articles if a.published} == {
        "2026-10-01T00:00:00+08:00"
    }
    undated = tmp_path / "issue.txt"
    undated.write_text("无日期的版面\n\n标题一则\n\n本报讯 今天天气晴朗。\n", "utf-8")
    os.utime(undated, (1_790_000_000, 1_790_000_000))  # 2026-09-21 UTC
    assert inspect_issue_file(undated, zone="UTC").dated() == (
        "dated 2026-09-21 from the file's modification time"
    )
    url = f"sqlite:///{tmp_path / 'dates.db'}"
    database = Database(url)
    database.upgrade()
    engine = Engine(Settings(database_url=url), database)
    try:
        engine.ingest_files([issue])
        assert engine.search("步道").results.total >= 1
        assert engine.search("步道 since:1d").results.total == 0
        assert engine.search("步道 since:2026-09-30").results.total >= 1
    finally:
        engine.close()
