"""jina-embeddings-v4 processing: prompts, tokenisation, image resizing and patching, collation.

Facts (``shared/reference/jina_v4.md`` §3): text is prompted ``Query: `` / ``Passage: `` (always
``Query: `` for text-matching) and capped at 32768 tokens; every image gets one fixed chat prompt
whose ``<|image_pad|>`` is expanded to one token per 2x2 merged patch of the resized image
(``smart_resize`` to multiples of 28 within ``[min_pixels, max_pixels]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from PIL import Image
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
    Qwen2VLImageProcessorPil,
    smart_resize,
)

from ...errors import OptionError
from ...options import check_positive_int
from ...types import Role
from .._text import capped_token_ids
from ..base import Prepared

__all__ = ["DEFAULT_MAX_LENGTH", "IMAGE_PROMPT", "MAX_PIXELS_LIMIT", "JinaV4Processor", "text_prompt"]

IMAGE_PROMPT = "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Describe the image.<|im_end|>\n"
"""The one prompt every image gets, whatever the task; ``<|image_pad|>`` is expanded per image."""

DEFAULT_MAX_LENGTH = 32768
"""Text token cap of the official ``encode_text`` (the processor's ``text_max_length``)."""

MAX_PIXELS_LIMIT = 16384 * 28 * 28
"""Largest ``max_pixels`` accepted: 16,384 image tokens, the ceiling of Qwen2.5-VL's own processor."""

TEXT_GROUP = "text"
IMAGE_GROUP = "image"


def text_prompt(text: str, *, role: Role, task: str) -> str:
    """The prompt of a text: ``Query: `` for queries and always for text-matching, else ``Passage: ``.

    >>> text_prompt("cats", role="document", task="retrieval")
    'Passage: cats'
    >>> text_prompt("cats", role="document", task="text-matching")
    'Query: cats'
    """
    prefix = "Query" if role == "query" or task == "text-matching" else "Passage"
    return f"{prefix}: {text}"


class JinaV4Processor:
    """Turns texts and images into token ids and patches; stateless after construction (thread-safe)."""

    def __init__(self, tokenizer: Any, image_processor: Qwen2VLImageProcessorPil, config: Any) -> None:
        self.tokenizer = tokenizer
        self._rust = tokenizer.backend_tokenizer  # encode() reads no mutable state when never truncating
        self.image_processor = image_processor
        self.image_token_id = int(config.image_token_id)
        self.vision_start_id = int(config.vision_start_token_id)
        self.vision_end_id = int(config.vision_end_token_id)
        self.pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else config.bos_token_id)
        self.patch_size = int(image_processor.patch_size)
        self.merge_size = int(image_processor.merge_size)
        self.default_min_pixels = int(image_processor.size["shortest_edge"])
        self.default_max_pixels = int(image_processor.size["longest_edge"])
        before, after = IMAGE_PROMPT.split("<|image_pad|>")
        self._image_before = self._encode(before)
        self._image_after = self._encode(after)

    def check_limits(self, max_length: int | None, max_pixels: int | None) -> None:
        """``max_length`` in 1..32768 tokens; ``max_pixels`` between the checkpoint's minimum and 16,384 tokens."""
        check_positive_int("max_length", max_length)
        if max_length is not None and max_length > DEFAULT_MAX_LENGTH:
            raise OptionError(
                f"max_length={max_length} exceeds jina-embeddings-v4's limit of {DEFAULT_MAX_LENGTH} tokens; "
                f"pass at most {DEFAULT_MAX_LENGTH}."
            )
        check_positive_int("max_pixels", max_pixels)
        if max_pixels is not None and not self.default_min_pixels <= max_pixels <= MAX_PIXELS_LIMIT:
            raise OptionError(
                f"max_pixels={max_pixels} is outside {self.default_min_pixels}..{MAX_PIXELS_LIMIT} "
                f"({self.default_min_pixels // 784}..{MAX_PIXELS_LIMIT // 784} image tokens of 28x28 pixels); "
                f"the default is {self.default_max_pixels}."
            )

    # -- text ------------------------------------------------------------------------------------
    def _encode(self, text: str) -> list[int]:
        return list(self._rust.encode(text, add_special_tokens=True).ids)

    def text_ids(self, text: str, *, role: Role, task: str, max_length: int | None) -> list[int]:
        """Token ids of the prompted text, at most ``max_length`` (default and ceiling 32768)."""
        limit = min(max_length or DEFAULT_MAX_LENGTH, DEFAULT_MAX_LENGTH)
        return capped_token_ids(self._encode, text_prompt(text, role=role, task=task), limit)

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the tokens of ``text`` alone (no prompt)."""
        encoding = self._rust.encode(text, add_special_tokens=False)
        return [(int(start), int(end)) for start, end in encoding.offsets]

    def multi_row_spans(
        self, text: str, *, role: Role, task: str, max_length: int | None = None
    ) -> list[tuple[int, int] | None]:
        """One entry per multi-vector row of ``text``: its span in ``text``, or ``None`` for prompt rows."""
        prompted = text_prompt(text, role=role, task=task)
        shift = len(prompted) - len(text)
        limit = min(max_length or DEFAULT_MAX_LENGTH, DEFAULT_MAX_LENGTH)
        offsets = self._rust.encode(prompted, add_special_tokens=True).offsets[:limit]
        return [None if end <= shift else (max(start, shift) - shift, end - shift) for start, end in offsets]

    def late_chunk_tokens(self, text: str, *, role: Role, task: str) -> tuple[list[int], list[tuple[int, int] | None]]:
        """All ids of the prompted ``text`` (never truncated) and, per id, its span in ``text`` (``None``: prompt).

        A token that starts in the prompt and ends in ``text`` (``" Cats"`` after ``"Passage:"``) is a text
        token; its span is clipped to ``text``.
        """
        prompted = text_prompt(text, role=role, task=task)
        shift = len(prompted) - len(text)
        encoding = self._rust.encode(prompted, add_special_tokens=True)
        spans: list[tuple[int, int] | None] = [
            None if special or end <= shift else (max(start, shift) - shift, end - shift)
            for (start, end), special in zip(encoding.offsets, encoding.special_tokens_mask)
        ]
        return list(encoding.ids), spans

    @staticmethod
    def late_chunk_window(max_length: int | None) -> int:
        """Tokens per forward for late chunking: ``max_length`` (default and ceiling 32768)."""
        return min(max_length or DEFAULT_MAX_LENGTH, DEFAULT_MAX_LENGTH)

    # -- images ----------------------------------------------------------------------------------
    def pixel_bounds(self, max_pixels: int | None) -> tuple[int, int]:
        """``(min_pixels, max_pixels)`` of one call: the checkpoint's unless ``max_pixels`` lowers or raises it."""
        ceiling = max_pixels or self.default_max_pixels
        return min(self.default_min_pixels, ceiling), ceiling

    def resized_size(self, width: int, height: int, max_pixels: int | None) -> tuple[int, int]:
        """``(width, height)`` the processor resizes an image to (multiples of 28, area within bounds)."""
        low, high = self.pixel_bounds(max_pixels)
        factor = self.patch_size * self.merge_size
        new_height, new_width = smart_resize(height, width, factor=factor, min_pixels=low, max_pixels=high)
        return int(new_width), int(new_height)

    def image_patch_grid(self, width: int, height: int, max_pixels: int | None) -> tuple[int, int, int]:
        """``(first_row, rows, cols)``: multi-vector rows ``first_row .. first_row + rows*cols`` are the
        image tokens, row-major over a ``rows x cols`` grid laid over the resized image."""
        new_width, new_height = self.resized_size(width, height, max_pixels)
        factor = self.patch_size * self.merge_size
        return len(self._image_before), new_height // factor, new_width // factor

    def image_inputs(self, image: Image.Image, max_pixels: int | None) -> Prepared:
        """Patches, grid and prompt ids of one RGB image."""
        low, high = self.pixel_bounds(max_pixels)
        features = self.image_processor(
            images=[image], size={"shortest_edge": low, "longest_edge": high}, return_tensors="pt"
        )
        pixel_values = features["pixel_values"]  # (n_patches, 3 * temporal * patch * patch)
        grid_thw = features["image_grid_thw"]  # (1, 3)
        n_image_tokens = int(grid_thw.prod().item()) // (self.merge_size**2)
        ids = self._image_before + [self.image_token_id] * n_image_tokens + self._image_after
        return Prepared(
            cost=len(ids),
            group=IMAGE_GROUP,
            data={"ids": ids, "pixel_values": pixel_values, "grid_thw": grid_thw},
            nbytes=pixel_values.element_size() * pixel_values.nelement(),
        )

    # -- batches ---------------------------------------------------------------------------------
    def collate(self, batch: Sequence[Prepared], device: torch.device, dtype: torch.dtype) -> dict[str, torch.Tensor]:
        """Right-pad token ids into a batch; concatenate image patches in batch order."""
        longest = max(len(p.data["ids"]) for p in batch)
        input_ids = torch.full((len(batch), longest), self.pad_id, dtype=torch.long)  # (b, L)
        attention_mask = torch.zeros((len(batch), longest), dtype=torch.long)  # (b, L)
        for row, prepared in enumerate(batch):
            ids = prepared.data["ids"]
            input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
            attention_mask[row, : len(ids)] = 1
        inputs = {"input_ids": input_ids.to(device), "attention_mask": attention_mask.to(device)}
        if "pixel_values" in batch[0].data:
            inputs["pixel_values"] = torch.cat([p.data["pixel_values"] for p in batch]).to(
                device, dtype
            )  # (sum n_patches, patch_dim)
            inputs["image_grid_thw"] = torch.cat([p.data["grid_thw"] for p in batch]).to(device)  # (b, 3)
        return inputs
