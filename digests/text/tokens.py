"""Words of a text: jieba's dictionary and algorithm for Chinese, lower-cased
stems for English. The only module that segments.

Chinese is cut by rjieba (jieba-rs: the same dictionary, the same DAG and HMM
as jieba, about 16x faster) where it is installed, else by jieba itself; a
run of Latin letters and digits the segmenter returns is split by one rule
for both (``_LATIN_WORD``), so the two give the same words (99.996% of the
tokens of zh_news_raw; the rest are rare HMM cuts). The dictionary is loaded
once per process, on first use (``load_segmenter``), never per article. An
operator's user dictionary is added at that moment.
"""

from __future__ import annotations

import logging
import re
import threading
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import Literal

import snowballstemmer

Language = Literal["zh", "en", "mixed"]
Word = tuple[str, str, bool]  # (term, surface, stopword): see ``analyze_all``

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
# English words as jieba cuts Latin text inside Chinese: a run of letters and
# digits is one word (5G, H5N1, GPT-4o -> gpt, 4o), a hyphen separates words, a
# decimal number stays whole; so a Latin query finds the same words in an
# English article and in a Chinese one.
# Full-width letters and digits (ＶＩＰ, ５G in Chinese text) read as the ASCII
# ones, so that VIP finds ＶＩＰ; full-width punctuation is left as it is.
_HALF_WIDTH = {
    code: code - 0xFEE0 for code in range(0xFF10, 0xFF5B) if chr(code - 0xFEE0).isalnum()
}
_LATIN_WORD = re.compile(r"\d+(?:\.\d+)+%?|[A-Za-z0-9]+(?:['’][A-Za-z]+)?%?")
_WORDISH = re.compile(r"\w", re.UNICODE)

# Function words that carry no topic. Written for this project; kept short on
# purpose: content words (even frequent ones) must stay, IDF handles the rest.
ZH_STOPWORDS = frozenset(
    """的 了 在 是 和 与 及 等 也 都 就 而 并 或 又 将 对 从 以 于 为 被 把
    让 向 由 因 其 之 这 那 个 着 过 中 上 下 里 后 前 内 外 有 没有
    不 没 很 更 最 还 再 已 已经 正在 会 能 可 可以 要 应 应该 需要
    进行 通过 对于 关于 根据 按照 为了 因为 所以 但是 但 而且 如果 虽然
    以及 并且 或者 还是 这个 那个 这些 那些 这样 那样 一个 一些 我们 你们
    他们 她们 它们 我 你 他 她 它 自己 什么 怎么 如何 为什么 哪 谁 多少
    这里 那里 目前 今天 昨天 今日 昨日 今年 去年 明年 日前 近日 记者 表示 认为 指出 说 称 据
    本报 报道 来源 编辑 责任编辑 其中 此外 同时 另外 以上 以下 左右 方面
    情况 问题 工作 相关 有关 一 二 三 两 第 次 年 月 日 时 分 号 啊 吗
    呢 吧 呀 哦 嗯 么 得 地 所 给 跟 比 像 当""".split()
)
EN_STOPWORDS = frozenset(
    """a about above after again against all also am an and any are aren't as at be because
    been before being below between both but by can could did didn't do does doesn't doing
    don't down during each few for from further had has hasn't have haven't having he he'd
    he'll he's her here hers herself him himself his how i i'd i'll i'm i've if in into is
    isn't it it's its itself just let's me more most must my myself no nor not now of off on
    once only or other our ours ourselves out over own said same say says she she'd she'll
    she's should so some such than that that's the their theirs them themselves then there
    there's these they they'd they'll they're they've this those through to too under until
    up upon us very was wasn't we we'd we'll we're we've were weren't what what's when where
    which while who whom why will with won't would you you'd you'll you're you've your yours
    yourself yourselves mr mrs ms one two also would could told year years new""".split()
)

log = logging.getLogger("newsdigest.text")
_lock = threading.Lock()
_user_dictionary: Path | None = None
_stemmer = snowballstemmer.stemmer("english")
SegmenterName = Literal["rjieba", "jieba"]
# One user-dictionary line, as jieba reads it: word [frequency] [part-of-speech tag].
_USER_WORD = re.compile(r"^(.+?)(?: ([0-9]+))?(?: ([a-z]+))?$")


