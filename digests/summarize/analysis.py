"""The CPU-heavy half of summarizing, as one pure function over a batch.

``analyze_batch`` segments each article once and derives from those words
everything the summarize stage stores: the digest line, the detail summary,
keyword candidates (the corpus IDF is applied later, by the caller, from the
database), the terms the article adds to the corpus and its search entry's
text. It touches no database and no global but jieba's dictionary, so it can
run in a worker process (``digests.engine.core`` sends it to the parser
processes) as well as in the caller's thread; what it returns is small and pickles.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from digests.search.terms import index_text, title_grams
from digests.summarize.keywords import KeywordCandidates, keyword_candidates
from digests.summarize.rank import Document, prepare, rank_document
from digests.text.pairs import text_pairs
from digests.text.tokens import Language, use_user_dictionary

# The detail view's summary: two or three sentences, within what a chat
# message shows without scrolling.
SUMMARY_SENTENCES = 3
SUMMARY_MAX_CHARS = 360


@dataclass(frozen=True, slots=True)
class Analysis:
    language: Language
    summary_line: str
    summary: list[str]
    keywords: KeywordCandidates
    terms: frozenset[str]  # distinct candidate terms: what the article adds to the corpus IDF
    index_title: str
    index_body: str
    index_grams: str
    index_pairs: str


@dataclass(frozen=True, slots=True)
class NotAnalyzed:
    """An article the analysis failed on: why, with the traceback where it happened."""

    reason: str
    details: str


def summary_products(document: Document) -> tuple[str, list[str]]:
    """The digest line (one sentence) and the detail summary (two or three)."""
    ranking = rank_document(document)
    line = ranking.choose(sentences=1)
    summary = ranking.choose(sentences=SUMMARY_SENTENCES, chars=SUMMARY_MAX_CHARS)
    if not summary:  # every sentence is longer than the cap: one sentence still says it
        summary = line
    return (line[0] if line else ""), summary


def analyze(title: str | None, body: str) -> Analysis:
    document = prepare(body, title or None)
    line, summary = summary_products(document)
    candidates = keyword_candidates(document)
    return Analysis(
        language=document.language,
        summary_line=line,
        summary=summary,
        keywords=candidates,
        terms=candidates.terms(),
        index_title=index_text([document.index_title_tokens()]),
        index_body=index_text(document.index_tokens()),
        index_grams=title_grams(title or ""),
        index_pairs=text_pairs(title or "", body),
    )


def analyze_batch(
    articles: Sequence[tuple[str | None, str]], user_dictionary: str | None = None
) -> list[Analysis | NotAnalyzed]:
    """``analyze`` over (title, body) pairs; one article's failure is its own
    ``NotAnalyzed`` and never stops the others."""
    use_user_dictionary(Path(user_dictionary) if user_dictionary else None)
    results: list[Analysis | NotAnalyzed] = []
    for title, body in articles:
        try:
            results.append(analyze(title, body))
        except Exception as error:
            results.append(NotAnalyzed(f"{type(error).__name__}: {error}", traceback.format_exc()))
    return results
