"""Summaries for text given on the command line: files, newspaper issues, JSONL.

Pure apart from the reading of lines: no database. The JSONL form is the
interface an evaluator uses: lines {"id", "text", "title"?} in, lines
{"id", "summary", "keywords"} out, with the IDF for keywords learned from the
input itself.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from digests.summarize.keywords import IdfTable, document_terms, keywords
from digests.summarize.rank import Document, prepare, summarize_document

MAX_TEXT_CHARS = 1_000_000


@dataclass(frozen=True, slots=True)
class BatchItem:
    id: object
    document: Document


@dataclass(frozen=True, slots=True)
class BadLine:
    number: int
    reason: str


def read_jsonl(lines: Iterable[str]) -> Iterator[BatchItem | BadLine]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield BadLine(number, f"not JSON ({exc.msg})")
            continue
        if not isinstance(record, dict) or "id" not in record:
            yield BadLine(number, "not an object with an 'id'")
            continue
        text, title = record.get("text"), record.get("title")
        if not isinstance(text, str):
            yield BadLine(number, "'text' is missing or not a string")
            continue
        title = title if isinstance(title, str) and title.strip() else None
        yield BatchItem(record["id"], prepare(text[:MAX_TEXT_CHARS], title))


def corpus_idf(documents: Iterable[Document]) -> IdfTable:
    frequencies: Counter[str] = Counter()
    count = 0
    for document in documents:
        frequencies.update(document_terms(document))
        count += 1
    return IdfTable(count, frequencies)


def summary_text(sentences: list[str], document: Document) -> str:
    return (" " if document.language == "en" else "").join(sentences)


def jsonl_records(
    items: list[BatchItem], *, sentences: int | None, chars: int | None
) -> Iterator[dict[str, object]]:
    idf = corpus_idf(item.document for item in items)
    for item in items:
        chosen = summarize_document(item.document, sentences=sentences, chars=chars)
        yield {
            "id": item.id,
            "summary": summary_text(chosen, item.document),
            "keywords": keywords(item.document, idf),
        }
