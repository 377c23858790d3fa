"""Encoding detection: BOMs and UTF-16 first, then UTF-8, Western cp1252, charset-normalizer; binaries refused."""

from __future__ import annotations

import codecs

import pytest
from fixture_docs import binary_without_nul

from jina_local.documents import NotTextError, decode_text
from jina_local.errors import DocumentError, InputError

TEXT = "Note: the café opens at 9. Grüße, naïve façade — “quoted” €5.\nSecond line.\n"


@pytest.mark.parametrize(
    "data, encoding",
    [
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8"),
        (TEXT.encode("utf-16"), "utf-16"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16"),
        (TEXT.encode("utf-32"), "utf-32"),
        (TEXT.encode("utf-16-le"), "utf-16-le"),
        (TEXT.encode("utf-16-be"), "utf-16-be"),
        (TEXT.encode("utf-8"), "utf-8"),
        (TEXT.encode("cp1252"), "cp1252"),
    ],
)
def test_unicode_and_western_encodings_round_trip(data, encoding):
    decoded = decode_text(data)
    assert decoded.text == TEXT
    assert decoded.encoding == encoding


def test_latin1_is_read_as_latin1_not_mojibake():
    assert decode_text("Café crème".encode("latin-1")).text == "Café crème"


@pytest.mark.parametrize(
    "text, codec",
    [
        ("Привет, как дела? Это тестовый файл о погоде в Москве.\n", "cp1251"),
        ("日本語のテキストです。天気は晴れです。\n", "shift_jis"),
    ],
)
def test_other_scripts_go_to_charset_normalizer(text, codec):
    assert decode_text(text.encode(codec)).text == text


@pytest.mark.parametrize(
    "data, reason",
    [
        (bytes(range(256)) * 4, "NUL bytes"),
        (binary_without_nul(), "not text"),
        (b"\x01\x02\x03\x04\x05\x06hello\x07\x08" * 50, "control characters"),
    ],
)
def test_binaries_are_refused_with_a_reason(data, reason):
    with pytest.raises(NotTextError, match=reason):
        decode_text(data)


def test_refusals_are_typed_input_errors():
    assert issubclass(NotTextError, DocumentError) and issubclass(DocumentError, InputError)


def test_empty_bytes_are_empty_text():
    assert decode_text(b"").text == ""
