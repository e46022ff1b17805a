"""Command-line commands beyond the core ones in ``digests.cli``, one module per job.

Each module has ``register(commands, groups)``: ``commands`` is the top-level
subparsers object, ``groups`` the subparsers of command groups that several
modules extend (``"sources"``, ``"db"``).
"""

from __future__ import annotations

from typing import Any


def register_all(commands: Any, groups: dict[str, Any]) -> None:
    from digests.commands import dbcopy, operate, opml

    for module in (operate, opml, dbcopy):
        module.register(commands, groups)
