"""Extractive summaries: an article's own sentences, ranked, chosen, in order.

Shape (as in sumy): sentences in, chosen sentences out in document order; the
budget is a number of sentences or of characters as a reader counts them.

Ranking combines what the literature and news itself say matters, each part
cheap enough to run on every article as it arrives:

- centrality to the rest of the article: cosine similarity of a sentence's
  TF-IDF vector to the centroid of the other sentences (as in centroid
  summarizers, but a sentence does not vote for itself: in a three-sentence
  item its own words would make the longest sentence the most central);
- directed centrality (PacSum): a sentence that later sentences elaborate on
  scores higher than one that only repeats what came before;
- the lead bias of news: earlier sentences are likelier summary material;
- similarity to the title, when there is one;
- a length prior: fragments and run-on sentences are poor summaries (the
  shipped weights leave it off: no setting of it helped beyond noise);
- redundancy removal (MMR) when more than one sentence is chosen.

Datelines, bylines and photo credits are stripped or skipped: they are never
the content of a summary. Each article is segmented once (``prepare``) and the
tokens are reused by the ranker and the keyword extractor.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
import numpy.typing as npt

from digests.text.sentences import split_sentences
from digests.text.tokens import Language, Word, analyze_all, detect_language, index_terms

__all__ = ["Document", "RankParams", "prepare", "split_sentences", "summarize", "visible_length"]

Matrix = npt.NDArray[np.float64]

# The ranker looks at this many sentences at most: news puts what matters
# early, and it keeps a 200,000-character input in bounded time.
MAX_SENTENCES = 250

_DATELINE_ZH = re.compile(
    r"^(?:[^\s，,。：:“”（）()]{0,14}(?:讯|电)(?=[\s　（(记【]|$)|【[^】]{1,20}】)\s*"
)
_REPORTERS_ZH = re.compile(
    r"^(?:[（(][^）)]{0,40}[）)]|(?:本报|特约|见习)?(?:记者|通讯员)\s*(?:[\u4e00-\u9fff·]{2,4}(?:\s+|、|$))+)\s*"
)
_DATELINE_EN = re.compile(
    r"^(?:By \. .{0,80}? \. (?:PUBLISHED: \. .{0,60}? \. \| \. UPDATED: \. .{0,60}? \. )?"
    r"|[A-Z][A-Za-z ,.'-]{0,60}\((?:CNN|AP|Reuters|AFP|EW\.com|CNET)\)\s*(?:--|—|-)?\s*"
    r"|\((?:CNN|AP|Reuters|AFP)\)\s*(?:--|—|-)?\s*)"
)
_NOT_CONTENT = re.compile(
    r"^(?:[（(]?(?:图片?(?:来源|为|：|:)|摄影|记者\s*[\u4e00-\u9fff]{2,4}\s*摄|责任编辑|原标题|编辑[:：]"
    r"|来源[:：]|点击|扫码|关注)|Scroll down|Click here|Follow @|Share this|Read more|"
    r"Photo:|Image:|Video:)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class RankParams:
    """Weights of the ranking signals; see the module docstring."""

    centroid: float
    directed: float
    backward_penalty: float  # PacSum's weight on similarity to earlier sentences
    position: float
    position_decay: float  # lead prior = 1 / (1 + index) ** decay
    title: float
    mmr_lambda: float  # 1.0 = no redundancy penalty
    short_chars: int  # sentences shorter than this (visible characters) are penalized
    long_chars: int  # and so are those longer than this


# Chosen by benchmarks/tune_summarize.py on every evaluation set of the
# language (each set weighing the same; from neutral weights, a change kept
# only when its gain is clearly above noise), never per set; how the procedure
# does on a set it did not see is its leave-one-set-out table in
# benchmarks/results/summarize.md. Chinese keeps the neutral weights: no change
# helped the sets together beyond noise. The title weight cannot be tuned there
# (those sets have no titles, or the title is the reference): a sentence
# restating the title is the editor's own summary, so it weighs as much as the lead.
PARAMS: dict[str, RankParams] = {
    "zh": RankParams(
        centroid=1.0,
        directed=1.0,
        backward_penalty=0.0,
        position=1.0,
        position_decay=1.0,
        title=1.5,
        mmr_lambda=1.0,
        short_chars=0,
        long_chars=100000,
    ),
    "en": RankParams(
        centroid=0.0,
        directed=1.0,
        backward_penalty=0.0,
        position=1.0,
        position_decay=1.0,
        title=1.5,
        mmr_lambda=0.7,
        short_chars=0,
        long_chars=100000,
    ),
}


@dataclass(frozen=True, slots=True)
class Document:
    """An article prepared once: cleaned sentences, their words, the title's words."""

    sentences: tuple[str, ...]
    tokens: tuple[tuple[str, ...], ...]  # content words (no stopwords)
    title_tokens: tuple[str, ...]
    language: Language
    eligible: tuple[bool, ...]  # False: boilerplate or a fragment, never chosen
    surfaces: dict[str, str]  # term -> its most frequent written form, where they differ
    lengths: tuple[int, ...]  # visible length of each sentence
    # Every word, stopwords too (term, surface, stopword), for the search index: a
    # reader may search any word.
    words: tuple[tuple[Word, ...], ...] = ()
    title_words: tuple[Word, ...] = ()

    def index_tokens(self) -> tuple[tuple[str, ...], ...]:
        """What the search index holds for each sentence (``index_terms``)."""
        return tuple(index_terms(words) for words in self.words)

    def index_title_tokens(self) -> tuple[str, ...]:
        return index_terms(self.title_words)


