"""jina-embeddings-v4 on transformers' Qwen2.5-VL and peft, from the published checkpoint.

``processing`` (prompts, tokenisation, image resizing, collation) | ``modeling`` (backbone, projector,
pooling) | ``adapters`` (task LoRAs) | ``loading`` (key mapping, strict checks) | ``backend`` (the
:class:`~jina_local.models.base.ModelBackend` the engine drives). Facts: ``shared/reference/jina_v4.md``.
"""

from __future__ import annotations

from .backend import JinaV4Backend
from .loading import LEGACY_KEY_MAPPING, load_backend
from .modeling import JinaV4Model
from .processing import DEFAULT_MAX_LENGTH, IMAGE_PROMPT, JinaV4Processor, text_prompt

__all__ = [
    "DEFAULT_MAX_LENGTH",
    "IMAGE_PROMPT",
    "LEGACY_KEY_MAPPING",
    "JinaV4Backend",
    "JinaV4Model",
    "JinaV4Processor",
    "load_backend",
    "text_prompt",
]
