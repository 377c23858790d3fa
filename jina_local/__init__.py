"""jina-local: Jina's multimodal embedding models, run locally.

>>> import jina_local
>>> model = jina_local.load("jinaai/jina-embeddings-v4")          # doctest: +SKIP
>>> model.encode_query("how many hours do cats sleep", dim=256)   # doctest: +SKIP
"""

from __future__ import annotations

from .embedder import Embedder
from .engine import BatchEvent, EngineStats
from .errors import (
    ArgumentError,
    CheckpointError,
    CollectionConfigError,
    DimensionError,
    EncodingError,
    FetchError,
    FilterError,
    InputError,
    JinaLocalError,
    ModelNotFoundError,
    NotPicklableError,
    OptionError,
    OutputError,
    TaskError,
    UnsupportedModelError,
    URLNotAllowedError,
)
from .fetch import FetchPolicy
from .inputs import image_reference
from .kinds import detect_kind
from .loading import hf_style_options, load
from .routing import paired_document_task, parse_document_task, parse_task
from .types import Encoded, EncodeResult, ErrorMode, Kind, ModelInfo, Output, Role, Task

__version__ = "0.1.0"

__all__ = [
    "ArgumentError",
    "BatchEvent",
    "CheckpointError",
    "CollectionConfigError",
    "DimensionError",
    "Embedder",
    "EncodeResult",
    "Encoded",
    "EncodingError",
    "EngineStats",
    "ErrorMode",
    "FetchError",
    "FetchPolicy",
    "FilterError",
    "InputError",
    "JinaLocalError",
    "Kind",
    "ModelInfo",
    "ModelNotFoundError",
    "NotPicklableError",
    "OptionError",
    "Output",
    "OutputError",
    "Role",
    "Task",
    "TaskError",
    "URLNotAllowedError",
    "UnsupportedModelError",
    "__version__",
    "detect_kind",
    "hf_style_options",
    "image_reference",
    "load",
    "paired_document_task",
    "parse_document_task",
    "parse_task",
]
