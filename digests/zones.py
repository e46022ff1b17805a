"""Time zone names as people type them: IANA names only, any case. Pure.

``ZoneInfo`` opens any file under the zoneinfo directory, so it takes names
that are no zone a reader means (``localtime``: the server's own zone;
``posixrules``, ``Factory``; the ``posix/`` and ``right/`` copies) and, on a
case-sensitive file system, refuses ``europe/london``. Here a name is
accepted when it is an IANA zone (or one of its standard aliases, e.g.
``Asia/Calcutta``), matched without regard to case and given back as IANA
spells it; a near miss gets the closest name as a suggestion.
"""

from __future__ import annotations

import difflib
from functools import cache
from zoneinfo import available_timezones

# Files of the zoneinfo directory that are no zone anyone lives in.
NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


@cache
def _zones() -> dict[str, str]:
    """lower-cased name -> the name as IANA spells it."""
    return {
        name.lower(): name
        for name in available_timezones()
        if name not in NOT_ZONES and not name.startswith(("posix/", "right/"))
    }


def canonical_zone(name: str) -> str | None:
    """``name`` as IANA spells it (``europe/london`` -> ``Europe/London``), or None."""
    return _zones().get(name.strip().lower())


def closest_zone(name: str) -> str | None:
    """The zone name nearest to a mistyped one (``Europe/Londn``), or None."""
    typed = name.strip().lower()
    zones = _zones()
    found = difflib.get_close_matches(typed, list(zones), n=1, cutoff=0.75)
    if found:
        return zones[found[0]]
    # A city alone (``shanghai``, ``new york``) against the part after the region.
    cities = {key.rsplit("/", 1)[-1].replace("_", " "): key for key in zones if "/" in key}
    found = difflib.get_close_matches(typed.replace("_", " "), list(cities), n=1, cutoff=0.75)
    return zones[cities[found[0]]] if found else None
