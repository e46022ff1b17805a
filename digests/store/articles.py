"""Article rows: store a batch, updating known articles and linking near-duplicates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from digests import dedup
from digests.article import RawArticle
from digests.ingest.urls import canonical_url
from digests.store.models import Article

# Near-duplicates are looked for among articles stored this recently.
STORY_WINDOW = timedelta(days=7)
STORY_CANDIDATES = 5_000
_CHUNK = 400


@dataclass(slots=True)
class SaveResult:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    same_story: int = 0
    new_ids: list[int] = field(default_factory=list)

    def __iadd__(self, other: SaveResult) -> SaveResult:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.same_story += other.same_story
        self.new_ids.extend(other.new_ids)
        return self


def _known(session: Session, source_id: int, batch: Sequence[RawArticle]) -> list[Article]:
    identities = [dedup.identity_digest(*dedup.identity_key(a)) for a in batch]
    guids = [a.guid for a in batch if a.guid]
    urls = [canonical_url(a.url) for a in batch if a.url]
    found: dict[int, Article] = {}
    for start in range(0, max(len(identities), len(guids), len(urls)), _CHUNK):
        conditions = [Article.identity.in_(identities[start : start + _CHUNK])]
        if guids[start : start + _CHUNK]:
            conditions.append(Article.guid.in_(guids[start : start + _CHUNK]))
        if urls[start : start + _CHUNK]:
            conditions.append(Article.url.in_(urls[start : start + _CHUNK]))
        query = select(Article).where(Article.source_id == source_id, or_(*conditions))
        for article in session.scalars(query):
            found[article.id] = article
    return list(found.values())


def _recent_sketches(session: Session, now: datetime) -> list[tuple[int, tuple[int, ...]]]:
    rows = session.execute(
        select(Article.id, Article.story_id, Article.sketch)
        .where(Article.fetched_at >= now - STORY_WINDOW, Article.sketch.is_not(None))
        .order_by(Article.fetched_at.desc())
        .limit(STORY_CANDIDATES)
    )
    return [(story_id or id_, dedup.decode_sketch(sketch)) for id_, story_id, sketch in rows]


def _same_story(
    sketch: tuple[int, ...], candidates: list[tuple[int, tuple[int, ...]]]
) -> int | None:
    best: tuple[float, int] | None = None
    for story_id, other in candidates:
        score = dedup.estimated_jaccard(sketch, other)
        if score >= dedup.NEAR_DUPLICATE_JACCARD and (best is None or score > best[0]):
            best = (score, story_id)
    return best[1] if best else None


def _apply(row: Article, article: RawArticle, content: str, now: datetime) -> None:
    row.title = article.title
    row.subtitle = article.subtitle
    row.byline = article.byline
    row.author = article.author
    row.lead = article.lead
    row.body = article.body
    row.subheads = list(article.subheads)
    row.tags = list(article.tags)
    row.published_at = article.published or row.published_at
    row.link = article.url
    row.content_hash = content
    row.updated_at = now


def save_articles(
    session: Session, source_id: int, batch: Sequence[RawArticle], now: datetime
) -> SaveResult:
    """Insert new articles, update changed ones (same guid or canonical URL)."""
    result = SaveResult()
    if not batch:
        return result
    known = _known(session, source_id, batch)
    by_identity = {row.identity: row for row in known}
    by_guid = {row.guid: row for row in known if row.guid}
    by_url = {row.url: row for row in known if row.url}
    candidates: list[tuple[int, tuple[int, ...]]] | None = None
    for article in batch:
        kind, value = dedup.identity_key(article)
        identity = dedup.identity_digest(kind, value)
        url = canonical_url(article.url) if article.url else None
        row = (
            by_identity.get(identity)
            or (by_guid.get(article.guid) if article.guid else None)
            or (by_url.get(url) if url else None)
        )
        content = dedup.content_hash(article)
        if row is not None:
            if row.content_hash == content:
                result.unchanged += 1
            else:
                _apply(row, article, content, now)
                result.updated += 1
            continue
        sketch = dedup.sketch(f"{article.title}\n{article.body}")
        if candidates is None:
            candidates = _recent_sketches(session, now)
        story_id = _same_story(sketch, candidates) if sketch else None
        row = Article(
            source_id=source_id,
            identity=identity,
            guid=article.guid,
            url=url,
            fetched_at=now,
            sketch=dedup.encode_sketch(sketch) if sketch else None,
        )
        _apply(row, article, content, now)
        session.add(row)
        session.flush()
        row.story_id = story_id or row.id
        if story_id is not None:
            result.same_story += 1
        if sketch:
            candidates.append((row.story_id, sketch))
        by_identity[identity] = row
        if row.guid:
            by_guid[row.guid] = row
        if url:
            by_url[url] = row
        result.new += 1
        result.new_ids.append(row.id)
    return result
