"""Search benchmark: the product's search as readers use it, beside plain anchors.

    .venv/bin/python -m benchmarks.search                            # 10^4 and 10^5 articles
    .venv/bin/python -m benchmarks.search --articles 2000 --runs 1   # a quick check, ~1 min

Needs ../shared/eval (research-use data: read at run time, never copied into
this project; the results hold only counts and dataset ids) and the bench
extras (``pip install -e '.[bench]'``). PostgreSQL is measured too when
TEST_POSTGRES_URL names a server (``bash scripts/postgres.sh start``); each
run makes and drops its own database there.

Corpus. Every real article of ../shared/eval, deduplicated by text: the news
of zh_news_raw (zh_headline_pairs holds the same articles and adds none), the
LCSTS Weibo posts (their author-written headline as the title), the CLTS
samples (the first sentence of the editor's summary as the title) and the
English FRANK CNN/DM and XSum articles (the first sentence of the reference
summary, at most 14 words, as the headline). The rest, up to N, are
distractors made with a fixed seed, each in one language:

- English with the real corpus's own share, about 20% (a Chinese-first bot
  that follows a few English feeds; not the 35% that the news-length articles
  alone would give, which thinned the Chinese distractors);
- a length drawn from the lengths of the real *news* articles of its language
  (zh_news_raw and CLTS, or the English ones; the 108-character Weibo posts
  stay as real items but are no model for feed articles);
- a body of runs of one to four consecutive sentences of random real articles
  of that language, one run per paragraph, until that length is reached; no
  run is taken from a query's target (else each target's own sentences would
  recur in some forty distractors at 10^5, a cloning no real corpus has; the
  other real articles, many on the same days' stories, are the donors);
- a title joining the first content clause (6+ Chinese characters or 4+
  words, never from a sentence found in three real articles or more, such as
  a copyright line) of each of its paragraphs in turn, cut to a length drawn
  from the real titles' lengths; no title is used twice, none is a real one.

Articles are stored in a shuffled order (fixed seed), one a few minutes older
than the next over a year, so a query's target sits anywhere in time.

Queries, drawn from the real articles' titles with a fixed seed by rules that
never look at the product (no stopword list, no filter, no heuristic of
``digests``), each naming the article it came from, its target (titles held by
more than one real article are not drawn). Chinese titles are segmented by
plain jieba (``Tokenizer().lcut``, the default dictionary) after NFKC:

- multi-word: 2 or 3 consecutive words of a title, all Chinese, space-separated;
- two-char: a two-character Chinese word of a title;
- one-char: any Chinese character of a title;
- latin-in-zh: a Latin token (2+ characters with a letter: AI, 5G, iPhone,
  PM2.5) of a Chinese title, as a user types it (NFKC: no full-width letters);
- english: two consecutive words of an English headline, each of 4+ letters;
- phrase: ``"…"``, consecutive Chinese words of a title joined as written,
  4 characters or more;
- phrase-swapped: the same made of two or more words, the words reversed (no
  target: every result must contain it as written);
- exclusion: ``word -other``, a word (2+ characters) of the target's title and
  a word of the title of another real article containing ``word``, absent
  from the target.
MRR@10 is per class (the target's rank on the first page of 10, else 0); the
phrase, phrase-swapped and exclusion classes also count the queries whose
every result really contains the phrase as written (NFKC, case and spacing
folded), or lacks the excluded word anywhere in its title or text.

The product ("ours"), as the running ``newsdigest`` does it: articles stored
through the store (``save_articles``) in a real database, then the engine's
summarize round (``Engine.summarize_new``: summaries and search entries
written batch by batch through the configured index), for each engine:
tantivy (the default), FTS5 (``search.engine = "fts5"``) and, when a server is
there, PostgreSQL. The round's CPU half (segmenting and ranking, which runs in
worker processes in production and whose words the index reuses) is computed
before the clock starts; the build time is the rest of the round (reading
rows, writing summaries and index entries, commits), and the time inside the
index's ``store`` is shown beside it. Queries go through ``Engine.search``
(the use case of the bot and ``newsdigest search``: query language, first
page of 10) and each hit is rendered with its snippet (``bot.render.hit_html``).
PostgreSQL tables are ANALYZEd after the build, as autovacuum would.

Anchors, same corpus and queries, built from jieba's search mode over the
NFKC, case-folded text (segmented before any clock starts): tantivy with the
title field boosted 2x; FTS5 (contentless) with bm25 weights title 2, body 1;
PostgreSQL tsvector ('simple', title at weight A, body at D, GIN) ranked by
ts_rank of the wanted words. A query is every search-mode word of every term
(AND), the excluded term's words as NOT; a quoted phrase is its words (no
positions). Anchor latency is the index alone (ids of the top 10), ours the
whole use case.

Latency: one warm pass (its answers are scored), then ``--runs`` timed passes
over all queries, one thread; p50/p95/p99 per pass, the median across passes
(an engine whose passes would outlast ``--budget`` seconds gets fewer, at
least one; the table says how many).
The goals of issue 14 are printed beside the numbers, met or not; the build
goal (1 ms/article) is judged on the index's writes within the round.
Writes benchmarks/results/search.md and search.json. Run time is mostly the
product's own summarize round and storing (twice with PostgreSQL): with the
round at 2-10 ms/article, the default run takes the better part of an hour
on two cores.
"""

from __future__ import annotations

import argparse
import functools
import gc
import itertools
import json
import multiprocessing
import os
import platform
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import unicodedata
import warnings
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from benchmarks.loopstall import percentile

REPO = Path(__file__).resolve().parents[1]
EVAL = REPO.parent / "shared" / "eval"
RESULTS = REPO / "benchmarks" / "results"
SEED = 20261125
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
SPAN = timedelta(days=365)  # the stored articles' dates cover this much
PAGE = 10  # MRR@10: the first page of ten
STORE_BATCH = 500  # articles per save_articles call (one feed document)
ANALYSIS_CHUNK = 250

# Queries per class, in report order.
COUNTS = {
    "multi-word": 80,
    "two-char": 50,
    "one-char": 40,
    "latin-in-zh": 40,
    "english": 40,
    "phrase": 40,
    "phrase-swapped": 20,
    "exclusion": 40,
}
KINDS = tuple(COUNTS)
LATIN = ("latin-in-zh", "english")  # pooled as "English/Latin" for the goal
CHECKED = ("phrase", "phrase-swapped", "exclusion")  # correctness counted
PERCENTS = ("p50", "p95", "p99")

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ALL_HAN = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+$")
_WORD = re.compile(r"\w", re.UNICODE)
_ZH_SENTENCE = re.compile(r"[^。！？!?]+(?:[。！？!?]+[”’」』）)\"']*|$)")
_EN_BREAK = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"”’')])\s+")
_DATELINE = re.compile(
    r"^(?:\d{4}年\d{1,2}月\d{1,2}日\s*(?:星期.)?\s*)?"
    r"(?:据?(?:本报|新华社|中新社)[^\d，。（]{0,6}\d{1,2}月\d{1,2}日电?\s*(?:（[^）]{0,20}）)?)?"
)
_CLAUSE = re.compile(r"[，,：:；;。！？!?、]")
_LATIN_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+\-]*")
_EN_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*")


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def folded(text: str) -> str:
    """What a correctness check compares: NFKC, case folded, spacing collapsed."""
    return " ".join(nfkc(text).casefold().split())


