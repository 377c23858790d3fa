"""Row helpers of the Ray pipeline: the stage before the encoders, file-listing detection, chunk-row tables.

Kept apart from the encoder so the per-block stage (:func:`prepare_rows`) and the encoder actors share one
definition of what a file listing is and how item columns are typed.
"""

from __future__ import annotations

import os
import re
from typing import Any

import pyarrow as pa
from ray.data.extensions import ArrowPythonObjectArray

from ..errors import OptionError
from ._columns import any_array, set_column

__all__ = ["prepare_rows"]


def _row_error(error: BaseException) -> str:
    """``"InputError: the item ..."``: the engine numbers items within one batch, which means nothing in a dataset."""
    return f"{type(error).__name__}: " + re.sub(r"^item \d+\b", "the item", str(error))


def prepare_rows(table: pa.Table, column: str, late_chunking: bool) -> pa.Table:
    """The per-block stage before the encoders: checks the columns and keeps item types mergeable.

    A file listing (a ``path`` column and no ``column``, or ``pathlib.Path`` items) passes as it is:
    the encoder actors cut files into chunks, since chunking needs the model's tokens. Bytes items are
    turned into Python objects (see :func:`_items_as_objects_if_bytes`).
    """
    names = table.column_names
    if column in names:
        return _items_as_objects_if_bytes(table, column)
    if "path" in names:
        return table
    raise OptionError(
        f"the dataset has no column {column!r} to embed (its columns: {names}); pass column=..., "
        "or a file listing with a 'path' column (ray.data.read_binary_files(..., include_paths=True))."
    )


def _items_as_objects_if_bytes(table: pa.Table, column: str) -> pa.Table:
    """Bytes items as Python objects: Ray merges string and binary blocks into binary (text would turn into
    bytes and fail as an image), but string and object blocks into objects, which keeps both."""
    dtype = table.schema.field(column).type
    if not (pa.types.is_binary(dtype) or pa.types.is_large_binary(dtype)):
        return table
    return set_column(table, column, ArrowPythonObjectArray.from_objects(table.column(column).to_pylist()))


def _is_file_value(value: Any) -> bool:
    return isinstance(value, os.PathLike)


def _is_listing(table: pa.Table, column: str) -> bool:
    """A file listing: a ``path`` column without the item column, or ``pathlib.Path`` items."""
    if column not in table.column_names:
        return "path" in table.column_names
    if _plain_type(table.schema.field(column).type):
        return False
    return any(_is_file_value(v) for v in table.column(column).to_pylist())


def _is_listing_output(table: pa.Table) -> bool:
    return "file_hash" in table.column_names


def _drop_image_bytes(table: pa.Table, column: str) -> pa.Table:
    """Image and page bytes of file chunks are not needed downstream (their ids are known): send nulls."""
    kinds = table.column("kind").to_pylist()
    ids = table.column("id").to_pylist()
    items = table.column(column).to_pylist()
    if not any(k == "image" and i is not None for k, i in zip(kinds, ids)):
        return table
    kept = [None if (k == "image" and i is not None) else v for k, i, v in zip(kinds, ids, items)]
    return set_column(table, column, _item_array(kept))


def _item_array(items: list[Any]) -> pa.Array:
    if all(v is None or isinstance(v, str) for v in items):
        return pa.array(items, type=pa.string())
    return ArrowPythonObjectArray.from_objects(items)


_TYPED = {
    "path": pa.string(),
    "source": pa.string(),
    "error": pa.string(),
    "chunk": pa.int64(),
    "id": pa.string(),
    "page": pa.int64(),
    "file_chunks": pa.int64(),
    "file_type": pa.string(),
    "file_hash": pa.string(),
    "chunking": pa.string(),
    "language": pa.string(),
    "section": pa.string(),
    "page_text": pa.string(),
    "lines": pa.list_(pa.int64()),
    "chars": pa.list_(pa.int64()),
    "late_chunking": pa.bool_(),
}


def _rows_table(rows: list[dict[str, Any]], column: str) -> pa.Table:
    keys: list[str] = [column]
    for r in rows:
        keys.extend(k for k in r if k not in keys)
    arrays = {
        k: (pa.array([r.get(k) for r in rows], type=_TYPED[k]) if k in _TYPED else any_array([r.get(k) for r in rows]))
        for k in keys
        if k != column
    }
    arrays[column] = _item_array([r.get(column) for r in rows])
    return pa.table({k: arrays[k] for k in keys})


def _plain_type(dtype: pa.DataType) -> bool:
    """Arrow types that cannot hold ``pathlib.Path`` objects (strings, bytes, numbers...)."""
    return not isinstance(dtype, pa.ExtensionType)
