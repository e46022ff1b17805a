"""Search benchmark: 10^5 articles, 200 known-item queries, five engines side by side.

    .venv/bin/python -m benchmarks.search [--articles 100000]   (pip install -e '.[bench]')

Corpus. The 931 real Chinese articles of ../shared/eval/zh_news_raw.jsonl and
the 501 English articles of en_summ_frank_cnndm_xsum.jsonl are the known
items, stored whole. The rest, up to N, are synthetic distractors made with a
fixed seed: a distractor's title is the first clause of a random real sentence
and its body four to six random sentences of different real articles, in the
same language. They share the real articles' vocabulary (every sentence of a
known item also appears in other articles), without cloning any title.

Queries (fixed seed; each names the article it came from): 110 multi-word
(two or three words of a real Chinese title, in order), 30 two-character words
and 30 single characters from real titles, 30 English (two content words of an
English article's reference summary, which stands in for its headline).
Reported per engine: index build time and size; latency p50/p95/p99 (warm,
one thread) over all 200; MRR@10 per class; one-character queries answered.

Engines: ours as shipped (``digests.search``: tantivy over the summarizer's
words, sub-words and title grams, title boosted, substring fallback), ours with
``search.engine = "fts5"`` (the same words in FTS5, titles ranked on their own
table); FTS5 over jieba
search-mode text with plain bm25 (one column); FTS5 trigram over raw text
(LIKE for queries under three characters); a plain LIKE scan; tantivy over the
same jieba text. Segmentation is cached per sentence and shared by all
engines (distractors reuse real sentences), so build times are the indexes'
own. Writes benchmarks/results/search.md and search.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from digests.search.base import IndexEntry
from digests.search.fts5 import Fts5SearchIndex
from digests.search.query import parse_query
from digests.search.tantivy_index import TantivySearchIndex
from digests.search.terms import index_text, is_han, title_grams
from digests.store.db import Database
from digests.store.models import Article, Source
from digests.text.sentences import split_sentences
from digests.text.tokens import ZH_STOPWORDS, analyze, load_segmenter

REPO = Path(__file__).resolve().parents[1]
EVAL = REPO.parent / "shared" / "eval"
RESULTS = REPO / "benchmarks" / "results"
NOW = datetime(2026, 11, 25, tzinfo=UTC)
_EN_WORD = re.compile(r"^[A-Za-z]{4,}$")
_EN_STOP = {
    "that",
    "this",
    "with",
    "from",
    "have",
    "were",
    "will",
    "said",
    "they",
    "their",
    "been",
    "about",
    "after",
    "which",
    "when",
    "what",
    "there",
    "would",
    "more",
    "than",
}


@dataclass
class Doc:
    id: int
    title: str
    sentences: list[str]
    language: str

    @property
    def body(self) -> str:
        return "".join(self.sentences) if self.language == "zh" else " ".join(self.sentences)


@dataclass
class Probe:
    kind: str
    text: str
    target: int


def real_documents() -> list[Doc]:
    docs: list[Doc] = []
    for line in (EVAL / "zh_news_raw.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line)
        sentences = [s for p in row["text"].splitlines() for s in split_sentences(p)]
        if row.get("title") and sentences:
            docs.append(Doc(len(docs) + 1, row["title"].strip(), sentences, "zh"))
    for line in (EVAL / "en_summ_frank_cnndm_xsum.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line)
        sentences = [s for p in row["text"].splitlines() for s in split_sentences(p)]
        summary = " ".join(row["summary"].split())
        if sentences and summary:
            docs.append(Doc(len(docs) + 1, summary[:120], sentences, "en"))
    return docs


def distractors(real: list[Doc], total: int, rng: random.Random) -> list[Doc]:
    """Other news sharing the real articles' vocabulary: each distractor's
    title is the first clause of a random real sentence, its body four to six
    random sentences of different real articles (same language)."""
    out: list[Doc] = []
    sentences = {
        lang: [s for d in real if d.language == lang for s in d.sentences] for lang in ("zh", "en")
    }
    share_en = sum(1 for d in real if d.language == "en") / len(real)
    next_id = len(real) + 1
    while len(real) + len(out) < total:
        language = "en" if rng.random() < share_en else "zh"
        pool = sentences[language]
        opening = rng.choice(pool)
        if language == "zh":
            title = re.split(r"[，。！？；：,]", opening, maxsplit=1)[0][:30]
        else:
            title = " ".join(opening.split()[:12])
        body = [rng.choice(pool) for _ in range(rng.randint(4, 6))]
        out.append(Doc(next_id, title or opening[:30], body, language))
        next_id += 1
    return out


def probes(real: list[Doc], rng: random.Random) -> list[Probe]:
    jieba = load_segmenter()
    zh = [d for d in real if d.language == "zh"]
    en = [d for d in real if d.language == "en"]
    out: list[Probe] = []
    rng.shuffle(zh)
    for doc in zh:
        words = [
            w for w in jieba.cut(doc.title) if len(w) >= 2 and is_han(w) and w not in ZH_STOPWORDS
        ]
        kinds = {p.kind for p in out if p.target == doc.id}
        if len([p for p in out if p.kind == "multi-word"]) < 110 and len(words) >= 2 and not kinds:
            count = min(len(words), rng.choice((2, 3)))
            start = rng.randint(0, len(words) - count)
            out.append(Probe("multi-word", " ".join(words[start : start + count]), doc.id))
        elif len([p for p in out if p.kind == "two-char"]) < 30 and not kinds:
            pairs = [w for w in words if len(w) == 2]
            if pairs:
                out.append(Probe("two-char", rng.choice(pairs), doc.id))
        elif len([p for p in out if p.kind == "one-char"]) < 30 and not kinds:
            chars = [c for c in doc.title if is_han(c) and c not in ZH_STOPWORDS]
            if chars:
                out.append(Probe("one-char", rng.choice(chars), doc.id))
    rng.shuffle(en)
    for doc in en:
        words = [w for w in doc.title.split() if _EN_WORD.match(w) and w.lower() not in _EN_STOP]
        if len(words) >= 2 and len([p for p in out if p.kind == "English"]) < 30:
            start = rng.randint(0, len(words) - 2)
            out.append(Probe("English", " ".join(words[start : start + 2]), doc.id))
    return out


class Segmenter:
    """Per-sentence caches of the product's words and of jieba's search mode."""

    def __init__(self) -> None:
        self.jieba = load_segmenter()
        self.words: dict[str, list[str]] = {}
        self.search_mode: dict[str, str] = {}

    def product(self, sentence: str) -> list[str]:
        if sentence not in self.words:
            self.words[sentence] = [t for t, _ in analyze(sentence)]
        return self.words[sentence]

    def plain(self, sentence: str) -> str:
        if sentence not in self.search_mode:
            tokens = self.jieba.cut_for_search(sentence)
            self.search_mode[sentence] = " ".join(t.lower() for t in tokens if t.strip())
        return self.search_mode[sentence]


Search = Callable[[Probe], list[int]]


@dataclass
class Engine:
    name: str
    build_seconds: float
    size_bytes: int
    search: Search


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def build_store(path: Path, docs: Sequence[Doc]) -> Database:
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    with db.write() as session:
        session.execute(
            insert(Source),
            [
                {
                    "id": 1,
                    "kind": "feed",
                    "location": "bench",
                    "name": "bench",
                    "interval_seconds": 1800,
                    "enabled": True,
                    "error_count": 0,
                }
            ],
        )
        for start in range(0, len(docs), 5000):
            session.execute(
                insert(Article),
                [
                    {
                        "id": d.id,
                        "source_id": 1,
                        "identity": str(d.id),
                        "title": d.title,
                        "body": d.body,
                        "content_hash": str(d.id),
                        "summarized_hash": str(d.id),
                        "fetched_at": NOW - timedelta(minutes=d.id % 10000),
                        "lead": False,
                        "subheads": [],
                        "tags": [],
                        "updated_at": NOW,
                    }
                    for d in docs[start : start + 5000]
                ],
            )
    return db


def _entries(docs: Sequence[Doc], seg: Segmenter) -> list[IndexEntry]:
    return [
        IndexEntry(
            d.id,
            str(d.id),
            index_text([seg.product(d.title)]),
            index_text(seg.product(s) for s in d.sentences),
            title_grams(d.title),
        )
        for d in docs
    ]


def ours_tantivy(workdir: Path, docs: Sequence[Doc], seg: Segmenter) -> Engine:
    """The product on SQLite: tantivy beside the database (the default engine)."""
    path = workdir / "ours_tantivy.db"
    db = build_store(path, docs)
    index = TantivySearchIndex(workdir / "ours_tantivy.search")
    started = time.perf_counter()
    for start in range(0, len(docs), 5000):
        with db.write() as session:
            index.store(session, _entries(docs[start : start + 5000], seg))
    build = time.perf_counter() - started

    def search(probe: Probe) -> list[int]:
        with db.read() as session:
            found = index.search(session, parse_query(probe.text, NOW), offset=0, limit=10)
        return [h.article_id for h in found.hits]

    return Engine(
        "ours: tantivy, analyzed words + sub-words + title grams (default)",
        build,
        _size(workdir / "ours_tantivy.search"),
        search,
    )


def ours(workdir: Path, docs: Sequence[Doc], seg: Segmenter) -> Engine:
    """The product with search.engine = "fts5"."""
    path = workdir / "ours.db"
    db = build_store(path, docs)
    before = _size(path)
    index = Fts5SearchIndex()
    started = time.perf_counter()
    for start in range(0, len(docs), 2000):
        entries = [
            IndexEntry(
                d.id,
                str(d.id),
                index_text([seg.product(d.title)]),
                index_text(seg.product(s) for s in d.sentences),
                title_grams(d.title),
            )
            for d in docs[start : start + 2000]
        ]
        with db.write() as session:
            index.store(session, entries)
    build = time.perf_counter() - started

    def search(probe: Probe) -> list[int]:
        with db.read() as session:
            found = index.search(session, parse_query(probe.text, NOW), offset=0, limit=10)
        return [h.article_id for h in found.hits]

    return Engine(
        "ours: FTS5, analyzed words + sub-words + title grams", build, _size(path) - before, search
    )


def _sqlite(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def fts_plain(workdir: Path, docs: Sequence[Doc], seg: Segmenter) -> Engine:
    path = workdir / "plain.db"
    connection = _sqlite(path)
    started = time.perf_counter()
    connection.execute("CREATE VIRTUAL TABLE t USING fts5(text)")
    connection.executemany(
        "INSERT INTO t(rowid, text) VALUES (?, ?)",
        (
            (d.id, seg.plain(d.title) + " " + " ".join(seg.plain(s) for s in d.sentences))
            for d in docs
        ),
    )
    connection.commit()
    build = time.perf_counter() - started

    def search(probe: Probe) -> list[int]:
        tokens = [t for t in seg.plain(probe.text).split() if t]
        if not tokens:
            return []
        match = " AND ".join('"' + t.replace('"', '""') + '"' for t in tokens)
        rows = connection.execute(
            "SELECT rowid FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT 10", (match,)
        )
        return [r[0] for r in rows]

    return Engine("FTS5 over jieba search-mode text, plain bm25", build, _size(path), search)


def fts_trigram(workdir: Path, docs: Sequence[Doc], _seg: Segmenter) -> Engine:
    path = workdir / "trigram.db"
    connection = _sqlite(path)
    started = time.perf_counter()
    connection.execute("CREATE VIRTUAL TABLE t USING fts5(title, body, tokenize='trigram')")
    connection.executemany(
        "INSERT INTO t(rowid, title, body) VALUES (?, ?, ?)",
        ((d.id, d.title, d.body) for d in docs),
    )
    connection.commit()
    build = time.perf_counter() - started

    def search(probe: Probe) -> list[int]:
        words = probe.text.split()
        long = [w for w in words if len(w) >= 3]
        short = [w for w in words if len(w) < 3]
        where, params = [], []
        if long:
            where.append("t MATCH ?")
            params.append(" AND ".join('"' + w.replace('"', '""') + '"' for w in long))
        for w in short:
            where.append("(title LIKE ? OR body LIKE ?)")
            params += [f"%{w}%", f"%{w}%"]
        order = "ORDER BY bm25(t)" if long else "ORDER BY rowid DESC"
        rows = connection.execute(
            f"SELECT rowid FROM t WHERE {' AND '.join(where)} {order} LIMIT 10", params
        )
        return [r[0] for r in rows]

    return Engine("FTS5 trigram over raw text (LIKE under 3 chars)", build, _size(path), search)


def like_scan(workdir: Path, docs: Sequence[Doc], _seg: Segmenter) -> Engine:
    path = workdir / "like.db"
    connection = _sqlite(path)
    started = time.perf_counter()
    connection.execute("CREATE TABLE a(id INTEGER PRIMARY KEY, title TEXT, body TEXT)")
    connection.executemany(
        "INSERT INTO a VALUES (?, ?, ?)", ((d.id, d.title, d.body) for d in docs)
    )
    connection.commit()
    build = time.perf_counter() - started

    def search(probe: Probe) -> list[int]:
        words = probe.text.split()
        where = " AND ".join("(title LIKE ? OR body LIKE ?)" for _ in words)
        params = [p for w in words for p in (f"%{w}%", f"%{w}%")]
        rows = connection.execute(
            f"SELECT id FROM a WHERE {where} ORDER BY id DESC LIMIT 10", params
        )
        return [r[0] for r in rows]

    return Engine("LIKE scan (no index)", build, 0, search)


def tantivy_engine(workdir: Path, docs: Sequence[Doc], seg: Segmenter) -> Engine:
    import tantivy

    path = workdir / "tantivy"
    path.mkdir()
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", stored=True, indexed=True)
    builder.add_text_field("title", tokenizer_name="whitespace")
    builder.add_text_field("body", tokenizer_name="whitespace")
    schema = builder.build()
    index = tantivy.Index(schema, path=str(path))
    started = time.perf_counter()
    writer = index.writer(heap_size=256_000_000)
    for d in docs:
        writer.add_document(
            tantivy.Document(
                id=d.id, title=seg.plain(d.title), body=" ".join(seg.plain(s) for s in d.sentences)
            )
        )
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    build = time.perf_counter() - started
    searcher = index.searcher()

    def search(probe: Probe) -> list[int]:
        tokens = [t for t in seg.plain(probe.text).split() if t.strip()]
        if not tokens:
            return []
        clauses = []
        for token in tokens:
            either = tantivy.Query.boolean_query(
                [
                    (
                        tantivy.Occur.Should,
                        tantivy.Query.boost_query(
                            tantivy.Query.term_query(schema, "title", token), 2.0
                        ),
                    ),
                    (tantivy.Occur.Should, tantivy.Query.term_query(schema, "body", token)),
                ]
            )
            clauses.append((tantivy.Occur.Must, either))
        hits = searcher.search(tantivy.Query.boolean_query(clauses), 10).hits
        return [searcher.doc(address)["id"][0] for _score, address in hits]

    return Engine("tantivy over jieba search-mode text", build, _size(path), search)


def measure(engine: Engine, queries: Sequence[Probe]) -> dict[str, object]:
    for probe in queries:  # warm
        engine.search(probe)
    timings: list[float] = []
    reciprocal: dict[str, list[float]] = {}
    answered_one_char = 0
    for probe in queries:
        started = time.perf_counter()
        ids = engine.search(probe)
        timings.append((time.perf_counter() - started) * 1000)
        rank = ids.index(probe.target) + 1 if probe.target in ids else 0
        reciprocal.setdefault(probe.kind, []).append(1 / rank if rank else 0.0)
        if probe.kind == "one-char" and ids:
            answered_one_char += 1
    ordered = sorted(timings)

    def pct(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {
        "engine": engine.name,
        "build_s": round(engine.build_seconds, 1),
        "size_mb": round(engine.size_bytes / 1e6, 1),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "mrr": {kind: round(statistics.mean(v), 3) for kind, v in reciprocal.items()},
        "one_char_answered": f"{answered_one_char}/{len(reciprocal.get('one-char', []))}",
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    args = parser.parse_args(argv)
    if not EVAL.is_dir():
        print("../shared/eval is not present", file=sys.stderr)
        return 1
    rng = random.Random(20261125)
    real = real_documents()
    docs = real + distractors(real, args.articles, rng)
    queries = probes(real, rng)
    seg = Segmenter()
    started = time.perf_counter()
    for doc in real:
        seg.product(doc.title)
        for sentence in doc.sentences:
            seg.product(sentence)
            seg.plain(sentence)
        seg.plain(doc.title)
    segmenting = time.perf_counter() - started
    print(
        f"{len(docs):,} articles, {len(queries)} queries; "
        f"segmenting the real text took {segmenting:.1f}s",
        file=sys.stderr,
    )
    rows = []
    workdir = Path(tempfile.mkdtemp(prefix="search-bench-"))
    try:
        for build in (ours_tantivy, ours, fts_plain, tantivy_engine, fts_trigram, like_scan):
            print(f"… {build.__name__}", file=sys.stderr)
            engine = build(workdir, docs, seg)
            rows.append(measure(engine, queries))
            print(json.dumps(rows[-1], ensure_ascii=False), file=sys.stderr)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    kinds = ["multi-word", "two-char", "one-char", "English"]
    counts = {k: sum(1 for q in queries if q.kind == k) for k in kinds}
    table = (
        "| engine | build (s) | size (MB) | p50 ms | p95 ms | p99 ms | "
        + " | ".join(f"MRR@10 {k} ({counts[k]})" for k in kinds)
        + " | one-char answered |\n|---|"
        + "---:|" * (6 + len(kinds))
        + "\n"
    )
    for row in rows:
        mrr = row["mrr"]
        assert isinstance(mrr, dict)
        table += (
            f"| {row['engine']} | {row['build_s']} | {row['size_mb']} "
            f"| {row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} | "
            + " | ".join(f"{mrr.get(k, 0):.3f}" for k in kinds)
            + f" | {row['one_char_answered']} |\n"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "search.md").write_text(
        "# Search benchmark\n\n"
        f"`.venv/bin/python -m benchmarks.search --articles {args.articles}` "
        f"({platform.machine()}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}). {len(docs):,} articles ({len(real)} real, the rest "
        "synthetic distractors: see the module docstring); "
        f"{len(queries)} known-item queries; latency warm, one thread; sizes exclude the "
        "articles themselves. Segmenting the real text (shared by all engines): "
        f"{segmenting:.1f} s.\n\n" + table,
        "utf-8",
    )
    (RESULTS / "search.json").write_text(
        json.dumps(rows, indent=2, ensure_ascii=False) + "\n", "utf-8"
    )
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
