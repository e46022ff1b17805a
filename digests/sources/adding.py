"""Adding a source from what an operator typed: a feed URL or a folder of issues.

One path for the command line (``sources add``, OPML import) and the admin
chat command (``/addsource``, feeds only: a chat never names local folders).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from digests.errors import BlockedAddress, InputError
from digests.ingest.netguard import IPNetwork, check_literal_address
from digests.ingest.urls import normalize_feed_url
from digests.store.models import Source
from digests.store.sources import add_source

MAX_NAME_CHARS = 200  # the sources.name column


def source_kind(
    location: str, *, folders: bool = True, allowed_networks: tuple[IPNetwork, ...] = ()
) -> tuple[str, str]:
    """("feed", normalized url) or ("folder", absolute path); ``InputError`` for
    anything else, including a feed on an address the fetcher would refuse
    (unless in ``allowed_networks``; a host name is judged when it is resolved)."""
    location = location.strip()
    if folders and location.startswith("file://"):
        location = location[len("file://") :]
    path = Path(location).expanduser()
    if folders and "://" not in location and path.is_dir():
        return "folder", str(path.resolve())
    if "://" not in location:
        what = "an http(s) URL nor an existing folder" if folders else "an http(s) feed URL"
        raise InputError(
            f"{location!r} is neither {what}" if folders else f"{location!r} is not {what}"
        )
    url = normalize_feed_url(location)
    try:
        check_literal_address(url, allowed_networks)
    except BlockedAddress as exc:
        raise InputError(f"{location!r}: {exc} (fetch.allowed_networks can allow it)") from exc
    return "feed", url


def add_from_location(
    session: Session,
    location: str,
    *,
    name: str | None,
    interval_seconds: int,
    folders: bool = True,
    allowed_networks: tuple[IPNetwork, ...] = (),
) -> Source:
    kind, where = source_kind(location, folders=folders, allowed_networks=allowed_networks)
    display = (name or (Path(where).name if kind == "folder" else where))[:MAX_NAME_CHARS]
    return add_source(
        session,
        kind=kind,
        location=where,
        name=display,
        interval_seconds=interval_seconds,
        same_location=_same_feed(where) if kind == "feed" else None,
    )


def _same_feed(url: str) -> Callable[[str], bool]:
    def same(stored: str) -> bool:
        try:
            return normalize_feed_url(stored) == url
        except InputError:
            return False

    return same
