"""jina-local: Jina's multimodal embedding models, run locally.

>>> import jina_local
>>> model = jina_local.load("jinaai/jina-embeddings-v4")          # doctest: +SKIP
>>> model.encode_query("how many hours do cats sleep", dim=256)   # doctest: +SKIP
"""

from __future__ import annotations

from .embedder import Embedder
from .errors import (
    CheckpointError,
    CollectionConfigError,
    DimensionError,
    InputError,
    JinaLocalError,
    ModelNotFoundError,
    OutputError,
    TaskError,
    UnsupportedModelError,
)
from .inputs import image_reference
from .loading import hf_style_options, load
from .routing import paired_document_task, parse_task
from .types import EncodeResult, Kind, ModelInfo, Output, Role, Task

__version__ = "0.1.0"

__all__ = [
    "CheckpointError",
    "CollectionConfigError",
    "DimensionError",
    "Embedder",
    "EncodeResult",
    "InputError",
    "JinaLocalError",
    "Kind",
    "ModelInfo",
    "ModelNotFoundError",
    "Output",
    "OutputError",
    "Role",
    "Task",
    "TaskError",
    "UnsupportedModelError",
    "__version__",
    "hf_style_options",
    "image_reference",
    "load",
    "paired_document_task",
    "parse_task",
]
