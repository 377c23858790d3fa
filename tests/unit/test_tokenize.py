"""``Embedder.tokenize`` / ``count_tokens``: the public hook chunkers use to measure text in model tokens."""

from __future__ import annotations

import pytest

from jina_local.errors import InputError

TEXTS = ["", "Hello world.", "def add(a, b):\n    return a + b\n", "Café crème, 東京 😀  spaces\n\n\ttab"]


@pytest.mark.parametrize("text", TEXTS)
def test_spans_cover_the_text_in_order(any_model, text):
    spans = any_model.tokenize(text)
    assert any_model.count_tokens(text) == len(spans)
    ends = [end for _, end in spans]
    assert ends == sorted(ends)
    assert all(0 <= start <= end <= len(text) for start, end in spans)
    covered = {i for start, end in spans for i in range(start, end)}
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())  # every visible char is in a token


def test_counts_grow_with_text(any_model):
    assert any_model.count_tokens("word " * 50) > any_model.count_tokens("word " * 5) > 0


def test_v4_counts_match_the_model_tokenizer(tiny_v4):
    text = "Passage: Cats sleep sixteen hours a day."
    ids = tiny_v4.backend.tokenizer(text)["input_ids"]
    assert tiny_v4.count_tokens(text) == len(ids)


def test_non_text_is_refused(tiny_v4):
    with pytest.raises(InputError, match="takes a str"):
        tiny_v4.tokenize(b"bytes")  # type: ignore[arg-type]
