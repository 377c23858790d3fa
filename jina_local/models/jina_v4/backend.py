"""jina-embeddings-v4 behind the :class:`~jina_local.models.base.ModelBackend` contract."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch

from ...errors import InputError
from ...inputs import ImageInput, TextInput, TypedInput
from ...types import ModelInfo, Role
from ..base import BatchOutput, ModelBackend, Prepared
from .adapters import TaskSwitcher
from .modeling import JinaV4Model, embed, hidden_states, mixed_precision, pool_mask, project_tokens
from .processing import IMAGE_GROUP, TEXT_GROUP, JinaV4Processor

__all__ = ["JinaV4Backend"]


class JinaV4Backend(ModelBackend):
    """A loaded jina-embeddings-v4: processor (tokenizer, image processor), backbone, projector, adapters."""

    def __init__(self, model: JinaV4Model, processor: JinaV4Processor, info: ModelInfo) -> None:
        self.model = model
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.image_processor = processor.image_processor
        self.info = (
            info if info.max_pixels is not None else dataclasses.replace(info, max_pixels=processor.default_max_pixels)
        )
        self.device = next(model.parameters()).device
        self.adapters = TaskSwitcher(model, info.tasks)

    # -- preprocessing (thread-safe) --------------------------------------------------------------
    def check_limits(self, max_length: int | None, max_pixels: int | None) -> None:
        self.processor.check_limits(max_length, max_pixels)

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return self.processor.token_spans(text)

    def multi_row_spans(
        self, text: str, *, role: Role, task: str, max_length: int | None = None
    ) -> list[tuple[int, int] | None]:
        return self.processor.multi_row_spans(text, role=role, task=task, max_length=max_length)

    def late_chunk_tokens(self, text: str, *, role: Role, task: str) -> tuple[list[int], list[tuple[int, int] | None]]:
        """Ids of the prompted document and each id's span in ``text`` (``None``: prompt) for late chunking."""
        return self.processor.late_chunk_tokens(text, role=role, task=task)

    def late_chunk_window(self, max_length: int | None) -> int:
        """Tokens per late-chunking forward."""
        return self.processor.late_chunk_window(max_length)

    def image_input_size(self, width: int, height: int, max_pixels: int | None = None) -> tuple[int, int]:
        return self.processor.resized_size(width, height, max_pixels)

    def image_patch_grid(self, width: int, height: int, max_pixels: int | None = None) -> tuple[int, int, int]:
        return self.processor.image_patch_grid(width, height, max_pixels)

    def prepare(
        self,
        item: TypedInput,
        *,
        role: Role,
        task: str,
        max_length: int | None,
        max_pixels: int | None,
    ) -> Prepared:
        if isinstance(item, TextInput):
            ids = self.processor.text_ids(item.text, role=role, task=task, max_length=max_length)
            return Prepared(cost=len(ids), group=TEXT_GROUP, data={"ids": ids})
        if isinstance(item, ImageInput):
            return self.processor.image_inputs(item.image, max_pixels)
        raise InputError(f"unsupported input {type(item).__name__}")  # inputs.load_item guards this

    # -- forward (inside the engine's per-model critical section) --------------------------------
    @property
    def window_nbytes(self) -> int:
        """Room for three token budgets of image patches (float32, 4 patches of 14x14x3x2 per image token)."""
        per_token = 4 * self.image_processor.patch_size**2 * 3 * self.image_processor.temporal_patch_size * 4
        return max(super().window_nbytes, 3 * self.token_budget * per_token)

    @property
    def active_task(self) -> str | None:
        """The task the LoRA layers are routed to now."""
        return self.adapters.active

    def set_task(self, task: str) -> None:
        """Route every LoRA layer to ``task``'s adapter."""
        self.adapters.set_task(task)

    supports_mixed_tasks = True
    """One forward may mix tasks row by row (``forward(..., tasks=[...])``): peft's per-row LoRA routing."""

    def forward(
        self, batch: Sequence[Prepared], *, task: str, dense: bool, multi: bool, tasks: Sequence[str] | None = None
    ) -> BatchOutput:
        if tasks is not None and len(set(tasks)) > 1:
            with self.adapters.mixed(tasks):  # the active task's merged weights wait, untouched
                return self._forward(batch, dense=dense, multi=multi)
        self.set_task(task)
        return self._forward(batch, dense=dense, multi=multi)

    def _forward(self, batch: Sequence[Prepared], *, dense: bool, multi: bool) -> BatchOutput:
        processor = self.processor
        inputs = processor.collate(batch, self.device, self.model.dtype)
        mask = inputs["attention_mask"]
        dense_mask = None
        if dense:
            dense_mask = pool_mask(
                inputs["input_ids"],
                mask,
                images=batch[0].group == IMAGE_GROUP,
                vision_start_id=processor.vision_start_id,
                vision_end_id=processor.vision_end_id,
            )
        with mixed_precision(self.model):  # bf16 on the CPU: matmuls in bf16, residual stream in fp32
            hidden = hidden_states(self.model, inputs, processor.image_token_id)  # (b, L, hidden)
            dense_out, multi_out = embed(self.model, hidden, mask, dense_mask, multi=multi)
        return BatchOutput(dense=dense_out, multi=multi_out)

    def late_chunk_forward(
        self, windows: Sequence[Sequence[int]], *, task: str, multi: bool
    ) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
        """Per window of ids: final hidden states ``(L_i, hidden)`` fp32 and, with ``multi``, the projected,
        normalised token vectors ``(L_i, 128)``. Call inside :attr:`lock`."""
        self.set_task(task)
        batch = [Prepared(cost=len(ids), group=TEXT_GROUP, data={"ids": list(ids)}) for ids in windows]
        inputs = self.processor.collate(batch, self.device, self.model.dtype)
        with mixed_precision(self.model):  # bf16 on the CPU: matmuls in bf16, residual stream in fp32
            hidden = hidden_states(self.model, inputs, self.processor.image_token_id)  # (b, L, hidden)
            tokens = project_tokens(self.model, hidden) if multi else None  # (b, L, 128)
        return [
            (hidden[row, : len(ids)].float(), None if tokens is None else tokens[row, : len(ids)])
            for row, ids in enumerate(windows)
        ]
