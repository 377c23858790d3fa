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


def _random_texts(seed: int, n: int) -> list[str]:
    import random

    rng = random.Random(seed)
    pieces = [
        "word",
        "Wörter",
        "東京",
        "😀",
        "123",
        "4.5",
        "def",
        "(x)",
        "\n",
        "\n\n",
        "  ",
        "\t",
        ",",
        "...",
        "https://a.b/c",
        "naïve",
        "e\u0301",
        "ﬁ",
        "x" * 300,
    ]
    return [
        "".join(rng.choice(pieces) + rng.choice(["", " ", " ", "\n"]) for _ in range(rng.randint(1, 2000)))
        for _ in range(n)
    ]


@pytest.mark.parametrize("limit", [5, 64, 300])
def test_capped_tokenisation_equals_full_tokenisation_cut(any_model, limit):
    """Long texts are tokenised from a prefix; the kept ids must equal those of the whole text, cut."""
    backend = any_model.backend
    for text in _random_texts(limit, 12):
        if any_model.info.family == "jina_v4":
            from jina_local.models.jina_v4 import text_prompt

            full = backend.tokenizer(text_prompt(text, role="document", task="retrieval"))["input_ids"][:limit]
            got = backend.processor.text_ids(text, role="document", task="retrieval", max_length=limit)
        else:
            content = backend.tokenizer.encode(text, add_special_tokens=False).ids[: limit - 2]
            full = [backend.text.bos_id, *content, backend.text.eos_id]
            got = backend.text.ids(text, limit)
        assert got == full


def test_multi_row_spans_align_with_multi_vectors(tiny_v4):
    text = "Cats sleep sixteen hours a day."
    spans = tiny_v4.multi_row_spans(text, task="retrieval")
    rows = tiny_v4.encode(text, task="retrieval", output="multi").multi[0]
    assert len(spans) == rows.shape[0]
    assert spans[0] is None  # "Passage:" is prompt
    words = {text[start:end].strip() for start, end in (span for span in spans if span)}
    assert {"Cats", "sleep", "day"} <= words


def test_image_patch_grid_matches_the_image_tokens(tiny_v4):
    from PIL import Image

    image = Image.new("RGB", (100, 60), "white")
    first, rows, cols = tiny_v4.image_patch_grid(image)
    multi = tiny_v4.encode(image, output="multi").multi[0]
    from jina_local.inputs import ImageInput

    prepared = tiny_v4.backend.prepare(
        ImageInput(image), role="document", task="retrieval", max_length=None, max_pixels=None
    )
    ids = prepared.data["ids"]  # the image-pad ids sit exactly at the grid's rows
    pad = tiny_v4.backend.processor.image_token_id
    assert [i for i, t in enumerate(ids) if t == pad] == list(range(first, first + rows * cols))
    assert multi.shape[0] == len(ids) and rows * cols > 0
    with pytest.raises(InputError):
        tiny_v4.image_patch_grid("not an image")
