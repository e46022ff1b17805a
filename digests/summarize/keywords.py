"""Keywords of an article: TF-IDF over its (already segmented) words. Pure.

The IDF comes from the stored corpus (``IdfTable``, built from the
``term_stats`` table); until the corpus has ``IdfTable.min_documents`` articles
every term counts as equally rare, so the first articles still get sensible
keywords (frequent content words, title words first).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

from digests.records import IdfTable
from digests.summarize.rank import Document

DEFAULT_COUNT = 8
# Words in the title and the lead sentence are what the article is about.
TITLE_BOOST = 2.0
LEAD_BOOST = 1.5

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_NUMBER = re.compile(r"^[\d.,:%+\-/]+$")


@lru_cache(maxsize=131072)
def is_candidate(term: str) -> bool:
    """Keyword material: a Chinese word of two or more characters, or a real
    English word (not a number, not one letter)."""
    if _NUMBER.match(term):
        return False
    if _HAN.search(term):
        return len(term) >= 2
    return len(term) >= 3


def _candidate_counts(document: Document) -> dict[str, int]:
    """How often each candidate term occurs in the sentences and the title, in
    order of first occurrence."""
    counts = Counter(chain.from_iterable(document.tokens))
    counts.update(document.title_tokens)
    return {term: count for term, count in counts.items() if is_candidate(term)}


def document_terms(document: Document) -> set[str]:
    """The distinct candidate terms of an article: what its row adds to the corpus IDF."""
    return set(_candidate_counts(document))


@dataclass(frozen=True, slots=True)
class KeywordCandidates:
    """An article's keyword material before the corpus weighs in: per candidate
    term its frequency weight and position boost, and how it is written."""

    weights: tuple[tuple[str, float, float], ...]  # (term, 1 + log tf, boost)
    surfaces: dict[str, str]

    def terms(self) -> frozenset[str]:
        """The distinct candidate terms (``document_terms``)."""
        return frozenset(term for term, _tf, _boost in self.weights)

    def best(self, idf: IdfTable | None = None, count: int = DEFAULT_COUNT) -> list[str]:
        """The ``count`` most characteristic words, as written, best first."""
        idf = idf or IdfTable()
        scored = sorted(self.weights, key=lambda w: (-w[1] * idf.idf(w[0]) * w[2], w[0]))
        return [self.surfaces.get(term, term) for term, _tf, _boost in scored[:count]]


def keyword_candidates(document: Document) -> KeywordCandidates:
    frequency = _candidate_counts(document)
    boosts: dict[str, float] = {}
    for term in document.tokens[0] if document.tokens else ():
        boosts[term] = LEAD_BOOST
    for term in document.title_tokens:
        boosts[term] = TITLE_BOOST
    return KeywordCandidates(
        weights=tuple(
            (term, 1 + math.log(count), boosts.get(term, 1.0)) for term, count in frequency.items()
        ),
        surfaces={term: document.surfaces[term] for term in frequency if term in document.surfaces},
    )


def keywords(
    document: Document, idf: IdfTable | None = None, count: int = DEFAULT_COUNT
) -> list[str]:
    """The ``count`` most characteristic words, as written, best first."""
    return keyword_candidates(document).best(idf, count)
