"""Character-level ROUGE-1/2/L (F1) for Chinese, plus token-level helpers.

Two tokenizations. Raw (``rouge_zh_raw``), as the published LCSTS and CLTS
results count: every character but whitespace is a token, punctuation
included. Normalized (``rouge_zh``, applied to candidate and reference
alike): Unicode NFKC, lower-case, then every whitespace character and every
punctuation or symbol character (Unicode general categories ``P*`` and ``S*``)
is dropped, as are invisible separators, control and format characters (``Z*``,
``C*``, e.g. zero-width spaces). Either way each character is one token, so
Latin words and digit runs count letter by letter.

ROUGE-N F1 uses clipped n-gram overlap (each reference n-gram can be matched at most as
often as it occurs there); ROUGE-L F1 comes from the longest common subsequence. Empty
candidate or reference scores 0. The token-level functions are language-neutral and are
also used by the greedy oracle for English (on rouge-score's own tokens).
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Scores:
    """ROUGE F1 values in [0, 1]."""

    r1: float
    r2: float
    rl: float


def normalize_zh(text: str) -> str:
    """NFKC, lower-case, without whitespace, punctuation (P*), symbols (S*), Z*, C*."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(
        ch
        for ch in folded
        if not ch.isspace() and unicodedata.category(ch)[0] not in ("P", "S", "Z", "C")
    )


def char_tokens(text: str) -> list[str]:
    """The normalized text, one token per character."""
    return list(normalize_zh(text))


def ngrams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def _f1(overlap: int, candidate_total: int, reference_total: int) -> float:
    if overlap == 0 or candidate_total == 0 or reference_total == 0:
        return 0.0
    precision = overlap / candidate_total
    recall = overlap / reference_total
    return 2 * precision * recall / (precision + recall)


def rouge_n_counts(
    candidate: Counter[tuple[str, ...]], reference: Counter[tuple[str, ...]]
) -> float:
    """ROUGE-N F1 from n-gram counts (clipped overlap)."""
    overlap = sum((candidate & reference).values())
    return _f1(overlap, sum(candidate.values()), sum(reference.values()))


def rouge_n(candidate: Sequence[str], reference: Sequence[str], n: int) -> float:
    """ROUGE-N F1 between two token sequences."""
    return rouge_n_counts(ngrams(candidate, n), ngrams(reference, n))


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence (O(len(a) * len(b)) time, O(len(b)) space)."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return 0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge_l(candidate: Sequence[str], reference: Sequence[str]) -> float:
    """ROUGE-L F1 (LCS-based) between two token sequences."""
    return _f1(lcs_length(candidate, reference), len(candidate), len(reference))


def rouge_tokens(candidate: Sequence[str], reference: Sequence[str]) -> Scores:
    return Scores(
        r1=rouge_n(candidate, reference, 1),
        r2=rouge_n(candidate, reference, 2),
        rl=rouge_l(candidate, reference),
    )


def rouge_zh(candidate: str, reference: str) -> Scores:
    """Character-level ROUGE-1/2/L F1 of a Chinese candidate against one
    reference, both normalized (``normalize_zh``)."""
    return rouge_tokens(char_tokens(candidate), char_tokens(reference))


def raw_char_tokens(text: str) -> list[str]:
    """Every character but whitespace, as written: punctuation counts."""
    return [ch for ch in text if not ch.isspace()]


def rouge_zh_raw(candidate: str, reference: str) -> Scores:
    """Character-level ROUGE-1/2/L F1 on raw characters (``raw_char_tokens``)."""
    return rouge_tokens(raw_char_tokens(candidate), raw_char_tokens(reference))
