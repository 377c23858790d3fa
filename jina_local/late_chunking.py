"""Late chunking: embed the chunks of one document in one forward, so each chunk sees the whole document.

``Embedder.encode(chunks, late_chunking=True)`` joins consecutive chunks with ``late_chunking_separator``
(default ``" "``) and encodes the joined text once, with the document prompt (``Passage: `` for
jina-embeddings-v4's retrieval and code tasks). Then, per chunk:

* **tokens**: a token belongs to the chunk that contains its last character. Prompt tokens, special
  tokens and tokens that end in a separator belong to no chunk. (A chunk left without a token of its
  own, e.g. two chunks joined with ``""`` whose boundary falls inside one token, takes the tokens that
  overlap it.)
* **dense**: L2-normalised mean of the final hidden states of its tokens, then Matryoshka ``dim``;
* **multi** (v4): the projected, normalised vectors of its tokens, in order.

Beyond ``max_length`` tokens the document is encoded in windows of ``max_length`` tokens (each starting
with the prompt / ``<s>`` and, for jina-clip-v2, ending with ``</s>``) that overlap by at least an eighth
of ``max_length``; each token takes its hidden state from the window where it has the most preceding
context, which is the earliest window holding it. The forward runs inside the model's critical section
(``backend.lock``): set task, forward, projection.

:func:`encode_spans` is the lower-level form the documents layer uses: a text and the character spans of
its chunks (gaps between spans belong to no chunk), several documents per call, windows batched under the
model's token budget.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch
from tqdm.auto import tqdm

from .errors import DimensionError, InputError, OptionError, OutputError
from .kinds import ImageMode, detect_text_kind, looks_like_image_reference
from .pooling import l2_normalize, truncate_matryoshka
from .routing import parse_task, resolve_tasks
from .types import EncodeResult

if TYPE_CHECKING:
    from .embedder import Embedder

__all__ = [
    "DEFAULT_SEPARATOR",
    "LateChunkingBackend",
    "assign_tokens",
    "encode_late_chunks",
    "encode_spans",
    "plan_windows",
]

DEFAULT_SEPARATOR = " "
"""What ``late_chunking_separator`` joins chunks with by default."""


class LateChunkingBackend(Protocol):
    """What a model family implements for late chunking (both families do)."""

    def late_chunk_tokens(self, text: str, *, role: str, task: str) -> tuple[list[int], list[tuple[int, int] | None]]:
        """All ids of the prompted text, and per id its span in ``text`` (``None``: prompt / special)."""
        ...

    def late_chunk_window(self, max_length: int | None) -> int:
        """Tokens per forward (validated ``max_length`` or the model's default)."""
        ...

    def late_chunk_forward(
        self, windows: Sequence[Sequence[int]], *, task: str, multi: bool
    ) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
        """Per window: final hidden states ``(L, H)`` fp32 and, with ``multi``, token vectors ``(L, 128)``."""
        ...


def assign_tokens(spans: Sequence[tuple[int, int] | None], chunks: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Indices of the tokens of each chunk: a token belongs to the chunk holding its last character.

    ``spans``: per token, its ``(start, end)`` in the text or ``None``; ``chunks``: sorted, disjoint spans.

    >>> assign_tokens([None, (0, 3), (3, 7), (7, 8), (8, 12)], [(0, 7), (8, 12)])
    [[1, 2], [4]]
    """
    starts = [start for start, _ in chunks]
    owned: list[list[int]] = [[] for _ in chunks]
    for token, span in enumerate(spans):
        if span is None:
            continue
        last = max(span[1] - 1, span[0])  # the token's last character (zero-width tokens: their position)
        c = bisect.bisect_right(starts, last) - 1
        if c >= 0 and last < chunks[c][1]:
            owned[c].append(token)
    for c, (start, end) in enumerate(chunks):
        if not owned[c]:  # its boundary fell inside a token: take the tokens that overlap it
            owned[c] = [t for t, s in enumerate(spans) if s is not None and s[0] < end and s[1] > start]
    return owned


def plan_windows(n_content: int, capacity: int, overlap: int) -> list[tuple[int, int]]:
    """``(first, stop)`` content-token ranges of the windows: ``capacity`` tokens each, ``overlap`` shared.

    >>> plan_windows(10, 4, 1)
    [(0, 4), (3, 7), (6, 10)]
    >>> plan_windows(3, 4, 1)
    [(0, 3)]
    """
    if n_content <= capacity:
        return [(0, n_content)]
    stride = capacity - overlap
    windows = []
    first = 0
    while True:
        windows.append((first, min(first + capacity, n_content)))
        if first + capacity >= n_content:
            return windows
        first += stride


def _check_dim_output(model: Embedder, role: str, output: str, dim: int | None) -> None:
    info = model.info
    if role not in ("query", "document"):
        raise OptionError(f"role={role!r} is not valid; use 'query' or 'document'.")
    if output not in ("dense", "multi", "both"):
        raise OutputError(f"output={output!r} is not valid; use 'dense', 'multi' or 'both'.")
    if output != "dense" and not info.has_multi:
        raise OutputError(
            f"output={output!r} needs per-token vectors, which {info.name} does not produce; use output='dense'."
        )
    if dim is not None and dim not in info.matryoshka_dims:
        valid = ", ".join(str(d) for d in info.matryoshka_dims)
        raise DimensionError(f"dim={dim!r} is not a Matryoshka dimension of {info.name}; valid: {valid}.")


def _backend(model: Embedder) -> Any:
    backend = model.backend
    if not all(hasattr(backend, name) for name in ("late_chunk_tokens", "late_chunk_window", "late_chunk_forward")):
        raise OutputError(
            f"{model.info.name} does not support late chunking; encode the chunks with late_chunking=False."
        )
    return backend


def _check_spans(text: str, spans: Sequence[tuple[int, int]], doc: int) -> list[tuple[int, int]]:
    from .inputs import check_text

    if not isinstance(text, str):
        raise InputError(f"document {doc} must be a str, got {type(text).__name__}.")
    check_text(text, doc)  # a lone surrogate is a typed error, not the tokenizer's TypeError
    out: list[tuple[int, int]] = []
    previous_end = 0
    for i, span in enumerate(spans):
        start, end = int(span[0]), int(span[1])
        if not 0 <= start < end <= len(text) or start < previous_end:
            raise InputError(
                f"document {doc}: chunk span {i} {span!r} is not inside the text ({len(text)} chars) after the "
                "previous span; spans must be sorted, disjoint and non-empty."
            )
        if not text[start:end].strip():
            raise InputError(f"document {doc}: chunk {i} is empty (only whitespace); remove it before late chunking.")
        out.append((start, end))
        previous_end = end
    if not out:
        raise InputError(f"document {doc} has no chunks; pass at least one non-empty chunk.")
    return out


class _Document:
    """One document's tokens, windows and, once forwarded, its per-token states."""

    def __init__(
        self, ids: list[int], spans: list[tuple[int, int] | None], chunks: list[tuple[int, int]], window: int, task: str
    ) -> None:
        n_prefix = next((i for i, s in enumerate(spans) if s is not None), len(spans))
        n_suffix = next((i for i, s in enumerate(reversed(spans)) if s is not None), 0)
        self.task = task
        self.prefix, self.suffix = ids[:n_prefix], ids[len(ids) - n_suffix :]
        self.content = ids[n_prefix : len(ids) - n_suffix]
        self.owned = [[t - n_prefix for t in tokens] for tokens in assign_tokens(spans, chunks)]  # content indices
        capacity = window - n_prefix - n_suffix
        overlap = math.ceil(window / 8)
        if len(self.content) > capacity and capacity - overlap < 1:
            raise OptionError(f"max_length={window} is too small for late chunking windows; use max_length >= 64.")
        self.windows = plan_windows(len(self.content), capacity, overlap)
        self.states: list[tuple[torch.Tensor, torch.Tensor | None] | None] = [None] * len(self.windows)

    def window_len(self, w: int) -> int:
        first, stop = self.windows[w]
        return len(self.prefix) + stop - first + len(self.suffix)

    def window_ids(self, w: int) -> list[int]:
        first, stop = self.windows[w]
        return self.prefix + self.content[first:stop] + self.suffix

    def token_rows(self, multi: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Hidden states ``(n_content, H)`` and token vectors ``(n_content, 128)`` of the content tokens."""
        hidden_parts, multi_parts = [], []
        taken = 0
        for (first, stop), state in zip(self.windows, self.states):
            assert state is not None  # every window was forwarded before pooling
            # Earliest window holding a token = the one where it has the most preceding context.
            rows = slice(len(self.prefix) + taken - first, len(self.prefix) + stop - first)
            hidden_parts.append(state[0][rows])
            if multi and state[1] is not None:
                multi_parts.append(state[1][rows])
            taken = stop
        hidden = torch.cat(hidden_parts)  # (n_content, H)
        return hidden, torch.cat(multi_parts) if multi else None


def _resolve_task(model: Embedder, texts: Sequence[str], task: Any, role: str, symmetric: bool) -> list[str]:
    kinds = [detect_text_kind(t) for t in texts]
    return resolve_tasks(kinds, task, model.info, role=role, symmetric=symmetric)


def encode_spans(
    model: Embedder,
    documents: Sequence[tuple[str, Sequence[tuple[int, int]]]],
    *,
    role: str = "document",
    task: str | Sequence[str | None] | None = "auto",
    symmetric: bool = False,
    output: str = "dense",
    dim: int | None = None,
    max_length: int | None = None,
    batch_size: int | None = None,
    progress: bool | None = None,
) -> list[EncodeResult]:
    """Late-chunked vectors of several documents: per ``(text, spans)``, one row per span, in order.

    ``task``: one name (also Jina's ``"retrieval.passage"`` style, which sets the role) or ``"auto"``
    (routed per document by its whole text), or one per document.
    """
    if isinstance(task, str):
        task, named_role = parse_task(task)  # Jina's names ("retrieval.passage") carry their role
        role = named_role or role
    _check_dim_output(model, role, output, dim)
    backend = _backend(model)
    want_multi = output in ("multi", "both")
    checked = [(text, _check_spans(text, spans, d)) for d, (text, spans) in enumerate(documents)]
    tasks = _resolve_task(model, [text for text, _ in checked], task, role, symmetric)
    window = backend.late_chunk_window(max_length)
    docs = []
    for (text, spans), t in zip(checked, tasks):
        ids, token_spans = backend.late_chunk_tokens(text, role=role, task=t)
        docs.append(_Document(ids, token_spans, spans, window, t))
    kinds = [detect_text_kind(text) for text, _ in checked]
    results: list[EncodeResult | None] = [None] * len(docs)

    def pool(d: int) -> None:  # as soon as a document's windows are done: its states are freed right after
        results[d] = _pool(docs[d], output, dim, kinds[d])
        docs[d].states = []

    _forward_all(backend, docs, want_multi, batch_size, progress, pool)
    return [r for r in results if r is not None]


def _forward_all(
    backend: Any, docs: list[_Document], multi: bool, batch_size: int | None, progress: bool | None, done: Any
) -> None:
    """Run every window of every document, length-sorted and batched under the model's token budget;
    ``done(d)`` is called once all windows of document ``d`` are forwarded."""
    jobs = sorted(
        ((d, w) for d, doc in enumerate(docs) for w in range(len(doc.windows))),
        key=lambda job: (docs[job[0]].task, docs[job[0]].window_len(job[1])),
    )
    budget = backend.token_budget
    cap = batch_size or backend.max_batch_size
    batches: list[list[tuple[int, int]]] = []
    for job in jobs:
        length = docs[job[0]].window_len(job[1])
        current = batches[-1] if batches else None
        if (
            current
            and docs[current[0][0]].task == docs[job[0]].task
            and len(current) < cap
            and length * (len(current) + 1) <= budget
        ):
            current.append(job)
        else:
            batches.append([job])
    show = len(batches) > 1 if progress is None else progress
    with torch.inference_mode():
        for batch in tqdm(batches, desc="late chunking", unit="batch", disable=not show):
            windows = [docs[d].window_ids(w) for d, w in batch]
            with backend.lock:  # the per-model critical section: set task + forward
                states = backend.late_chunk_forward(windows, task=docs[batch[0][0]].task, multi=multi)
            for (d, w), state in zip(batch, states):
                docs[d].states[w] = state
            for d in {d for d, _ in batch}:
                if all(state is not None for state in docs[d].states):
                    done(d)


def _pool(doc: _Document, output: str, dim: int | None, kind: str) -> EncodeResult:
    want_dense, want_multi = output in ("dense", "both"), output in ("multi", "both")
    hidden, tokens = doc.token_rows(want_multi)
    dense_rows: list[torch.Tensor] = []
    multi_rows: list[np.ndarray | None] = []
    for owned in doc.owned:
        index = torch.tensor(owned, dtype=torch.long)
        if want_dense:
            dense_rows.append(hidden[index].mean(dim=0))  # (H,)
        if want_multi and tokens is not None:
            multi_rows.append(tokens[index].cpu().numpy())  # (t_i, 128)
    dense = None
    if want_dense:
        pooled = truncate_matryoshka(l2_normalize(torch.stack(dense_rows)), dim)  # (n_chunks, d)
        dense = pooled.cpu().numpy().astype(np.float32, copy=False)
    n = len(doc.owned)
    return EncodeResult(dense=dense, multi=multi_rows if want_multi else None, tasks=[doc.task] * n, kinds=[kind] * n)


def encode_late_chunks(
    model: Embedder,
    items: Any,
    *,
    role: str = "document",
    task: str | Sequence[str | None] | None = "auto",
    symmetric: bool = False,
    images: ImageMode = "off",
    output: str = "dense",
    dim: int | None = None,
    batch_size: int | None = None,
    max_length: int | None = None,
    separator: str = DEFAULT_SEPARATOR,
    progress: bool | None = None,
) -> EncodeResult:
    """``Embedder.encode(items, late_chunking=True, ...)``: ``items`` are consecutive chunks of one document."""
    from .inputs import as_item_list, check_text

    if not isinstance(separator, str):
        raise OptionError(f"late_chunking_separator must be a str, got {type(separator).__name__}.")
    chunks = as_item_list(items)
    for i, chunk in enumerate(chunks):
        if not isinstance(chunk, str) or looks_like_image_reference(chunk, images):
            what = type(chunk).__name__ if not isinstance(chunk, str) else "an image reference"
            raise InputError(f"late_chunking=True embeds text only: item {i} is {what}; encode images separately.")
        if not chunk.strip():
            raise InputError(f"late chunking: item {i} is an empty chunk; every chunk needs some text.")
        check_text(chunk, i)
    if not chunks:
        raise InputError("late chunking needs at least one chunk of text.")
    if task is not None and not isinstance(task, str):
        names = list(task)
        if len(names) != len(chunks) or len(set(names)) != 1:
            raise InputError(
                "late chunking encodes one document in one forward, so every chunk needs the same task; "
                "pass a single task name."
            )
        task = names[0]
    spans, position = [], 0
    for i, chunk in enumerate(chunks):
        if i:
            position += len(separator)
        spans.append((position, position + len(chunk)))
        position += len(chunk)
    text = separator.join(chunks)
    return encode_spans(
        model,
        [(text, spans)],
        role=role,
        task=task,
        symmetric=symmetric,
        output=output,
        dim=dim,
        max_length=max_length,
        batch_size=batch_size,
        progress=progress,
    )[0]
