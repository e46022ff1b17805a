"""Sentence splitting for Chinese, English and mixed text. Pure.

A sentence ends at 。！？!?… (a run of them counts once) and at ``.`` followed
by a space or the end, unless the dot belongs to a number (5.6%), an
abbreviation (Mr., U.S., e.g.) or an initial (J. K. Rowling). ``；`` (and a
half-width ``;`` in Chinese context) is a clause mark: it ends a unit only
when the clause before it is long enough to stand alone as a sentence; ``：``
never does. Inside quotes and brackets no unit ends (up to a bound: a mark may
be missing); closing quotes and brackets stay with the sentence they close,
and an opening quote written where a closing one belongs (``”女强男弱“。``,
common in Chinese web text) closes. Text after the last mark is a sentence
too. Paragraph breaks (newlines) always end a sentence. A unit longer than
``MAX_SENTENCE_CHARS`` (text that lost its punctuation) is cut at clause marks
or spaces.
"""

from __future__ import annotations

import re

from digests.text.normalize import is_cjk

_CLOSERS = "”’」』）)》〉】]\"'"
_HARD_ENDS = "。！？!?…"
_OPENING_QUOTES = "“「『（【"
_CLOSING_QUOTES = "”」』）】"
# What follows a closing mark, never an opening one: “ before these closes.
_AFTER_CLOSE = _HARD_ENDS + "；;，,、：:"
# A quotation (or bracket) longer than this is split at its own sentence ends:
# its closing mark may be missing, and a reader needs shorter units anyway.
_MAX_QUOTE_CHARS = 160
# A clause ended by ； stands alone when it is at least this long: the median
# length of a sentence in Chinese news (40 characters in the 931 articles of
# ../shared/eval/zh_news_raw). A shorter one runs on into the next clause.
STANDALONE_CLAUSE_CHARS = 40
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st mt vs etc e.g i.e cf al approx dept est fig inc ltd co corp
    gov sen rep gen lt col capt sgt cmdr adm no nos vol pp jan feb mar apr jun jul aug sep
    sept oct nov dec mon tue wed thu fri sat sun u.s u.k u.n e.u a.m p.m ph.d b.a m.a""".split()
)
_INTERESTING = re.compile(r"[“「『（【”」』）】。！？!?…；;.]")
_WORD_BEFORE_DOT = re.compile(r"([A-Za-z][A-Za-z.]*)$")


def _dot_ends_sentence(text: str, index: int) -> bool:
    """Whether the ``.`` at ``index`` ends a sentence."""
    after = text[index + 1 : index + 2]
    if after and not after.isspace() and after not in _CLOSERS:
        return False  # 5.6, example.com, U.S.-led
    match = _WORD_BEFORE_DOT.search(text[:index])
    if match is None:
        return not text[index - 1 : index].isdigit() or not after or after.isspace()
    word = match.group(1).lower()
    # Mr. Smith, J. K. Rowling: an abbreviation or an initial does not end it.
    return not (word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()))


def _split_paragraph(text: str) -> list[str]:
    sentences: list[str] = []
    start = 0
    index = 0
    length = len(text)
    quote_opened_at: int | None = None  # inside “…”/「…」: ends wait for the close
    while index < length:
        found = _INTERESTING.search(text, index)  # skip plain characters in C
        if found is None:
            break
        index = found.start()
        ch = text[index]
        ends = False
        reversed_quote = ch == "“" and text[index + 1 : index + 2] in tuple(_AFTER_CLOSE)
        if ch in _OPENING_QUOTES and not reversed_quote:
            quote_opened_at = index if quote_opened_at is None else quote_opened_at
        elif ch in _CLOSING_QUOTES or reversed_quote:
            quote_opened_at = None
            # “…。” ends with its quote: the sentence closes after the mark.
            ends = index > 0 and text[index - 1] in _HARD_ENDS
        elif quote_opened_at is not None and index - quote_opened_at < _MAX_QUOTE_CHARS:
            index += 1
            continue
        if ends or ch in _HARD_ENDS:
            ends = True
        elif ch == "；" or (ch == ";" and index > 0 and is_cjk(text[index - 1])):
            ends = index - start + 1 >= STANDALONE_CLAUSE_CHARS
        elif ch == ".":
            if text.startswith("...", index):
                index += 3
                while index < length and text[index] == ".":
                    index += 1
                after = text[index : index + 1]
                ends = not after or after.isspace() or is_cjk(after)
                index -= 1
            else:
                ends = _dot_ends_sentence(text, index)
        if ends:
            index += 1
            while index < length and (text[index] in _HARD_ENDS or text[index] in "；;."):
                index += 1
            while index < length and text[index] in _CLOSERS:
                index += 1
            quote_opened_at = None
            sentence = text[start:index].strip()
            if sentence:
                sentences.append(sentence)
            start = index
            continue
        index += 1
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


# Longer than any sentence an editor lets through (news sentences stay well
# under 300 characters): a longer unit has lost its punctuation, and is cut so
# that no summary line or search snippet is a wall of text.
MAX_SENTENCE_CHARS = 500
_CLAUSE_BREAKS = "，、：,:"


def bound_sentence(sentence: str, limit: int = MAX_SENTENCE_CHARS) -> list[str]:
    """``sentence`` in pieces of at most ``limit`` characters, each cut after
    the last clause mark, else at the last space, in the second half of the
    window; a run with neither is cut at the limit. Nothing is dropped but the
    whitespace at the cuts."""
    pieces: list[str] = []
    rest = sentence
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind(mark) for mark in _CLAUSE_BREAKS) + 1
        if cut <= limit // 2:
            cut = window.rfind(" ")
        if cut <= limit // 2:
            cut = limit
        piece, rest = rest[:cut].strip(), rest[cut:].strip()
        if piece:
            pieces.append(piece)
    if rest:
        pieces.append(rest)
    return pieces


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` in order, none longer than ``MAX_SENTENCE_CHARS``;
    nothing is dropped but whitespace."""
    sentences: list[str] = []
    for paragraph in text.splitlines():
        if paragraph.strip():
            for sentence in _split_paragraph(paragraph.strip()):
                sentences.extend(bound_sentence(sentence))
    return sentences
