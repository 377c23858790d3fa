"""The contract between the family-neutral :class:`~jina_local.embedder.Embedder` and a model family.

A backend owns everything model-specific: prompts, tokenisation, image preprocessing, the forward
pass and pooling. The embedder owns everything shared: typing user items, choosing tasks,
validating options, batching by length, restoring order, Matryoshka truncation, progress bars.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import OutputError
from ..inputs import TypedInput
from ..options import check_positive_int
from ..types import ModelInfo, Role

__all__ = ["BatchOutput", "ModelBackend", "Prepared"]


@dataclass
class Prepared:
    """One item after preprocessing, ready to be collated into a batch.

    ``cost`` is the sequence length the item will occupy (tokens after prompt and image-token
    expansion); batches are formed so that ``max(cost) * batch_size`` stays under a budget.
    ``group`` separates items that may not share a forward (e.g. text vs image for v4).
    ``data`` is whatever the backend needs to collate (token ids, pixel arrays, ...).
    """

    cost: int
    group: Hashable
    data: Any
    nbytes: int = 0
    """Bytes the prepared data holds (pixel tensors); bounds the engine's windows besides ``cost``."""


@dataclass
class BatchOutput:
    """What one forward returns, in batch order.

    ``dense``: ``(b, D)`` float32, L2-normalised, full dimension (the embedder truncates);
    ``multi``: one ``(n_tokens_i, multi_dim)`` float32 tensor per item, rows L2-normalised, pad rows dropped.
    """

    dense: torch.Tensor | None
    multi: list[torch.Tensor] | None


class ModelBackend(ABC):
    """A loaded model of one family.

    ``prepare`` and the tokenizer hooks are thread-safe. Everything that touches the model's weights or
    its active task (``forward``, task switches) runs while holding :attr:`lock`, the per-model critical
    section the engine takes around every forward.
    """

    info: ModelInfo

    @property
    def lock(self) -> threading.RLock:
        """The per-model critical section: hold it around set-task + forward."""
        lock = self.__dict__.get("_critical_section")
        if lock is None:
            lock = self.__dict__.setdefault("_critical_section", threading.RLock())  # atomic under the GIL
        return lock

    @abstractmethod
    def prepare(
        self,
        item: TypedInput,
        *,
        role: Role,
        task: str,
        max_length: int | None,
        max_pixels: int | None,
    ) -> Prepared:
        """Build the prompt / pixels of one item for ``role`` and ``task``."""

    supports_mixed_tasks: bool = False
    """Whether ``forward`` accepts ``tasks=`` (one task per row) so a batch may mix task adapters."""

    @abstractmethod
    def forward(self, batch: Sequence[Prepared], *, task: str, dense: bool, multi: bool) -> BatchOutput:
        """Run one forward over items that share ``task`` and ``group``; no gradient, no logits.

        Backends with :attr:`supports_mixed_tasks` also take ``tasks=[...]``, one task per row.
        """

    @abstractmethod
    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans ``(start, end)`` of the model's tokens of ``text``: no prompt, no special tokens."""

    def check_limits(self, max_length: int | None, max_pixels: int | None) -> None:
        """Refuse ``max_length`` / ``max_pixels`` values this model cannot honour (typed errors)."""
        check_positive_int("max_length", max_length)
        check_positive_int("max_pixels", max_pixels)

    def image_input_size(self, width: int, height: int, max_pixels: int | None = None) -> tuple[int, int]:
        """``(width, height)`` an image of this size is resized to before it reaches the model."""
        return width, height

    def multi_row_spans(
        self, text: str, *, role: Role, task: str, max_length: int | None = None
    ) -> list[tuple[int, int] | None]:
        """One entry per multi-vector row of ``text``: its span in ``text``, ``None`` for prompt rows."""
        raise OutputError(f"{self.info.name} produces no per-token vectors.")

    def image_patch_grid(self, width: int, height: int, max_pixels: int | None = None) -> tuple[int, int, int]:
        """``(first_row, rows, cols)`` of an image's tokens among its multi-vector rows (row-major grid)."""
        raise OutputError(f"{self.info.name} produces no per-token vectors.")

    @property
    def token_budget(self) -> int:
        """Budget of padded tokens per forward (``max(cost) * batch_size``): 16384 on CUDA, 4096 on the CPU."""
        override = self.__dict__.get("_token_budget")
        if override is not None:
            return int(override)
        return 16384 if self.info.device.startswith("cuda") else 4096

    @token_budget.setter
    def token_budget(self, tokens: int) -> None:
        check_positive_int("token_budget", tokens)
        self.__dict__["_token_budget"] = tokens

    @property
    def window_nbytes(self) -> int:
        """Default cap on the prepared bytes (pixel tensors) of one engine window."""
        return 256 * 2**20

    @property
    def max_batch_size(self) -> int:
        """Default cap on items per forward, whatever their length."""
        return 64 if self.info.device.startswith("cuda") else 32
