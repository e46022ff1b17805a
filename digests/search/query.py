"""The search query language, parsed into a plain structure. Pure.

    数字化转型 临江          words: all must match
    "滨江 步道"              a quoted phrase: these words, in this order
    -夜市  -"night market"   excluded
    港口 OR 航线             either (binds the words on each side of OR)
    source:临江晚报  source:"Harbor Gazette"
    since:2026-01-01  since:7d  since:24h  since:2w

Nothing here is database syntax: the index turns each term into a quoted
string, so ``"``, ``*``, ``NEAR(``, ``OR OR`` or ``-`` in odd places are text
or ignored, never an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

MAX_QUERY_CHARS = 300
MAX_TERMS = 12
_TOKEN = re.compile(r'(-?)(?:(\w+):)?(?:"([^"]*)"?|(\S+))')
_SINCE = re.compile(r"^(\d{1,4})([hdwm])$", re.IGNORECASE)
_UNIT = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


@dataclass(frozen=True, slots=True)
class Term:
    text: str
    phrase: bool = False  # quoted: written just so (in order, together), not only its words


@dataclass(frozen=True, slots=True)
class Query:
    """AND over ``groups``; each group is an OR of terms."""

    groups: tuple[tuple[Term, ...], ...] = ()
    excluded: tuple[Term, ...] = ()
    sources: tuple[str, ...] = ()
    since: datetime | None = None
    problems: tuple[str, ...] = field(default=())  # what was ignored, and why

    @property
    def empty(self) -> bool:
        return not self.groups

    @property
    def terms(self) -> list[Term]:
        return [term for group in self.groups for term in group]


def _since(value: str, now: datetime) -> datetime | None:
    match = _SINCE.match(value)
    if match:
        count, unit = int(match.group(1)), match.group(2).lower()
        if unit == "m":  # months, roughly: a reader's "since:1m"
            return now - timedelta(days=30 * count)
        return now - _UNIT[unit] * count
    try:
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        return None
    return day.replace(tzinfo=UTC)


def _clean(text: str) -> str:
    """Text as a term: control characters out, space collapsed."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def parse_query(text: str, now: datetime | None = None) -> Query:
    now = now or datetime.now(UTC)
    text = _clean(text)[:MAX_QUERY_CHARS]
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    sources: list[str] = []
    since: datetime | None = None
    problems: list[str] = []
    join_next = False
    for match in _TOKEN.finditer(text):
        negated, prefix, quoted, bare = match.groups()
        value = quoted if quoted is not None else bare
        if prefix is not None and prefix.lower() in {"source", "since"}:
            if not value:
                continue
            if prefix.lower() == "source":
                sources.append(value.strip())
            elif (moment := _since(value.strip(), now)) is not None:
                since = moment
            else:
                problems.append(f"since:{value}")
            continue
        if prefix is not None:  # "word:thing" that is no filter: plain text
            value = f"{prefix}:{value}"
        if quoted is None and value == "OR" and not negated:
            join_next = bool(groups)
            continue
        term_text = _clean(value or "")
        if not term_text.strip("-*\"'()^:+"):
            continue  # punctuation alone says nothing to search for
        term = Term(term_text, phrase=quoted is not None)
        if negated:
            excluded.append(term)
        elif join_next and groups:
            groups[-1].append(term)
        else:
            groups.append([term])
        join_next = False
    if len(groups) > MAX_TERMS:
        problems.append(f"only the first {MAX_TERMS} words are used")
        groups = groups[:MAX_TERMS]
    return Query(
        groups=tuple(tuple(group) for group in groups),
        excluded=tuple(excluded[:MAX_TERMS]),
        sources=tuple(sources),
        since=since,
        problems=tuple(problems),
    )
