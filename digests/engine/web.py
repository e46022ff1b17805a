"""Use cases of the edition pages: an edition, a schedule's archive, the link
an edition's message carries, revoking a schedule's links.

Access: a schedule named in ``web.public`` is open to anyone; any other
schedule's pages open only with the token of their link (``digests.editions.links``).
Everything else is "not found", never "forbidden": a page's existence is not
told to someone without its link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from digests.editions.compose import Digest, digest_from_dict
from digests.editions.links import (
    absolute,
    archive_token,
    edition_path,
    edition_token,
    token_matches,
)
from digests.editions.planning import page_link
from digests.engine.readers import ReaderCases
from digests.store import editions as edition_rows
from digests.store.models import Edition
from digests.store.webkeys import known_key, replace_key, web_key

ARCHIVE_EDITIONS = 200


@dataclass(frozen=True, slots=True)
class SourceTime:
    """One source of a story: where it is, and when (None: a newspaper issue's)."""

    name: str
    link: str | None
    time: datetime | None


@dataclass(frozen=True, slots=True)
class EditionRef:
    """An edition a page address names, found and allowed (see ``web_edition_ref``)."""

    edition_id: int
    schedule: str
    edition_date: date
    slot: str
    built_at: datetime
    public: bool
    others: tuple[str, ...]  # the day's other slots (public schedules only)


@dataclass(frozen=True, slots=True)
class WebEdition:
    digest: Digest
    schedule: str
    edition_date: date
    slot: str
    language: str
    title: str
    timezone: str
    built_at: datetime
    # Per item (in the digest's order): its full summary and every source of its story.
    summaries: tuple[tuple[str, ...], ...]
    sources: tuple[tuple[SourceTime, ...], ...]
    # The day's other editions (public schedules only): (slot, path).
    others: tuple[tuple[str, str], ...]
    public: bool


@dataclass(frozen=True, slots=True)
class ArchiveEntry:
    edition_date: date
    slot: str
    articles: int
    path: str


@dataclass(frozen=True, slots=True)
class WebArchive:
    schedule: str
    language: str
    title: str
    entries: tuple[ArchiveEntry, ...]


class WebCases(ReaderCases):
    def web_language(self, asked: str | None) -> str:
        return asked if asked in ("zh", "en") else self.settings.digest.language

    def is_public(self, schedule: str) -> bool:
        return schedule in self.settings.web.public

    def web_edition(
        self,
        schedule: str,
        edition_date: date,
        slot: str | None,
        *,
        language: str | None = None,
        token: str | None = None,
    ) -> WebEdition | None:
        """The edition's page, or None when there is none or the caller may not see it."""
        ref = self.web_edition_ref(schedule, edition_date, slot, token=token)
        return None if ref is None else self.web_edition_of(ref, language)

    def web_edition_ref(
        self, schedule: str, edition_date: date, slot: str | None, *, token: str | None = None
    ) -> EditionRef | None:
        """Which edition a page address names, if the caller may see it (cheap:
        no content read): the check every request makes before any cached page."""
        if self.schedule(schedule) is None:
            return None
        public = self.is_public(schedule)
        with self.db.read() as session:
            day = edition_rows.slots_of_day(session, schedule, edition_date)
            key = None if public else known_key(session, schedule)
        chosen = next((e for e in day if slot is None or e[1] == slot), None)
        if chosen is None:
            return None
        edition_id, chosen_slot, built_at = chosen
        if not public and (
            key is None
            or not token_matches(token, edition_token(key, schedule, edition_date, chosen_slot))
        ):
            return None
        others = tuple(sorted(s for i, s, _b in day if i != edition_id)) if public else ()
        return EditionRef(edition_id, schedule, edition_date, chosen_slot, built_at, public, others)

    def web_edition_of(self, ref: EditionRef, language: str | None) -> WebEdition | None:
        """The page of an edition ``web_edition_ref`` found (None: deleted since)."""
        spec = self.schedule(ref.schedule)
        with self.db.read() as session:
            edition = edition_rows.get_edition(session, ref.edition_id)
        if spec is None or edition is None:
            return None
        lang = self.web_language(language)
        digest = digest_from_dict(edition.content)
        summaries, sources = self._story_details(digest)
        others = tuple(
            (other, edition_path(ref.schedule, ref.edition_date, other, language=language))
            for other in ref.others
        )
        return WebEdition(
            digest=digest,
            schedule=ref.schedule,
            edition_date=ref.edition_date,
            slot=ref.slot,
            language=lang,
            title=self.settings.digest.title_for(lang),
            timezone=spec.timezone,
            built_at=ref.built_at,
            summaries=summaries,
            sources=sources,
            others=others,
            public=ref.public,
        )

    def _story_details(
        self, digest: Digest
    ) -> tuple[tuple[tuple[str, ...], ...], tuple[tuple[SourceTime, ...], ...]]:
        items = [item for section in digest.sections for item in section.items]
        ids = [article_id for item in items for article_id in item.article_ids]
        with self.db.read() as session:
            found = edition_rows.articles_by_id(session, ids)
        summaries: list[tuple[str, ...]] = []
        sources: list[tuple[SourceTime, ...]] = []
        for item in items:
            stored = [found[i] for i in item.article_ids if i in found]
            lead = next((a for a, s in stored if s.name == item.source), None)
            full = tuple(lead.summary or ()) if lead is not None else ()
            summaries.append(full if len(full) > len(item.summary) else item.summary)
            seen: set[tuple[str, str]] = set()
            story: list[SourceTime] = []
            for article, source in stored:
                link = article.url or article.link
                if (source.name, link or "") in seen:
                    continue
                seen.add((source.name, link or ""))
                when = None if source.kind != "feed" else article.published_at or article.fetched_at
                story.append(SourceTime(source.name, link, when))
            if not story:  # its articles were deleted since: what the edition kept
                story = [SourceTime(item.source, item.link, item.time)]
                story += [SourceTime(link.name, link.link, None) for link in item.also]
            sources.append(tuple(story))
        return tuple(summaries), tuple(sources)

    def web_archive(
        self, schedule: str, *, language: str | None = None, token: str | None = None
    ) -> WebArchive | None:
        """A schedule's past editions, newest first; None when it may not be seen."""
        if self.schedule(schedule) is None:
            return None
        public = self.is_public(schedule)
        with self.db.read() as session:
            key = None if public else known_key(session, schedule)
            editions = edition_rows.schedule_editions(session, schedule, ARCHIVE_EDITIONS)
        if not public and (key is None or not token_matches(token, archive_token(key, schedule))):
            return None
        lang = self.web_language(language)

        def path(edition_date: date, slot: str) -> str:
            token = None if key is None else edition_token(key, schedule, edition_date, slot)
            return edition_path(schedule, edition_date, slot, language=language, token=token)

        entries = tuple(
            ArchiveEntry(day, slot, count, path(day, slot)) for day, slot, count in editions
        )
        return WebArchive(schedule, lang, self.settings.digest.title_for(lang), entries)

    def edition_link(self, edition: Edition, language: str) -> str | None:
        """The address of the edition's page for its message; None when
        ``web.base_url`` is unset."""
        return page_link(self.db, self.settings, edition, language)

    def archive_link(self, schedule: str) -> str | None:
        """The archive's address for operators (``newsdigest web link``)."""
        base = (
            self.settings.web.base_url
            or f"http://{self.settings.metrics.host}:{self.settings.metrics.port}"
        )
        if self.schedule(schedule) is None:
            return None
        path = f"/e/{schedule}/"
        if not self.is_public(schedule):
            with self.db.write() as session:
                key = web_key(session, schedule, self.clock())
            path += f"?t={archive_token(key, schedule)}"
        return absolute(base, path)

    def day_edition(self, schedule: str, edition_date: date) -> Edition | None:
        """The schedule's newest edition of ``edition_date``."""
        with self.db.read() as session:
            day = edition_rows.slots_of_day(session, schedule, edition_date)
            return edition_rows.get_edition(session, day[0][0]) if day else None

    def revoke_web_links(self, schedule: str) -> None:
        """A new key for the schedule: every link to its pages made so far 404s."""
        with self.db.write() as session:
            replace_key(session, schedule, self.clock())
