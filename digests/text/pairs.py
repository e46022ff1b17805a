"""Pairs of adjacent Chinese characters, which pick out the articles worth
checking for a quoted Chinese phrase however the segmenter cut it. Pure."""

from __future__ import annotations

import re

HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def text_pairs(*texts: str) -> str:
    """Every distinct pair of adjacent Chinese characters in ``texts``, space-joined:
    an article holding a phrase holds each of the phrase's pairs."""
    pairs: dict[str, None] = {}
    for text in texts:
        for run in HAN_RUN.findall(text):
            for start in range(len(run) - 1):
                pairs[run[start : start + 2]] = None
    return " ".join(pairs)
