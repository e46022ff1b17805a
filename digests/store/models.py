"""The schema. Portable SQL only: the same models run on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


# Tables made by hand in migrations, outside the ORM: the search index (FTS5
# virtual tables and their shadow tables on SQLite; tsvectors on PostgreSQL).
UNMAPPED_TABLE_PREFIXES = (
    "search_index",
    "search_titles",
    "search_pairs",
    "search_documents",
    "search_outbox",
)


def is_mapped_table(name: str | None) -> bool:
    return not (name or "").startswith(UNMAPPED_TABLE_PREFIXES)


class Source(Base):
    """A feed URL, a folder of newspaper issues, or the files given on the command line."""

    __tablename__ = "sources"
    __table_args__ = (UniqueConstraint("location", name="uq_sources_location"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # feed | folder | files
    location: Mapped[str] = mapped_column(String(2048))
    name: Mapped[str] = mapped_column(String(200))
    interval_seconds: Mapped[int] = mapped_column(Integer, default=1800)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    feed_title: Mapped[str | None] = mapped_column(Text, default=None)
    etag: Mapped[str | None] = mapped_column(String(512), default=None)
    last_modified: Mapped[str | None] = mapped_column(String(128), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None, index=True)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # Paused after permanent failures: why and when (enabled is then False), and
    # when the admins were told (once per pause).
    disabled_reason: Mapped[str | None] = mapped_column(Text, default=None)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    disabled_announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (
        UniqueConstraint("source_id", "identity", name="uq_articles_source_identity"),
        Index("ix_articles_source_guid", "source_id", "guid"),
        Index("ix_articles_source_url", "source_id", "url"),
        Index("ix_articles_fetched_at", "fetched_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    identity: Mapped[str] = mapped_column(String(64))
    guid: Mapped[str | None] = mapped_column(String(2048), default=None)
    url: Mapped[str | None] = mapped_column(String(2048), default=None)  # canonical
    link: Mapped[str | None] = mapped_column(String(2048), default=None)  # as published
    title: Mapped[str] = mapped_column(Text)
    subtitle: Mapped[str | None] = mapped_column(Text, default=None)
    byline: Mapped[str | None] = mapped_column(Text, default=None)
    author: Mapped[str | None] = mapped_column(String(200), default=None)
    lead: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text)
    subheads: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    content_hash: Mapped[str] = mapped_column(String(64))
    sketch: Mapped[str | None] = mapped_column(Text, default=None)
    story_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    # Filled by the summarize stage; NULL until then.
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    summary_line: Mapped[str | None] = mapped_column(Text, default=None)
    summary: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    keywords: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    summarized_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    # The content_hash the search index holds; NULL: not (or no longer) indexed.
    indexed_hash: Mapped[str | None] = mapped_column(String(64), default=None)


class Edition(Base):
    """One built edition of a schedule: unique per (schedule, edition date, time
    slot), so building twice is a no-op; ``cutoff`` is where the next one starts."""

    __tablename__ = "editions"
    __table_args__ = (
        UniqueConstraint("schedule", "edition_date", "slot", name="uq_editions_schedule_date_slot"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule: Mapped[str] = mapped_column(String(64))
    edition_date: Mapped[date] = mapped_column(Date)
    slot: Mapped[str] = mapped_column(String(8), default="")  # local time, "07:30"; "" by hand
    since: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    cutoff: Mapped[datetime] = mapped_column(UTCDateTime())
    built_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    article_count: Mapped[int] = mapped_column(Integer, default=0)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)


class TermStat(Base):
    """In how many summarized articles a term occurs: the corpus IDF for keywords."""

    __tablename__ = "term_stats"

    term: Mapped[str] = mapped_column(String(100), primary_key=True)
    documents: Mapped[int] = mapped_column(Integer, default=0)


class IngestedFile(Base):
    """A newspaper issue file read from a folder source, and how far storing it
    got: the first ``articles_done`` of its ``article_count`` articles (in page
    order) are stored; ``state`` is ``in_progress`` until the last batch is,
    then ``complete``. ``sha256`` tells a changed file (stored again from the start)."""

    __tablename__ = "ingested_files"
    __table_args__ = (UniqueConstraint("source_id", "name", name="uq_ingested_files_source_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(1024))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    article_count: Mapped[int] = mapped_column(Integer, default=0)
    articles_done: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(12), default="complete")  # in_progress | complete
    error: Mapped[str | None] = mapped_column(Text, default=None)
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Subscriber(Base):
    """A chat (private, group or channel) that receives a schedule's editions."""

    __tablename__ = "subscribers"
    __table_args__ = (UniqueConstraint("chat_id", name="uq_subscribers_chat_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    chat_type: Mapped[str] = mapped_column(String(16))  # private | group | supergroup | channel
    title: Mapped[str | None] = mapped_column(String(200), default=None)
    schedule: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    delivery_time: Mapped[str | None] = mapped_column(String(5), default=None)  # own "07:30"
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)  # own IANA zone
    sources: Mapped[list[int] | None] = mapped_column(JSON, default=None)  # None: all
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    inactive_reason: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Alert(Base):
    """A subscriber's standing query: each new matching article is pushed once."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    query: Mapped[str] = mapped_column(Text)
    last_article_id: Mapped[int] = mapped_column(Integer, default=0)  # seen up to here
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WordFilter(Base):
    """/mute drops matching stories from a subscriber's digests and alerts;
    /follow puts them first."""

    __tablename__ = "word_filters"
    __table_args__ = (UniqueConstraint("subscriber_id", "kind", "text", name="uq_word_filters"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # mute | follow
    text: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EditionRender(Base):
    """An edition rendered for one variant (language, time zone, sources): the
    exact messages every subscriber of that variant gets, so a resumed delivery
    sends the same parts."""

    __tablename__ = "edition_renders"
    __table_args__ = (UniqueConstraint("edition_id", "variant", name="uq_edition_renders"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"))
    variant: Mapped[str] = mapped_column(String(400))
    parts: Mapped[list[str]] = mapped_column(JSON)  # Telegram HTML, each <= 4096


class Delivery(Base):
    """The ledger: one row per (edition, subscriber, message part).

    pending -> sending -> sent | failed | skipped | unknown. A row is marked
    ``sending`` (committed) before its message leaves and ``sent`` after
    Telegram answers, so a restart never resends what was sent; a row still
    ``sending`` after a crash is the ambiguous case (see delivery.on_ambiguous).
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("edition_id", "subscriber_id", "part", name="uq_deliveries_part"),
        UniqueConstraint("alert_id", "article_id", name="uq_deliveries_alert_article"),
        Index("ix_deliveries_state_due", "state", "not_before"),
        Index("uq_deliveries_broadcast", "broadcast_id", "subscriber_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # An edition's part (edition + render) or a keyword alert's article (alert + body).
    edition_id: Mapped[int | None] = mapped_column(
        ForeignKey("editions.id", ondelete="CASCADE"), default=None
    )
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), default=None
    )
    article_id: Mapped[int | None] = mapped_column(Integer, default=None)
    body: Mapped[str | None] = mapped_column(Text, default=None)
    # ... or an operator's /broadcast (its text in ``body``).
    broadcast_id: Mapped[int | None] = mapped_column(Integer, default=None)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    render_id: Mapped[int | None] = mapped_column(
        ForeignKey("edition_renders.id", ondelete="CASCADE"), default=None
    )
    part: Mapped[int] = mapped_column(Integer)
    parts: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    chat_id: Mapped[int | None] = mapped_column(BigInteger, default=None)  # where it was sent
    message_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # Which worker process holds the row: pending rows are claimed in batches
    # (until ``claim_until``; an expired claim is free again), a ``sending``
    # row belongs to its worker until that worker is known to be gone.
    claimed_by: Mapped[int | None] = mapped_column(Integer, default=None)
    claim_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class ScheduleOverride(Base):
    """A schedule as operators changed it at run time (chat or command line).
    A row overrides the config's schedule of the same name; ``removed`` hides it.
    Slots due before ``effective_from`` are never caught up (a schedule moved,
    added or resumed does not build the editions it would have built before)."""

    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    times: Mapped[list[str]] = mapped_column(JSON)
    timezone: Mapped[str] = mapped_column(String(64))
    sources: Mapped[list[str]] = mapped_column(JSON)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Broadcast(Base):
    """An operator's message to every active subscriber, sent through the ledger."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    sent_by: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SavedSearch(Base):
    """A query typed in a chat: what its result pages' buttons refer to, so that
    paging works after a restart and the button carries only a number."""

    __tablename__ = "saved_searches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WebKey(Base):
    """The secret a schedule's private edition pages' tokens are made with
    (``digests.editions.links``); a new one makes every old link 404."""

    __tablename__ = "web_keys"

    schedule: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
