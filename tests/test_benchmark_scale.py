"""The scale benchmark's feeds: distinct articles that parse back as written and
share as little text as unrelated news (the benchmark times ingest, not the
near-duplicate lookup sifting look-alikes)."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import combinations

from benchmarks.scale import demo_words, make_articles, rss
from digests.ingest import dedup
from digests.ingest.parse import parse_feed_bytes


def test_articles_are_distinct_and_repeatable() -> None:
    vocabulary = demo_words()
    articles = make_articles(vocabulary, 300)
    assert len(articles) == 300
    assert len({title for title, _body in articles}) == 300
    assert len({body for _title, body in articles}) == 300
    assert make_articles(vocabulary, 300) == articles
    assert all(len(body) > 200 and "\n" in body for _title, body in articles)


def test_a_feed_parses_back_to_its_articles() -> None:
    articles = make_articles(demo_words(), 5)
    parsed = parse_feed_bytes(rss(3, articles, datetime(2026, 11, 20, tzinfo=UTC))).articles
    assert [a.title for a in parsed] == [title for title, _body in articles]
    assert [a.guid for a in parsed] == [f"scale-3-{n}" for n in range(5)]
    paragraphs = [[p for p in a.body.split("\n") if p] for a in parsed]
    assert paragraphs == [body.split("\n") for _title, body in articles]


def test_articles_share_as_little_text_as_unrelated_news() -> None:
    """Pairwise 4-gram similarity stays near zero, as between unrelated stories
    (reshuffled corpus sentences average about 0.1, and reach 0.5)."""
    sketches = [
        dedup.sketch(f"{title}\n{body}") for title, body in make_articles(demo_words(), 150)
    ]
    similarity = [dedup.estimated_jaccard(a, b) for a, b in combinations(sketches, 2)]
    assert max(similarity) < 0.1
