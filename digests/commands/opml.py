"""(placeholder: filled in by its own change)"""

from __future__ import annotations

from typing import Any


def register(commands: Any, groups: dict[str, Any]) -> None:
    """Nothing yet."""
