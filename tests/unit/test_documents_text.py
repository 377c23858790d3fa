"""Token-aware text and markdown chunking, measured with each model family's own tokenizer."""

from __future__ import annotations

import itertools
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jina_local.documents import (
    check_chunk_sizes,
    chunk_code,
    chunk_text,
    markdown_headings,
    section_at,
)
from jina_local.errors import OptionError

PROSE = (
    "Cats sleep sixteen hours a day. They hunt at dawn and dusk! Do they dream? Probably.\n\n"
    "Dogs are different: they sleep about twelve hours, mostly at night. 東京は大きい。猫が好きです。\n\n"
    "A very long paragraph follows here with many words and no sentence end for a while so that the "
    "chunker has to fall back to word boundaries when a sentence alone does not fit into one chunk "
) * 3


def check_chunks(text, model, spans, chunk_tokens):
    assert spans, "non-empty text gives chunks"
    for span in spans:
        piece = text[span.start : span.end]
        assert piece == piece.rstrip() and piece.strip()
        assert piece == piece.lstrip() or span.start == 0 or text[span.start - 1] == "\n"  # code keeps indentation
        assert model.count_tokens(piece) == span.tokens
        assert span.tokens <= chunk_tokens or len(piece) == 1  # one character can be more tokens than a tiny budget
    assert all(a.start < b.start and a.end < b.end for a, b in itertools.pairwise(spans))
    covered = set()
    for span in spans:
        covered.update(range(span.start, span.end))
    missing = [i for i, ch in enumerate(text) if not ch.isspace() and i not in covered]
    assert not missing, f"characters {missing[:5]} are in no chunk"


@pytest.mark.parametrize("chunk_tokens, overlap", [(24, 0), (24, 6), (60, 10), (500, 50)])
def test_chunks_fit_cover_and_advance(any_model, chunk_tokens, overlap):
    spans = chunk_text(PROSE, any_model, chunk_tokens=chunk_tokens, overlap_tokens=overlap)
    check_chunks(PROSE, any_model, spans, chunk_tokens)
    if chunk_tokens >= any_model.count_tokens(PROSE):
        assert len(spans) == 1


def test_overlap_is_at_most_the_asked_tokens(any_model):
    spans = chunk_text(PROSE, any_model, chunk_tokens=30, overlap_tokens=8)
    shared = [PROSE[b.start : a.end] for a, b in itertools.pairwise(spans) if b.start < a.end]
    assert shared, "neighbours overlap"
    assert all(any_model.count_tokens(s) <= 8 + 1 for s in shared)  # +1: a token cut at the boundary


def test_sentences_are_preferred_to_words(any_model):
    text = " ".join(f"Sentence number {i} says something about cats." for i in range(40))
    spans = chunk_text(text, any_model, chunk_tokens=40, overlap_tokens=0)
    assert all(text[s.end - 1] == "." for s in spans[:-1])


def test_markdown_breaks_at_headings_and_not_inside_fences(any_model):
    sections = [
        "# Alpha\n\n" + "Alpha text is here. " * 6,
        "## Beta\n\n" + "Beta words follow. " * 6,
        "## Gamma\n\n```python\n# not a heading\nx = 1\n```\n" + "Gamma closes. " * 6,
    ]
    text = "\n\n".join(sections)
    budget = max(any_model.count_tokens(s) for s in sections) + 2
    spans = chunk_text(text, any_model, chunk_tokens=budget, overlap_tokens=0, markdown=True)
    starts = [text[s.start : s.end].split("\n")[0] for s in spans]
    assert starts == ["# Alpha", "## Beta", "## Gamma"]
    headings = markdown_headings(text)
    assert [h[2] for h in headings] == ["Alpha", "Beta", "Gamma"]
    assert section_at(headings, text.index("Gamma closes")) == "Alpha > Gamma"


@pytest.mark.parametrize("chunk_tokens, overlap", [(0, 0), (-5, 0), (True, 0), (1.5, 0), (10, -1), (10, 10), (10, 11)])
def test_bad_sizes_are_typed_errors(chunk_tokens, overlap):
    with pytest.raises(OptionError):
        check_chunk_sizes(chunk_tokens, overlap)


def test_bad_sizes_never_loop(any_model):
    for chunk_tokens, overlap in [(0, 0), (-1, 0), (5, 5)]:
        with pytest.raises(OptionError, match="chunk_tokens|overlap_tokens"):
            chunk_text(PROSE, any_model, chunk_tokens=chunk_tokens, overlap_tokens=overlap)


def test_one_token_chunks_terminate(any_model):
    text = PROSE[:600]
    started = time.perf_counter()
    spans = chunk_text(text, any_model, chunk_tokens=1, overlap_tokens=0)
    assert time.perf_counter() - started < 30
    check_chunks(text, any_model, spans, 1)


def test_whitespace_only_text_has_no_chunks(any_model):
    assert chunk_text(" \n\t\n ", any_model) == []


PIECES = [
    "cat",
    "Dogs",
    "sleep",
    "東京",
    "😀",
    "naïve",
    "e\u0301",
    "12.5",
    "def",
    "(x)",
    "# Head",
    "## Sub",
    "-",
    "*",
    "\ndef f():",
    "\nclass A:",
    "\n    def m(self):",
    "@deco",
    "    ",
    "# comment",
    ".",
    "!",
    "?",
    "。",
    ",",
    "```",
    "https://a.b/c",
    "x" * 40,
]
SEPARATORS = [" ", " ", " ", "\n", "\n\n", "  ", "\t", ""]


@st.composite
def documents(draw):
    n = draw(st.integers(1, 120))
    parts = draw(st.lists(st.tuples(st.sampled_from(PIECES), st.sampled_from(SEPARATORS)), min_size=n, max_size=n))
    return "".join(a + b for a, b in parts)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=documents(),
    chunk_tokens=st.integers(1, 48),
    overlap_share=st.floats(0, 0.9),
    mode=st.sampled_from(["text", "markdown", "code"]),
)
def test_fuzz_chunker_invariants(tiny_v4, text, chunk_tokens, overlap_share, mode):
    overlap = min(int(chunk_tokens * overlap_share), chunk_tokens - 1)
    if mode == "code":
        spans = chunk_code(text, tiny_v4, language="python", chunk_tokens=chunk_tokens, overlap_tokens=overlap)
    else:
        spans = chunk_text(
            text, tiny_v4, chunk_tokens=chunk_tokens, overlap_tokens=overlap, markdown=mode == "markdown"
        )
    if not text.strip():
        assert spans == []
        return
    check_chunks(text, tiny_v4, spans, chunk_tokens)
    assert len(spans) <= 2 * tiny_v4.count_tokens(text) + 1
