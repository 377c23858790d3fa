"""Late chunking against an independent computation: one forward of the joined text through the
transformers modules directly (or one per window), token ownership from the tokenizer's offsets, masked means."""

from __future__ import annotations

import itertools
import math
import threading
import time

import numpy as np
import pytest
import torch
from PIL import Image

from jina_local.errors import DimensionError, InputError, OptionError, OutputError
from jina_local.late_chunking import encode_spans, plan_windows

CHUNKS = [
    "Berlin is the capital and largest city of Germany.",
    "Its more than 3.85 million inhabitants make it the most populous city of the European Union.",
    "The city is also one of the states of Germany, and the third smallest state by area.",
]


def owners(offsets, chunk_spans, shift):
    """Per token: index of the chunk holding its last character (offsets in the prompted text), or -1."""
    out = []
    for start, end in offsets:
        last = end - 1 - shift
        owner = -1
        if end > start and end > shift:
            for c, (a, b) in enumerate(chunk_spans):
                if a <= last < b:
                    owner = c
        out.append(owner)
    return out


def joined(chunks, separator=" "):
    spans, pos = [], 0
    for i, chunk in enumerate(chunks):
        pos += len(separator) if i else 0
        spans.append((pos, pos + len(chunk)))
        pos += len(chunk)
    return separator.join(chunks), spans


class ByHand:
    """Per-token final hidden states (and v4 token vectors) of a prompted document, computed directly."""

    def __init__(self, model):
        self.model = model
        self.backend = model.backend
        self.v4 = model.info.family == "jina_v4"

    def tokens(self, text, task):
        if self.v4:
            prefix = "Query: " if task == "text-matching" else "Passage: "
            enc = self.backend.tokenizer(prefix + text, return_offsets_mapping=True)
            return enc["input_ids"], enc["offset_mapping"], len(prefix), [], []
        enc = self.backend.tokenizer.encode(text)  # <s> ... </s> by the tokenizer's template
        return enc.ids, enc.offsets, 0, [enc.ids[0]], [enc.ids[-1]]

    @torch.no_grad()
    def forward(self, ids, task):
        ids = torch.tensor([ids])
        if self.v4:
            self.backend.set_task(task)
            hidden = self.backend.model.model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state[0]
            multi = self.backend.model.multi_vector_projector(hidden)
            return hidden.float(), multi / multi.norm(dim=-1, keepdim=True)
        return self.backend.text_model(input_ids=ids).last_hidden_state[0].float(), None

    def states(self, text, task, window=None):
        ids, offsets, shift, bos, eos = self.tokens(text, task)
        if window is None or len(ids) <= window:
            hidden, multi = self.forward(ids, task)
            return hidden, multi, offsets, shift
        # Windows by hand: the prompt (or <s> ... </s>) around each slice of content tokens.
        n_prefix = len(bos) if bos else sum(1 for s, e in offsets if e <= shift)
        n_suffix = len(eos)
        content = ids[n_prefix : len(ids) - n_suffix]
        capacity = window - n_prefix - n_suffix
        overlap = math.ceil(window / 8)
        starts = list(range(0, len(content) - overlap, capacity - overlap))
        outs = [
            self.forward(ids[:n_prefix] + content[s : s + capacity] + ids[len(ids) - n_suffix :], task) for s in starts
        ]
        rows_h, rows_m = [], []
        for j in range(len(content)):
            # the window where token j has the most preceding context
            best = max((w for w, s in enumerate(starts) if s <= j < s + capacity), key=lambda w: j - starts[w])
            rows_h.append(outs[best][0][n_prefix + j - starts[best]])
            if outs[best][1] is not None:
                rows_m.append(outs[best][1][n_prefix + j - starts[best]])
        pad = ids[:n_prefix]
        hidden = torch.cat([torch.zeros(len(pad), rows_h[0].shape[0]), torch.stack(rows_h)])
        multi = torch.cat([torch.zeros(len(pad), 128), torch.stack(rows_m)]) if rows_m else None
        return hidden, multi, offsets[: n_prefix + len(content)], shift

    def chunks(self, chunks, task, separator=" ", window=None, dim=None):
        text, spans = joined(chunks, separator)
        hidden, multi, offsets, shift = self.states(text, task, window)
        own = owners(offsets, spans, shift)
        dense, multis = [], []
        for c in range(len(chunks)):
            mask = torch.tensor([o == c for o in own])
            mean = hidden[: len(own)][mask].mean(0)
            if dim:
                mean = mean[:dim]
            dense.append((mean / mean.norm()).numpy())
            if multi is not None:
                multis.append(multi[: len(own)][mask].numpy())
        return np.stack(dense), multis


