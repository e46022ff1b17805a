"""A snippet of the original text around the matched words, as escaped HTML. Pure."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from functools import lru_cache

SNIPPET_CHARS = 90


def _pattern(needles: Sequence[str]) -> re.Pattern[str] | None:
    return _compiled(tuple(needles))


@lru_cache(maxsize=256)
def _compiled(needles: tuple[str, ...]) -> re.Pattern[str] | None:
    """One pattern per search's needles (its page's every title and snippet use it)."""
    words = sorted({n for n in needles if n.strip()}, key=len, reverse=True)
    if not words:
        return None
    return re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)


def highlight(text: str, needles: Sequence[str]) -> str:
    """``text`` escaped, with every needle in <b>."""
    pattern = _pattern(needles)
    if pattern is None:
        return html.escape(text, quote=False)
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(html.escape(text[last : match.start()], quote=False))
        out.append(f"<b>{html.escape(match.group(0), quote=False)}</b>")
        last = match.end()
    out.append(html.escape(text[last:], quote=False))
    return "".join(out)


def snippet(text: str, needles: Sequence[str], width: int = SNIPPET_CHARS) -> str:
    """About ``width`` characters of ``text`` around its first match, highlighted."""
    flat = " ".join(text.split())
    pattern = _pattern(needles)
    match = pattern.search(flat) if pattern is not None else None
    if match is None:
        piece = flat[:width]
        return html.escape(piece, quote=False) + ("…" if len(flat) > width else "")
    start = max(0, match.start() - width // 3)
    end = min(len(flat), start + width)
    start = max(0, min(start, end - width))
    piece = flat[start:end]
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(flat) else ""
    return prefix + highlight(piece, needles) + suffix
