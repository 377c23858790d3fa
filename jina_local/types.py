"""Small value types shared by the core: literals, model facts and the result of ``encode``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from .errors import JinaLocalError

__all__ = ["EncodeResult", "Encoded", "ErrorMode", "Kind", "ModelInfo", "Output", "Role", "Task"]

Kind = Literal["text", "code", "image"]
"""What an item is: prose, source code, or an image."""

Role = Literal["query", "document"]
"""Which side of retrieval an item is on."""

Output = Literal["dense", "multi", "both"]
"""``dense``: one vector per item; ``multi``: one 128-d vector per token; ``both``: both from one forward."""

Task = Literal["retrieval", "text-matching", "code"]
"""The task adapters of jina-embeddings-v4. Passing ``None`` lets jina-local choose."""

ErrorMode = Literal["raise", "skip"]
"""``raise``: the first item that fails raises its typed error; ``skip``: failed items are reported, the rest encoded."""


@dataclass(frozen=True)
class ModelInfo:
    """What a loaded model is and can do (``Embedder.info``)."""

    name: str
    family: str
    dense_dim: int
    matryoshka_dims: tuple[int, ...]
    multi_dim: int | None
    tasks: tuple[str, ...]
    default_task: str
    device: str
    dtype: str
    license: str
    max_length: int
    revision: str | None = None
    path: str | None = None
    fingerprint: str | None = None
    """Short hash of a few weights: equal for the same weights wherever they were loaded from."""
    max_pixels: int | None = None
    """Default pixel budget of one image (width x height after resizing): what a renderer (PDF pages)
    should aim at. jina-embeddings-v4: the processor's ``max_pixels``; jina-clip-v2: its square input."""

    @property
    def has_multi(self) -> bool:
        """Whether the model produces per-token (late-interaction) vectors."""
        return self.multi_dim is not None


@dataclass(frozen=True)
class Encoded:
    """One item's result from ``Embedder.stream``.

    ``index`` is the item's position in the input; ``dense`` a ``(d,)`` float32 unit vector and
    ``multi`` ``(n_tokens, 128)`` float32 unit rows (each ``None`` when not requested or when the item
    failed); ``task`` the adapter used and ``kind`` what the item was taken to be; ``error`` is
    ``None``, or the typed :class:`~jina_local.errors.JinaLocalError` that says why this item failed.
    """

    index: int
    dense: np.ndarray | None
    multi: np.ndarray | None
    task: str | None
    kind: str | None
    error: JinaLocalError | None = None

    @property
    def ok(self) -> bool:
        """Whether the item was encoded."""
        return self.error is None


@dataclass
class EncodeResult:
    """Vectors for a list of items, in the order the items were given.

    ``dense`` is ``(n, d)`` float32, rows L2-normalised (``None`` when not requested);
    ``multi`` holds one ``(n_tokens_i, 128)`` float32 array per item, rows L2-normalised
    (``None`` when not requested); ``tasks`` is the adapter used per item and ``kinds``
    what each item was taken to be. With ``errors="skip"`` there is still one row per input:
    ``errors`` maps the index of each failed item to its typed error, its ``dense`` row is NaN and its
    ``multi``, ``tasks`` and ``kinds`` entries are ``None``.
    """

    dense: np.ndarray | None
    multi: list[np.ndarray | None] | None
    tasks: list[str | None] = field(default_factory=list)
    kinds: list[str | None] = field(default_factory=list)
    errors: dict[int, JinaLocalError] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.tasks)

    @property
    def ok(self) -> bool:
        """Whether every item was encoded."""
        return not self.errors
