"""Index and query terms: one analyzer for both sides. Pure (jieba's dictionary aside).

Articles are segmented once, at the summarize stage, in jieba's precise mode
(``digests.text.tokens.analyze``); the index adds what jieba's search mode
would add — the dictionary words of two and three characters inside longer
words (中国科学院 -> 中国, 科学, 学院, 科学院) — so a word inside a longer
compound is found. Queries go through the same analyzer. Title characters and
character pairs are indexed apart (``grams``) so that one- and two-character
queries, which a word index cannot see inside words, are still answered.
English words are lower-cased and stemmed on both sides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

from digests.text.pairs import HAN_RUN, text_pairs
from digests.text.tokens import analyze_all, dictionary_in_use, load_segmenter, query_term

_HAN_ONLY = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def is_han(text: str) -> bool:
    return _HAN_ONLY.fullmatch(text) is not None


def expand(tokens: Iterable[str]) -> list[str]:
    """Each token, followed (for long Chinese words) by its dictionary sub-words."""
    segmenter = None
    out: list[str] = []
    for token in tokens:
        out.append(token)
        if len(token) > 2 and is_han(token):
            segmenter = segmenter or load_segmenter()
            out.extend(segmenter.sub_words(token))
    return out


def index_text(token_lists: Iterable[Sequence[str]]) -> str:
    """What the body column holds: every word and sub-word, space-joined."""
    return " ".join(word for tokens in token_lists for word in expand(tokens))


def title_grams(title: str) -> str:
    """The title's distinct Chinese characters and character pairs."""
    grams: dict[str, None] = {}
    for run in HAN_RUN.findall(title):
        for ch in run:
            grams[ch] = None
        for start in range(len(run) - 1):
            grams[run[start : start + 2]] = None
    return " ".join(grams)


def as_written(text: str) -> str:
    """A Chinese phrase as the stored text writes it (``滨江 步道`` -> 滨江步道);
    any other text as it is."""
    return "".join(text.split()) if is_han_phrase(text) else text


def phrase_pairs(text: str) -> list[str]:
    """The pairs (see ``text_pairs``) of a phrase as written, Chinese words
    squeezed together as the stored text writes them; empty when the phrase
    has fewer than two Chinese characters in a row."""
    return text_pairs(as_written(text)).split()


def is_han_phrase(text: str) -> bool:
    """Chinese words only, maybe spaced (``滨江 步道``)."""
    return is_han("".join(text.split()))


def term_words(text: str) -> tuple[str, ...]:
    """``query_words`` of one query term, remembered: a search asks for the same
    term's words several times (the query, the highlights, the check)."""
    return _term_words(text, dictionary_in_use())


@lru_cache(maxsize=2048)
def _term_words(text: str, _dictionary: Path | None) -> tuple[str, ...]:
    return tuple(query_words(text))


def query_words(text: str) -> list[str]:
    """The words of one query term, through the index's analyzer (stopwords
    included, as the index holds them; an acronym as ``search_terms`` holds it)."""
    return [query_term(term, surface) for term, surface, _stop in analyze_all(text)]