# -- the corpus -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Doc:
    key: str  # its guid in the store
    origin: str  # "dataset:id" for a real article, "" for a distractor
    language: str  # "zh" | "en"
    title: str
    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


def sentences(paragraph: str, language: str) -> list[str]:
    if language == "zh":
        return [s.strip() for s in _ZH_SENTENCE.findall(paragraph) if s.strip()]
    return [s.strip() for s in _EN_BREAK.split(paragraph) if s.strip()]


def _rows(name: str) -> list[dict[str, Any]]:
    lines = (EVAL / name).read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _paragraphs(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.splitlines() if p.strip())


def _first_sentence(text: str, language: str) -> str:
    found = sentences(" ".join(text.split()), language)
    return found[0] if found else text


def real_documents() -> list[Doc]:
    """Every real article of ../shared/eval, once (by text)."""
    found: list[tuple[str, str, str, str]] = []  # origin, language, title, text
    for row in _rows("zh_news_raw.jsonl"):
        found.append((f"zh_news_raw:{row['id']}", "zh", row["title"], row["text"]))
    for row in _rows("zh_headline_pairs.jsonl"):
        found.append((f"zh_headline_pairs:{row['id']}", "zh", row["title"], row["text"]))
    for row in _rows("zh_summ_lcsts_part3.jsonl"):
        found.append((f"lcsts:{row['id']}", "zh", row["summary"], row["text"]))
    for row in _rows("zh_summ_clts_samples.jsonl"):
        title = _first_sentence(row["summary"], "zh")
        found.append((f"clts:{row['id']}", "zh", title, row["text"]))
    for row in _rows("en_summ_frank_cnndm_xsum.jsonl"):
        title = " ".join(_first_sentence(row["summary"], "en").split()[:14])
        found.append((f"frank:{row['id']}", "en", title, row["text"]))
    docs: list[Doc] = []
    seen: set[str] = set()
    for origin, language, title, text in found:
        fingerprint = " ".join(text.split())
        paragraphs = _paragraphs(text)
        title = " ".join(title.split())
        if fingerprint in seen or not paragraphs or not title:
            continue
        seen.add(fingerprint)
        docs.append(Doc(f"real-{len(docs)}", origin, language, title, paragraphs))
    return docs


def is_news(doc: Doc) -> bool:
    """A feed-length news article (the Weibo posts are not)."""
    return not doc.origin.startswith("lcsts:")


def english_share(real: Sequence[Doc]) -> float:
    return sum(1 for d in real if d.language == "en") / len(real)


def distractors(
    real: Sequence[Doc], count: int, rng: random.Random, spare: Collection[str] = ()
) -> list[Doc]:
    """``count`` articles made of the real articles' sentences (see the docstring),
    none of the articles keyed in ``spare`` (the queries' targets)."""
    runs = {
        lang: [
            [s for p in d.paragraphs for s in sentences(p, lang)]
            for d in real
            if d.language == lang and d.key not in spare
        ]
        for lang in ("zh", "en")
    }
    lengths = {
        lang: [len(d.text) for d in real if d.language == lang and is_news(d)]
        for lang in ("zh", "en")
    }
    title_lengths = {
        "zh": [len(d.title) for d in real if d.language == "zh"],
        "en": [len(d.title.split()) for d in real if d.language == "en"],
    }
    # Boilerplate (a copyright line, "read more"): in three real articles or more.
    seen_in = Counter(
        s for d in real for s in {s for p in d.paragraphs for s in sentences(p, d.language)}
    )
    boilerplate = {s for s, n in seen_in.items() if n >= 3}
    taken = {folded(d.title) for d in real}  # no title twice, none a real one
    share = english_share(real)
    out: list[Doc] = []
    failed = 0
    while len(out) < count:
        if failed > 1000:
            raise SystemExit("distractors: too few distinct sentences left for new titles")
        language = "en" if rng.random() < share else "zh"
        target = rng.choice(lengths[language])
        joiner = "" if language == "zh" else " "
        paragraphs: list[str] = []
        size = 0
        while size < target:
            source = rng.choice(runs[language])
            if not source:
                continue
            start = rng.randrange(len(source))
            kept: list[str] = []
            for sentence in source[start : start + rng.randint(1, 4)]:
                if size >= target:
                    break
                kept.append(sentence)
                size += len(sentence) + len(joiner)
            paragraphs.append(joiner.join(kept))
            size += 1
        said = [[s for s in sentences(p, language) if s not in boilerplate] for p in paragraphs]
        title = _title_for(said, language, rng.choice(title_lengths[language]), taken)
        if title is None:
            failed += 1
            continue
        failed = 0
        taken.add(folded(title))
        out.append(Doc(f"made-{len(out)}", "", language, title, tuple(paragraphs)))
    return out


def _headline_clause(clause: str) -> str:
    """A Chinese clause as a headline may use it: without a leading date or
    dateline ("2026年01月27日", "本报北京1月26日电（记者…）"); "" when what is
    left is no content (under 6 Chinese characters, or spaced-out characters
    such as "人 民 网 版 权")."""
    clause = _DATELINE.sub("", clause.strip()).strip()
    if clause.count(" ") >= 3 or len(_HAN.findall(clause)) < 6:
        return ""
    return clause


def _title_for(
    said: Sequence[Sequence[str]], language: str, length: int, taken: set[str]
) -> str | None:
    """A headline from the article's own text (sentences per paragraph): the
    first content clause (6+ Chinese characters, or 4+ words) of each
    paragraph in turn, joined up to ``length`` (characters, or words);
    starting from a later one while that title is taken, then up to twice
    that length."""
    if language == "zh":
        runs = [[c for s in p for c in map(_headline_clause, _CLAUSE.split(s)) if c] for p in said]
    else:
        runs = [
            [c.strip() for s in p for c in re.split(r"[,;:]", s) if len(c.split()) >= 4]
            for p in said
        ]
    runs = [run for run in runs if run]
    clauses = [run[0] for run in runs] + [c for run in runs for c in run[1:]]
    starts = range(min(len(clauses), 8))
    for limit in (length, length * 2):  # longer where the drawn length is used up
        for start in starts:
            pieces: list[str] = []
            for clause in clauses[start:]:
                pieces.append(clause)
                if sum(len(p) if language == "zh" else len(p.split()) for p in pieces) >= limit:
                    break
            if language == "zh":
                title = " ".join(pieces)[:limit].strip(' 。！？!?“”"')
            else:
                title = " ".join(" ".join(pieces).split()[:limit]).rstrip(",;:.")
            if title and folded(title) not in taken:
                return title
    return None


def corpus(real: list[Doc], made: list[Doc], total: int) -> list[Doc]:
    """The real articles and the first distractors, up to ``total``."""
    return real + made[: max(0, total - len(real))]


# -- the queries ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Probe:
    kind: str
    text: str  # as a reader types it
    target: str | None  # the key of the article it came from
    origin: str  # that article's dataset id (reported instead of the text)
    terms: tuple[str, ...]  # the wanted terms, for the anchors
    phrase: str | None = None  # every result must contain it as written
    excluded: str | None = None  # no result may contain it