# Words whose sub-words are remembered (a word recurs across articles); past
# this many the memory starts again (the segmenter's new words are unbounded).
SUB_WORDS_REMEMBERED = 200_000


@dataclass(frozen=True, slots=True)
class Segmenter:
    """A loaded segmenter: its name, how it cuts text, and whether a word is in
    its dictionary (``digests.search.terms`` indexes the sub-words that are)."""

    name: SegmenterName
    cut: Callable[[str], list[str]]
    has_word: Callable[[str], bool]
    add_dictionary: Callable[[Path], None]
    _sub_words: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False, compare=False)

    def sub_words(self, word: str) -> tuple[str, ...]:
        """The dictionary words of two and three characters inside a longer
        Chinese ``word`` (中国科学院 -> 中国, 科学, 学院, 科学院), in order."""
        known = self._sub_words.get(word)
        if known is None:
            known = tuple(
                piece
                for size in (2, 3)
                for start in range(len(word) - size + 1)
                if (piece := word[start : start + size]) != word and self.has_word(piece)
            )
            if len(self._sub_words) >= SUB_WORDS_REMEMBERED:
                self._sub_words.clear()
            self._sub_words[word] = known
        return known

    def add_words(self, path: Path) -> None:
        """Add a user dictionary (sub-words found before may change)."""
        self.add_dictionary(path)
        self._sub_words.clear()


_segmenter: Segmenter | None = None
_preferred: SegmenterName | None = None  # None: rjieba where installed


def use_segmenter(name: SegmenterName | None) -> None:
    """Segment with ``name`` from the next load on (benchmarks compare them;
    None: rjieba where installed, else jieba). Drops a segmenter already loaded."""
    global _preferred, _segmenter
    with _lock:
        _preferred, _segmenter = name, None


def _load_rjieba() -> Segmenter:
    import rjieba

    def add_dictionary(path: Path) -> None:
        for line in path.read_text("utf-8").splitlines():
            line = line.strip().lstrip("\ufeff")
            match = _USER_WORD.match(line)  # any non-empty line matches
            if match is not None:
                word, frequency, tag = match.groups()
                rjieba.add_word(word, int(frequency) if frequency else None, tag)

    rjieba.has_word("")  # the dictionary loads on first use: now, not on the first article
    return Segmenter("rjieba", rjieba.cut, rjieba.has_word, add_dictionary)


def _load_jieba() -> Segmenter:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # jieba imports the deprecated pkg_resources
        import jieba
    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    frequencies = jieba.dt.FREQ  # every prefix is in it too, with frequency 0

    return Segmenter(
        "jieba",
        jieba.lcut,
        lambda word: bool(frequencies.get(word)),
        lambda path: jieba.load_userdict(str(path)),
    )


def dictionary_in_use() -> Path | None:
    """The user dictionary the segmenter has (words cut before it changed may differ)."""
    return _user_dictionary


def configure_user_dictionary(path: Path | None) -> None:
    """Use the operator's jieba user dictionary (one word per line: word [freq] [tag])."""
    global _user_dictionary
    _user_dictionary = path
    if _segmenter is not None and path is not None:
        _segmenter.add_words(path)


def use_user_dictionary(path: Path | None) -> None:
    """``configure_user_dictionary`` unless ``path`` is the one in use already
    (a worker process is told the dictionary with every batch)."""
    if path is not None and path != _user_dictionary:
        configure_user_dictionary(path)


def load_segmenter() -> Segmenter:
    """The segmenter with its dictionary loaded: the first call pays, later ones are free."""
    global _segmenter
    if _segmenter is not None:
        return _segmenter
    with _lock:
        if _segmenter is None:
            loaded: Segmenter | None = None
            if _preferred in (None, "rjieba"):
                try:
                    loaded = _load_rjieba()
                except ImportError:
                    if _preferred == "rjieba":
                        raise
                    log.info("rjieba is not installed: segmenting with jieba (slower)")
            if loaded is None:
                loaded = _load_jieba()
            if _user_dictionary is not None:
                loaded.add_words(_user_dictionary)
            _segmenter = loaded
    return _segmenter


def is_loaded() -> bool:
    return _segmenter is not None


