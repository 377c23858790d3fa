"""The family-neutral facade: ``Embedder.encode`` and friends."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .batching import plan_batches
from .errors import DimensionError, InputError, OutputError
from .inputs import TextInput, as_item_list, load_item
from .kinds import ImageMode
from .models.base import BatchOutput, ModelBackend, Prepared
from .pooling import truncate_matryoshka
from .routing import input_kind, resolve_tasks
from .types import EncodeResult, ModelInfo, Output, Role

__all__ = ["Embedder"]

_OUTPUTS = ("dense", "multi", "both")
_ROLES = ("query", "document")


class Embedder:
    """Encodes text and images with a loaded model. Build it with :func:`jina_local.load`."""

    def __init__(self, backend: ModelBackend) -> None:
        self._backend = backend

    @property
    def info(self) -> ModelInfo:
        """Model name, dims, tasks, device, dtype and license."""
        return self._backend.info

    @property
    def backend(self) -> ModelBackend:
        """The family-specific model (for benchmarks and advanced use)."""
        return self._backend

    def __repr__(self) -> str:
        info = self.info
        return f"Embedder({info.name!r}, device={info.device!r}, dtype={info.dtype!r})"

    def _validate(self, role: str, output: str, dim: int | None) -> None:
        info = self.info
        if role not in _ROLES:
            raise ValueError(f"role={role!r} is not valid; use 'query' or 'document'.")
        if output not in _OUTPUTS:
            raise OutputError(f"output={output!r} is not valid; use 'dense', 'multi' or 'both'.")
        if output != "dense" and not info.has_multi:
            raise OutputError(
                f"output={output!r} needs per-token vectors, which {info.name} does not produce; use output='dense'."
            )
        if dim is not None and dim not in info.matryoshka_dims:
            valid = ", ".join(str(d) for d in info.matryoshka_dims)
            raise DimensionError(f"dim={dim!r} is not a Matryoshka dimension of {info.name}; valid: {valid}.")

    def encode(
        self,
        items: Any,
        *,
        role: Role = "document",
        task: str | Sequence[str | None] | None = "auto",
        symmetric: bool = False,
        images: ImageMode = "off",
        output: Output = "dense",
        dim: int | None = None,
        batch_size: int | None = None,
        max_length: int | None = None,
        max_pixels: int | None = None,
        progress: bool | None = None,
        late_chunking: bool = False,
        late_chunking_separator: str = " ",
    ) -> EncodeResult:
        """Embed items (text, images, or a mix) in the order given.

        ``task="auto"`` (or ``None``) picks the adapter per item by what it is and its role (code
        documents -> ``code``, prose and images -> ``retrieval``; ``symmetric=True`` ->
        ``text-matching``; see :mod:`jina_local.routing`); a task name, or a list with one per
        item, overrides. ``images="auto"`` also reads strings naming image files or image URLs as
        images. ``dim`` truncates dense vectors to a Matryoshka size and re-normalises; ``batch_size`` caps
        items per forward (batches are also capped by a padded-token budget); ``max_length`` caps
        text tokens; ``max_pixels`` caps image area; ``progress`` shows a bar (default: when there
        is more than one batch).

        ``late_chunking=True``: the items are consecutive text chunks of one document, joined with
        ``late_chunking_separator`` and encoded in one forward; each chunk's vectors pool its own tokens
        of that forward (see :mod:`jina_local.late_chunking`).
        """
        if late_chunking:
            from .late_chunking import encode_late_chunks

            return encode_late_chunks(
                self, items, role=role, task=task, symmetric=symmetric, images=images, output=output, dim=dim,
                batch_size=batch_size, max_length=max_length, separator=late_chunking_separator, progress=progress,
            )
        self._validate(role, output, dim)
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"batch_size={batch_size!r} must be a positive integer.")
        want_dense = output in ("dense", "both")
        want_multi = output in ("multi", "both")
        raw = as_item_list(items)
        typed = [load_item(item, index, images=images) for index, item in enumerate(raw)]
        kinds = [input_kind(t) for t in typed]
        tasks = resolve_tasks(kinds, task, self.info, role=role, symmetric=symmetric)
        backend = self._backend
        out_dim = dim or self.info.dense_dim

        if not typed:
            return EncodeResult(
                dense=np.zeros((0, out_dim), dtype=np.float32) if want_dense else None,
                multi=[] if want_multi else None,
                tasks=[],
                kinds=[],
            )

        prepared = [
            backend.prepare(t, role=role, task=tasks[i], max_length=max_length, max_pixels=max_pixels)
            for i, t in enumerate(typed)
        ]
        batches = plan_batches(
            [p.cost for p in prepared],
            [(tasks[i], p.group) for i, p in enumerate(prepared)],
            token_budget=backend.token_budget,
            max_batch_size=batch_size or backend.max_batch_size,
        )
        dense_rows: list[np.ndarray | None] = [None] * len(typed)
        multi_rows: list[np.ndarray | None] = [None] * len(typed)
        show = len(batches) > 1 if progress is None else progress
        with torch.inference_mode():
            for batch in tqdm(batches, desc="encoding", unit="batch", disable=not show):
                for indices, out in self._forward_with_backoff(
                    prepared, batch.indices, task=batch.key[0], dense=want_dense, multi=want_multi
                ):
                    if out.dense is not None:
                        vectors = truncate_matryoshka(out.dense.float(), dim).cpu().numpy()  # (b, d)
                        for row, index in enumerate(indices):
                            dense_rows[index] = vectors[row]
                    if out.multi is not None:
                        for row, index in enumerate(indices):
                            multi_rows[index] = out.multi[row].float().cpu().numpy()  # (n_tokens, 128)
        dense = np.stack(dense_rows).astype(np.float32, copy=False) if want_dense else None  # (n, d)
        multi = [m for m in multi_rows if m is not None] if want_multi else None
        return EncodeResult(dense=dense, multi=multi, tasks=tasks, kinds=kinds)

    def _forward_with_backoff(
        self, prepared: list[Prepared], indices: tuple[int, ...], *, task: str, dense: bool, multi: bool
    ) -> list[tuple[tuple[int, ...], BatchOutput]]:
        """Run one batch; when the accelerator runs out of memory, split it in halves and retry."""
        try:
            out = self._backend.forward([prepared[i] for i in indices], task=task, dense=dense, multi=multi)
        except torch.OutOfMemoryError:
            if len(indices) == 1:
                raise
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            half = len(indices) // 2
            return self._forward_with_backoff(
                prepared, indices[:half], task=task, dense=dense, multi=multi
            ) + self._forward_with_backoff(prepared, indices[half:], task=task, dense=dense, multi=multi)
        if (dense and out.dense is None) or (multi and out.multi is None):
            raise RuntimeError(f"{type(self._backend).__name__}.forward returned no {'dense' if dense else 'multi'} output")
        return [(indices, out)]

    def tokenize(self, text: str) -> list[tuple[int, int]]:
        """Character spans ``(start, end)`` of the model's tokens of ``text`` (no prompt, no special tokens).

        For chunking by the model's own tokens: ``text[start:end]`` is the text of each token.
        """
        if not isinstance(text, str):
            raise InputError(f"tokenize() takes a str, got {type(text).__name__}.")
        return self._backend.token_spans(text)

    def count_tokens(self, text: str) -> int:
        """How many tokens ``text`` is for this model (no prompt, no special tokens)."""
        return len(self.tokenize(text))

    def multi_row_spans(
        self, text: str, *, role: Role = "document", task: str | None = None, max_length: int | None = None
    ) -> list[tuple[int, int] | None]:
        """One entry per multi-vector row ``encode(text, role=role, task=task, output="multi")`` gives:
        the character span in ``text`` of that row's token, or ``None`` for rows of the prompt.

        For explaining a MaxSim score: the rows with the largest contributions point at the words that
        matched. ``task`` defaults to what ``task="auto"`` would choose.
        """
        if not isinstance(text, str):
            raise InputError(f"multi_row_spans() takes a str, got {type(text).__name__}.")
        chosen = resolve_tasks([input_kind(TextInput(text))], task, self.info, role=role)[0]
        return self._backend.multi_row_spans(text, role=role, task=chosen, max_length=max_length)

    def image_patch_grid(self, image: Any, *, max_pixels: int | None = None) -> tuple[int, int, int]:
        """``(first_row, rows, cols)`` for an image (a PIL image or its ``(width, height)``).

        The multi-vector rows ``first_row .. first_row + rows * cols`` of the image are its image tokens,
        row-major over a ``rows x cols`` grid laid over the whole image: a per-token score reshaped to
        ``(rows, cols)`` is a heat map of the image.
        """
        size = getattr(image, "size", image)
        if not (isinstance(size, tuple) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size)):
            raise InputError("image_patch_grid() takes a PIL image or a (width, height) tuple of positive ints.")
        return self._backend.image_patch_grid(size[0], size[1], max_pixels)

    def encode_query(self, items: Any, **kwargs: Any) -> EncodeResult:
        """``encode(items, role="query", ...)``."""
        return self.encode(items, role="query", **kwargs)

    def encode_document(self, items: Any, **kwargs: Any) -> EncodeResult:
        """``encode(items, role="document", ...)``."""
        return self.encode(items, role="document", **kwargs)