class Drawer:
    """Known-item queries from the real titles by the fixed rules of the docstring."""

    def __init__(self, real: Sequence[Doc], rng: random.Random) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # jieba imports the deprecated pkg_resources
            import jieba

        jieba.setLogLevel(60)
        self.segmenter = jieba.Tokenizer()
        self.segmenter.initialize()
        self.rng = rng
        titles = Counter(folded(d.title) for d in real)
        self.zh = [d for d in real if d.language == "zh" and titles[folded(d.title)] == 1]
        self.en = [d for d in real if d.language == "en" and titles[folded(d.title)] == 1]
        self.texts = {d.key: folded(d.title + "\n" + d.text) for d in real}
        self.zh_all = [d for d in real if d.language == "zh"]

    def runs(self, title: str) -> list[list[str]]:
        """Runs of consecutive all-Chinese words of a title."""
        out: list[list[str]] = [[]]
        for token in self.segmenter.lcut(nfkc(title)):
            if _ALL_HAN.match(token):
                out[-1].append(token)
            elif out[-1]:
                out.append([])
        return [run for run in out if run]

    def words(self, title: str, least: int = 1) -> list[str]:
        return [w for run in self.runs(title) for w in run if len(w) >= least]

    def draw(self) -> list[Probe]:
        makers: dict[str, tuple[list[Doc], Callable[[Doc], Probe | None]]] = {
            "multi-word": (self.zh, self.multi_word),
            "two-char": (self.zh, self.two_char),
            "one-char": (self.zh, self.one_char),
            "latin-in-zh": (self.zh, self.latin),
            "english": (self.en, self.english),
            "phrase": (self.zh, self.phrase),
            "phrase-swapped": (self.zh, self.swapped),
            "exclusion": (self.zh, self.exclusion),
        }
        out: list[Probe] = []
        for kind, (pool, make) in makers.items():
            order = list(pool)
            self.rng.shuffle(order)
            made = 0
            for doc in order:
                if made == COUNTS[kind]:
                    break
                probe = make(doc)
                if probe is not None:
                    out.append(probe)
                    made += 1
        return out

    def _probe(self, kind: str, doc: Doc, text: str, terms: Sequence[str], **more: Any) -> Probe:
        return Probe(kind, text, doc.key, doc.origin, tuple(terms), **more)

    def multi_word(self, doc: Doc) -> Probe | None:
        windows = [
            run[start : start + size]
            for run in self.runs(doc.title)
            for size in (2, 3)
            for start in range(len(run) - size + 1)
        ]
        if not windows:
            return None
        words = self.rng.choice(windows)
        return self._probe("multi-word", doc, " ".join(words), words)

    def two_char(self, doc: Doc) -> Probe | None:
        pairs = [w for w in self.words(doc.title) if len(w) == 2]
        if not pairs:
            return None
        word = self.rng.choice(pairs)
        return self._probe("two-char", doc, word, [word])

    def one_char(self, doc: Doc) -> Probe | None:
        chars = _HAN.findall(doc.title)
        if not chars:
            return None
        char = self.rng.choice(chars)
        return self._probe("one-char", doc, char, [char])

    def latin(self, doc: Doc) -> Probe | None:
        tokens = [t.rstrip(".-") for t in _LATIN_TOKEN.findall(nfkc(doc.title))]
        tokens = [t for t in tokens if len(t) >= 2 and re.search(r"[A-Za-z]", t)]
        if not tokens:
            return None
        token = self.rng.choice(tokens)
        return self._probe("latin-in-zh", doc, token, [token])

    def english(self, doc: Doc) -> Probe | None:
        words = _EN_WORD.findall(doc.title)
        pairs = [
            (a, b)
            for a, b in itertools.pairwise(words)
            if sum(c.isalpha() for c in a) >= 4 and sum(c.isalpha() for c in b) >= 4
        ]
        if not pairs:
            return None
        pair = self.rng.choice(pairs)
        return self._probe("english", doc, " ".join(pair), pair)

    def _phrase_words(self, doc: Doc, least_words: int) -> list[str] | None:
        starts = [
            (run, start)
            for run in self.runs(doc.title)
            for start in range(len(run))
            if sum(len(w) for w in run[start:]) >= 4
        ]
        self.rng.shuffle(starts)
        for run, start in starts:
            words: list[str] = []
            for word in run[start:]:
                words.append(word)
                if sum(len(w) for w in words) >= 4:
                    break
            if len(words) >= least_words:
                return words
        return None

    def phrase(self, doc: Doc) -> Probe | None:
        words = self._phrase_words(doc, 1)
        if words is None:
            return None
        phrase = "".join(words)
        return self._probe("phrase", doc, f'"{phrase}"', [phrase], phrase=phrase)

    def swapped(self, doc: Doc) -> Probe | None:
        words = self._phrase_words(doc, 2)
        if words is None:
            return None
        phrase = "".join(reversed(words))
        if folded(phrase) in self.texts[doc.key]:
            return None
        return Probe("phrase-swapped", f'"{phrase}"', None, doc.origin, (phrase,), phrase=phrase)

    def exclusion(self, doc: Doc) -> Probe | None:
        own = self.texts[doc.key]
        candidates = [w for w in self.words(doc.title, least=2)]
        self.rng.shuffle(candidates)
        for word in candidates:
            holders = [
                d for d in self.zh_all if d.key != doc.key and folded(word) in self.texts[d.key]
            ]
            self.rng.shuffle(holders)
            for holder in holders[:20]:
                others = [
                    w
                    for w in self.words(holder.title, least=2)
                    if folded(w) not in own and word not in w and w not in word
                ]
                if others:
                    other = self.rng.choice(others)
                    return self._probe("exclusion", doc, f"{word} -{other}", [word], excluded=other)
        return None


# -- preparing the inputs (before any clock) -------------------------------------


def _analysis_worker(cached: bool) -> None:
    """A worker process: jieba loaded; with ``cached``, a sentence's words are
    remembered (distractors repeat real sentences: same words, faster)."""
    from digests.text.tokens import load_segmenter

    load_segmenter()
    if cached:
        try:
            from digests.summarize import rank

            rank.analyze = functools.lru_cache(maxsize=None)(rank.analyze)  # type: ignore[attr-defined]
        except (ImportError, AttributeError):
            pass


def _analyze_chunk(chunk: list[tuple[str, str]]) -> list[Any]:
    from digests.summarize.analysis import analyze_batch

    return analyze_batch(chunk)


