"""Bounded fuzz of the text chunker (issue 10, item 5) on arbitrary text, with both model families' tokenizers.

Arbitrary text includes lone surrogates, NULs, CRLF, very long lines and scripts without spaces. Chunking
never raises anything but a ``jina_local.errors`` type (a lone surrogate is an ``InputError``), never hangs
(a deadline per example), and its spans are in order, inside the text, cover every non-whitespace character,
and measure at most the token budget they were given (only a single character can exceed a budget smaller
than its own tokens).
"""

from __future__ import annotations

import itertools
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from jina_local.documents import chunk_code, chunk_text
from jina_local.errors import InputError

ANY_CHARACTER = st.characters(codec=None, exclude_categories=())  # surrogates and controls included
PIECES = st.sampled_from(
    [
        "\r\n",
        "\n\n",
        "\x00",
        "# Title\n",
        "```\n",
        "def f():\n    pass\n",
        "東京大阪名古屋" * 20,
        "x" * 500,
        "  \t",
        ". ",
        "! ",
        "。",
    ]
)
TEXTS = st.lists(st.one_of(st.text(ANY_CHARACTER, max_size=40), PIECES), max_size=30).map("".join)


def _check(model, text, chunk_tokens, overlap, mode):
    try:
        if mode == "code":
            spans = chunk_code(text, model, language="python", chunk_tokens=chunk_tokens, overlap_tokens=overlap)
        else:
            spans = chunk_text(
                text, model, chunk_tokens=chunk_tokens, overlap_tokens=overlap, markdown=mode == "markdown"
            )
    except InputError as exc:
        assert "surrogate" in str(exc)
        assert any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)
        return
    covered = set()
    for span in spans:
        assert 0 <= span.start < span.end <= len(text)
        piece = text[span.start : span.end]
        assert model.count_tokens(piece) == span.tokens
        assert span.tokens <= chunk_tokens or len(piece) == 1
        covered.update(range(span.start, span.end))
    assert all(a.start < b.start and a.end < b.end for a, b in itertools.pairwise(spans))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


@settings(deadline=timedelta(seconds=20))
@given(
    text=TEXTS,
    chunk_tokens=st.integers(1, 64),
    share=st.floats(0, 0.9),
    mode=st.sampled_from(["text", "markdown", "code"]),
)
def test_chunker_on_arbitrary_text(tiny_v4, tiny_clip, text, chunk_tokens, share, mode):
    overlap = min(int(chunk_tokens * share), chunk_tokens - 1)
    for model in (tiny_v4, tiny_clip):
        _check(model, text, chunk_tokens, overlap, mode)
