"""The keyword benchmark's scoring: precision@5 against the withheld headline."""

from __future__ import annotations

from benchmarks.keywords import corpus_idf, precision
from digests.summarize.rank import prepare


def test_precision_counts_keywords_written_in_the_headline_out_of_five() -> None:
    headline = "深圳地铁将设ＶＩＰ车厢"
    assert precision(["地铁", "VIP", "车厢", "坐票", "座位", "深圳"], headline) == 3 / 5
    assert precision(["地铁"], headline) == 1 / 5  # fewer than five are not excused
    assert precision([], headline) == 0.0


def test_the_corpus_idf_counts_each_article_once() -> None:
    documents = [
        prepare("夜市开张。夜市很热闹。", None),
        prepare("夜市关门。步道开放。", None),
    ]
    table = corpus_idf(documents)
    assert table.documents == 2
    assert table.frequencies["夜市"] == 2 and table.frequencies["开放"] == 1
