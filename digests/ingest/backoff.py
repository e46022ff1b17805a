"""When a source is next due. Pure: the caller passes the clock and the settings."""

from __future__ import annotations

from datetime import datetime, timedelta


def next_check_time(
    now: datetime, interval_seconds: int, error_count: int, max_backoff_seconds: int
) -> datetime:
    """``now + interval`` after a success; doubled per consecutive error, capped."""
    delay = interval_seconds * (2 ** min(error_count, 20)) if error_count else interval_seconds
    return now + timedelta(seconds=min(delay, max(max_backoff_seconds, interval_seconds)))