@pytest.fixture(scope="module")
def by_hand_v4(tiny_v4):
    return ByHand(tiny_v4)


@pytest.mark.parametrize("task", ["retrieval", "code", "text-matching"])
def test_v4_matches_one_forward_by_hand(tiny_v4, by_hand_v4, task):
    res = tiny_v4.encode(CHUNKS, late_chunking=True, task=task, output="both")
    dense, multi = by_hand_v4.chunks(CHUNKS, task)
    np.testing.assert_allclose(res.dense, dense, atol=2e-5)
    for got, want in zip(res.multi, multi):
        np.testing.assert_allclose(got, want, atol=2e-5)
    assert res.tasks == [task] * 3


def test_clip_matches_one_forward_by_hand(tiny_clip):
    res = tiny_clip.encode(CHUNKS, late_chunking=True)
    dense, _ = ByHand(tiny_clip).chunks(CHUNKS, "retrieval")
    np.testing.assert_allclose(res.dense, dense, atol=2e-5)


@pytest.mark.parametrize("family", ["v4", "clip"])
def test_windows_beyond_max_length_match_by_hand(tiny_v4, tiny_clip, family):
    model = tiny_v4 if family == "v4" else tiny_clip
    chunks = [f"Part {i}: " + " ".join(f"word{i}{k}" for k in range(12)) + "." for i in range(8)]
    window = 40
    by_hand = ByHand(model)
    n_tokens = len(by_hand.tokens(joined(chunks)[0], "retrieval")[0])
    assert n_tokens > 3 * window  # several windows
    res = model.encode(
        chunks, late_chunking=True, task="retrieval", output="both" if family == "v4" else "dense", max_length=window
    )
    dense, multi = by_hand.chunks(chunks, "retrieval", window=window)
    np.testing.assert_allclose(res.dense, dense, atol=2e-5)
    for got, want in zip(res.multi or [], multi):
        np.testing.assert_allclose(got, want, atol=2e-5)
    whole = model.encode(chunks, late_chunking=True, task="retrieval")
    assert np.abs(whole.dense - res.dense).max() > 1e-4  # the windows really cut context


def test_windows_overlap_by_at_least_an_eighth():
    for n, capacity, window in [(1000, 60, 64), (5000, 510, 512), (33000, 32764, 32768)]:
        windows = plan_windows(n, capacity, math.ceil(window / 8))
        assert windows[0][0] == 0 and windows[-1][1] == n
        assert all(b[0] <= a[1] - window / 8 for a, b in itertools.pairwise(windows))
        assert all(stop - first <= capacity for first, stop in windows)


@pytest.mark.parametrize("dim", [8, 32])
def test_matryoshka_dim_applies(tiny_v4, by_hand_v4, dim):
    res = tiny_v4.encode(CHUNKS, late_chunking=True, dim=dim)
    dense, _ = by_hand_v4.chunks(CHUNKS, "retrieval", dim=dim)
    assert res.dense.shape == (3, dim)
    np.testing.assert_allclose(res.dense, dense, atol=2e-5)


def test_separator_tokens_and_prompt_belong_to_no_chunk(tiny_v4, by_hand_v4):
    res = tiny_v4.encode(CHUNKS, late_chunking=True, late_chunking_separator="\n\n\n", output="both")
    dense, _multi = by_hand_v4.chunks(CHUNKS, "retrieval", separator="\n\n\n")
    np.testing.assert_allclose(res.dense, dense, atol=2e-5)
    text, spans = joined(CHUNKS, "\n\n\n")
    enc = tiny_v4.backend.tokenizer("Passage: " + text, return_offsets_mapping=True)
    n_owned = sum(1 for o in owners(enc["offset_mapping"], spans, len("Passage: ")) if o >= 0)
    assert sum(m.shape[0] for m in res.multi) == n_owned < len(enc["input_ids"])


