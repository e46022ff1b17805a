"""Turn bytes of unknown encoding into text, without guessing where we can know.

Order: byte-order mark, the encoding the caller was told (HTTP charset or
``--encoding``), the XML declaration, strict UTF-8, then statistical detection
(charset-normalizer), with GB18030 preferred among the Chinese encodings it
proposes because it is a superset of GB2312 and GBK.
"""

from __future__ import annotations

import codecs
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


_ODD_CHARACTERS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufffd]")
_NON_ASCII = re.compile("[^\x00-\x7f]")


def _looks_like_text(text: str) -> bool:
    """False for binary data that some single-byte codec happened to accept."""
    if not text:
        return True
    sample = text[:100_000]
    return len(_ODD_CHARACTERS.findall(sample)) <= len(sample) * 0.02


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
    return text, encoding


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
        # it are damage, not a sign of another encoding.
        return data[size:].decode(name, errors="replace"), name

    candidates: list[str] = []
    for label in (declared, xml_declared_encoding(data)):
        codec = normalize_encoding_name(label)
        if codec and codec not in candidates:
            candidates.append(codec)
    candidates.append("utf-8")
    for codec in candidates:
        if codec in {"utf-16", "utf-32"}:
            continue
        text = _try(data, codec)
        if text is not None:
            return text, codec

    mostly_utf8 = _mostly_utf8(data)
    if mostly_utf8 is not None:
        return mostly_utf8, "utf-8"
    detected = _detect(data)
    if detected:
        text = _try(data, detected)
        if text is not None:
            return text, detected
    if b"\x00" not in data:
        text = _try(data, "gb18030")
        if text is not None:
            return text, "gb18030"
    raise DecodeError("cannot decode the bytes: not UTF-8, no usable charset declared or detected")
