"""Per-schedule secrets for private edition pages (``digests.editions.links``)."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from digests.store.models import WebKey

KEY_BYTES = 32


def _new_secret() -> str:
    return secrets.token_urlsafe(KEY_BYTES)


def web_key(session: Session, schedule: str, now: datetime) -> str:
    """The schedule's key, made on first use."""
    found = session.get(WebKey, schedule)
    if found is None:
        found = WebKey(schedule=schedule, secret=_new_secret(), created_at=now)
        session.add(found)
        session.flush()
    return found.secret


def known_key(session: Session, schedule: str) -> str | None:
    """The schedule's key if it has one (reading pages never makes one)."""
    return session.scalar(select(WebKey.secret).where(WebKey.schedule == schedule))


def replace_key(session: Session, schedule: str, now: datetime) -> None:
    """A new key for the schedule: every link made with the old one stops working."""
    found = session.get(WebKey, schedule)
    if found is None:
        session.add(WebKey(schedule=schedule, secret=_new_secret(), created_at=now))
    else:
        found.secret, found.created_at = _new_secret(), now
