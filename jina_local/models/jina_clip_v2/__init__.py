"""jina-clip-v2, natively: Jina-XLM-RoBERTa text tower + EVA02-L/14 vision tower, no remote code.

``processing`` (query prompt, tokenisation, the image pipeline) | ``text_tower`` and ``eva02``
(modelling) | ``loading`` (key renaming, LoRA merge, strict checks) | ``backend`` (the
:class:`~jina_local.models.base.ModelBackend` the engine drives). Facts: ``reference/jina_clip_v2.md``.
Both towers emit vectors in one shared space; no projection heads; output L2-normalised.
"""

from __future__ import annotations

from .backend import JinaClipV2Backend
from .eva02 import Eva02Config, Eva02VisionTower
from .loading import LoadReport, load_backend
from .processing import (
    CLIP_MEAN,
    CLIP_STD,
    DEFAULT_MAX_LENGTH,
    QUERY_PROMPT,
    center_crop_box,
    normalize_pixels,
    preprocess_image,
    resized_size,
)
from .text_tower import TEXT_ROPE_THETA

__all__ = [
    "CLIP_MEAN",
    "CLIP_STD",
    "DEFAULT_MAX_LENGTH",
    "QUERY_PROMPT",
    "TEXT_ROPE_THETA",
    "Eva02Config",
    "Eva02VisionTower",
    "JinaClipV2Backend",
    "LoadReport",
    "center_crop_box",
    "load_backend",
    "normalize_pixels",
    "preprocess_image",
    "resized_size",
]