def visible_length(text: str) -> int:
    """Characters as a reader sees them: combining marks, joiners and
    variation selectors do not count; a run of spaces counts once."""
    text = _SPACE_RUNS.sub(" ", text.strip())
    if text.isascii():
        return len(text)
    return len(text) - sum(1 for ch in _MAYBE_INVISIBLE.findall(text) if _invisible(ch))


_SPACE_RUNS = re.compile(r"\s+")
# A title cut short by its feed: a letter, digit or Chinese character right
# before a trailing ellipsis.
_CUT_TITLE = re.compile(r"[\w\u3400-\u9fff](?:…|\.\.\.|⋯)+\s*$")
# Candidates only (cheap to find); unicodedata decides.
_MAYBE_INVISIBLE = re.compile(
    "[\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u0610-\u061a"
    "\u064b-\u065f\u0e31-\u0e4e\u1ab0-\u1aff\u1dc0-\u1dff"
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u20d0-\u20ff"
    "\u302a-\u302f\u3099\u309a\ufe00-\ufe0f\ufe20-\ufe2f\ufeff"
    "\U000e0100-\U000e01ef\U0001f3fb-\U0001f3ff]"
)


def _invisible(ch: str) -> bool:
    if "\U0001f3fb" <= ch <= "\U0001f3ff":  # emoji skin-tone modifiers
        return True
    return unicodedata.category(ch) in {"Mn", "Me", "Cf"} or "\ufe00" <= ch <= "\ufe0f"


def _clean(sentence: str, first_in_paragraph: bool) -> str:
    """The sentence without a leading dateline, byline or credit."""
    if not first_in_paragraph:
        return sentence
    cleaned = sentence
    for pattern in (_DATELINE_ZH, _REPORTERS_ZH, _DATELINE_EN, _REPORTERS_ZH):
        cleaned = pattern.sub("", cleaned, count=1)
    return cleaned.strip() or sentence


def prepare(text: str, title: str | None = None, language: Language | None = None) -> Document:
    """Split, clean and segment an article once."""
    sentences: list[str] = []
    for paragraph in text.splitlines():
        for position, sentence in enumerate(split_sentences(paragraph)):
            sentences.append(_clean(sentence, position == 0))
            if len(sentences) >= MAX_SENTENCES:
                break
        if len(sentences) >= MAX_SENTENCES:
            break
    language = language or detect_language(" ".join(sentences[:20]) or (title or ""))
    analyzed_all = [analyze_all(s, language) for s in sentences]
    analyzed = [[(t, surface) for t, surface, stop in words if not stop] for words in analyzed_all]
    tokens = tuple(tuple(term for term, _ in pairs) for pairs in analyzed)
    eligible = tuple(
        bool(toks) and not _NOT_CONTENT.match(s) for s, toks in zip(sentences, tokens, strict=True)
    )
    title_all = analyze_all(title, language) if title else []
    title_pairs = [(t, surface) for t, surface, stop in title_all if not stop]
    if title and _CUT_TITLE.search(title) and title_pairs:
        title_pairs.pop()  # "…new exp…": the word the cut left is no keyword
    written: Counter[tuple[str, str]] = Counter(
        pair for pairs in (*analyzed, title_pairs) for pair in pairs if pair[0] != pair[1]
    )
    surfaces: dict[str, str] = {}
    for (term, surface), _count in written.most_common():
        surfaces.setdefault(term, surface)
    return Document(
        sentences=tuple(sentences),
        tokens=tokens,
        title_tokens=tuple(term for term, _ in title_pairs),
        language=language,
        eligible=eligible,
        surfaces=surfaces,
        lengths=tuple(visible_length(s) for s in sentences),
        words=tuple(tuple(words) for words in analyzed_all),
        title_words=tuple(title_all),
    )


def _vectors(document: Document) -> tuple[Matrix, Matrix, dict[str, int]]:
    """Unit TF-IDF rows per sentence (IDF over the article's sentences), each
    row's cosine to the sum of the other rows, and each term's column."""
    columns: dict[str, int] = {}
    words = chain.from_iterable(document.tokens)
    cells = [columns.setdefault(term, len(columns)) for term in words]
    rows = np.repeat(np.arange(len(document.tokens)), [len(t) for t in document.tokens])
    counts = np.zeros((len(document.tokens), len(columns)))
    np.add.at(counts, (rows, np.array(cells, dtype=np.intp)), 1.0)
    frequency = np.count_nonzero(counts, axis=0)
    weights = counts * (np.log((len(document.tokens) + 1) / (frequency + 0.5)) + 1.0)
    vectors = _unit_rows(weights)
    others = _unit_rows(weights.sum(axis=0)[None, :] - weights)
    return vectors, np.einsum("ij,ij->i", vectors, others), columns