class Analyses:
    """The summarize round's CPU half for every stored (title, body), computed
    in worker processes before the clock starts; the timed round looks it up."""

    def __init__(self) -> None:
        self.done: dict[tuple[str | None, str], Any] = {}
        self.cached = True

    def prepare(self, pairs: Iterable[tuple[str | None, str]], progress: Progress) -> None:
        todo = [p for p in dict.fromkeys(pairs) if p not in self.done]
        if not todo:
            return
        task = progress.add_task("analysing (summarizer, off the clock)", total=len(todo))
        self._run(todo, progress, task)
        if self.cached:  # the cache must not change a single answer: check a sample
            from digests.summarize.analysis import analyze_batch

            sample = todo[:: max(1, len(todo) // 40)]
            if analyze_batch(sample) != [self.done[p] for p in sample]:
                progress.console.log("sentence cache changes answers: analysing again without")
                self.cached = False
                progress.reset(task)
                self._run(todo, progress, task)
        progress.remove_task(task)

    def _run(self, todo: list[tuple[str | None, str]], progress: Progress, task: Any) -> None:
        chunks = [todo[i : i + ANALYSIS_CHUNK] for i in range(0, len(todo), ANALYSIS_CHUNK)]
        with ProcessPoolExecutor(
            max_workers=os.cpu_count() or 1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_analysis_worker,
            initargs=(self.cached,),
        ) as pool:
            for chunk, results in zip(chunks, pool.map(_analyze_chunk, chunks), strict=True):
                self.done.update(zip(chunk, results, strict=True))
                progress.advance(task, len(chunk))

    def lookup(self, articles: Sequence[tuple[str | None, str]]) -> list[Any]:
        return [self.done[tuple(a)] for a in articles]  # type: ignore[index]


class SearchMode:
    """jieba's search mode over NFKC, case-folded text, per sentence (cached)."""

    def __init__(self, segmenter: Any) -> None:
        self.segmenter = segmenter
        self.cache: dict[str, str] = {}

    def words(self, text: str) -> list[str]:
        return [t for t in self.segmenter.cut_for_search(nfkc(text).casefold()) if _WORD.search(t)]

    def sentence(self, text: str) -> str:
        found = self.cache.get(text)
        if found is None:
            found = self.cache[text] = " ".join(self.words(text))
        return found

    def document(self, title: str, body: str, language: str) -> tuple[str, str]:
        parts = [self.sentence(s) for p in body.splitlines() for s in sentences(p, language) if s]
        return self.sentence(title), " ".join(parts)


@dataclass
class Stored:
    """The corpus as one database holds it: article id -> (doc index, title, body)."""

    index_of: dict[int, int]
    title: dict[int, str]
    body: dict[int, str]

    def pairs(self) -> list[tuple[str | None, str]]:
        return [(self.title[a], self.body[a]) for a in self.index_of]


def store_corpus(url: str, docs: Sequence[Doc], order: Sequence[int], progress: Progress) -> None:
    """Store ``docs`` in ``order`` through the store, as feeds would, dated over SPAN."""
    from digests.config import Settings
    from digests.engine import Engine
    from digests.records import RawArticle
    from digests.store.articles import StoryCache, save_articles
    from digests.store.sources import add_source

    engine = Engine.open(Settings(database_url=url))
    step = SPAN / max(1, len(order))
    stories = StoryCache()  # one per fetch round in the product; here one for the lot
    task = progress.add_task("storing articles", total=len(order))
    try:
        with engine.db.write() as session:
            sources = {
                lang: add_source(
                    session,
                    kind="feed",
                    location=f"https://bench.invalid/{lang}.xml",
                    name=f"bench-{lang}",
                    interval_seconds=1800,
                ).id
                for lang in ("zh", "en")
            }
        for start in range(0, len(order), STORE_BATCH):
            chunk = list(order[start : start + STORE_BATCH])
            newest = NOW - step * (len(order) - start - len(chunk))
            batches: dict[str, list[RawArticle]] = {"zh": [], "en": []}
            for position, number in enumerate(chunk, start=start):
                doc = docs[number]
                batches[doc.language].append(
                    RawArticle(
                        title=doc.title,
                        paragraphs=doc.paragraphs,
                        guid=doc.key,
                        published=NOW - step * (len(order) - 1 - position),
                    )
                )
            with engine.db.write() as session:
                for lang, batch in batches.items():
                    if batch:
                        save_articles(session, sources[lang], batch, newest, stories)
            progress.advance(task, len(chunk))
    finally:
        engine.close()
        progress.remove_task(task)


def read_stored(url: str, docs: Sequence[Doc]) -> Stored:
    from sqlalchemy import select

    from digests.store.db import Database
    from digests.store.models import Article

    position = {d.key: n for n, d in enumerate(docs)}
    db = Database(url)
    try:
        with db.read() as session:
            rows = session.execute(select(Article.id, Article.guid, Article.title, Article.body))
            stored = Stored({}, {}, {})
            for article_id, guid, title, body in rows:
                stored.index_of[article_id] = position[guid]
                stored.title[article_id] = title
                stored.body[article_id] = body
    finally:
        db.close()
    if len(stored.index_of) != len(docs):
        raise SystemExit(f"stored {len(stored.index_of)} of {len(docs)} articles")
    return stored


# -- the systems under test -------------------------------------------------------


@dataclass
class Answer:
    ids: list[int]  # doc indices, best first
    note: str | None = None  # a refusal ("nothing_searchable") or "error: ..."
    inconsistent: bool = False  # the reported total is below the hits shown


@dataclass
class System:
    name: str
    family: str  # "tantivy" | "fts5" | "postgresql"
    ours: bool
    build_s: float
    index_s: float | None  # time inside the index's store (ours)
    size_bytes: int
    search: Callable[[Probe], Answer]
    close: Callable[[], None] = lambda: None


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _sqlite_size(path: Path, like: str, besides: str = "") -> int:
    with sqlite3.connect(path) as connection:
        row = connection.execute(
            "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE ? AND name != ?",
            (like, besides),
        ).fetchone()
    return int(row[0])


def _pg_url(url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=database).render_as_string(hide_password=False)


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _pg_size(url: str, where: str) -> int:
    import psycopg

    with psycopg.connect(_psycopg_url(url)) as connection:
        row = connection.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            f"WHERE n.nspname = 'public' AND c.relkind = 'r' AND {where}"
        ).fetchone()
    return int(row[0]) if row else 0


def _pg_analyze(url: str) -> None:
    import psycopg

    with psycopg.connect(_psycopg_url(url), autocommit=True) as connection:
        connection.execute("ANALYZE")


def build_ours(
    family: str,
    url: str,
    index_dir: Path | None,
    stored: Stored,
    analyses: Analyses,
) -> System:
    """The product: the summarize round of ``newsdigest`` (CPU half precomputed),
    then ``Engine.search`` and the bot's rendering of each hit."""
    from bot.render import hit_html
    from digests.config import SearchSettings, Settings
    from digests.engine import Engine

    search_settings = (
        SearchSettings(engine=family, index_dir=str(index_dir or ""))
        if family != "postgresql"
        else SearchSettings()
    )
    engine = Engine.open(Settings(database_url=url, search=search_settings), clock=lambda: NOW)
    engine.warm_up(parser=False)  # what the bot does before serving (jieba, gc.freeze)
    engine.analyze_articles = analyses.lookup  # type: ignore[method-assign]
    index = engine.search_index
    inside = [0.0]
    timed_store = True
    original = index.store

    def store(*args: Any, **kwargs: Any) -> bool:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            inside[0] += time.perf_counter() - started

    try:
        index.store = store  # type: ignore[method-assign]
    except AttributeError:  # a slotted class: only the round's total is timed
        timed_store = False
    started = time.perf_counter()
    done = engine.summarize_new()
    build = time.perf_counter() - started
    if done != len(stored.index_of):
        raise SystemExit(f"{family}: summarized {done} of {len(stored.index_of)} articles")
    if family == "postgresql":
        _pg_analyze(url)
        size = _pg_size(url, "c.relname LIKE 'search%' AND c.relname <> 'search_outbox'")
    elif family == "tantivy":
        assert index_dir is not None
        size = _dir_size(index_dir)
    else:
        database = url.removeprefix("sqlite:///")
        size = _sqlite_size(Path(database), "search%", "search_outbox")

    def search(probe: Probe) -> Answer:
        found = engine.search(probe.text, page=0, per_page=PAGE)
        results = found.results
        for hit in results.hits:
            hit_html(hit, results.needles)
        ids = [stored.index_of[hit.article_id] for hit in results.hits]
        total = getattr(results, "total", len(ids))
        inconsistent = isinstance(total, int) and total < len(ids)
        return Answer(ids, found.problem, inconsistent)

    names = {"tantivy": "tantivy (default)", "fts5": "FTS5", "postgresql": "PostgreSQL"}
    return System(
        f"ours: {names[family]}",
        family,
        True,
        build,
        inside[0] if timed_store else None,
        size,
        search,
        engine.close,
    )


def anchor_tokens(probe: Probe, mode: SearchMode) -> tuple[list[str], list[str]]:
    wanted = [w for term in probe.terms for w in mode.words(term)]
    dropped = mode.words(probe.excluded) if probe.excluded else []
    return list(dict.fromkeys(wanted)), list(dict.fromkeys(dropped))


def build_anchor_tantivy(
    workdir: Path, segmented: dict[int, tuple[str, str]], mode: SearchMode
) -> System:
    import tantivy

    path = workdir / "anchor-tantivy"
    path.mkdir()
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", stored=True, indexed=True, fast=True)
    builder.add_text_field("title", tokenizer_name="whitespace")
    builder.add_text_field("body", tokenizer_name="whitespace")
    schema = builder.build()
    index = tantivy.Index(schema, path=str(path))
    started = time.perf_counter()
    writer = index.writer(heap_size=256_000_000)
    for number, (title, body) in segmented.items():
        writer.add_document(tantivy.Document(id=number, title=title, body=body))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    build = time.perf_counter() - started
    searcher = index.searcher()
    Q, Occur = tantivy.Query, tantivy.Occur

    def either(word: str) -> Any:
        title = Q.boost_query(Q.term_query(schema, "title", word), 2.0)
        return Q.boolean_query(
            [(Occur.Should, title), (Occur.Should, Q.term_query(schema, "body", word))]
        )

    def search(probe: Probe) -> Answer:
        wanted, dropped = anchor_tokens(probe, mode)
        if not wanted:
            return Answer([], "no words")
        clauses = [(Occur.Must, either(w)) for w in wanted]
        if dropped:
            clauses.append(
                (Occur.MustNot, Q.boolean_query([(Occur.Must, either(w)) for w in dropped]))
            )
        hits = searcher.search(Q.boolean_query(clauses), PAGE).hits
        return Answer([searcher.doc(address)["id"][0] for _score, address in hits])

    return System(
        "anchor: tantivy, jieba search mode", "tantivy", False, build, None, _dir_size(path), search
    )


def _fts5_match(wanted: Sequence[str], dropped: Sequence[str]) -> str:
    def quote(word: str) -> str:
        return '"' + word.replace('"', '""') + '"'

    match = " AND ".join(quote(w) for w in wanted)
    if dropped:
        match = f"({match}) NOT ({' AND '.join(quote(w) for w in dropped)})"
    return match


def build_anchor_fts5(
    workdir: Path, segmented: dict[int, tuple[str, str]], mode: SearchMode
) -> System:
    path = workdir / "anchor-fts5.db"
    connection = sqlite3.connect(path, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    started = time.perf_counter()
    connection.execute("CREATE VIRTUAL TABLE anchor USING fts5(title, body, content='')")
    connection.executemany(
        "INSERT INTO anchor(rowid, title, body) VALUES (?, ?, ?)",
        ((number, title, body) for number, (title, body) in segmented.items()),
    )
    connection.commit()
    build = time.perf_counter() - started
    size = _sqlite_size(path, "anchor%")

    def search(probe: Probe) -> Answer:
        wanted, dropped = anchor_tokens(probe, mode)
        if not wanted:
            return Answer([], "no words")
        rows = connection.execute(
            "SELECT rowid FROM anchor WHERE anchor MATCH ? ORDER BY bm25(anchor, 2.0, 1.0) "
            f"LIMIT {PAGE}",
            (_fts5_match(wanted, dropped),),
        )
        return Answer([r[0] for r in rows])

    return System(
        "anchor: FTS5, jieba search mode",
        "fts5",
        False,
        build,
        None,
        size,
        search,
        connection.close,
    )


def _tsquery(wanted: Sequence[str], dropped: Sequence[str]) -> str:
    def quote(word: str) -> str:
        return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"

    query = " & ".join(quote(w) for w in wanted)
    if dropped:
        query = f"({query}) & !({' & '.join(quote(w) for w in dropped)})"
    return query


def build_anchor_postgres(
    url: str, segmented: dict[int, tuple[str, str]], mode: SearchMode
) -> System:
    import psycopg

    connection = psycopg.connect(_psycopg_url(url), autocommit=True)
    started = time.perf_counter()
    connection.execute("CREATE TABLE bench_anchor (id integer PRIMARY KEY, doc tsvector)")
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO bench_anchor VALUES (%s, setweight(to_tsvector('simple', %s), 'A') "
            "|| setweight(to_tsvector('simple', %s), 'D'))",
            [(number, title, body) for number, (title, body) in segmented.items()],
        )
    connection.execute("CREATE INDEX bench_anchor_doc ON bench_anchor USING gin (doc)")
    connection.execute("ANALYZE bench_anchor")
    build = time.perf_counter() - started
    size = _pg_size(url, "c.relname = 'bench_anchor'")
    sql = (
        "SELECT id FROM bench_anchor, to_tsquery('simple', %s) q, to_tsquery('simple', %s) r "
        f"WHERE doc @@ q ORDER BY ts_rank(doc, r) DESC LIMIT {PAGE}"
    )

    def search(probe: Probe) -> Answer:
        wanted, dropped = anchor_tokens(probe, mode)
        if not wanted:
            return Answer([], "no words")
        # ranked by the wanted words alone: ts_rank counts a NOT's words as missing ones
        query = (_tsquery(wanted, dropped), _tsquery(wanted, []))
        rows = connection.execute(sql, query, prepare=True)
        return Answer([r[0] for r in rows])

    return System(
        "anchor: PostgreSQL tsvector, jieba search mode",
        "postgresql",
        False,
        build,
        None,
        size,
        search,
        connection.close,
    )


# -- measuring --------------------------------------------------------------------


@dataclass
class Checks:
    """Correctness of the results of the phrase and exclusion classes."""

    queries: int = 0
    queries_ok: int = 0
    results: int = 0
    results_bad: int = 0


@dataclass
class Measured:
    system: System
    n: int  # articles
    p50: float
    p95: float
    p99: float
    passes: list[dict[str, float]]
    mrr: dict[str, float]
    found: dict[str, int]  # targets on the first page
    checks: dict[str, Checks]
    notes: dict[str, Counter[str]]  # per class: refusals and errors
    inconsistent: int
    latin: float  # MRR@10 of the English/Latin classes pooled
    kind_p95: dict[str, float]  # p95 latency of each class (median across passes)
    misses: list[tuple[Probe, list[int], str | None]] = field(default_factory=list)


COUNTS_SEEN: dict[str, int] = {}


def _holds(probe: Probe, text: str) -> bool:
    if probe.phrase is not None:
        return folded(probe.phrase) in text
    assert probe.excluded is not None
    return folded(probe.excluded) not in text


def measure(
    system: System,
    probes: Sequence[Probe],
    runs: int,
    key_of: Sequence[str],
    texts: Callable[[int], tuple[str, str]],
    progress: Progress,
    budget: float = float("inf"),
) -> Measured:
    def ask(probe: Probe) -> Answer:
        try:
            return system.search(probe)
        except Exception as exc:  # a crash is a result: counted, never fatal
            return Answer([], f"error: {type(exc).__name__}: {str(exc)[:120]}")

    task = progress.add_task(f"{system.name}: queries", total=len(probes) * (runs + 1))
    answers = []
    started = time.perf_counter()
    for probe in probes:  # the warm pass; its answers are scored
        answers.append(ask(probe))
        progress.advance(task)
    warm = time.perf_counter() - started
    if warm * runs > budget:  # a very slow engine: fewer passes, said in the results
        runs = max(1, int(budget // warm))
        progress.update(task, total=len(probes) * (runs + 1))
    passes: list[dict[str, float]] = []
    by_kind: dict[str, list[float]] = {}  # p95 of each class, per pass
    for _ in range(runs):
        timings: list[float] = []
        for probe in probes:
            started = time.perf_counter_ns()
            ask(probe)
            timings.append((time.perf_counter_ns() - started) / 1e6)
            progress.advance(task)
        ordered = sorted(timings)
        passes.append({f"p{q}": percentile(ordered, q / 100) for q in (50, 95, 99)})
        for kind in KINDS:
            mine = sorted(t for t, p in zip(timings, probes, strict=True) if p.kind == kind)
            if mine:
                by_kind.setdefault(kind, []).append(percentile(mine, 0.95))
    progress.remove_task(task)
    reciprocal: dict[str, list[float]] = {}
    found: Counter[str] = Counter()
    checks = {kind: Checks() for kind in CHECKED}
    notes: dict[str, Counter[str]] = {}
    misses = []
    for probe, answer in zip(probes, answers, strict=True):
        if answer.note:
            notes.setdefault(probe.kind, Counter())[answer.note] += 1
        if probe.target is not None:
            keys = [key_of[i] for i in answer.ids[:PAGE]]
            rank = keys.index(probe.target) + 1 if probe.target in keys else 0
            reciprocal.setdefault(probe.kind, []).append(1 / rank if rank else 0.0)
            found[probe.kind] += rank > 0
            if not rank:
                misses.append((probe, answer.ids, answer.note))
        if probe.kind in checks:
            check = checks[probe.kind]
            held = [
                _holds(probe, folded(title)) or _holds(probe, folded(body))
                if probe.phrase is not None
                else _holds(probe, folded(title + "\n" + body))
                for title, body in (texts(i) for i in answer.ids)
            ]
            check.queries += 1
            check.queries_ok += all(held)
            check.results += len(held)
            check.results_bad += held.count(False)
            if not all(held):
                misses.append((probe, answer.ids, "wrong results"))
    pooled = [r for kind in LATIN for r in reciprocal.get(kind, [])]
    middle = {q: statistics.median(p[q] for p in passes) if passes else 0.0 for q in PERCENTS}
    return Measured(
        system,
        len(key_of),
        middle["p50"],
        middle["p95"],
        middle["p99"],
        passes,
        {k: statistics.mean(v) for k, v in reciprocal.items()},
        dict(found),
        checks,
        notes,
        sum(a.inconsistent for a in answers),
        statistics.mean(pooled) if pooled else 0.0,
        {kind: statistics.median(values) for kind, values in by_kind.items()},
        misses,
    )


# -- one corpus size, every system -------------------------------------------------


@dataclass
class Scale:
    n: int
    real: int
    made: int
    english: int
    lengths: dict[str, float]
    rows: list[Measured]
    store_s: float


def run_scale(
    docs: list[Doc],
    real_count: int,
    probes: Sequence[Probe],
    analyses: Analyses,
    mode: SearchMode,
    args: argparse.Namespace,
    progress: Progress,
) -> Scale:
    order = list(range(len(docs)))
    random.Random(SEED + len(docs)).shuffle(order)
    workdir = Path(tempfile.mkdtemp(prefix="search-bench-"))
    postgres = os.environ.get("TEST_POSTGRES_URL") if not args.no_postgres else None
    rows: list[Measured] = []
    key_of = [d.key for d in docs]
    try:
        base = workdir / "store.db"
        started = time.perf_counter()
        store_corpus(f"sqlite:///{base}", docs, order, progress)
        store_s = time.perf_counter() - started
        stored = read_stored(f"sqlite:///{base}", docs)
        wanted = set(args.engines.split(",")) if args.engines else None
        if not wanted or wanted & {"ours-tantivy", "ours-fts5"}:
            analyses.prepare(stored.pairs(), progress)
        by_doc = {n: a for a, n in stored.index_of.items()}

        def texts(number: int) -> tuple[str, str]:
            article = by_doc[number]
            return stored.title[article], stored.body[article]

        task = progress.add_task("segmenting for the anchors (off the clock)", total=len(docs))
        segmented: dict[int, tuple[str, str]] = {}
        for article, number in stored.index_of.items():
            segmented[number] = mode.document(
                stored.title[article], stored.body[article], docs[number].language
            )
            progress.advance(task)
        progress.remove_task(task)
        gc.collect()

        def finish(system: System) -> None:
            progress.console.log(
                f"  built {system.name}: {system.build_s * 1000 / len(docs):.3f} ms/article, "
                f"{system.size_bytes / 1e6:.1f} MB"
            )
            try:
                rows.append(
                    measure(system, probes, args.runs, key_of, texts, progress, args.budget)
                )
            finally:
                system.close()
            row = rows[-1]
            progress.console.log(
                f"  {system.name}: p50 {row.p50:.2f} p95 {row.p95:.2f} p99 {row.p99:.2f} ms; "
                + ", ".join(f"{k} {row.mrr.get(k, 0):.2f}" for k in KINDS if k in row.mrr)
            )

        for family in ("tantivy", "fts5"):
            if wanted and f"ours-{family}" not in wanted:
                continue
            copy = workdir / f"ours-{family}.db"
            shutil.copyfile(base, copy)
            progress.console.log(f"[{len(docs):,}] ours: {family}: summarize round")
            finish(
                build_ours(
                    family, f"sqlite:///{copy}", workdir / f"ours-{family}.search", stored, analyses
                )
            )
        for family, build in (("tantivy", build_anchor_tantivy), ("fts5", build_anchor_fts5)):
            if wanted and f"anchor-{family}" not in wanted:
                continue
            progress.console.log(f"[{len(docs):,}] anchor: {family}")
            finish(build(workdir, segmented, mode))
        if postgres and (not wanted or wanted & {"ours-postgresql", "anchor-postgresql"}):
            run_postgres(postgres, docs, order, analyses, segmented, mode, finish, wanted, progress)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    counted = Counter(d.language for d in docs)
    real_news = [len(d.text) for d in docs[:real_count] if is_news(d) and d.language == "zh"]
    made_zh = [len(d.text) for d in docs[real_count:] if d.language == "zh"]
    everything = [len(d.text) for d in docs]
    lengths = {
        "real_zh_news_mean": statistics.mean(real_news),
        "real_zh_news_median": statistics.median(real_news),
        "made_zh_mean": statistics.mean(made_zh) if made_zh else 0.0,
        "made_zh_median": statistics.median(made_zh) if made_zh else 0.0,
        "all_mean": statistics.mean(everything),
        "all_median": statistics.median(everything),
    }
    return Scale(
        len(docs), real_count, len(docs) - real_count, counted["en"], lengths, rows, store_s
    )


def run_postgres(
    server: str,
    docs: list[Doc],
    order: list[int],
    analyses: Analyses,
    segmented: dict[int, tuple[str, str]],
    mode: SearchMode,
    finish: Callable[[System], None],
    wanted: set[str] | None,
    progress: Progress,
) -> None:
    import psycopg

    name = f"newsdigest_bench_search_{os.getpid()}"
    admin = psycopg.connect(_psycopg_url(server), autocommit=True)
    admin.execute(f"DROP DATABASE IF EXISTS {name}")
    admin.execute(f"CREATE DATABASE {name}")
    url = _pg_url(server, name)
    try:
        progress.console.log(f"[{len(docs):,}] PostgreSQL: storing")
        store_corpus(url, docs, order, progress)
        if not wanted or "ours-postgresql" in wanted:
            stored = read_stored(url, docs)
            analyses.prepare(stored.pairs(), progress)
            progress.console.log(f"[{len(docs):,}] ours: postgresql: summarize round")
            finish(build_ours("postgresql", url, None, stored, analyses))
        if not wanted or "anchor-postgresql" in wanted:
            progress.console.log(f"[{len(docs):,}] anchor: postgresql")
            finish(build_anchor_postgres(url, segmented, mode))
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


# -- the report -------------------------------------------------------------------

GOAL_P95 = {"tantivy": 2.0, "fts5": 10.0, "postgresql": 10.0}
GOAL_MRR = {"multi-word": 0.95, "two-char": 0.7, "English/Latin": 0.6}
GOAL_BUILD_MS = 1.0
GOAL_SCALE = 100_000  # the latency goals are set at 10^5 articles
TIE = 0.0005  # MRR differences below this are rounding, not a loss


def _ms_per_article(seconds: float | None, n: int) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000 / n:.3f}"


def _rate(check: Checks) -> str:
    if not check.queries:
        return "–"
    return f"{check.queries_ok}/{check.queries} ({check.results_bad} of {check.results} wrong)"


def tables(scale: Scale) -> str:
    counts = COUNTS_SEEN
    lines = [
        f"### {scale.n:,} articles ({scale.real:,} real, {scale.made:,} distractors; "
        f"{scale.english:,} English)",
        "",
        "| engine | build ms/article | of which index store | index MB | p50 ms | p95 ms "
        "| p99 ms | timed passes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in scale.rows:
        s = row.system
        lines.append(
            f"| {s.name} | {_ms_per_article(s.build_s, row.n)} "
            f"| {_ms_per_article(s.index_s, row.n)} | {s.size_bytes / 1e6:.1f} "
            f"| {row.p50:.2f} | {row.p95:.2f} | {row.p99:.2f} | {len(row.passes)} |"
        )
    scored = [k for k in KINDS if k != "phrase-swapped"]
    lines += [
        "",
        "| engine | "
        + " | ".join(f"{k} ({counts.get(k, 0)})" for k in scored)
        + " | English/Latin | phrase correct | swapped correct | exclusion correct "
        "| refused or failed |",
        "|---|" + "---:|" * (len(scored) + 1) + "---:|---:|---:|---|",
    ]
    for row in scale.rows:
        notes = Counter[str]()
        for per_kind in row.notes.values():
            notes.update(per_kind)
        said = "; ".join(f"{note} ×{n}" for note, n in notes.most_common(3)) or "–"
        if row.inconsistent:
            said += f"; total below hits ×{row.inconsistent}"
        lines.append(
            f"| {row.system.name} | "
            + " | ".join(f"{row.mrr.get(k, 0):.3f}" for k in scored)
            + f" | {row.latin:.3f} | {_rate(row.checks['phrase'])} "
            f"| {_rate(row.checks['phrase-swapped'])} | {_rate(row.checks['exclusion'])} "
            f"| {said} |"
        )
    lines += [
        "",
        "p95 latency (ms) of each class:",
        "",
        "| engine | " + " | ".join(KINDS) + " |",
        "|---|" + "---:|" * len(KINDS),
    ]
    for row in scale.rows:
        lines.append(
            f"| {row.system.name} | "
            + " | ".join(f"{row.kind_p95.get(k, 0.0):.2f}" for k in KINDS)
            + " |"
        )
    return "\n".join(lines)


def goals(scales: Sequence[Scale]) -> tuple[str, list[dict[str, Any]]]:
    out: list[dict[str, Any]] = []

    def add(scale: Scale, engine: str, goal: str, value: str, target: str, met: bool) -> None:
        out.append(
            {
                "articles": scale.n,
                "engine": engine,
                "goal": goal,
                "value": value,
                "target": target,
                "met": met,
            }
        )

    for scale in scales:
        anchor = next((r for r in scale.rows if r.system.name.startswith("anchor: tantivy")), None)
        for row in (r for r in scale.rows if r.system.ours):
            name = row.system.name
            for kind, target in GOAL_MRR.items():
                value = row.latin if kind == "English/Latin" else row.mrr.get(kind, 0.0)
                add(scale, name, f"MRR@10 {kind}", f"{value:.3f}", f"≥ {target}", value >= target)
            if anchor is not None:
                below = [
                    f"{k} {row.mrr[k]:.3f} < {anchor.mrr.get(k, 0.0):.3f}"
                    for k in KINDS
                    if k in row.mrr and row.mrr[k] < anchor.mrr.get(k, 0.0) - TIE
                ]
                add(
                    scale,
                    name,
                    "never below plain tantivy (MRR@10, per class)",
                    ", ".join(below) or "none below",
                    "none below",
                    not below,
                )
            for kind in CHECKED:
                check = row.checks[kind]
                add(
                    scale,
                    name,
                    f"{kind}: every result correct",
                    f"{check.queries_ok}/{check.queries}",
                    "all",
                    check.queries_ok == check.queries,
                )
            target_ms = GOAL_P95[row.system.family]
            at = "" if scale.n >= GOAL_SCALE else " (goal set at 10^5)"
            add(
                scale,
                name,
                f"p95 latency{at}",
                f"{row.p95:.2f} ms",
                f"≤ {target_ms} ms",
                row.p95 <= target_ms,
            )
            build = row.system.build_s * 1000 / row.n
            inside = row.system.index_s
            if inside is None:  # the index could not be timed alone: the whole round
                add(
                    scale,
                    name,
                    "build: the summarize round (index not timed alone)",
                    f"{build:.3f} ms/article",
                    f"≤ {GOAL_BUILD_MS} ms/article",
                    build <= GOAL_BUILD_MS,
                )
            else:
                writes = inside * 1000 / row.n
                add(
                    scale,
                    name,
                    "build: index writes of the summarize round",
                    f"{writes:.3f} ms/article (whole round {build:.3f})",
                    f"≤ {GOAL_BUILD_MS} ms/article",
                    writes <= GOAL_BUILD_MS,
                )
    lines = [
        "| articles | engine | goal | value | target | met |",
        "|---:|---|---|---:|---:|---|",
    ]
    for goal in out:
        lines.append(
            f"| {goal['articles']:,} | {goal['engine']} | {goal['goal']} | {goal['value']} "
            f"| {goal['target']} | {'met' if goal['met'] else '**not met**'} |"
        )
    return "\n".join(lines), out


def write_results(
    scales: Sequence[Scale],
    probes: Sequence[Probe],
    real: Sequence[Doc],
    analyses: Analyses,
    args: argparse.Namespace,
    command: str,
    load: tuple[float, float],
) -> str:
    goal_table, goal_rows = goals(scales)
    origins = Counter(d.origin.split(":", 1)[0] for d in real)
    en_share = english_share(real)
    first = scales[0]
    header = [
        "# Search benchmark",
        "",
        f"`{command}` ({platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{datetime.now(UTC):%Y-%m-%d}); {args.runs} timed pass(es) after a warm one, "
        f"one thread; 1-minute load average {load[0]:.1f} at the start, {load[1]:.1f} at "
        "the end (the machine is shared: latency is noisier under load). How the corpus "
        "and the queries are made, and what is timed: the docstring of "
        "`benchmarks/search.py`.",
        "",
        f"**Corpus.** {len(real):,} real articles of ../shared/eval, deduplicated by text ("
        + ", ".join(f"{name} {n}" for name, n in origins.most_common())
        + f"; English {en_share:.1%}), the rest distractors of real sentences recombined, "
        f"English with the same {en_share:.1%} share, lengths drawn from the real news "
        f"articles'. Chinese news: real mean {first.lengths['real_zh_news_mean']:.0f} / "
        f"median {first.lengths['real_zh_news_median']:.0f} characters"
        + "".join(
            f"; at {s.n:,}: "
            + (
                f"Chinese distractors {s.lengths['made_zh_mean']:.0f} / "
                f"{s.lengths['made_zh_median']:.0f}, "
                if s.made
                else ""
            )
            + f"every article {s.lengths['all_mean']:.0f} / {s.lengths['all_median']:.0f}"
            for s in scales
        )
        + ".",
        "",
        f"**Queries.** {len(probes)} by the fixed rule (seed {SEED}): "
        + ", ".join(f"{k} {COUNTS_SEEN.get(k, 0)}" for k in KINDS)
        + ". English/Latin pools latin-in-zh and english. A cell of the answers table "
        "is MRR@10; phrase/exclusion columns: queries whose every result holds "
        "(results that do not).",
        "",
        "**Timing.** Ours: `Engine.search` + rendering each hit with its snippet; anchors: "
        "the index alone. Build: ours is the summarize round with its CPU half computed "
        "beforehand (its index `store` calls beside it); anchors index pre-segmented text. "
        "Storing through the store took "
        + ", ".join(f"{s.store_s:.0f} s at {s.n:,}" for s in scales)
        + " (not a search cost)."
        + (
            ""
            if analyses.cached
            else " The summarizer ran without the sentence cache (it changed answers)."
        ),
        "",
    ]
    if not os.environ.get("TEST_POSTGRES_URL") or args.no_postgres:
        header += ["PostgreSQL: not measured (no TEST_POSTGRES_URL).", ""]
    body = [tables(s) + "\n" for s in scales]
    text = "\n".join([*header, "## Results", "", *body, "## Goals of issue 14", "", goal_table, ""])
    payload = {
        "command": command,
        "machine": {
            "arch": platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
        },
        "seed": SEED,
        "runs": args.runs,
        "load_average": {"start": load[0], "end": load[1]},
        "real_articles": dict(origins),
        "english_share": round(en_share, 4),
        "query_counts": COUNTS_SEEN,
        "queries": [{"class": p.kind, "target": p.origin} for p in probes],
        "scales": [
            {
                "articles": s.n,
                "real": s.real,
                "distractors": s.made,
                "english": s.english,
                "lengths": {k: round(v, 1) for k, v in s.lengths.items()},
                "store_s": round(s.store_s, 1),
                "engines": [
                    {
                        "engine": r.system.name,
                        "ours": r.system.ours,
                        "build_ms_per_article": round(r.system.build_s * 1000 / r.n, 4),
                        "index_store_ms_per_article": None
                        if r.system.index_s is None
                        else round(r.system.index_s * 1000 / r.n, 4),
                        "index_mb": round(r.system.size_bytes / 1e6, 2),
                        "p50_ms": round(r.p50, 3),
                        "p95_ms": round(r.p95, 3),
                        "p99_ms": round(r.p99, 3),
                        "passes": [{k: round(v, 3) for k, v in p.items()} for p in r.passes],
                        "p95_ms_by_class": {k: round(v, 3) for k, v in r.kind_p95.items()},
                        "mrr10": {k: round(v, 4) for k, v in r.mrr.items()},
                        "mrr10_english_latin": round(r.latin, 4),
                        "found_top10": r.found,
                        "checks": {k: vars(c) for k, c in r.checks.items()},
                        "refused_or_failed": {k: dict(v) for k, v in r.notes.items()},
                        "total_below_hits": r.inconsistent,
                    }
                    for r in s.rows
                ],
            }
            for s in scales
        ],
        "goals": goal_rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "search.md").write_text(text, "utf-8")
    (RESULTS / "search.json").write_text(
        json.dumps(payload, indent=2, ensure_ascii=False) + "\n", "utf-8"
    )
    return text


def show_misses(scale: Scale, docs: Sequence[Doc]) -> None:
    """Each engine's missed and wrong queries, on stderr (never saved: they quote the data)."""
    for row in scale.rows:
        for probe, ids, note in row.misses:
            top = ", ".join(
                f"{docs[i].origin or docs[i].key} {docs[i].title[:20]!r}" for i in ids[:3]
            )
            print(
                f"miss [{scale.n}] [{row.system.name}] {probe.kind} {probe.text!r} -> "
                f"{probe.origin}: {note or ''} | top: {top}",
                file=sys.stderr,
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--articles",
        type=int,
        nargs="+",
        default=[10_000, 100_000],
        metavar="N",
        help="corpus sizes (below the real articles' count: the real articles alone)",
    )
    parser.add_argument("--runs", type=int, default=3, help="timed passes (after a warm one)")
    parser.add_argument(
        "--engines",
        default="",
        help="only these, comma-separated: ours-tantivy, ours-fts5, ours-postgresql, "
        "anchor-tantivy, anchor-fts5, anchor-postgresql",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=300.0,
        help="seconds of timed passes per engine: a slower engine gets fewer (at least one)",
    )
    parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    parser.add_argument(
        "--show-misses",
        action="store_true",
        help="print each engine's missed and wrong queries (stderr only; never saved)",
    )
    args = parser.parse_args(argv)
    if not EVAL.is_dir():
        print(f"benchmarks.search: {EVAL} is not present (needs ../shared/eval)", file=sys.stderr)
        return 1
    if args.runs < 1:
        parser.error("--runs must be 1 or more")
    given = [a for a in (sys.argv[1:] if argv is None else argv) if a != "--show-misses"]
    command = " ".join([".venv/bin/python -m benchmarks.search", *given])
    load_start = os.getloadavg()[0]
    console = Console(stderr=True, log_path=False)
    rng = random.Random(SEED)
    real = real_documents()
    drawer = Drawer(real, random.Random(SEED))
    probes = drawer.draw()
    COUNTS_SEEN.update(Counter(p.kind for p in probes))
    targets = {p.target for p in probes if p.target is not None}
    made = distractors(real, max(0, max(args.articles) - len(real)), rng, spare=targets)
    console.print(
        f"{len(real):,} real articles ({english_share(real):.1%} English); "
        f"{len(probes)} queries: " + ", ".join(f"{k} {COUNTS_SEEN[k]}" for k in KINDS)
    )
    analyses = Analyses()
    mode = SearchMode(drawer.segmenter)
    scales: list[Scale] = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        for total in sorted(set(args.articles)):
            docs = corpus(real, made, total)
            progress.console.log(f"[bold]{len(docs):,} articles[/bold]")
            scale = run_scale(docs, len(real), probes, analyses, mode, args, progress)
            scales.append(scale)
    if args.show_misses:
        for scale in scales:
            show_misses(scale, corpus(real, made, scale.n))
    load = (load_start, os.getloadavg()[0])
    text = write_results(scales, probes, real, analyses, args, command, load)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
