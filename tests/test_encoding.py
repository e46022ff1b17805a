"""Decoding bytes of unknown encoding (``digests.text.encoding``): every Chinese
encoding pair, damage, stray controls. Texts are generated here, from the
characters the national standards rank common; no third-party text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digests.errors import DecodeError
from digests.text.encoding import _common_han, common_han_share, decode_bytes


def _level_one(codec: str, leads: range, trails: list[int]) -> list[str]:
    found = []
    for lead in leads:
        for trail in trails:
            try:
                found.append(bytes([lead, trail]).decode(codec))
            except UnicodeDecodeError:
                continue
    return found


SIMPLIFIED = _level_one("gb2312", range(0xB0, 0xD8), list(range(0xA1, 0xFF)))
TRADITIONAL = [
    ch
    for ch in _level_one("big5", range(0xA4, 0xC7), [*range(0x40, 0x7F), *range(0xA1, 0xFF)])
    if "\u4e00" <= ch <= "\u9fff"
]
# Full-width punctuation both GB2312 and every Big5 variant hold, the same way.
PUNCTUATION = "，。！？：；「」（）"
WORDS = ["5G", "AI", "iPhone", "2026", "GDP", "Wi-Fi"]


def chinese_text(han: list[str]) -> st.SearchStrategy[str]:
    """Chinese as it is written: runs of Han characters, each ended by
    punctuation or a line end, now and then a Latin word or a number set off by
    spaces; at least 20 Han characters in all."""
    run = st.lists(st.sampled_from(han), min_size=1, max_size=30).map("".join)
    word = st.sampled_from(WORDS).map(lambda w: f" {w} ")
    end = st.sampled_from([*PUNCTUATION, "\n"])
    clause = st.tuples(run, st.one_of(st.just(""), word), run, end).map("".join)
    return (
        st.lists(clause, min_size=1, max_size=12)
        .map("".join)
        .filter(lambda text: common_han_share(text)[1] >= 20)
    )


# Each script in every encoding that holds it (GB18030 holds both).
TEXT_IN_AN_ENCODING = st.one_of(
    st.tuples(
        chinese_text(SIMPLIFIED),
        st.sampled_from(["gb18030", "gbk", "gb2312", "utf-8", "utf-16"]),
    ),
    st.tuples(
        chinese_text(TRADITIONAL),
        st.sampled_from(["cp950", "big5", "gb18030", "utf-8", "utf-16"]),
    ),
)


# Derandomized: the same 300 examples every run, so CI is reproducible; search
# wider by hand (a different --hypothesis-seed, more examples) when changing decoding.
@settings(max_examples=300, deadline=None, derandomize=True)
@given(case=TEXT_IN_AN_ENCODING)
def test_chinese_text_round_trips_in_every_encoding(case: tuple[str, str]) -> None:
    text, codec = case
    decoded, _used = decode_bytes(text.encode(codec))
    assert decoded == text


@pytest.mark.parametrize("extra", ["€", "に", "は"])  # bytes only CP950 maps (Big5-HKSCS fails)
def test_cp950_with_its_own_characters_is_cp950_not_mojibake(extra: str) -> None:
    text = (
        "".join(TRADITIONAL[i * 37 % len(TRADITIONAL)] for i in range(300)) + extra + "。\n"
    ) * 5
    decoded, used = decode_bytes(text.encode("cp950"))
    assert (decoded, used) == (text, "cp950")


def test_big5_hkscs_with_its_own_characters_is_big5_hkscs() -> None:
    hong_kong = "\u4e21"  # 両: in HKSCS, not in CP950
    assert hong_kong.encode("big5hkscs") and not _encodes(hong_kong, "cp950")
    text = "".join(TRADITIONAL[i * 53 % len(TRADITIONAL)] for i in range(200)) + hong_kong + "。"
    decoded, used = decode_bytes(text.encode("big5hkscs"))
    assert (decoded, used) == (text, "big5hkscs")


def _encodes(text: str, codec: str) -> bool:
    try:
        text.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def test_a_wrong_decoding_of_chinese_bytes_is_mostly_rare_characters() -> None:
    simplified = "".join(SIMPLIFIED[i * 31 % len(SIMPLIFIED)] for i in range(500))
    traditional = "".join(TRADITIONAL[i * 31 % len(TRADITIONAL)] for i in range(500))
    assert common_han_share(simplified) == (1.0, 500)
    assert common_han_share(simplified.encode("gb18030").decode("cp950", "replace"))[0] < 0.8
    assert common_han_share(traditional.encode("cp950").decode("gb18030", "replace"))[0] < 0.8
    assert len(_common_han()) > 5401  # Big5 level 1, plus simplified forms


def test_declared_utf8_with_a_few_bad_bytes_keeps_utf8_and_replaces_only_them() -> None:
    data = b"<rss><item>valid \xe4\xb8\xad\xe6\x96\x87 item \xff\xfe\xfa</item></rss>"
    text, used = decode_bytes(data, declared="utf-8")
    assert used == "utf-8" and "valid 中文 item" in text and text.count("\ufffd") == 3
    xml = b'<?xml version="1.0" encoding="UTF-8"?>' + data
    assert "valid 中文 item" in decode_bytes(xml)[0]


def test_gbk_sent_as_utf8_is_read_as_chinese_not_as_damage() -> None:
    text = "".join(SIMPLIFIED[i * 17 % len(SIMPLIFIED)] for i in range(200)) + "。"
    decoded, used = decode_bytes(text.encode("gbk"), declared="utf-8")
    assert (decoded, used) == (text, "gb18030")


def test_stray_nuls_and_controls_are_removed_and_the_text_kept() -> None:
    text = "标题\n\n本报讯 正文第一段。\x00\x00\x00\n第二段\x07。\r\n"
    decoded, used = decode_bytes(text.encode("utf-8"))
    assert used == "utf-8" and decoded == "标题\n\n本报讯 正文第一段。\n第二段。\r\n"


def test_bomless_utf16_with_ascii_in_it_is_recognized() -> None:
    text = "<p>滨江步道 opens today</p>\n" * 5
    for codec in ("utf-16-le", "utf-16-be"):
        assert decode_bytes(text.encode(codec)) == (text, codec)
        assert decode_bytes(text.encode(codec), declared="utf-16") == (text, codec)


@pytest.mark.parametrize(
    "data",
    [
        bytes(range(256)) * 20,
        b"\x00" * 400 + b"text",
        b"\xef\xbb\xbf" + bytes(range(0x80, 0x100)) * 10,  # a UTF-8 mark, then no UTF-8
    ],
    ids=["all bytes", "mostly NUL", "bom then junk"],
)
def test_binary_data_is_refused(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_bytes(data)


def test_korean_with_word_spaces_stays_korean() -> None:
    syllables = [chr(0xAC00 + i * 97 % 11172) for i in range(300)]
    common = [ch for ch in syllables if _encodes(ch, "euc_kr")]
    words = [
        " ".join("".join(common[j : j + 3]) for j in range(i, i + 12, 3)) for i in range(0, 90, 12)
    ]
    text = "。\n".join(words) + "。"
    decoded, used = decode_bytes(text.encode("cp949"))
    assert decoded == text and used in {"cp949", "euc_kr"}
