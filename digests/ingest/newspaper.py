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


_INDENT = re.compile(r"^(?:\u3000|[ \u00a0]{2,}|\t)")


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


def _wrap_width(lengths: list[int]) -> int | None:
    """The column a hard-wrapped export breaks at, if it looks hard-wrapped."""
    long_lengths = [n for n in lengths if n >= 15]
    if len(long_lengths) < 8:
        return None
    width = Counter(long_lengths).most_common(1)[0][0]
    near = sum(1 for n in long_lengths if width - 1 <= n <= width)
    if width == max(long_lengths) and near >= 0.4 * len(long_lengths):
        return width
    return None


def _read_layout(text: str) -> tuple[list[_Line], _Layout]:
    """Non-empty lines with what the layout says about them, and about the file."""
    raw_lines = split_lines(text)
    lengths = [len(raw.rstrip()) for raw in raw_lines]
    wrap_width = _wrap_width(lengths)
    lines: list[_Line] = []
    gap = False
    for raw, length in zip(raw_lines, lengths, strict=True):
        line = normalize_line(raw)
        if not line:
            gap = True
            continue
        lines.append(
            _Line(
                text=line,
                full=wrap_width is not None and length >= wrap_width - 1,
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


def _assemble_body(lines: list[_Line], layout: _Layout) -> tuple[list[str], list[str]]:
    """Paragraphs and subheads of one article's body lines, damage repaired."""
    paragraphs: list[str] = []
    subheads: list[str] = []
    pending_subheads: list[str] = []
    last_full = False
    for index, line in enumerate(lines):
        if (
            paragraphs
            and not pending_subheads
            and _continues(paragraphs[-1], last_full, line, layout)
        ):
            paragraphs[-1] = join_broken(paragraphs[-1], line.text)
            last_full = line.full
            continue
        if _is_repeated_tail(line.text, paragraphs[-1] if paragraphs else None):
            continue
        if _byline_names(line.text) is not None:
            continue  # a photo or reporter credit inside the body
        if _is_subhead_like(line, layout):
            following = lines[index + 1] if index + 1 < len(lines) else None
            if following is None or not _continues_sentence(following.text):
                pending_subheads.append(line.text)
                continue
        subheads.extend(pending_subheads)
        pending_subheads.clear()
        paragraphs.append(line.text)
        last_full = line.full
    # Short unpunctuated lines with no paragraph after them are page furniture
    # (slogans, "continued on page 2"), not part of the article.
    return paragraphs, subheads


@dataclass(frozen=True, slots=True)
class _Header:
    start: int  # first line of the header: where the previous article's body ends
    body: int  # first line of the body
    title: str
    subtitle: str | None
    byline: str | None


def _title_above(lines: list[str], anchor: int, floor: int) -> tuple[int, str, str | None] | None:
    """The title (and ``——`` subtitle) just above line ``anchor``, if there is one."""
    position = anchor - 1
    subtitle: str | None = None
    if position > floor and lines[position].startswith(_SUBTITLE_PREFIX):
        subtitle = lines[position].lstrip("—-－ ").strip() or None
        position -= 1
    if position >= floor and _is_title_like(lines[position]):
        return position, lines[position], subtitle
    if subtitle is not None:  # the dashed line was the title itself
        return position + 1, lines[position + 1], None
    return None


def _find_headers(lines: list[str]) -> list[_Header]:
    """Where each article starts: at a byline with its title above, else at a
    dateline paragraph (本报讯...) with its title above, else one article."""
    headers: list[_Header] = []
    floor = 0
    for anchor, line in enumerate(lines):
        names = _byline_names(line)
        if names is None:
            continue
        found = _title_above(lines, anchor, floor)
        if found is None and headers:
            continue  # a byline inside an article, not a new one
        start, title, subtitle = found or (anchor, "", None)
        headers.append(_Header(start, anchor + 1, title, subtitle, names or None))
        floor = anchor + 1
    if headers:
        return headers
    for anchor, line in enumerate(lines):
        if anchor == 0 or not is_lead(line):
            continue
        found = _title_above(lines, anchor, floor)
        if found is not None:
            start, title, subtitle = found
            headers.append(_Header(start, anchor, title, subtitle, None))
            floor = anchor + 1
    if headers:
        return headers
    if len(lines) > 1 and _is_title_like(lines[0]) and not ends_complete(lines[0]):
        return [_Header(0, 1, lines[0], None, None)]
    return [_Header(0, 0, "", None, None)]


def parse_newspaper(text: str) -> list[NewspaperArticle]:
    """Every article in one issue, in page order."""
    layout_lines, layout = _read_layout(text)
    if not layout_lines:
        return []
    headers = _find_headers([line.text for line in layout_lines])
    articles: list[NewspaperArticle] = []
    for number, header in enumerate(headers):
        end = headers[number + 1].start if number + 1 < len(headers) else len(layout_lines)
        paragraphs, subheads = _assemble_body(layout_lines[header.body : end], layout)
        if not paragraphs:
            continue
        articles.append(
            NewspaperArticle(
                title=header.title or _fallback_title(paragraphs[0]),
                subtitle=header.subtitle,
                byline=header.byline,
                lead=is_lead(paragraphs[0]),
                paragraphs=tuple(paragraphs),
                subheads=tuple(subheads),
            )
        )
    return articles


def _fallback_title(paragraph: str, limit: int = 40) -> str:
    first = re.split(r"(?<=[。！？!?])", paragraph, maxsplit=1)[0]
    return first if len(first) <= limit else first[:limit].rstrip() + "…"
