"""Exceptions raised by jina-local.

Every message says what was wrong and how to fix it. The tree::

    JinaLocalError
    ├── ModelNotFoundError        files of a model are not on disk and cannot be fetched
    ├── CheckpointError           files are there but do not match the published layout
    ├── UnsupportedModelError     a checkpoint of a family jina-local does not know
    ├── InputError (ValueError)   an item passed to encode() cannot be used
    │   └── DocumentError         a file cannot be read as a document (not text, corrupt or encrypted PDF)
    ├── TaskError (ValueError)    unknown task / adapter, or one the model does not have
    ├── DimensionError (ValueError)  a Matryoshka dim the model does not allow
    ├── OutputError (ValueError)  an output kind the model cannot produce
    └── CollectionConfigError     a Qdrant collection does not match the model or the request
"""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "CollectionConfigError",
    "DimensionError",
    "DocumentError",
    "InputError",
    "JinaLocalError",
    "ModelNotFoundError",
    "OutputError",
    "TaskError",
    "UnsupportedModelError",
]


class JinaLocalError(Exception):
    """Base class of every error jina-local raises on purpose."""


class ModelNotFoundError(JinaLocalError, FileNotFoundError):
    """The files of a model are neither in a folder, nor in the local Hugging Face cache, nor fetchable."""


class CheckpointError(JinaLocalError):
    """A checkpoint was found but its files do not match the published layout."""


class UnsupportedModelError(JinaLocalError):
    """The checkpoint belongs to a model family jina-local does not implement."""


class InputError(JinaLocalError, ValueError):
    """An item given to ``encode`` is of an unsupported type or cannot be read."""


class DocumentError(InputError):
    """A file cannot be read as a document: not text, a corrupt or encrypted PDF, unreadable, too large."""


class TaskError(JinaLocalError, ValueError):
    """The requested task (LoRA adapter) does not exist for this model."""


class DimensionError(JinaLocalError, ValueError):
    """The requested Matryoshka dimension is not one the model was trained for."""


class OutputError(JinaLocalError, ValueError):
    """The requested output (dense / multi) is not produced by this model."""


class CollectionConfigError(JinaLocalError):
    """An existing Qdrant collection does not match what was asked for; no data was touched."""
