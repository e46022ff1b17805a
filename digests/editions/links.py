"""Addresses of edition pages, and the tokens that open private ones. Pure.

A schedule that is not public has a secret key (stored: ``digests.store.webkeys``);
each edition's token is an HMAC of the edition's address under that key, so a
link opens that one edition and nothing else, and no one without the key can
make one. Replacing the key (``newsdigest web revoke``) makes every old link 404.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import date
from urllib.parse import quote, urlencode, urlsplit

TOKEN_BYTES = 16  # 128 bits: unguessable, and short enough for a link


def edition_token(key: str, schedule: str, edition_date: date, slot: str) -> str:
    """The token of one edition's page (every language of it)."""
    return _token(key, f"edition/{schedule}/{edition_date.isoformat()}/{slot}")


def archive_token(key: str, schedule: str) -> str:
    """The token of a private schedule's archive page."""
    return _token(key, f"archive/{schedule}")


def _token(key: str, message: str) -> str:
    digest = hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:TOKEN_BYTES]).rstrip(b"=").decode()


def token_matches(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def slot_in_url(slot: str) -> str:
    """ "07:30" -> "0730"; an edition built by hand ("") -> "now"."""
    return slot.replace(":", "") if slot else "now"


def slot_from_url(text: str) -> str | None:
    """The slot a URL names (the inverse of ``slot_in_url``), or None."""
    if text == "now":
        return ""
    if len(text) == 4 and text.isdigit() and int(text[:2]) < 24 and int(text[2:]) < 60:
        return f"{text[:2]}:{text[2:]}"
    return None


def edition_path(
    schedule: str,
    edition_date: date,
    slot: str,
    *,
    language: str | None = None,
    token: str | None = None,
) -> str:
    """``/e/SCHEDULE/DATE?slot=…&lang=…&t=…``: the edition's page, from the site's root."""
    query = {"slot": slot_in_url(slot)}
    if language:
        query["lang"] = language
    if token:
        query["t"] = token
    return f"/e/{quote(schedule, safe='')}/{edition_date.isoformat()}?{urlencode(query)}"


def absolute(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path


def web_address(link: str | None) -> str | None:
    """``link`` (trimmed) when it is an http(s) address with a host, else None:
    what may become a link on a page or in a message (never ``javascript:``)."""
    if not link:
        return None
    try:
        parts = urlsplit(link.strip())
    except ValueError:
        return None
    return link.strip() if parts.scheme.lower() in {"http", "https"} and parts.netloc else None
