"""Article rows: store a batch, updating known articles and linking near-duplicates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from digests.ingest import dedup
from digests.ingest.urls import canonical_url
from digests.records import RawArticle
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
    # One query per key, each answered by its own index: with the three ORed
    # in one WHERE, SQLite reads every row of the source for every chunk
    # (quadratic in a big newspaper issue).
    keyed = ((Article.identity, identities), (Article.guid, guids), (Article.url, urls))
    for column, keys in keyed:
        for start in range(0, len(keys), _CHUNK):
            query = select(Article).where(
                Article.source_id == source_id, column.in_(keys[start : start + _CHUNK])
            )
            for article in session.scalars(query):
                found[article.id] = article
    return [found[id_] for id_ in sorted(found)]


class StoryCache:
    """The near-duplicate index of recent articles, loaded once and then topped up.

    One cache serves a whole fetch run: each batch loads only the articles
    stored since the previous batch (by any process), not the whole window again.
    """

    def __init__(self) -> None:
        # The newest STORY_CANDIDATES articles, whether loaded or stored here:
        # a long run (a big newspaper issue) looks as far back as one batch does.
        self._index = dedup.StoryIndex(limit=STORY_CANDIDATES)
        self._last_id = 0

    def index(self, session: Session, now: datetime) -> dedup.StoryIndex:
        rows = session.execute(
            select(Article.id, Article.story_id, Article.sketch)
            .where(
                Article.id > self._last_id,
                Article.fetched_at >= now - STORY_WINDOW,
                Article.sketch.is_not(None),
            )
            .order_by(Article.id.desc())
            .limit(STORY_CANDIDATES)
        ).all()
        for id_, story_id, sketch in reversed(rows):  # oldest first: the index drops those first
            self._index.add(story_id or id_, dedup.decode_sketch(sketch))
            self._last_id = max(self._last_id, id_)
        return self._index

    def saw(self, article_id: int) -> None:
        """Articles this process stored are already in the index."""
        self._last_id = max(self._last_id, article_id)


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
    session: Session,
    source_id: int,
    batch: Sequence[RawArticle],
    now: datetime,
    stories: StoryCache | None = None,
) -> SaveResult:
    """Insert new articles, update changed ones (same guid or canonical URL).

    A new article whose text nearly duplicates one stored recently (or one
    earlier in this batch) gets that article's ``story_id``; otherwise its own.
    """
    result = SaveResult()
    if not batch:
        return result
    known = _known(session, source_id, batch)
    by_identity = {row.identity: row for row in known}
    by_guid = {row.guid: row for row in known if row.guid}
    by_url = {row.url: row for row in known if row.url}
    cache = stories or StoryCache()
    index: dedup.StoryIndex | None = None
    # New rows get ids only at flush: remember which row (or stored story id)
    # each new row's story is, and resolve after one flush.
    # The index names a new row's entry by that row (or its story's) until the
    # flush gives ids; then by the story id, so it holds no rows past this batch.
    story_of: list[tuple[Article, Article | int | None, int | None]] = []
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
        if index is None:
            index = cache.index(session, now)
        story = index.find(sketch)
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
        position = index.add(story if story is not None else row, sketch)
        story_of.append((row, story, position))  # type: ignore[arg-type]
        by_identity[identity] = row
        if row.guid:
            by_guid[row.guid] = row
        if url:
            by_url[url] = row
    session.flush()
    for row, story, position in story_of:
        if story is None:
            row.story_id = row.id
        else:
            result.same_story += 1
            row.story_id = story if isinstance(story, int) else (story.story_id or story.id)
        if index is not None and position is not None:
            index.relabel(position, row.story_id)
        result.new += 1
        result.new_ids.append(row.id)
        cache.saw(row.id)
    return result
