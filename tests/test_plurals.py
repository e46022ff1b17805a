"""Counted phrases agree with their number, by each language's CLDR rule."""

from __future__ import annotations

import pytest

from bot.i18n import text
from digests.plurals import Plural, category, counted


@pytest.mark.parametrize(
    ("language", "count", "expected"),
    [("en", 0, "other"), ("en", 1, "one"), ("en", 2, "other"), ("en", 11, "other")]
    + [("zh", n, "other") for n in (0, 1, 2)],
)
def test_cldr_categories(language: str, count: int, expected: str) -> None:
    assert category(language, count) == expected


def test_a_plural_picks_its_form_and_falls_back_to_other() -> None:
    message = Plural("{n} files", one="{n} file", by="n")
    assert message.format("en", n=1) == "1 file" and message.format("en", n=3) == "3 files"
    assert message.format("zh", n=1) == "1 files"  # Chinese has one form: "other"
    assert counted("en", 1, "warning", "warnings") == "1 warning"
    assert counted("en", 0, "folder", "folders") == "0 folders"


def test_bot_replies_with_counts_agree_in_both_languages() -> None:
    assert text("en", "broadcast_queued", count=1) == "Queued for 1 subscriber."
    assert text("en", "broadcast_queued", count=2) == "Queued for 2 subscribers."
    assert text("zh", "broadcast_queued", count=1) == "已排队发送给 1 位订阅者。"
    assert text("en", "alert_limit", limit=1).startswith("At most 1 alert.")
    assert text("en", "filter_limit", limit=3).startswith("At most 3 muted or followed words.")
