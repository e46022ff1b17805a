"""Turn bytes of unknown encoding into text, without guessing where we can know.

Order: byte-order mark, the encoding the caller was told (HTTP charset or
``--encoding``), the XML declaration, strict UTF-8 (a declared UTF-8 with a
few damaged bytes stays UTF-8, only those bytes replaced), UTF-16 without a
mark, then statistical detection (charset-normalizer). Chinese is not left to
the detector's first guess: the bytes are decoded strictly as GB18030, CP950
and Big5-HKSCS and the decoding whose Han characters are most often among the
ones the national standards rank common (GB2312 level 1, Big5 level 1) wins;
a wrong decoding of Chinese bytes turns them into rare characters.

Stray NULs and control characters are removed from the text; data made of
them (or of replacement characters) is refused as binary.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import re

from charset_normalizer import from_bytes

from digests.errors import DecodeError

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# XML spec appendix F: the first four bytes of "<?xm" in each UTF width.
_XML_PREFIXES: tuple[tuple[bytes, str], ...] = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
)

_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")

# Names that mean a narrower encoding than the bytes in the wild use.
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "big5": "big5hkscs",
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "utf8": "utf-8",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "sjis": "cp932",
}


def normalize_encoding_name(name: str | None) -> str | None:
    """Python codec name for a declared charset, widened to its usual superset.

    Unknown names give ``None`` so that the caller falls back to detection.
    """
    if not name:
        return None
    lowered = name.strip().strip("\"'").lower()
    lowered = _SUPERSETS.get(lowered, lowered)
    try:
        canonical = codecs.lookup(lowered).name
    except LookupError:
        return None
    # A declared "utf-16"/"utf-32" without BOM is resolved by the sniffer.
    return _SUPERSETS.get(canonical, canonical)


def sniff_bom(data: bytes) -> tuple[str, int] | None:
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name, len(bom)
    return None


def xml_declared_encoding(data: bytes) -> str | None:
    for prefix, name in _XML_PREFIXES:
        if data.startswith(prefix):
            return name
    match = _XML_DECL.match(data[:512])
    return match.group(1).decode("ascii") if match else None


def _try(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


# Detectors cannot tell the Latin code pages apart on short texts; the
# Western one is by far the most common undeclared legacy encoding on the web.
_LATIN_LOOKALIKES = {"cp1250", "cp1257", "cp1125", "iso8859-2", "iso8859-4", "iso8859-13"}


_CHINESE_CODECS = ("gb18030", "cp950", "big5hkscs")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
# Real Chinese text keeps well above this share of common characters (news: over
# 0.95); Chinese bytes decoded with the wrong codec fall far below it.
MIN_COMMON_HAN_SHARE = 0.8


@functools.cache
def _common_han() -> frozenset[str]:
    """The characters the standards rank most common: GB2312 level 1 (3,755
    simplified, rows 0xB0-0xD7) and Big5 level 1 (5,401 traditional, 0xA440-0xC67E)."""
    found: set[str] = set()
    for lead in range(0xB0, 0xD8):
        for trail in range(0xA1, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):
                found.add(bytes([lead, trail]).decode("gb2312"))
    for lead in range(0xA4, 0xC7):
        for trail in (*range(0x40, 0x7F), *range(0xA1, 0xFF)):
            if (lead, trail) > (0xC6, 0x7E):
                break
            with contextlib.suppress(UnicodeDecodeError):
                found.add(bytes([lead, trail]).decode("big5"))
    return frozenset(found)


# What a decoding may produce besides characters: ASCII, CJK and general
# punctuation, full-width forms. Everything else counts against the reading.
_NOT_LETTERS = re.compile("[\x00-\x7f\u2000-\u206f\u3000-\u303f\uff00-\uffef]")


def common_han_share(text: str) -> tuple[float, int]:
    """(common Han characters as a share of every non-ASCII, non-punctuation
    character: rare Han, private-use, kana and symbols count against; how many
    Han characters)."""
    sample = text[:200_000]
    han = _HAN.findall(sample)
    letters = len(sample) - len(_NOT_LETTERS.findall(sample))
    if not han or not letters:
        return 0.0, len(han)
    common = _common_han()
    return sum(1 for ch in han if ch in common) / letters, len(han)


def _chinese_by_evidence(data: bytes) -> tuple[str, str] | None:
    """The strict Chinese decoding with the most common characters, if one is
    convincing; on a tie the earlier in GB18030, CP950, Big5-HKSCS order."""
    # Big5 bytes valid in both variants are read as CP950 (Taiwan's, by far the
    # most used); Big5-HKSCS wins where its own characters make CP950 fail.
    best: tuple[float, str, str] | None = None
    for codec in _CHINESE_CODECS:
        text = _try(data, codec)
        if text is None:
            continue
        share, count = common_han_share(text)
        if count and share >= MIN_COMMON_HAN_SHARE and (best is None or share > best[0]):
            best = (share, text, codec)
    return (best[1], best[2]) if best is not None else None


def _bomless_utf16(data: bytes) -> tuple[str, str] | None:
    """UTF-16 without a byte-order mark: NULs crowd one byte position of each
    pair (the high byte of ASCII), which no 8-bit text does."""
    if len(data) < 4 or len(data) % 2:
        return None
    sample = data[:4096]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    pairs = len(sample) // 2
    for zeros, other, codec in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros >= pairs * 0.3 and other <= pairs * 0.05:
            text = _try(data, codec)
            if text is not None:
                return text, codec
    return None


def _detect(data: bytes) -> str | None:
    best = from_bytes(data[:200_000]).best()
    if best is None:
        return None
    name = normalize_encoding_name(best.encoding)
    if name in {"gb18030", "hz"}:
        return "gb18030"
    if name in _LATIN_LOOKALIKES and _try(data, "cp1252") is not None:
        return "cp1252"
    return name


@functools.cache
def _single_byte(codec: str | None) -> bool:
    """A code page that reads (nearly) every high byte alone, so that it accepts
    nearly any bytes and its acceptance proves nothing (Latin, Cyrillic, EBCDIC
    ...); multi-byte codecs refuse a lead byte on its own."""
    if codec is None:
        return False
    alone = sum(1 for byte in range(0x80, 0x100) if _try(bytes([byte]), codec) is not None)
    return alone >= 96


_KANA = re.compile("[\u3040-\u30ff]")
_HANGUL = re.compile("[\uac00-\ud7a3]")
_SPACE_IN_HANGUL = re.compile("(?<=[\uac00-\ud7a3]) (?=[\uac00-\ud7a3])")


def _doubtful_reading(codec: str | None, text: str) -> bool:
    """A detector's guess the text itself contradicts: UTF-16 without a mark
    (``_bomless_utf16`` found none), Japanese without a single kana, Korean
    without spaces between its words. Their byte ranges overlap GB2312's, so
    Chinese is often taken for them."""
    if codec is None:
        return False
    if codec.startswith(("utf_16", "utf-16", "utf_32", "utf-32")):
        return True  # without a mark, only NULs in the right places say UTF-16
    if codec.startswith(("cp932", "shift_jis", "euc_jp", "iso2022_jp", "euc_jis")):
        return not _KANA.search(text[:200_000])
    if codec.startswith(("cp949", "euc_kr", "johab", "iso2022_kr")):
        sample = text[:200_000]
        # Korean puts a space between words, one per 3-4 syllables.
        return len(_HANGUL.findall(sample)) > 5 * len(_SPACE_IN_HANGUL.findall(sample))
    return False


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 text with a few damaged bytes, if that is what ``data`` is.

    Re-decoding a whole document in another encoding because of one bad byte
    is how valid Chinese turns into mojibake; a handful of invalid sequences
    among many valid multi-byte characters is damage, not another encoding.
    """
    text = data.decode("utf-8", errors="replace")
    damaged = text.count("\ufffd")
    multibyte = len(_NON_ASCII.findall(text)) - damaged
    if multibyte >= 2 and damaged <= max(1, multibyte // 50):
        return text
    return None


_ODD_CHARACTERS = re.compile("[\x01-\x08\x0e-\x1f\x7f-\x9f]")
_NON_ASCII = re.compile("[^\x00-\x7f]")
# Removed from decoded text: NUL and the control characters no text means
# (tab, line ends, vertical tab and form feed stay).
_STRAY_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def _looks_like_text(text: str) -> bool:
    """False for binary data that some codec happened to accept: many NULs, or
    control characters beyond a trace."""
    if not text:
        return True
    sample = text[:100_000]
    nuls = sample.count("\x00")
    if nuls > max(8, len(sample) * 0.1):
        return False
    return len(_ODD_CHARACTERS.findall(sample)) <= max(3, (len(sample) - nuls) * 0.02)


def _declared_utf8_with_damage(data: bytes) -> str | None:
    """Declared UTF-8 whose few invalid bytes are damage: each replaced, the rest
    kept. Many invalid bytes mean the declaration is wrong (GBK sent as UTF-8)."""
    text = data.decode("utf-8", errors="replace")
    return text if text.count("\ufffd") <= max(3, len(text) * 0.01) else None


def decode_bytes(
    data: bytes, *, declared: str | None = None, forced: str | None = None
) -> tuple[str, str]:
    """Decode ``data``; return ``(text, encoding_used)``; ``DecodeError`` for binary data.

    ``forced`` is used as is (strict) and fails loudly; ``declared`` (an HTTP
    charset) is trusted only if the bytes decode cleanly under it.
    """
    text, encoding = _decode(data, declared, forced)
    if not _looks_like_text(text):
        raise DecodeError("binary data, not text")
    return _STRAY_CONTROLS.sub("", text), encoding


def _decode(data: bytes, declared: str | None, forced: str | None) -> tuple[str, str]:
    if forced:
        codec = normalize_encoding_name(forced)
        if codec is None:
            raise DecodeError(f"unknown encoding {forced!r}")
        text = _try(data, codec)
        if text is None:
            raise DecodeError(f"the bytes are not valid {forced}")
        return text.removeprefix("\ufeff"), codec

    bom = sniff_bom(data)
    if bom is not None:
        name, size = bom
        # A BOM is a declaration as strong as it gets: a few bad bytes after
        # it are damage, not a sign of another encoding; many are not text.
        text = data[size:].decode(name, errors="replace")
        if text.count("\ufffd") > max(3, len(text) * 0.02):
            raise DecodeError("binary data, not text")
        return text, name

    candidates: list[str] = []
    for label in (declared, xml_declared_encoding(data)):
        codec = normalize_encoding_name(label)
        if codec and codec not in candidates:
            candidates.append(codec)
    declared_utf8 = "utf-8" in candidates
    # UTF-16 without a mark before UTF-8 (ASCII in UTF-16 is valid UTF-8 too),
    # unless a declared 8-bit encoding reads the bytes.
    utf16 = _bomless_utf16(data)
    if utf16 is not None and not any(
        _try(data, codec) is not None for codec in candidates if codec not in {"utf-16", "utf-32"}
    ):
        return utf16
    candidates.append("utf-8")
    for codec in candidates:
        if codec in {"utf-16", "utf-32"}:
            continue
        text = _try(data, codec)
        if text is not None:
            return text, codec

    if declared_utf8:
        damaged = _declared_utf8_with_damage(data)
        if damaged is not None:
            return damaged, "utf-8"
    mostly_utf8 = _mostly_utf8(data)
    if mostly_utf8 is not None:
        return mostly_utf8, "utf-8"
    detected = _detect(data)
    reading = _try(data, detected) if detected else None
    if (
        reading is None
        or detected in _CHINESE_CODECS
        or _single_byte(detected)
        or _doubtful_reading(detected, reading)
    ):
        chinese = _chinese_by_evidence(data)
        if chinese is not None:
            return chinese
    if detected and reading is not None:
        return reading, detected
    if b"\x00" not in data:
        text = _try(data, "gb18030")
        if text is not None:
            return text, "gb18030"
    raise DecodeError("cannot decode the bytes: not UTF-8, no usable charset declared or detected")
