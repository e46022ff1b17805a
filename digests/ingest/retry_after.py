"""A server's ``Retry-After`` (RFC 9110 §10.2.3), as seconds from now. Pure.

Sent with 429 Too Many Requests and 503 Service Unavailable: either a number
of seconds or an HTTP-date. The caller waits at least that long before asking
again. A value far in the future is capped, so that a hostile or broken
server cannot silence a source for years.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# A week: longer than any real maintenance window, short enough to notice.
MAX_RETRY_AFTER_SECONDS = 7 * 24 * 3600
STATUSES_WITH_RETRY_AFTER = (429, 503)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds to wait per ``value``; None when it is absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)
