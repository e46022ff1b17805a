"""Compose an edition: the period's articles -> one ``Digest`` worth reading. Pure.

Stories, not articles: articles the engine recorded as the same story
(near-duplicate text) and articles about the same event (titles sharing most
of their character bigrams / words, or keyword sets that mostly agree) become
one item with every source linked. Items are ranked by how many sources cover
the story, the sources' configured priority, recency and how central the
story's keywords are to the day; capped per source and per edition, with the
number left out reported. No I/O, no Telegram.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from digests.records import EditionArticle

# Same event: at least this share of title shingles, or of keywords, shared.
SAME_TITLE_JACCARD = 0.5
SAME_KEYWORDS_JACCARD = 0.5
MIN_KEYWORDS_TO_COMPARE = 4
TOP_KEYWORDS = 10
RECENCY_HALF_LIFE_HOURS = 12.0

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z0-9]+")


@dataclass(frozen=True, slots=True)
class SourceLink:
    name: str
    link: str | None


@dataclass(frozen=True, slots=True)
class Item:
    title: str
    link: str | None
    summary: tuple[str, ...]
    source: str
    also: tuple[SourceLink, ...]
    time: datetime | None  # None: a newspaper issue's item (no time of day to show)
    keywords: tuple[str, ...]
    article_ids: tuple[int, ...]
    score: float


@dataclass(frozen=True, slots=True)
class Section:
    name: str | None  # None: the edition has one unnamed section
    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class Digest:
    schedule: str
    edition_date: date
    articles_read: int
    top_keywords: tuple[str, ...]
    sections: tuple[Section, ...]
    left_out: int = 0

    @property
    def items(self) -> list[Item]:
        return [item for section in self.sections for item in section.items]

    @property
    def empty(self) -> bool:
        return not self.sections


@dataclass(frozen=True, slots=True)
class ComposeOptions:
    max_items: int = 20
    max_items_per_source: int = 5
    sections: str = "source"  # source | topic | none
    summary_sentences: int = 2
    source_priority: Mapping[str, float] = field(default_factory=dict)


def title_shingles(title: str) -> frozenset[str]:
    """Character bigrams of the Chinese part and lower-cased words of the rest."""
    han = "".join(_HAN.findall(title))
    bigrams = {han[i : i + 2] for i in range(len(han) - 1)}
    words = {w.lower() for w in _LATIN_WORD.findall(title) if len(w) > 1}
    return frozenset(bigrams | words)


def _jaccard(first: frozenset[str] | set[str], second: frozenset[str] | set[str]) -> float:
    if not first or not second:
        return 0.0
    return len(first & second) / len(first | second)


def _similar(
    titles_a: frozenset[str], keywords_a: set[str], titles_b: frozenset[str], keywords_b: set[str]
) -> bool:
    if _jaccard(titles_a, titles_b) >= SAME_TITLE_JACCARD:
        return True
    return (
        min(len(keywords_a), len(keywords_b)) >= MIN_KEYWORDS_TO_COMPARE
        and _jaccard(keywords_a, keywords_b) >= SAME_KEYWORDS_JACCARD
    )


# A shingle or keyword shared by more articles than this says nothing about
# which ones belong together ("中国", "today"): it is not used to find pairs.
_COMMON_KEY = 100


def cluster(articles: Sequence[EditionArticle]) -> list[list[EditionArticle]]:
    """Stories: groups of articles about the same event, each in arrival order.

    Candidate pairs come from an inverted index over title shingles and
    keywords, so a busy day costs about linear time, not every pair.
    """
    parent = list(range(len(articles)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    titles = [title_shingles(a.title) for a in articles]
    keyword_sets = [set(a.keywords) for a in articles]
    first_of_story: dict[int, int] = {}
    postings: defaultdict[str, list[int]] = defaultdict(list)
    for index, article in enumerate(articles):
        if article.story_id in first_of_story:
            parent[root(index)] = root(first_of_story[article.story_id])
        else:
            first_of_story[article.story_id] = index
        shared_titles: Counter[int] = Counter()
        shared_keywords: Counter[int] = Counter()
        for counter, keys in (
            (shared_titles, titles[index]),
            (shared_keywords, {f"#{k}" for k in keyword_sets[index]}),
        ):
            for key in keys:
                members = postings[key]
                if len(members) < _COMMON_KEY:
                    counter.update(members)
                    members.append(index)
        # Jaccard >= 1/2 needs at least half of this article's keys shared:
        # only such candidates are worth the exact test.
        title_floor = len(titles[index]) / 2
        keyword_floor = max(MIN_KEYWORDS_TO_COMPARE / 2, len(keyword_sets[index]) / 2)
        candidates = {o for o, n in shared_titles.items() if n >= title_floor} | {
            o for o, n in shared_keywords.items() if n >= keyword_floor
        }
        for other in candidates:
            if root(other) != root(index) and _similar(
                titles[index], keyword_sets[index], titles[other], keyword_sets[other]
            ):
                parent[root(index)] = root(other)
    groups: defaultdict[int, list[EditionArticle]] = defaultdict(list)
    for index, article in enumerate(articles):
        groups[root(index)].append(article)
    return [sorted(group, key=lambda a: (a.fetched_at, a.id)) for group in groups.values()]


def top_keywords(
    stories: Sequence[Sequence[EditionArticle]], count: int = TOP_KEYWORDS
) -> list[str]:
    """The day's topics: keywords counted once per story and source."""
    counts: Counter[str] = Counter()
    for story in stories:
        seen: set[tuple[str, int]] = set()
        for article in story:
            for keyword in article.keywords[:5]:
                if (keyword, article.source_id) not in seen:
                    seen.add((keyword, article.source_id))
                    counts[keyword] += 1
    return [k for k, c in sorted(counts.items(), key=lambda kc: (-kc[1], kc[0])) if c > 1][:count]


