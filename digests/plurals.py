"""Plural forms, by the CLDR rules of the languages the product speaks. Pure.

A count's words agree with it differently in each language: Chinese has one
form ("3 篇", "1 篇"), English two ("1 article", "2 articles"). A message with
a count is a ``Plural`` holding a template per CLDR category; ``choose``
picks the one the language's rule gives for the number. Adding a language is
adding its rule from the CLDR plural tables (unicode.org/cldr, "Language
Plural Rules") and its forms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Category = Literal["zero", "one", "two", "few", "many", "other"]

# CLDR's cardinal rules, for whole numbers (a count is one).
RULES: dict[str, Callable[[int], Category]] = {
    "zh": lambda n: "other",
    "en": lambda n: "one" if n == 1 else "other",
}


def category(language: str, count: int) -> Category:
    """The CLDR plural category of ``count`` in ``language`` (English's rule when unknown)."""
    return RULES.get(language, RULES["en"])(count)


@dataclass(frozen=True, slots=True)
class Plural:
    """A message's templates per plural category; ``by`` names the count's placeholder."""

    other: str
    one: str | None = None
    by: str = "count"

    def choose(self, language: str, count: int) -> str:
        """The template for ``count`` (``other`` when the language has no such form here)."""
        return (self.one if category(language, count) == "one" else None) or self.other

    def format(self, language: str, **values: object) -> str:
        count = values[self.by]
        return self.choose(language, int(count)).format(**values)  # type: ignore[call-overload]


def counted(language: str, count: int, one: str, other: str) -> str:
    """``count`` with its noun: ``counted("en", 1, "warning", "warnings")`` -> "1 warning"."""
    return f"{count} {Plural(other=other, one=one).choose(language, count)}"
