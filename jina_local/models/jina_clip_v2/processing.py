"""jina-clip-v2 processing: the query prompt, tokenisation, and the image pipeline of the original.

Text (``reference/jina_clip_v2.md`` §2): ``tokenizer.json`` (XLM-R Unigram, ``<s> $A </s>``), truncated
to ``max_length`` tokens specials included; queries get the ``retrieval.query`` instruction, documents
none. Images (§3): torchvision ``Resize(size, BICUBIC)`` + ``CenterCrop(size)`` + ``ToTensor`` +
``Normalize`` reproduced with PIL and torch (torchvision is not a dependency): short side to ``size`` with
the long side truncated, centre crop with Python's ``round``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from PIL import Image

from ...errors import CheckpointError, OptionError
from .._checkpoint import read_json, reading
from .._text import capped_token_ids

if TYPE_CHECKING:
    from tokenizers import Tokenizer

__all__ = [
    "CLIP_MEAN",
    "CLIP_STD",
    "DEFAULT_MAX_LENGTH",
    "QUERY_PROMPT",
    "RESAMPLE",
    "ClipTextProcessor",
    "ImageSettings",
    "center_crop_box",
    "load_tokenizer",
    "normalize_pixels",
    "preprocess_image",
    "resized_size",
]

DEFAULT_MAX_LENGTH = 512
"""Default text truncation in tokens (specials included), as the official ``encode_text``; the tokenizer
allows up to ``model_max_length`` (8194). Override per call with ``encode(..., max_length=N)``."""

QUERY_PROMPT = "Represent the query for retrieving evidence documents: "
"""Instruction for queries (``task_instructions['retrieval.query']``), used when the config has none."""

MAX_POSITIONS = 8194
"""Position limit of the text tower (``max_position_embeddings``), the tokenizer's default cap."""

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}
"""``preprocessor_config.json`` interpolation names -> PIL resampling filters."""


def resized_size(width: int, height: int, size: int) -> tuple[int, int]:
    """``(new_width, new_height)`` with the short side ``size`` and the long side truncated, as torchvision.

    >>> resized_size(700, 513, 512)
    (698, 512)
    >>> resized_size(40, 900, 512)
    (512, 11520)
    """
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size, int(size * long / short)
    return (new_short, new_long) if width <= height else (new_long, new_short)


def center_crop_box(width: int, height: int, size: int) -> tuple[int, int, int, int]:
    """PIL crop box ``(left, top, right, bottom)`` of a centred ``size`` square; offsets use Python's round.

    >>> center_crop_box(698, 512, 512)
    (93, 0, 605, 512)
    >>> center_crop_box(512, 513, 512)
    (0, 0, 512, 512)
    """
    top = int(round((height - size) / 2.0))
    left = int(round((width - size) / 2.0))
    return left, top, left + size, top + size


def preprocess_image(image: Image.Image, size: int, *, interpolation: str = "bicubic") -> torch.Tensor:
    """RGB convert, short side to ``size`` (bicubic), centre crop -> ``(3, size, size)`` uint8 tensor.

    Normalisation happens on the device, batched, in :func:`normalize_pixels`.
    """
    if image.mode != "RGB":
        image = image.convert("RGB")
    new_size = resized_size(image.width, image.height, size)
    if new_size != image.size:
        image = image.resize(new_size, RESAMPLE[interpolation])
    if image.size != (size, size):
        image = image.crop(center_crop_box(image.width, image.height, size))
    array = np.asarray(image, dtype=np.uint8)  # (S, S, 3)
    return torch.from_numpy(array.copy()).permute(2, 0, 1)  # (3, S, S)


def normalize_pixels(
    pixels: torch.Tensor, mean: Sequence[float] = CLIP_MEAN, std: Sequence[float] = CLIP_STD
) -> torch.Tensor:
    """uint8 ``(b, 3, S, S)`` -> float32 ``(x / 255 - mean) / std``, as ToTensor + Normalize."""
    m = torch.tensor(mean, dtype=torch.float32, device=pixels.device).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32, device=pixels.device).view(1, 3, 1, 1)
    return (pixels.to(torch.float32).div(255.0) - m) / s  # (b, 3, S, S)


