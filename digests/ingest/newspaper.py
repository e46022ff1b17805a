"""Plain-text newspaper issues (a page-layout text export) -> articles.

The layout this reads: per article a title line (optionally a ``——`` subtitle
line), a byline (``■记者 NAME``), then paragraphs, the first often opening
with a dateline such as ``本报讯``. The layout also leaves damage behind that
this module repairs: paragraphs broken mid-word across lines, section
subheads (short lines without final punctuation), a line repeating the tail of
the previous paragraph, and slogan blocks between articles.

Pure: text in, ``NewspaperArticle`` list out. Decoding lives in
``digests.text.encoding``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from digests.records import RawArticle
from digests.text.normalize import (
    ends_complete,
    has_inner_sentence_end,
    join_broken,
    normalize_line,
    split_lines,
)

_BYLINE_MARKERS = "■□◆◇●○▲△★☆◎▌▍|"
_BYLINE = re.compile(
    rf"^[{_BYLINE_MARKERS}]?\s*"
    r"(?:(?:本报|本刊|特约|见习|实习)?(?:记者|通讯员|撰稿|撰文|作者)|文\s*/|文:|文：|By\s+(?=[A-Z]))"
    r"[\s:：/]*(?P<names>.*)$"
)
_LEAD = re.compile(
    r"^(?:本报讯|本刊讯|[^\s，,。“]{0,12}讯[\s（(]|本报[^\s，,。]{0,16}电|"
    r"[^\s，,。“]{1,10}社[^\s，,。]{0,16}电|[A-Z][A-Z .,'-]{1,40}\s[(—–-])"
)
_SUBTITLE_PREFIX = ("——", "—", "--", "－－")
_MAX_TITLE_CHARS = 80
# A section subhead is a short phrase; this is generous for Chinese (typical
# subheads run 10-25 characters) and counts an English word as one unit.
_MAX_SUBHEAD_UNITS = 40
# A line that starts with a sentence this short finishes a sentence broken by
# the layout ("...支撑和保障" / "作用。区人社局..."); no paragraph opens like that.
_MAX_FRAGMENT_CHARS = 4
_FRAGMENT_START = re.compile(rf"^([^。！？!?“‘「『\"'(（]{{1,{_MAX_FRAGMENT_CHARS}}})[。！？!?]")


# Marks that close what came before them: a line opening with one was cut from
# the line above by the layout.
_CLOSES_BEFORE = "”’」』）》〉】。，、；：！？"

_INDENT = re.compile(r"^(?:\u3000|[ \u00a0]{2,}|\t)")


# Why a line, or part of one, is not in any article (``IssueAccount.dropped``).
FURNITURE_BEFORE = "page furniture before the first article (mastheads, page headers)"
FURNITURE_AFTER = "short lines after an article's last paragraph (slogans, captions, editors)"
REPEATED_TAIL = "lines repeating the end of the paragraph before them"
CREDITS = "photo and reporter credits inside an article"
NO_BODY = "headlines with no text under them"
MARKS = "title and byline marks (——, ■记者)"
MENDED_HYPHENS = "hyphens mended at line breaks"


def visible_chars(text: str) -> int:
    """Characters a reader sees: everything but whitespace."""
    return len("".join(text.split()))


@dataclass(frozen=True, slots=True)
class _Line:
    text: str  # normalized
    full: bool  # reaches the hard-wrap column, so its paragraph likely goes on
    indented: bool
    after_gap: bool  # a blank line precedes it


@dataclass(frozen=True, slots=True)
class _Layout:
    indents_paragraphs: bool
    gaps_separate: bool


@dataclass(frozen=True, slots=True)
class NewspaperArticle:
    title: str
    subtitle: str | None
    byline: str | None
    lead: bool
    paragraphs: tuple[str, ...]
    subheads: tuple[str, ...]
    # The issue gave no title line: ``title`` is made from the first paragraph.
    title_derived: bool = False

    def to_raw(self) -> RawArticle:
        return RawArticle(
            title=self.title,
            subtitle=self.subtitle,
            byline=self.byline,
            author=self.byline,
            lead=self.lead,
            paragraphs=self.paragraphs,
            subheads=self.subheads,
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "title": self.title,
            "subtitle": self.subtitle,
            "byline": self.byline,
            "lead": self.lead,
            "paragraphs": list(self.paragraphs),
            "subheads": list(self.subheads),
        }

    def visible_chars(self) -> int:
        """Characters of the issue this article carries (a derived title is not)."""
        fields = [*self.paragraphs, *self.subheads, self.subtitle or "", self.byline or ""]
        if not self.title_derived:
            fields.append(self.title)
        return visible_chars("".join(fields))


@dataclass(frozen=True, slots=True)
class IssueAccount:
    """Where the visible characters of one issue went: kept in an article, or
    dropped for a reason. ``chars_in == chars_kept + dropped_chars``."""

    chars_in: int
    chars_kept: int
    dropped: tuple[tuple[str, int], ...]  # (reason, characters), largest first

    @property
    def dropped_chars(self) -> int:
        return sum(chars for _reason, chars in self.dropped)

    def report(self) -> str:
        """One line for a person: characters in, kept and dropped, and why."""
        share = 100.0 * self.chars_kept / self.chars_in if self.chars_in else 100.0
        line = (
            f"{self.chars_in:,} characters in, {self.chars_kept:,} kept ({share:.1f}%), "
            f"{self.dropped_chars:,} dropped"
        )
        if self.dropped:
            line += ": " + "; ".join(f"{chars:,} {reason}" for reason, chars in self.dropped)
        return line


@dataclass(frozen=True, slots=True)
class ParsedIssue:
    articles: list[NewspaperArticle]
    account: IssueAccount


class _Drops:
    """Characters left out of the articles, by reason, as the parser decides."""

    def __init__(self) -> None:
        self.by_reason: Counter[str] = Counter()

    def add(self, reason: str, chars: int) -> None:
        if chars > 0:
            self.by_reason[reason] += chars

    def lines(self, reason: str, lines: list[_Line]) -> None:
        self.add(reason, sum(visible_chars(line.text) for line in lines))


def _units(text: str) -> int:
    """Length as a reader weighs it: CJK characters and words count one each."""
    return len(re.findall(r"[A-Za-z0-9]+|\S", text))


def _byline_names(line: str) -> str | None:
    if len(line) > 60 or ends_complete(line):
        return None
    match = _BYLINE.match(line)
    if match is None:
        return None
    starts_with_marker = line[0] in _BYLINE_MARKERS
    names = match.group("names").strip()
    if not names and not starts_with_marker:
        return None
    return names or line.lstrip(_BYLINE_MARKERS).strip()


def is_lead(paragraph: str) -> bool:
    """Whether a paragraph opens with a dateline such as 本报讯 or 新华社北京电."""
    return bool(_LEAD.match(paragraph))


def _is_title_like(line: str) -> bool:
    return len(line) <= _MAX_TITLE_CHARS and not has_inner_sentence_end(line)


def _is_subhead_like(line: _Line, layout: _Layout) -> bool:
    if line.full or (layout.indents_paragraphs and line.indented):
        return False
    text = line.text
    return (
        _units(text) <= _MAX_SUBHEAD_UNITS
        and not ends_complete(text)
        and not has_inner_sentence_end(text)
    )


def _continues_sentence(line: str) -> bool:
    """A line that opens by finishing a sentence begun on the previous line."""
    return bool(_FRAGMENT_START.match(line)) or line[:1].islower()


def _is_repeated_tail(line: str, previous: str | None) -> bool:
    return previous is not None and (
        line == previous or (len(line) < len(previous) and previous.endswith(line))
    )


def _wrap_fit(lengths: list[int]) -> tuple[int, float] | None:
    """The column a hard-wrapped export breaks at (no line is longer), and the
    share of long lines that reach it, if the lengths look hard-wrapped. A line
    one short of the column counts: a wide character that would cross it moved
    to the next line."""
    long_lengths = [n for n in lengths if n >= 15]
    if len(long_lengths) < 8:
        return None
    width = max(long_lengths)
    share = sum(1 for n in long_lengths if n >= width - 1) / len(long_lengths)
    return (width, share) if share >= 0.4 else None


def _full_lines(raw_lines: list[str]) -> list[bool]:
    """Which lines reach the wrap column. A hard-wrapped export counts either
    characters or display columns (a non-ASCII character takes two, like its
    GBK/GB18030 encoding): whichever the file is wrapped by (neither: none)."""
    chars = [len(raw.rstrip()) for raw in raw_lines]
    columns = [
        2 * n - len(raw.rstrip().encode("ascii", "ignore"))
        for n, raw in zip(chars, raw_lines, strict=True)
    ]
    fits = [(fit, lengths) for lengths in (chars, columns) if (fit := _wrap_fit(lengths))]
    if not fits:
        return [False] * len(raw_lines)
    (width, _share), lengths = max(fits, key=lambda pair: pair[0][1])
    return [n >= width - 1 for n in lengths]


def _read_layout(text: str) -> tuple[list[_Line], _Layout]:
    """Non-empty lines with what the layout says about them, and about the file."""
    raw_lines = split_lines(text)
    full = _full_lines(raw_lines)
    lines: list[_Line] = []
    gap = False
    for raw, reaches_wrap in zip(raw_lines, full, strict=True):
        line = normalize_line(raw)
        if not line:
            gap = True
            continue
        lines.append(
            _Line(
                text=line,
                full=reaches_wrap,
                indented=bool(_INDENT.match(raw)),
                after_gap=gap,
            )
        )
        gap = False
    count = len(lines) or 1
    indented = sum(1 for line in lines if line.indented)
    gaps = sum(1 for line in lines[1:] if line.after_gap)
    layout = _Layout(
        # Indentation marks paragraph starts only if some lines have it and others not.
        indents_paragraphs=indented >= 3 and 0.15 <= indented / count <= 0.9,
        # Blank lines mark paragraph ends unless every line is followed by one.
        gaps_separate=0 < gaps < 0.8 * (count - 1),
    )
    return lines, layout


def _continues(paragraph: str, last_full: bool, line: _Line, layout: _Layout) -> bool:
    """Whether ``line`` carries on the paragraph before it (a layout line break)."""
    if line.text[0] in _CLOSES_BEFORE:
        return True  # no paragraph opens with a closing quote or a full stop
    if layout.indents_paragraphs and line.indented:
        return False
    if not ends_complete(paragraph):
        return True
    if not last_full:
        return False
    # The previous line reached the wrap column, so the sentence end there may
    # be a coincidence: the layout decides. A short unpunctuated line is a
    # heading, not the last line of the paragraph.
    if not line.full and not ends_complete(line.text):
        return False
    if layout.indents_paragraphs:
        return True
    return layout.gaps_separate and not line.after_gap


def _assemble_body(
    lines: list[_Line], layout: _Layout, drops: _Drops
) -> tuple[list[str], list[str], list[_Line]]:
    """Paragraphs and subheads of one article's body lines, damage repaired,
    and the short lines after the last paragraph (furniture, or a headline's
    only lines when there is no paragraph)."""
    paragraphs: list[str] = []
    subheads: list[str] = []
    pending_subheads: list[_Line] = []
    last_full = False
    for index, line in enumerate(lines):
        if (
            paragraphs
            and not pending_subheads
            and _continues(paragraphs[-1], last_full, line, layout)
        ):
            joined = join_broken(paragraphs[-1], line.text)
            # Joining adds at most a space; anything shorter lost a mended hyphen.
            drops.add(MENDED_HYPHENS, len(paragraphs[-1]) + len(line.text) - len(joined))
            paragraphs[-1] = joined
            last_full = line.full
            continue
        if _is_repeated_tail(line.text, paragraphs[-1] if paragraphs else None):
            drops.lines(REPEATED_TAIL, [line])
            continue
        if _byline_names(line.text) is not None:
            drops.lines(CREDITS, [line])  # a photo or reporter credit inside the body
            continue
        if _is_subhead_like(line, layout):
            following = lines[index + 1] if index + 1 < len(lines) else None
            if following is None or not _continues_sentence(following.text):
                pending_subheads.append(line)
                continue
        subheads.extend(pending.text for pending in pending_subheads)
        pending_subheads.clear()
        paragraphs.append(line.text)
        last_full = line.full
    return paragraphs, subheads, pending_subheads


@dataclass(frozen=True, slots=True)
class _Header:
    start: int  # first line of the header: where the previous article's body ends
    body: int  # first line of the body
    title: str
    subtitle: str | None
    byline: str | None
    opening: bool = False  # the text before the first article found


def _title_above(lines: list[_Line], anchor: int, floor: int) -> tuple[int, str, str | None] | None:
    """The title (and ``——`` subtitle) just above line ``anchor``, if there is one."""
    position = anchor - 1
    subtitle: str | None = None
    if position > floor and lines[position].text.startswith(_SUBTITLE_PREFIX):
        subtitle = lines[position].text.lstrip("—-－ ").strip() or None
        position -= 1
    if position >= floor and _is_title_like(lines[position].text):
        title = lines[position].text
        # A title longer than the wrap column goes on over the next line.
        while (
            position > floor
            and lines[position - 1].full
            and _is_title_like(lines[position - 1].text)
            and not ends_complete(lines[position - 1].text)
            and len(title) <= _MAX_TITLE_CHARS
        ):
            position -= 1
            title = join_broken(lines[position].text, title)
        return position, title, subtitle
    if subtitle is not None:  # the dashed line was the title itself
        return position + 1, lines[position + 1].text, None
    return None


def _byline_headers(lines: list[_Line]) -> list[_Header]:
    """Articles that start at a byline with the title above it."""
    headers: list[_Header] = []
    floor = 0
    for anchor, line in enumerate(lines):
        names = _byline_names(line.text)
        if names is None:
            continue
        found = _title_above(lines, anchor, floor)
        if found is None and headers:
            continue  # a byline inside an article, not a new one
        start, title, subtitle = found or (anchor, "", None)
        headers.append(_Header(start, anchor + 1, title, subtitle, names or None))
        floor = anchor + 1
    return headers


def _dateline_headers(lines: list[_Line], end: int) -> list[_Header]:
    """Articles among ``lines[:end]`` that start at a dateline paragraph
    (本报讯...) with the title above it."""
    headers: list[_Header] = []
    floor = 0
    for anchor in range(1, end):
        if not is_lead(lines[anchor].text):
            continue
        found = _title_above(lines, anchor, floor)
        if found is not None:
            start, title, subtitle = found
            headers.append(_Header(start, anchor, title, subtitle, None))
            floor = anchor + 1
    return headers


def _opening_header(lines: list[_Line], end: int) -> _Header:
    """The text before the first article found, as one article: titled by its
    first line when that reads as a title."""
    first = lines[0].text
    if end > 1 and _is_title_like(first) and not ends_complete(first):
        return _Header(0, 1, first, None, None, opening=True)
    return _Header(0, 0, "", None, None, opening=True)


def _find_headers(lines: list[_Line]) -> list[_Header]:
    """Where each article starts: at a byline with its title above, else at a
    dateline paragraph (本报讯...) with its title above. The text before the
    first article found is searched for datelines too, and what remains of it
    is one more article (or, without any paragraph, page furniture)."""
    headers = _byline_headers(lines)
    first = headers[0].start if headers else len(lines)
    headers = _dateline_headers(lines, first) + headers
    first = headers[0].start if headers else len(lines)
    if first > 0:
        headers.insert(0, _opening_header(lines, first))
    return headers


def _header_marks(lines: list[_Line], header: _Header) -> int:
    """Visible characters of the header lines that the title, subtitle and
    byline do not keep (dashes, ■记者)."""
    written = sum(visible_chars(line.text) for line in lines[header.start : header.body])
    kept = sum(visible_chars(text or "") for text in (header.title, header.subtitle, header.byline))
    return written - kept


def parse_issue(text: str) -> ParsedIssue:
    """Every article in one issue, in page order, and where every character went."""
    layout_lines, layout = _read_layout(text)
    chars_in = visible_chars("".join(line.text for line in layout_lines))
    drops = _Drops()
    articles: list[NewspaperArticle] = []
    headers = _find_headers(layout_lines) if layout_lines else []
    for number, header in enumerate(headers):
        end = headers[number + 1].start if number + 1 < len(headers) else len(layout_lines)
        paragraphs, subheads, trailing = _assemble_body(
            layout_lines[header.body : end], layout, drops
        )
        if not paragraphs:
            reason = FURNITURE_BEFORE if header.opening else NO_BODY
            drops.lines(reason, layout_lines[header.start : header.body] + trailing)
            continue
        drops.lines(FURNITURE_AFTER, trailing)
        drops.add(MARKS, _header_marks(layout_lines, header))
        articles.append(
            NewspaperArticle(
                title=header.title or fallback_title(paragraphs[0]),
                subtitle=header.subtitle,
                byline=header.byline,
                lead=is_lead(paragraphs[0]),
                paragraphs=tuple(paragraphs),
                subheads=tuple(subheads),
                title_derived=not header.title,
            )
        )
    account = IssueAccount(
        chars_in=chars_in,
        chars_kept=sum(article.visible_chars() for article in articles),
        dropped=tuple(drops.by_reason.most_common()),
    )
    return ParsedIssue(articles, account)


def parse_newspaper(text: str) -> list[NewspaperArticle]:
    """Every article in one issue, in page order."""
    return parse_issue(text).articles


def fallback_title(paragraph: str, limit: int = 40) -> str:
    """A title for text that has none: its first sentence, cut at ``limit``."""
    first = re.split(r"(?<=[。！？!?])", paragraph, maxsplit=1)[0]
    return first if len(first) <= limit else first[:limit].rstrip() + "…"
