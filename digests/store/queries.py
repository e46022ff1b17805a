"""Read-only views of stored articles for the command line and the demo."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from digests.store.models import Article, Source


def recent_articles(session: Session, *, limit: int = 20) -> list[dict[str, Any]]:
    rows = session.execute(
        select(
            Article.id,
            Source.name,
            Article.title,
            Article.story_id,
            func.length(Article.body),
            Article.link,
            Article.published_at,
            Article.summary_line,
            Article.keywords,
        )
        .join(Source, Source.id == Article.source_id)
        .order_by(Article.fetched_at.desc(), Article.id.desc())
        .limit(limit)
    )
    return [
        {
            "id": id_,
            "source": source,
            "title": title,
            "story_id": story_id,
            "chars": chars,
            "link": link,
            "published_at": published,
            "summary_line": summary_line,
            "keywords": keywords or [],
        }
        for id_, source, title, story_id, chars, link, published, summary_line, keywords in rows
    ]


def count_articles(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Article)) or 0)
