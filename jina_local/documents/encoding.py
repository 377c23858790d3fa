"""Bytes -> text, or a reason why the bytes are not text.

Order: byte-order marks (UTF-8, UTF-32, UTF-16), then UTF-16 without a BOM (recognised by its NUL-byte
pattern), then "NUL bytes mean binary", then strict UTF-8, then a Western-European check (cp1252, a
superset of Latin-1's printable range: accepted when its non-ASCII characters are Latin letters or
typographic punctuation scattered among ASCII letters, as in French, German or Spanish), then
charset-normalizer for everything else (Windows / ISO code pages preferred to Mac ones on a tie). Decoded text with more than 2 % control characters is refused.
"""

from __future__ import annotations

import codecs
import unicodedata
from dataclasses import dataclass

from ..errors import DocumentError

__all__ = ["DecodedText", "NotTextError", "decode_text"]

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: its first two bytes are the UTF-16 LE BOM
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SAMPLE = 64 * 1024  # bytes looked at for the UTF-16 NUL pattern and the charset guess
_MAX_CONTROL_SHARE = 0.02
_MAX_FOREIGN_LETTER_SHARE = 0.3  # cp1252 letters beyond ASCII, as a share of all letters
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v\x1b")  # tabs, newlines, form feeds, ANSI escapes in logs
_TYPOGRAPHY = frozenset("‘’‚“”„†‡•…‰‹›€™–—˜ˆ\xa0«»°±§¶·×÷©®¿¡")


class NotTextError(DocumentError):
    """The bytes are not text in any encoding jina-local recognises; the message says why."""


@dataclass(frozen=True)
class DecodedText:
    """Decoded text and the encoding it was read with (Python codec name)."""

    text: str
    encoding: str


def _utf16_without_bom(data: bytes) -> str | None:
    """``"utf-16-le"`` / ``"utf-16-be"`` when NUL bytes sit in every other byte, as in mostly-ASCII UTF-16."""
    sample = data[: _SAMPLE - _SAMPLE % 2]
    if len(sample) < 4:
        return None
    even_nul = sample[0::2].count(0) / (len(sample) / 2)
    odd_nul = sample[1::2].count(0) / (len(sample) / 2)
    if odd_nul > 0.3 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.3 and odd_nul < 0.05:
        return "utf-16-be"
    return None


def _control_share(text: str) -> float:
    sample = text[:_SAMPLE]
    if not sample:
        return 0.0
    controls = sum(1 for ch in sample if unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS)
    return controls / len(sample)


def _looks_western(data: bytes) -> str | None:
    """The cp1252 decoding of ``data`` if it reads as Western-European text, else ``None``."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    letters = foreign = 0
    for ch in text[:_SAMPLE]:
        if ch.isascii():
            letters += ch.isalpha()
            continue
        if ch.isalpha():
            if not unicodedata.name(ch, "").startswith("LATIN"):
                return None
            letters += 1
            foreign += 1
        elif ch not in _TYPOGRAPHY:
            return None
    if letters == 0 or foreign / letters > _MAX_FOREIGN_LETTER_SHARE:
        return None
    return text


def _checked(text: str, encoding: str) -> DecodedText:
    share = _control_share(text)
    if share > _MAX_CONTROL_SHARE:
        raise NotTextError(
            f"not text: read as {encoding}, {share:.0%} of its characters are control characters (binary data?)"
        )
    return DecodedText(text, encoding)


def decode_text(data: bytes) -> DecodedText:
    """Decode the bytes of a file; raise :class:`NotTextError` when they are not text.

    >>> decode_text("Café crème".encode("latin-1")).text
    'Café crème'
    >>> decode_text("Note".encode("utf-16")).text, decode_text("Note".encode("utf-16-le")).encoding
    ('Note', 'utf-16-le')
    >>> decode_text(bytes(range(256)))
    Traceback (most recent call last):
    ...
    jina_local.documents.encoding.NotTextError: not text: it contains NUL bytes (binary data)
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return _checked(data.decode(codec), codec.removesuffix("-sig"))
            except UnicodeDecodeError as exc:
                raise NotTextError(
                    f"not text: it starts with a {codec} byte-order mark but does not decode ({exc.reason})"
                ) from exc
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        try:
            return _checked(data.decode(utf16), utf16)
        except UnicodeDecodeError:
            pass  # NUL pattern by chance; fall through to the binary verdict
    if b"\x00" in data:
        raise NotTextError("not text: it contains NUL bytes (binary data)")
    try:
        return _checked(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    western = _looks_western(data)
    if western is not None:
        return _checked(western, "cp1252")
    from charset_normalizer import from_bytes

    matches = from_bytes(data[: 4 * _SAMPLE])
    best = matches.best()
    if best is None:
        raise NotTextError("not text: no text encoding fits its bytes (binary data?)")
    # Among equally clean guesses, prefer Windows / ISO code pages to Mac ones (mac_cyrillic vs cp1251
    # differ in a few capitals only, and Mac code pages are rare in files today).
    for match in matches:
        if match.chaos <= best.chaos + 0.01 and not match.encoding.startswith(("mac_", "utf_16", "utf_32")):
            best = match
            break
    try:
        return _checked(data.decode(best.encoding), best.encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise NotTextError(f"not text: its bytes look like {best.encoding} but do not decode as such ({exc})") from exc
