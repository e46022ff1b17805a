"""The date of a newspaper issue: from its file name, else its masthead, else
the file's modification time. Pure.

An issue's articles carry this date (midnight in the paper's zone), not the
time they were read, so ``since:1d`` does not find a weeks-old issue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

# 2026-11-20, 2026_11_20, 2026.11.20, 20261120 (not inside a longer number)
_NAME_DATE = re.compile(r"(?<!\d)(\d{4})[-_.]?(\d{2})[-_.]?(\d{2})(?!\d)")
# 2026年11月20日, 2026-11-20, 2026/11/20
_TEXT_DATE = re.compile(
    r"(?<!\d)(\d{4})\s*(?:年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日|[-/.](\d{1,2})[-/.](\d{1,2})(?!\d))"
)
# The masthead is the top of the first page, in short lines: a date further
# down, or inside a paragraph, is an article's.
MASTHEAD_LINES = 12
MASTHEAD_LINE_CHARS = 60
# Years a newspaper issue can plausibly carry.
_FIRST_YEAR, _LAST_YEAR = 1900, 2200

FROM_NAME = "the file name"
FROM_MASTHEAD = "the masthead"
FROM_MTIME = "the file's modification time"


@dataclass(frozen=True, slots=True)
class IssueDate:
    day: date
    origin: str  # FROM_NAME | FROM_MASTHEAD | FROM_MTIME

    def at_midnight(self, zone: str) -> datetime:
        return datetime.combine(self.day, time(), tzinfo=ZoneInfo(zone))


def _valid(year: str, month: str, day: str) -> date | None:
    try:
        found = date(int(year), int(month), int(day))
    except ValueError:
        return None
    return found if _FIRST_YEAR <= found.year <= _LAST_YEAR else None


def date_in_name(name: str) -> date | None:
    for match in _NAME_DATE.finditer(name):
        if (found := _valid(*match.groups())) is not None:
            return found
    return None


def date_in_masthead(text: str) -> date | None:
    lines = [line for line in text.splitlines()[: MASTHEAD_LINES * 4] if line.strip()]
    for line in lines[:MASTHEAD_LINES]:
        if len(line.strip()) > MASTHEAD_LINE_CHARS:
            continue
        for match in _TEXT_DATE.finditer(line):
            year, zh_month, zh_day, month, day = match.groups()
            if (found := _valid(year, zh_month or month, zh_day or day)) is not None:
                return found
    return None


def issue_date(name: str, text: str, modified: datetime | None, zone: str) -> IssueDate | None:
    """The issue's date and where it was read from; None when nothing says."""
    if (found := date_in_name(name)) is not None:
        return IssueDate(found, FROM_NAME)
    if (found := date_in_masthead(text)) is not None:
        return IssueDate(found, FROM_MASTHEAD)
    if modified is not None:
        return IssueDate(modified.astimezone(ZoneInfo(zone)).date(), FROM_MTIME)
    return None
