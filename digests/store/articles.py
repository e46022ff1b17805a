"""Article rows: store a batch, updating known articles and linking near-duplicates."""

from __future__ import annotations

from collections import Counter
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
    repeated: int = 0  # items with the identity of an earlier item of their batch: ignored

    def __iadd__(self, other: SaveResult) -> SaveResult:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.same_story += other.same_story
        self.new_ids.extend(other.new_ids)
        self.repeated += other.repeated
        return self


def _known(
    session: Session, source_id: int, batch: Sequence[RawArticle], identities: Sequence[str]
) -> list[Article]:
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


def _stored_under_other_key(
    article: RawArticle,
    url_shared: bool,
    under_guid: Sequence[Article],
    under_url: Sequence[Article],
    claimed: set[int],
) -> Article | None:
    """The stored row an item is, when that row's identity is not the item's
    key now: stored by an older rule (one row for all the items sharing a link),
    or when the item had or lacked a guid, or shared its link or not.

    ``under_guid`` and ``under_url``: the stored rows with the item's guid, and
    with its canonical URL. Never a row another item of the batch is, nor one
    whose guid differs from the item's. A link alone decides only when neither
    this document nor the stored rows give it to several items; else the row
    must have the item's text or title.
    """
    for row in under_guid:
        if row.id not in claimed:
            return row
    candidates = [
        row
        for row in under_url
        if row.id not in claimed and not (row.guid and article.guid and row.guid != article.guid)
    ]
    if len(candidates) == 1 and not url_shared:
        return candidates[0]
    content = dedup.content_hash(article)
    for matches in (
        lambda row: row.content_hash == content,
        lambda row: row.title == article.title,
    ):
        for row in candidates:
            if matches(row):
                return row
    return None


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
    """Insert new articles, update changed ones, leave unchanged ones untouched.

    ``batch`` is one feed document (or part of a newspaper issue): identities
    are fixed over it (``dedup.identity_keys``). A new article whose text
    nearly duplicates one stored recently (or one earlier in this batch) gets
    that article's ``story_id``; otherwise its own.
    """
    result = SaveResult()
    if not batch:
        return result
    identities = [dedup.identity_digest(*key) for key in dedup.identity_keys(batch)]
    # A feed may repeat an item (the same guid twice): the first one counts,
    # else the two would overwrite each other on every poll.
    items: list[tuple[RawArticle, str]] = []
    seen: set[str] = set()
    for article, identity in zip(batch, identities, strict=True):
        if identity in seen:
            result.repeated += 1
        else:
            seen.add(identity)
            items.append((article, identity))
    known = _known(session, source_id, batch, identities)
    by_identity = {row.identity: row for row in known}
    by_guid: dict[str, list[Article]] = {}
    by_url: dict[str, list[Article]] = {}
    for stored in known:
        if stored.guid:
            by_guid.setdefault(stored.guid, []).append(stored)
        if stored.url:
            by_url.setdefault(stored.url, []).append(stored)
    claimed = {by_identity[identity].id for _, identity in items if identity in by_identity}
    urls = Counter(canonical_url(article.url) for article in batch if article.url)
    cache = stories or StoryCache()
    index: dedup.StoryIndex | None = None
    # New rows get ids only at flush: remember which row (or stored story id)
    # each new row's story is, and resolve after one flush.
    # The index names a new row's entry by that row (or its story's) until the
    # flush gives ids; then by the story id, so it holds no rows past this batch.
    story_of: list[tuple[Article, Article | int | None, int | None]] = []
    for article, identity in items:
        url = canonical_url(article.url) if article.url else None
        row = by_identity.get(identity)
        if row is None:
            shared = url is not None and urls[url] > 1
            under_guid = by_guid.get(article.guid, []) if article.guid else []
            under_url = by_url.get(url, []) if url else []
            row = _stored_under_other_key(article, shared, under_guid, under_url, claimed)
            if row is not None:  # from now on found by its key (no text changes here)
                claimed.add(row.id)
                row.identity, row.guid, row.url = identity, article.guid, url
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