def _representative(story: Sequence[EditionArticle], options: ComposeOptions) -> EditionArticle:
    """The article whose summary stands for the story: the best source, then the earliest."""
    return max(
        story,
        key=lambda a: (
            options.source_priority.get(a.source_name, 0.0),
            len(a.summary),
            -a.fetched_at.timestamp(),
        ),
    )


def _score(
    story: Sequence[EditionArticle], topics: Sequence[str], now: datetime, options: ComposeOptions
) -> float:
    sources = {a.source_id for a in story}
    priority = max(options.source_priority.get(a.source_name, 0.0) for a in story)
    newest = max((a.published_at or a.fetched_at) for a in story)
    hours = max(0.0, (now - newest).total_seconds() / 3600)
    recency = 0.5 ** (hours / RECENCY_HALF_LIFE_HOURS)
    keywords = {k for a in story for k in a.keywords}
    salience = sum(1.0 / (1 + rank) for rank, topic in enumerate(topics) if topic in keywords)
    return math.log2(1 + len(sources)) * 2.0 + priority + recency + salience


def _item(story: Sequence[EditionArticle], score: float, options: ComposeOptions) -> Item:
    lead = _representative(story, options)
    others: list[SourceLink] = []
    seen = {lead.source_name}
    for article in story:
        if article.source_name not in seen:
            seen.add(article.source_name)
            others.append(SourceLink(article.source_name, article.link))
    summary = lead.summary[: options.summary_sentences] or (
        (lead.summary_line,) if lead.summary_line else ()
    )
    return Item(
        title=lead.title or (lead.summary_line[:40] if lead.summary_line else "…"),
        link=lead.link,
        summary=summary,
        source=lead.source_name,
        also=tuple(others),
        time=None if lead.from_issue else (lead.published_at or lead.fetched_at),
        keywords=lead.keywords,
        article_ids=tuple(a.id for a in story),
        score=score,
    )


def compose(
    articles: Sequence[EditionArticle],
    *,
    schedule: str,
    edition_date: date,
    now: datetime,
    options: ComposeOptions | None = None,
) -> Digest:
    """The edition for ``articles`` (those stored since the previous edition)."""
    options = options or ComposeOptions()
    stories = cluster(articles)
    topics = top_keywords(stories)
    ranked = sorted(
        ((_score(story, topics, now, options), story) for story in stories),
        key=lambda pair: (-pair[0], pair[1][0].fetched_at, pair[1][0].id),
    )
    chosen: list[Item] = []
    per_source: Counter[str] = Counter()
    for score, story in ranked:
        item = _item(story, score, options)
        if (
            len(chosen) >= options.max_items
            or per_source[item.source] >= options.max_items_per_source
        ):
            continue
        per_source[item.source] += 1
        chosen.append(item)
    return Digest(
        schedule=schedule,
        edition_date=edition_date,
        articles_read=len(articles),
        top_keywords=tuple(topics),
        sections=_sections(chosen, topics, options.sections),
        left_out=len(stories) - len(chosen),
    )


def _sections(items: list[Item], topics: Sequence[str], mode: str) -> tuple[Section, ...]:
    if not items:
        return ()
    if mode == "none":
        return (Section(None, tuple(items)),)
    groups: dict[str | None, list[Item]] = {}
    for item in items:
        if mode == "topic":
            key = next((t for t in topics if t in item.keywords), None)
        else:
            key = item.source
        groups.setdefault(key, []).append(item)
    ordered = sorted(groups.items(), key=lambda kv: (kv[0] is None, -max(i.score for i in kv[1])))
    return tuple(Section(name, tuple(group)) for name, group in ordered)


def digest_to_dict(digest: Digest) -> dict[str, Any]:
    """A JSON-ready form of the edition, as stored on its row."""
    return {
        "schedule": digest.schedule,
        "edition_date": digest.edition_date.isoformat(),
        "articles_read": digest.articles_read,
        "top_keywords": list(digest.top_keywords),
        "left_out": digest.left_out,
        "sections": [
            {
                "name": section.name,
                "items": [
                    {
                        "title": item.title,
                        "link": item.link,
                        "summary": list(item.summary),
                        "source": item.source,
                        "also": [[link.name, link.link] for link in item.also],
                        "time": item.time.isoformat() if item.time else None,
                        "keywords": list(item.keywords),
                        "article_ids": list(item.article_ids),
                        "score": item.score,
                    }
                    for item in section.items
                ],
            }
            for section in digest.sections
        ],
    }


def digest_from_dict(data: Mapping[str, Any]) -> Digest:
    return Digest(
        schedule=data["schedule"],
        edition_date=date.fromisoformat(data["edition_date"]),
        articles_read=int(data["articles_read"]),
        top_keywords=tuple(data["top_keywords"]),
        left_out=int(data.get("left_out", 0)),
        sections=tuple(
            Section(
                section["name"],
                tuple(
                    Item(
                        title=item["title"],
                        link=item["link"],
                        summary=tuple(item["summary"]),
                        source=item["source"],
                        also=tuple(SourceLink(name, link) for name, link in item["also"]),
                        time=datetime.fromisoformat(item["time"]) if item["time"] else None,
                        keywords=tuple(item["keywords"]),
                        article_ids=tuple(item["article_ids"]),
                        score=float(item["score"]),
                    )
                    for item in section["items"]
                ),
            )
            for section in data["sections"]
        ),
    )
