"""One segmenter module: rjieba where installed, jieba otherwise, the same
words from either (each runs in a process of its own: a segmenter's
dictionary, user words included, is process-wide state)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TEXT = (
    "临江区滨江步道沿线的口袋公园已经对市民开放。苹果发布了iPhone 17，"
    "GPT-4o的价格下降12.5%，详见www.people.com.cn。中国科学院专家来访。"
)


def run(program: str) -> str:
    command = [sys.executable, "-c", textwrap.dedent(program)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def words_with(segmenter: str, dictionary: Path | None = None) -> list[list[str]]:
    return json.loads(
        run(
            f"""
            import json
            from pathlib import Path
            from digests.search.terms import expand
            from digests.text import tokens
            tokens.use_segmenter({segmenter!r})
            if {str(dictionary) if dictionary else ""!r}:
                tokens.configure_user_dictionary(Path({str(dictionary)!r}))
            terms = [term for term, _surface, _stop in tokens.analyze_all({TEXT!r})]
            assert tokens.load_segmenter().name == {segmenter!r}
            print(json.dumps([terms, expand(terms)]))
            """
        )
    )


def test_both_segmenters_give_the_same_words_and_sub_words() -> None:
    fast, slow = words_with("rjieba"), words_with("jieba")
    assert fast == slow
    terms, expanded = fast
    assert {"iphon", "17", "gpt", "4o", "12.5%", "www", "peopl", "com", "cn"} <= set(terms)
    assert {"中国科学院", "科学院", "学院"} <= set(expanded)


@pytest.mark.parametrize("segmenter", ["rjieba", "jieba"])
def test_the_user_dictionary_keeps_a_name_whole_on_either(segmenter: str, tmp_path: Path) -> None:
    dictionary = tmp_path / "words.txt"
    dictionary.write_text("\ufeff滨江步道 20 ns\n口袋公园\n", encoding="utf-8")
    terms, _expanded = words_with(segmenter, dictionary)
    assert "滨江步道" in terms and "口袋公园" in terms
    assert "滨江步道" not in words_with(segmenter)[0]


def test_without_rjieba_jieba_segments_and_says_so() -> None:
    said = run(
        """
        import logging, sys
        sys.modules["rjieba"] = None  # as if its wheel were missing
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
        from digests.text import tokens
        print(tokens.load_segmenter().name, tokens.words("滨江步道开放"))
        """
    )
    assert "rjieba is not installed: segmenting with jieba" in said
    assert said.strip().splitlines()[-1].startswith("jieba ['滨江',")


@pytest.mark.parametrize("segmenter", ["rjieba", "jieba"])
def test_sub_words_remembered_before_a_user_dictionary_are_found_again(
    segmenter: str, tmp_path: Path
) -> None:
    dictionary = tmp_path / "words.txt"
    dictionary.write_text("枣榴\n", encoding="utf-8")
    before, after = json.loads(
        run(
            f"""
            import json
            from pathlib import Path
            from digests.text import tokens
            tokens.use_segmenter({segmenter!r})
            before = tokens.load_segmenter().sub_words("甲枣榴乙")
            tokens.configure_user_dictionary(Path({str(dictionary)!r}))
            print(json.dumps([before, tokens.load_segmenter().sub_words("甲枣榴乙")]))
            """
        )
    )
    assert before == [] and after == ["枣榴"]