def detect_language(text: str) -> Language:
    """zh, en or mixed, from the share of Han characters among letters."""
    han = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    if han == 0:
        return "en"
    if latin == 0 or han >= 4 * latin:
        return "zh"
    # Latin letters count per letter, Han characters per word: weigh accordingly.
    return "mixed" if latin > han else "zh"


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return _stemmer.stemWord(word)


@lru_cache(maxsize=65536)
def _keep(token: str) -> Word | None:
    """``(term, surface, stopword)`` of one token; ``None`` for punctuation and space.

    The term is what matching uses (English lower-cased and stemmed); the
    surface is the word as written, for showing keywords to people.
    """
    token = token.strip()
    if not token or not _WORDISH.search(token):
        return None
    if _CJK.search(token):
        return token, token, token in ZH_STOPWORDS
    lowered = token.lower().replace("’", "'")
    if lowered in EN_STOPWORDS:
        return lowered, token, True
    return (stem(lowered) if lowered[:1].isalpha() else lowered), token, False


def analyze_all(text: str, language: Language | None = None) -> list[Word]:
    """``(term, surface, stopword)`` for each word of ``text``, stopwords
    included and marked: what the search index holds (a reader may search for
    any word); ``analyze`` keeps the content words.

    Chinese (and mixed) text goes through jieba's precise mode; English is
    split on letters and digits without loading jieba.
    """
    text = text.translate(_HALF_WIDTH)
    language = language or detect_language(text)
    if language == "en":
        return [triple for word in _LATIN_WORD.findall(text) if (triple := _keep(word)) is not None]
    return list(chain.from_iterable(map(_token_words, load_segmenter().cut(text))))


@lru_cache(maxsize=262144)
def _token_words(token: str) -> tuple[Word, ...]:
    """The words of one token the segmenter returned (remembered: tokens recur).

    A token stays whole when it holds Chinese or is one character; a run of
    Latin letters and digits is split by ``_LATIN_WORD`` whichever segmenter cut it.
    """
    if "\u4e00" <= token[:1] <= "\u9fff":  # most tokens
        return ((token, token, token in ZH_STOPWORDS),)
    if len(token) == 1 or _CJK.search(token):
        triple = _keep(token)
        return () if triple is None else (triple,)
    return tuple(triple for word in _LATIN_WORD.findall(token) if (triple := _keep(word)))


_FULL_WIDTH = {
    code - 0xFEE0: code for code in range(0xFF10, 0xFF5B) if chr(code - 0xFEE0).isalnum()
}


def is_acronym(surface: str) -> bool:
    """A Latin word written in capitals: IT, US, LED, NO, 5G, H5N1 (two
    letters at least, or a letter and a digit)."""
    if len(surface) < 2 or not (surface.isascii() and surface.isalnum()):
        return False
    letters = [ch for ch in surface if ch.isalpha()]
    return bool(letters) and all(ch.isupper() for ch in letters)


def search_terms(term: str, surface: str) -> tuple[str, ...]:
    """What the search index holds for one word: its term, and for an acronym
    also the acronym's own term, so that a search for IT or LED is not a
    search for "it" or "led". That term is the word in full-width capitals:
    a form no text or query takes (both read full-width letters as ASCII),
    which every index keeps apart from the lower-cased word (FTS5 folds case)."""
    return (term, surface.translate(_FULL_WIDTH)) if is_acronym(surface) else (term,)


def index_terms(words: Iterable[Word]) -> tuple[str, ...]:
    """``search_terms`` of each ``(term, surface, stopword)``, in order."""
    out: list[str] = []
    for term, surface, _stop in words:
        if surface.isascii() and is_acronym(surface):  # the rare case first tested cheaply
            out.extend(search_terms(term, surface))
        else:
            out.append(term)
    return tuple(out)


def query_term(term: str, surface: str) -> str:
    """The term one query word is searched by: an acronym by its own term
    (``search_terms``), any other word by its term."""
    return surface.translate(_FULL_WIDTH) if is_acronym(surface) else term


def analyze(text: str, language: Language | None = None) -> list[tuple[str, str]]:
    """``(term, surface)`` for each content word of ``text`` (stopwords left out), in order."""
    return [(term, surface) for term, surface, stop in analyze_all(text, language) if not stop]


def words(text: str, language: Language | None = None) -> list[str]:
    """The terms of ``text`` (see ``analyze``), in order."""
    return [term for term, _surface in analyze(text, language)]
