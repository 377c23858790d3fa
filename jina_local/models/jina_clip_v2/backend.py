"""jina-clip-v2 behind the :class:`~jina_local.models.base.ModelBackend` contract."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from ...errors import EncodingError, InputError, OutputError, TaskError
from ...inputs import ImageInput, TextInput, TypedInput
from ...options import check_positive_int
from ...pooling import l2_normalize
from ...types import ModelInfo, Role
from ..base import BatchOutput, ModelBackend, Prepared
from .eva02 import Eva02VisionTower
from .processing import (
    ClipTextProcessor,
    ImageSettings,
    normalize_pixels,
    preprocess_image,
    resized_size,
)
from .text_tower import pad_id, text_features, token_states

if TYPE_CHECKING:
    from transformers import JinaEmbeddingsV3Model

    from .loading import LoadReport

__all__ = ["JinaClipV2Backend"]

TEXT_GROUP = "text"
IMAGE_GROUP = "image"


class JinaClipV2Backend(ModelBackend):
    """jina-clip-v2: build it with :func:`~jina_local.models.jina_clip_v2.load_backend`.

    Text items cost their token count; images a constant ``grid*grid + 1`` tokens. Text and images run in
    separate forwards (``group``). ``max_pixels`` is ignored: the tower takes a fixed resolution.
    """

    def __init__(
        self,
        *,
        info: ModelInfo,
        text_model: JinaEmbeddingsV3Model,
        vision_model: Eva02VisionTower,
        text: ClipTextProcessor,
        image: ImageSettings,
        report: LoadReport,
    ) -> None:
        self.info = (
            info if info.max_pixels is not None else dataclasses.replace(info, max_pixels=image.size * image.size)
        )
        self.text_model = text_model
        self.vision_model = vision_model
        self.text = text
        self.tokenizer = text.tokenizer
        self.image = image
        self.load_report = report
        self.pad_id = pad_id(text_model)
        self.device = torch.device(info.device)

    # -- preprocessing (thread-safe) --------------------------------------------------------------
    def check_limits(self, max_length: int | None, max_pixels: int | None) -> None:
        """``max_length`` in 3..8194 tokens (specials included); ``max_pixels`` is ignored (fixed 512 px)."""
        if max_length is not None:
            self.text.check_max_length(max_length)
        check_positive_int("max_pixels", max_pixels)

    def tokenize(self, text: str, max_length: int | None = None) -> list[int]:
        """Token ids with ``<s>``/``</s>``, truncated to ``max_length`` (default :data:`DEFAULT_MAX_LENGTH`)."""
        return self.text.ids(text, max_length)

    def image_input_size(self, width: int, height: int, max_pixels: int | None = None) -> tuple[int, int]:
        return resized_size(width, height, self.image.size)  # short side to the tower's size, then a centre crop

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return self.text.token_spans(text)

    def late_chunk_tokens(self, text: str, *, role: Role, task: str) -> tuple[list[int], list[tuple[int, int] | None]]:
        """Ids of the whole document and each id's span in ``text`` (``None``: prompt, specials)."""
        return self.text.late_chunk_tokens(text, role=role)

    def late_chunk_window(self, max_length: int | None) -> int:
        """Tokens per late-chunking forward: ``max_length`` (default 512, at most the tower's positions)."""
        return self.text.check_max_length(max_length)

    def prepare(
        self,
        item: TypedInput,
        *,
        role: Role,
        task: str,
        max_length: int | None,
        max_pixels: int | None,
    ) -> Prepared:
        if task not in self.info.tasks:
            raise TaskError(
                f"task={task!r} is not available: {self.info.name} has no task adapters "
                f"(its only task is '{self.info.default_task}'); leave task unset."
            )
        if isinstance(item, TextInput):
            ids = self.text.prompted_ids(item.text, role=role, max_length=max_length)
            return Prepared(cost=len(ids), group=TEXT_GROUP, data=ids)
        if isinstance(item, ImageInput):  # data: the (3, S, S) uint8 crop
            crop = preprocess_image(item.image, self.image.size, interpolation=self.image.interpolation)
            return Prepared(cost=self.vision_model.cfg.num_tokens, group=IMAGE_GROUP, data=crop, nbytes=crop.nelement())
        raise InputError(f"jina-clip-v2 cannot embed {type(item).__name__}")

    # -- forward (inside the engine's per-model critical section) --------------------------------
    def collate_text(self, batch: Sequence[Prepared]) -> torch.Tensor:
        """Right-padded ids ``(b, L)`` on the device."""
        longest = max(len(p.data) for p in batch)
        ids = torch.full((len(batch), longest), self.pad_id, dtype=torch.long)  # (b, L)
        for row, p in enumerate(batch):
            ids[row, : len(p.data)] = torch.as_tensor(p.data, dtype=torch.long)
        return ids.to(self.device, non_blocking=True)

    def collate_images(self, batch: Sequence[Prepared]) -> torch.Tensor:
        """Normalised pixels ``(b, 3, S, S)`` float32 on the device."""
        pixels = torch.stack([p.data for p in batch]).to(self.device, non_blocking=True)  # (b, 3, S, S) uint8
        return normalize_pixels(pixels, self.image.mean, self.image.std)

    def embed_text_ids(self, ids: torch.Tensor) -> torch.Tensor:
        """Unnormalised mean-pooled text features ``(b, D)`` float32 for right-padded ``ids`` ``(b, L)``."""
        return text_features(self.text_model, ids, self.pad_id)

    def embed_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        """Unnormalised CLS features ``(b, D)`` float32 for normalised ``pixels`` ``(b, 3, S, S)``."""
        return self.vision_model(pixels).float()  # (b, D)

    def forward(self, batch: Sequence[Prepared], *, task: str, dense: bool, multi: bool) -> BatchOutput:
        if multi:
            raise OutputError(f"{self.info.name} produces no per-token vectors; use output='dense'.")
        groups = {p.group for p in batch}
        if groups == {TEXT_GROUP}:
            features = self.embed_text_ids(self.collate_text(batch))
        elif groups == {IMAGE_GROUP}:
            features = self.embed_pixels(self.collate_images(batch))
        else:
            raise EncodingError(f"one forward takes text or images, not a mix of {sorted(map(str, groups))}")
        return BatchOutput(dense=l2_normalize(features), multi=None)

    def late_chunk_forward(
        self, windows: Sequence[Sequence[int]], *, task: str, multi: bool
    ) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
        """Per window of ids: the text tower's final hidden states ``(L_i, D)`` fp32. Call inside :attr:`lock`."""
        if multi:
            raise OutputError(f"{self.info.name} produces no per-token vectors; use output='dense'.")
        batch = [Prepared(cost=len(ids), group=TEXT_GROUP, data=list(ids)) for ids in windows]
        hidden = token_states(self.text_model, self.collate_text(batch), self.pad_id)  # (b, L, D)
        return [(hidden[row, : len(ids)].float(), None) for row, ids in enumerate(windows)]
