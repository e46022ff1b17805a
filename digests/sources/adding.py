"""Adding a source from what an operator typed: a feed URL or a folder of issues.

One path for the command line (``sources add``, OPML import) and the admin
chat command (``/addsource``, feeds only: a chat never names local folders).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from digests.errors import InputError
from digests.ingest.netguard import check_scheme
from digests.store.models import Source
from digests.store.sources import add_source

MAX_NAME_CHARS = 200  # the sources.name column


def source_kind(location: str, *, folders: bool = True) -> tuple[str, str]:
    """("feed", url) or ("folder", absolute path); ``InputError`` for anything else."""
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
    check_scheme(location)
    return "feed", location


def add_from_location(
    session: Session,
    location: str,
    *,
    name: str | None,
    interval_seconds: int,
    folders: bool = True,
) -> Source:
    kind, where = source_kind(location, folders=folders)
    display = (name or (Path(where).name if kind == "folder" else where))[:MAX_NAME_CHARS]
    return add_source(
        session, kind=kind, location=where, name=display, interval_seconds=interval_seconds
    )