def _unit_rows(matrix: Matrix) -> Matrix:
    norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix))
    norms[norms == 0.0] = 1.0
    return matrix / norms[:, None]


def _directed(vectors: Matrix) -> tuple[Matrix, Matrix]:
    """For each sentence, its summed similarity to all later and to all earlier
    ones: ``v_i · Σ_{j>i} v_j`` from running sums, linear in the article's length."""
    before = np.cumsum(vectors, axis=0) - vectors
    after = vectors.sum(axis=0) - before - vectors
    return np.einsum("ij,ij->i", vectors, after), np.einsum("ij,ij->i", vectors, before)


def _scaled(values: Matrix) -> Matrix:
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-12:
        return np.zeros_like(values)
    return (values - low) / (high - low)


def rank(document: Document, params: RankParams) -> tuple[list[float], Matrix]:
    """A score per sentence (higher is better) and the sentences' unit vectors."""
    vectors, centrality, columns = _vectors(document)
    forward, backward = _directed(vectors)
    count = len(document.tokens)
    scores = (
        params.centroid * _scaled(centrality)
        + params.directed * _scaled(forward - params.backward_penalty * backward)
        + params.position / (1.0 + np.arange(count)) ** params.position_decay
    )
    if document.title_tokens:
        counts = Counter(document.title_tokens)
        norm = math.sqrt(sum(c * c for c in counts.values())) or 1.0
        title = np.zeros(len(columns))
        for term, times in counts.items():
            if term in columns:
                title[columns[term]] = times / norm
        scores += params.title * (vectors @ title)
    lengths = np.array(document.lengths, dtype=float)
    if params.short_chars > 0:
        short = lengths < params.short_chars
        scores[short] *= lengths[short] / params.short_chars
    long = lengths > max(params.long_chars, params.short_chars - 1)
    scores[long] *= params.long_chars / lengths[long]
    return scores.tolist(), vectors


def _select(
    document: Document,
    scores: Sequence[float],
    vectors: Matrix,
    params: RankParams,
    sentences: int | None,
    chars: int | None,
) -> list[int]:
    """Indices chosen greedily by MMR under the budget, in document order."""
    candidates = [i for i, ok in enumerate(document.eligible) if ok]
    if not candidates:
        candidates = [i for i, text in enumerate(document.sentences) if text]
    chosen: list[int] = []
    used = 0
    seen_texts: set[str] = set()
    limit = sentences if sentences is not None else (None if chars is not None else 3)
    # Highest similarity of each candidate to what is already chosen, updated
    # with each pick instead of recomputed (MMR).
    redundancy = np.zeros(len(document.sentences))
    while candidates and (limit is None or len(chosen) < limit):
        best = max(
            candidates,
            key=lambda i: (
                params.mmr_lambda * scores[i] - (1 - params.mmr_lambda) * redundancy[i],
                -i,
            ),
        )
        candidates.remove(best)
        text = document.sentences[best]
        if text in seen_texts:
            continue
        length = document.lengths[best]
        if chars is not None and used + length > chars:
            continue
        chosen.append(best)
        seen_texts.add(text)
        used += length
        if params.mmr_lambda < 1.0:
            np.maximum(redundancy, vectors @ vectors[best], out=redundancy)
    return sorted(chosen)


@dataclass(frozen=True, slots=True)
class Ranking:
    """An article ranked once; any number of summaries of different budgets from it."""

    document: Document
    params: RankParams
    scores: list[float]
    vectors: Matrix  # one unit TF-IDF row per sentence

    def choose(self, *, sentences: int | None = None, chars: int | None = None) -> list[str]:
        if not self.document.sentences or (sentences is not None and sentences <= 0):
            return []
        chosen = _select(self.document, self.scores, self.vectors, self.params, sentences, chars)
        return [self.document.sentences[i] for i in chosen]


def rank_document(document: Document, params: RankParams | None = None) -> Ranking:
    params = params or PARAMS["en" if document.language == "en" else "zh"]
    scores, vectors = rank(document, params) if document.sentences else ([], np.zeros((0, 0)))
    return Ranking(document, params, scores, vectors)


def summarize_document(
    document: Document,
    *,
    sentences: int | None = None,
    chars: int | None = None,
    params: RankParams | None = None,
) -> list[str]:
    return rank_document(document, params).choose(sentences=sentences, chars=chars)


def summarize(
    text: str,
    title: str | None = None,
    *,
    sentences: int | None = None,
    chars: int | None = None,
) -> list[str]:
    """The article's own sentences that best summarize it, in article order.

    Budget: ``sentences`` (a count) or ``chars`` (visible characters, never
    exceeded: no sentence is ever cut); three sentences when neither is given.
    """
    return summarize_document(prepare(text, title), sentences=sentences, chars=chars)