def test_spans_of_one_text_equal_joined_chunks(any_model):
    text, spans = joined(CHUNKS)
    [res] = encode_spans(any_model, [(text, spans)])
    np.testing.assert_allclose(res.dense, any_model.encode(CHUNKS, late_chunking=True).dense, atol=1e-6)
    many = encode_spans(any_model, [(text, spans), ("Another document. With two chunks.", [(0, 17), (18, 34)])])
    np.testing.assert_allclose(many[0].dense, res.dense, atol=1e-5)  # batched with another document
    assert many[1].dense.shape[0] == 2


def test_differs_from_independent_chunks_but_stays_close(any_model):
    late = any_model.encode(CHUNKS, late_chunking=True).dense
    alone = any_model.encode(CHUNKS).dense
    cosines = (late * alone).sum(1)
    assert np.all(cosines < 0.99999) and np.all(np.abs(np.linalg.norm(late, axis=1) - 1) < 1e-5)


@pytest.mark.parametrize(
    "items, error",
    [
        (["fine", ""], "empty chunk"),
        (["fine", "   "], "empty chunk"),
        ([], "at least one chunk"),
        (["text", Image.new("RGB", (8, 8))], "text only"),
        (["text", b"\x89PNG"], "text only"),
        (["text", "a\ud800b"], "surrogate"),
    ],
)
def test_bad_chunks_are_input_errors(any_model, items, error):
    with pytest.raises(InputError, match=error):
        any_model.encode(items, late_chunking=True)


def test_option_errors(tiny_v4, tiny_clip):
    with pytest.raises(OutputError):
        tiny_clip.encode(CHUNKS, late_chunking=True, output="multi")
    with pytest.raises(DimensionError):
        tiny_v4.encode(CHUNKS, late_chunking=True, dim=7)
    with pytest.raises(InputError, match="same task"):
        tiny_v4.encode(CHUNKS, late_chunking=True, task=["code", "retrieval", "code"])
    with pytest.raises(OptionError, match="separator"):
        tiny_v4.encode(CHUNKS, late_chunking=True, late_chunking_separator=3)
    with pytest.raises(InputError, match="spans must be sorted"):
        encode_spans(tiny_v4, [("abc def", [(4, 7), (0, 3)])])
    with pytest.raises(OptionError, match="max_length"):
        tiny_v4.encode(CHUNKS * 3, late_chunking=True, max_length=4)


def test_image_references_are_refused_with_images_auto(any_model, tmp_path):
    path = tmp_path / "a.png"
    Image.new("RGB", (8, 8)).save(path)
    with pytest.raises(InputError, match="text only"):
        any_model.encode(["text", str(path)], late_chunking=True, images="auto")


def test_forward_holds_the_models_critical_section(any_model):
    lock = any_model.backend.lock
    done = threading.Event()
    lock.acquire()
    try:
        worker = threading.Thread(target=lambda: (any_model.encode(CHUNKS, late_chunking=True), done.set()))
        worker.start()
        time.sleep(0.5)
        assert not done.is_set(), "late chunking ran a forward without the model's lock"
    finally:
        lock.release()
    worker.join(30)
    assert done.is_set()


def test_jina_task_names_set_task_and_role(tiny_v4):
    named = tiny_v4.encode(CHUNKS, late_chunking=True, task="code.passage").dense
    plain = tiny_v4.encode(CHUNKS, late_chunking=True, task="code").dense
    np.testing.assert_allclose(named, plain, atol=1e-6)
    query = tiny_v4.encode(CHUNKS, late_chunking=True, task="retrieval.query").dense
    assert np.abs(query - tiny_v4.encode(CHUNKS, late_chunking=True, task="retrieval").dense).max() > 1e-4
