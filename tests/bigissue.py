"""A synthetic newspaper issue of any size, for tests and benchmarks.

The layout is the plain-text export's (see ../shared/samples): per article a
title line (now and then a ``——`` subtitle), a byline ``■记者 NAME``, then
paragraphs, the first opening with ``本报讯``, blank lines between them, a
section subhead now and then. The text is sentences of the project's own demo
corpus (``digests/demo_corpus/``, original texts) recombined at random, so
articles differ but share wording as one paper's articles do.

The rule is this module's own: sentences are cut at ``。！？`` with a regular
expression here, and nothing is asked of the product's parsers or heuristics.
Titles carry a running number, so each article (identified by file name and
title) is distinct. The same arguments give the same text.

    .venv/bin/python -m tests.bigissue OUT.txt [--articles 29000]
"""

from __future__ import annotations

import argparse
import html
import json
import random
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "digests" / "demo_corpus"
# The issue of issue 12: about 29,000 short articles, about 19 MB of UTF-8.
FULL_ARTICLES = 29_000

_TAGS = re.compile(r"<[^>]+>")
_SENTENCE = re.compile(r"[^。！？]+[。！？][”’」』）)]*")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_FINAL = ("。", "！", "？", "”", "」", "』", "）", ")")
_DATELINE = re.compile(r"^本报讯\s*")
_CREDIT_WORDS = (
    "记者",
    "通讯员",
    "撰稿",
    "撰文",
    "作者",
    "本报",
    "本刊",
    "特约",
    "见习",
    "实习",
    "文",
)
_CLAUSE = re.compile(r"[^，。！？、；：“”（）()\s,;:!?]+")
# Invented names for bylines (two or three characters each).
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余"
    "杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙"
    "史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_GIVEN = (
    "佳明晓丽思远一帆宁静文华建国秀兰志强海燕晴子涵宇欣然雨婷俊杰浩然梓萱嘉怡子轩若曦"
    "天佑雅琪立新红梅晨阳书瑶"
)


def _issue_paragraphs(text: str) -> list[str]:
    """An issue's lines, less each line's head where the line above it was
    broken mid-sentence by the page layout (a long line without a final mark)."""
    kept: list[str] = []
    previous = ""
    for line in (line.strip() for line in text.splitlines()):
        if not line:
            continue
        broken = len(previous) > 30 and not previous.endswith(_FINAL)
        kept.append(line.split("。", 1)[1] if broken and "。" in line else "" if broken else line)
        previous = line
    return kept


def _texts() -> list[str]:
    """The demo corpus's Chinese article texts, paragraph by paragraph."""
    texts: list[str] = []
    for item in json.loads((CORPUS / "zh_city.json").read_text("utf-8"))["items"]:
        texts += [item["title"], _TAGS.sub("\n", item.get("content_html", ""))]
    for item in ET.parse(CORPUS / "zh_wire.xml").getroot().iter("item"):
        body = html.unescape(item.findtext("description") or "")
        texts += [item.findtext("title") or "", _TAGS.sub("\n", body)]
    for issue in sorted(CORPUS.glob("issue_*.txt")):
        texts += _issue_paragraphs(issue.read_text("utf-8"))
    return texts


@cache
def corpus_sentences() -> tuple[str, ...]:
    """Distinct Chinese sentences of the corpus, datelines taken off, none the
    tail of another (a paragraph repeating the previous one's tail reads as
    layout damage)."""
    found: list[str] = []
    for text in _texts():
        for line in text.splitlines():
            found += [_DATELINE.sub("", s.strip()) for s in _SENTENCE.findall(line.strip())]
    found = [html.unescape(s) for s in found]
    unique = sorted({s for s in found if 12 <= len(s) <= 160 and len(_CJK.findall(s)) >= 8})
    return tuple(s for s in unique if not any(o != s and o.endswith(s) for o in unique))


@cache
def corpus_phrases() -> tuple[str, ...]:
    """Clauses of 5-14 Chinese characters: material for titles and subheads
    (none opening like a byline, ``记者...``: a title line is not a credit)."""
    found = {
        clause
        for sentence in corpus_sentences()
        for clause in _CLAUSE.findall(sentence)
        if 5 <= len(clause) <= 14
        and len(_CJK.findall(clause)) == len(clause)
        and not clause.startswith(_CREDIT_WORDS)
    }
    return tuple(sorted(found))


def _name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.randint(1, 2)))


@dataclass(frozen=True, slots=True)
class Issue:
    text: str
    titles: tuple[str, ...]  # in page order, all distinct

    def encode(self) -> bytes:
        return self.text.encode("utf-8")


def make_issue(articles: int = FULL_ARTICLES, seed: int = 12) -> Issue:
    """An issue of ``articles`` short articles (about 650 bytes each in UTF-8)."""
    rng = random.Random(seed)
    sentences = corpus_sentences()
    phrases = corpus_phrases()
    lines: list[str] = ["", ""]
    titles: list[str] = []
    for number in range(1, articles + 1):
        title = f"{rng.choice(phrases)} {rng.choice(phrases)}（{number}）"
        titles.append(title)
        lines += [title, ""]
        if rng.random() < 0.12:
            lines += ["——" + rng.choice(phrases), ""]
        names = " ".join(_name(rng) for _ in range(rng.randint(1, 3)))
        lines += [f"■记者 {names}", ""]
        picked = rng.sample(sentences, rng.choice((3, 4, 4, 5, 5)))
        paragraphs: list[str] = []
        while picked:
            size = rng.randint(1, 2)
            paragraphs.append("".join(picked[:size]))
            picked = picked[size:]
        if rng.random() < 0.75:
            paragraphs[0] = "本报讯 " + paragraphs[0]
        if len(paragraphs) > 2 and rng.random() < 0.2:
            paragraphs.insert(rng.randint(1, len(paragraphs) - 1), rng.choice(phrases))
        for paragraph in paragraphs:
            lines += [paragraph, ""]
        lines.append("")
    return Issue("\n".join(lines), tuple(titles))


def write_issue(path: Path, articles: int = FULL_ARTICLES, seed: int = 12) -> Issue:
    issue = make_issue(articles, seed)
    path.write_bytes(issue.encode())
    return issue


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--articles", type=int, default=FULL_ARTICLES)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    issue = write_issue(args.out, args.articles, args.seed)
    size = args.out.stat().st_size
    print(f"{args.out}: {len(issue.titles)} articles, {size:,} bytes")


if __name__ == "__main__":
    main()
