"""How embeddings travel in Ray Data blocks (Arrow), and the model record carried beside them.

* ``dense``: a fixed-shape tensor column (Ray's ``ArrowTensorTypeV2``, shape ``(d,)``, float32);
  rows of failed items are NaN, as in :class:`~jina_local.EncodeResult`.
* ``multi``: a variable-shaped tensor column (Ray's ``ArrowVariableShapedTensorType``, one
  ``(n_tokens, 128)`` float32 array per row; numpy batches hold an object array of them); failed
  rows hold a ``(0, 128)`` array.
* ``task``, ``kind``: strings (null for failed rows); ``error``: null, or why the row failed.

Every block the encoder returns carries the model's record (name, fingerprint, dims) in its Arrow
schema metadata under ``jina_local.model``, so :func:`~jina_local.ray.write_collection` can create the
collection with the model recorded without loading the model on the driver.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, fields
from typing import Any

import numpy as np
import pyarrow as pa
from ray.data.extensions import (
    ArrowPythonObjectArray,
    ArrowTensorArray,
    ArrowVariableShapedTensorArray,
)

from ..types import ModelInfo

__all__ = [
    "MODEL_METADATA_KEY",
    "MULTI_DIM",
    "OWN_COLUMNS",
    "any_array",
    "dense_array",
    "info_from_metadata",
    "info_metadata",
    "multi_array",
    "set_column",
    "string_array",
]

MODEL_METADATA_KEY = b"jina_local.model"
MULTI_DIM = 128
OWN_COLUMNS = ("dense", "multi", "task", "kind", "error")
"""The columns :func:`~jina_local.ray.embed_dataset` adds (``multi``/``dense`` only when asked for)."""


def info_metadata(info: ModelInfo) -> dict[bytes, bytes]:
    """Schema metadata naming the model that made a block's vectors."""
    return {MODEL_METADATA_KEY: json.dumps(asdict(info)).encode()}


def info_from_metadata(metadata: dict[bytes, bytes] | None) -> ModelInfo | None:
    """The :class:`ModelInfo` recorded by :func:`info_metadata`, or ``None``."""
    raw = (metadata or {}).get(MODEL_METADATA_KEY)
    if not raw:
        return None
    data = json.loads(raw)
    known = {f.name for f in fields(ModelInfo)}
    values: dict[str, Any] = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items() if k in known}
    return ModelInfo(**values)


def dense_array(dense: np.ndarray) -> pa.Array:
    """``(n, d)`` float32 -> a fixed-shape tensor column."""
    return ArrowTensorArray.from_numpy(np.ascontiguousarray(dense, dtype=np.float32))


def multi_array(multi: Sequence[np.ndarray]) -> pa.Array:
    """One ``(t_i, 128)`` array per row -> a variable-shaped tensor column (also for zero rows)."""
    if not multi:  # Ray cannot build an empty ragged array directly
        return ArrowVariableShapedTensorArray.from_numpy([np.zeros((0, MULTI_DIM), np.float32)]).slice(0, 0)
    return ArrowVariableShapedTensorArray.from_numpy([np.asarray(m, dtype=np.float32) for m in multi])


def string_array(values: Sequence[str | None]) -> pa.Array:
    return pa.array(list(values), type=pa.string())


def any_array(values: Sequence[Any]) -> pa.Array:
    """Values of one column: Arrow's own type when it has one, else Ray's pickled-object column (mixed str/bytes)."""
    try:
        return pa.array(list(values))
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        return ArrowPythonObjectArray.from_objects(list(values))


def set_column(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    """Replace column ``name`` (or append it), keeping the schema metadata."""
    metadata = table.schema.metadata
    index = table.schema.get_field_index(name)
    out = table.set_column(index, name, values) if index >= 0 else table.append_column(name, values)
    return out.replace_schema_metadata(metadata) if metadata else out
