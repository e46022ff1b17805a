"""Publication dates of feed items: read as written, then settled per document. Pure.

A feed's date text is read with or without its zone (``read_date``): RSS writes
RFC 822 (``Fri, 20 Nov 2026 07:30:00 +0800``), Atom and JSON Feed ISO 8601 /
RFC 3339 (``2026-11-20T07:30:00+08:00``), and many feeds leave the zone out.
Once every item of a document is read, ``settle_dates`` gives each date written
without a zone the document's own offset (the one most of its other dates
carry), else the configured zone; a date past the fetch time is set to the
fetch time, and a date before ``EARLIEST_DATE`` is taken as no date.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from digests.records import RawArticle

# Nothing was published in a feed before the web (RSS is from 1999): an older
# date is a placeholder (the Unix epoch, year 1, a zeroed field), not a real one.
EARLIEST_DATE = datetime(1990, 1, 1, tzinfo=UTC)
# A publisher's clock (or ours) may run a few minutes fast: a date that little
# ahead of the fetch is clock skew, kept as given, not a wrong date.
CLOCK_SKEW = timedelta(minutes=5)


_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
# RFC 822's named zones (CST is US Central there, as in every feed reader).
_NAMED_ZONES = {
    "ut": 0,
    "utc": 0,
    "gmt": 0,
    "z": 0,
    "est": -5,
    "edt": -4,
    "cst": -6,
    "cdt": -5,
    "mst": -7,
    "mdt": -6,
    "pst": -8,
    "pdt": -7,
}
_RFC822 = re.compile(
    r"^(?:[a-z]+,?\s*)?(?P<day>\d{1,2})[\s-]+(?P<month>[a-z]{3})[a-z]*\.?[\s-]+"
    r"(?P<year>\d{4}|\d{2})\s+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"(?:\.\d+)?\s*(?:(?P<offset>[+-]\d{2}:?\d{2})|(?P<name>[a-z]{1,5}))?$",
    re.IGNORECASE,
)
_TRAILING_COMMENT = re.compile(r"\s*\([^()]*\)$")  # "+0800 (CST)": RFC 2822 allows it
# Not email.utils.parsedate_to_datetime: it reads year 0001 as 2001 (a
# placeholder would pass for a real date) and an unknown zone name as no zone.


def read_date(text: str) -> datetime | None:
    """The date ``text`` writes: aware when it names a zone, naive when it names
    none, ``None`` when it is neither RFC 822 nor ISO 8601 (or names a zone
    we do not know)."""
    text = text.strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    match = _RFC822.match(_TRAILING_COMMENT.sub("", text))
    if match is None:
        return None
    year = int(match["year"])
    if len(match["year"]) == 2:  # RFC 822's two-digit years, read as RFC 2822 says
        year += 2000 if year < 50 else 1900
    try:
        return datetime(
            year,
            _MONTHS[match["month"].lower()],
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"] or 0),
            tzinfo=_zone(match["offset"], match["name"]),
        )
    except (KeyError, ValueError):  # no such month, day, hour or zone
        return None


def _zone(offset: str | None, name: str | None) -> tzinfo | None:
    """The zone an RFC 822 date names (``None``: it names none); ``KeyError`` for
    a name we do not know, ``ValueError`` for an offset of a day or more."""
    if offset is not None:
        digits = offset[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + int(digits[2:])
        return timezone(timedelta(minutes=-minutes if offset[0] == "-" else minutes))
    if name is None:
        return None
    return timezone(timedelta(hours=_NAMED_ZONES[name.lower()]))


@dataclass(frozen=True, slots=True)
class SettledDates:
    """A document's articles with their dates settled, and how many were changed."""

    articles: list[RawArticle]
    future: int = 0  # later than the fetch time (beyond ``CLOCK_SKEW``): set to it
    implausible: int = 0  # before ``EARLIEST_DATE``: taken as no date


def document_offset(dates: Sequence[datetime | None]) -> tzinfo | None:
    """The UTC offset most of the dates that carry one carry (the first seen on a tie)."""
    offsets = Counter(
        offset for date in dates if date is not None and (offset := date.utcoffset()) is not None
    )
    if not offsets:
        return None
    return timezone(offsets.most_common(1)[0][0])


def settle_dates(
    articles: Sequence[RawArticle], *, default_zone: str, fetched_at: datetime | None
) -> SettledDates:
    """Every date aware and in UTC: a naive one in the document's offset, else in
    ``default_zone`` (an IANA name); later than ``fetched_at`` + ``CLOCK_SKEW``
    set to ``fetched_at`` (no limit without one); before ``EARLIEST_DATE`` dropped."""
    naive_zone = document_offset([a.published for a in articles]) or ZoneInfo(default_zone)
    settled: list[RawArticle] = []
    future = implausible = 0
    for article in articles:
        date = article.published
        if date is None:
            settled.append(article)
            continue
        if date.utcoffset() is None:
            date = date.replace(tzinfo=naive_zone)
        # Aware datetimes compare without converting, so years 1 and 9999 are
        # safe here; converting them to UTC could overflow.
        if date < EARLIEST_DATE:
            implausible += 1
            settled.append(replace(article, published=None))
        elif fetched_at is not None and date > fetched_at + CLOCK_SKEW:
            future += 1
            settled.append(replace(article, published=fetched_at))
        else:
            settled.append(replace(article, published=_in_utc(date)))
    return SettledDates(settled, future, implausible)


def _in_utc(date: datetime) -> datetime:
    try:
        return date.astimezone(UTC)
    except OverflowError:  # near year 9999 with no fetch time to compare against
        return date
