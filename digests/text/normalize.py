"""Whitespace and line-level normalization shared by every parser."""

from __future__ import annotations

import re

# Full-width, no-break and typographic spaces read as one ordinary space.
_SPACES = re.compile(r"[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\t\f\v]+")
# Zero-width characters and stray BOMs carry no text.
_INVISIBLE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_RUNS_OF_SPACES = re.compile(r" {2,}")
# Control characters, lone surrogates and private-use code points carry no text.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ue000-\uf8ff]")

TERMINAL_MARKS = "。！？!?；;…"
CLOSING_MARKS = "”’」』）)》〉】]\"'"
# Text that closes a complete unit: a sentence end or a colon that introduces
# what follows, optionally followed by closing quotes or brackets.
_ENDS_COMPLETE = re.compile(r"(?:[。！？!?；;…：:]|\.(?!\d))[”’」』）)》〉】\]\"']*$")
_SENTENCE_END_INSIDE = re.compile(r"[。！？!?；;](?!$)|\.\s+(?=\S)")


def normalize_line(line: str) -> str:
    """One line with odd spaces made plain, invisibles dropped, ends trimmed."""
    line = _INVISIBLE.sub("", line)
    line = _SPACES.sub(" ", line)
    line = _CONTROLS.sub("", line.replace("\n", " "))
    return _RUNS_OF_SPACES.sub(" ", line).strip()


def split_lines(text: str) -> list[str]:
    """Lines as written, whatever the line ends (CRLF, CR, U+2028/9, NEL)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n\n").replace("\x85", "\n")
    return text.split("\n")


def ends_complete(text: str) -> bool:
    """True when ``text`` ends a sentence (or introduces the next with a colon)."""
    return bool(_ENDS_COMPLETE.search(text))


def has_inner_sentence_end(text: str) -> bool:
    """True when a sentence ends somewhere before the end of ``text``."""
    return bool(_SENTENCE_END_INSIDE.search(text.rstrip(CLOSING_MARKS + TERMINAL_MARKS)))


_WORDISH_TAIL = re.compile(r"[A-Za-z0-9]+$")
_WORDISH_HEAD = re.compile(r"^[A-Za-z0-9]+")


def _is_wordish(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def join_broken(head: str, tail: str) -> str:
    """Join a line broken by layout: no space inside CJK, one between words.

    An English word hyphenated at the break (``exam-`` / ``ple``) is mended.
    """
    if not head:
        return tail
    if not tail:
        return head
    if head.endswith("-") and len(head) > 1 and head[-2].isalpha() and tail[0].islower():
        return head[:-1] + tail
    if not _is_wordish(tail[0]):
        return head + tail
    if head[-1].isdigit() and tail[0].isdigit():
        return head + tail  # a number broken by the layout
    if head[-1] == "." and len(head) > 1 and head[-2].isdigit() and tail[0].isdigit():
        return head + tail  # a decimal number broken at its point
    if head[-1] in ",;:.!?":
        return f"{head} {tail}"
    if not _is_wordish(head[-1]):
        return head + tail
    # Letters or digits on both sides: a space between English words, none
    # inside a number or name embedded in Chinese text ("12月2" / "1日").
    head_run = _WORDISH_TAIL.search(head)
    tail_run = _WORDISH_HEAD.match(tail)
    before = head[head_run.start() - 1] if head_run and head_run.start() > 0 else " "
    after = tail[tail_run.end()] if tail_run and tail_run.end() < len(tail) else " "
    if is_cjk(before) or is_cjk(after):
        return head + tail
    return f"{head} {tail}"


def is_cjk(ch: str) -> bool:
    """Han, CJK punctuation and full-width forms: text written without spaces."""
    return "\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\uff00" <= ch <= "\uffef"