@dataclass(frozen=True)
class ImageSettings:
    """``preprocessor_config.json``: crop size, mean/std and interpolation."""

    size: int
    mean: tuple[float, ...] = CLIP_MEAN
    std: tuple[float, ...] = CLIP_STD
    interpolation: str = "bicubic"

    @classmethod
    def from_preprocessor_config(cls, path: Path, image_size: int) -> ImageSettings:
        """Read the file (defaults when absent); it must agree with the tower's ``image_size``."""
        fix = "Restore the unmodified file from jinaai/jina-clip-v2."
        raw: dict[str, Any] = read_json(path, "the image preprocessing config", fix) if path.is_file() else {}
        size = raw.get("size", image_size)
        if isinstance(size, dict):
            size = size.get("shortest_edge") or size.get("height")
        elif isinstance(size, (list, tuple)):
            size = size[0]
        mode, interpolation = raw.get("resize_mode", "shortest"), raw.get("interpolation", "bicubic")
        problems = []
        if int(size) != image_size:
            problems.append(f"size {size} differs from vision_config.image_size {image_size}")
        if mode != "shortest":
            problems.append(f"resize_mode {mode!r} (only 'shortest' is implemented)")
        if interpolation not in RESAMPLE:
            problems.append(f"interpolation {interpolation!r} (use 'bicubic' or 'bilinear')")
        if problems:
            raise CheckpointError(f"{path}: {'; '.join(problems)}.")
        mean = tuple(float(x) for x in raw.get("mean", raw.get("image_mean", CLIP_MEAN)))
        std = tuple(float(x) for x in raw.get("std", raw.get("image_std", CLIP_STD)))
        return cls(size=int(size), mean=mean, std=std, interpolation=str(interpolation))


def load_tokenizer(model_dir: Path, pad_id: int) -> tuple[Tokenizer, int]:
    """``tokenizer.json`` with no padding or truncation, and the cap from ``tokenizer_config.json``."""
    from tokenizers import Tokenizer

    path = model_dir / "tokenizer.json"
    if not path.is_file():
        raise CheckpointError(
            f"{model_dir} has no tokenizer.json; jina-local reads jina-clip-v2's fast tokenizer file. "
            "Download tokenizer.json from jinaai/jina-clip-v2 into this folder."
        )
    with reading(path, "the tokenizer", "Restore tokenizer.json from jinaai/jina-clip-v2."):
        tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    if tokenizer.token_to_id("<pad>") != pad_id:
        raise CheckpointError(
            f"{path}: '<pad>' has id {tokenizer.token_to_id('<pad>')}, but the text tower pads with id {pad_id}."
        )
    limit = MAX_POSITIONS
    tok_config = model_dir / "tokenizer_config.json"
    if tok_config.is_file():
        value = read_json(tok_config, "the tokenizer config", "Restore it from jinaai/jina-clip-v2.").get(
            "model_max_length"
        )
        if isinstance(value, int) and 2 <= value < 10**9:
            limit = value
    return tokenizer, int(limit)


class ClipTextProcessor:
    """Token ids of queries and documents; reads no mutable tokenizer state (thread-safe)."""

    def __init__(self, tokenizer: Tokenizer, *, query_prompt: str, max_positions: int, default_max_length: int) -> None:
        self.tokenizer = tokenizer
        self.query_prompt = query_prompt
        self.max_positions = max_positions
        self.default_max_length = default_max_length
        bos_id, eos_id = tokenizer.token_to_id("<s>"), tokenizer.token_to_id("</s>")
        if bos_id is None or eos_id is None:
            raise CheckpointError(
                "jina-clip-v2's tokenizer.json has no '<s>' or '</s>' token; restore it from jinaai/jina-clip-v2."
            )
        self.bos_id: int = bos_id
        self.eos_id: int = eos_id

    def _content_ids(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def check_max_length(self, max_length: int | None) -> int:
        """The cap of one call (specials included); refuses values the tower cannot take."""
        limit = self.default_max_length if max_length is None else max_length
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 3:
            raise OptionError(f"max_length={max_length!r} must be an integer >= 3 (it counts <s> and </s>).")
        if limit > self.max_positions:
            raise OptionError(
                f"max_length={max_length} exceeds jina-clip-v2's limit of {self.max_positions} tokens; "
                f"pass max_length<={self.max_positions}."
            )
        return limit

    def ids(self, text: str, max_length: int | None = None) -> list[int]:
        """``<s> content </s>`` with the content cut so the whole fits in ``max_length`` tokens."""
        limit = self.check_max_length(max_length)
        return [self.bos_id, *capped_token_ids(self._content_ids, text, limit - 2), self.eos_id]

    def prompted_ids(self, text: str, *, role: str, max_length: int | None) -> list[int]:
        return self.ids(self.query_prompt + text if role == "query" else text, max_length)

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        encoding = self.tokenizer.encode(text, add_special_tokens=False)
        return [(int(start), int(end)) for start, end in encoding.offsets]

    def late_chunk_tokens(self, text: str, *, role: str) -> tuple[list[int], list[tuple[int, int] | None]]:
        """``<s> [query prompt] text </s>`` ids (never truncated) and each id's span in ``text`` (``None``: prompt,
        specials)."""
        prompted = self.query_prompt + text if role == "query" else text
        shift = len(prompted) - len(text)
        encoding = self.tokenizer.encode(prompted, add_special_tokens=True)
        spans: list[tuple[int, int] | None] = [
            None if special or end <= shift else (max(start, shift) - shift, end - shift)
            for (start, end), special in zip(encoding.offsets, encoding.special_tokens_mask)
        ]
        return list(encoding.ids), spans
