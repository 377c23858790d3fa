"""``embed_dataset``: a Ray Data ``map_batches`` stage on an actor pool, one model per actor."""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np
import pyarrow as pa
import ray
from ray.data.extensions import ArrowPythonObjectArray

from ..errors import OptionError
from ..types import Encoded
from ._columns import (
    MULTI_DIM,
    any_array,
    dense_array,
    info_metadata,
    multi_array,
    set_column,
    string_array,
)

__all__ = ["EncodeBatches", "embed_dataset", "prepare_rows"]

_OUTPUTS = ("dense", "multi", "both", "auto")


def _positive(name: str, value: Any, *, allow_none: bool = True) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise OptionError(f"{name}={value!r} must be a positive integer" + (" or None." if allow_none else "."))


class EncodeBatches:
    """The callable class :func:`embed_dataset` runs on its actor pool (usable with ``map_batches`` directly).

    ``__init__`` loads the model once per actor (``jina_local.load(model, device=..., dtype=...)``).
    Each call takes a ``pyarrow.Table`` batch and returns it with the columns ``dense``, ``multi``,
    ``task``, ``kind`` and ``error`` (see :mod:`jina_local.ray._columns`), encoding the ``column``
    values through :meth:`Embedder.stream` (``errors="skip"``: length-sorted inside the batch,
    bounded memory, a failed row only gets its ``error``). Rows that arrive with ``error`` already
    set (files that could not be read) are passed on without encoding.
    """

    def __init__(
        self,
        model: str | os.PathLike[str],
        *,
        column: str = "item",
        output: str = "both",
        task: str | None = "auto",
        dim: int | None = None,
        late_chunking: bool = False,
        max_batch_size: int | None = None,
        device: str = "auto",
        dtype: str = "auto",
        files: dict[str, Any] | None = None,
    ) -> None:
        import jina_local

        self._model = jina_local.load(model, device=device, dtype=dtype)
        info = self._model.info
        if output == "auto":
            output = "both" if info.has_multi else "dense"
        self._column = column
        self._options: dict[str, Any] = {
            "role": "document",
            "task": task,
            "output": output,
            "dim": dim,
            "batch_size": max_batch_size,
            "errors": "skip",
        }
        if late_chunking:
            self._options["late_chunking"] = True
        self._late = late_chunking
        self._dense = output in ("dense", "both")
        self._multi = output in ("multi", "both")
        self._dim = dim or info.dense_dim
        self._metadata = info_metadata(info)
        self._files = dict(files or {})
        if not late_chunking:  # check the options against the model now, not on the first batch
            self._model.stream(iter(()), progress=False, **self._options).close()

    def __call__(self, table: pa.Table) -> pa.Table:
        late_docs: list[tuple[str, list[tuple[int, tuple[int, int]]]]] = []
        if _is_listing(table, self._column):
            table, late_docs = self._expand_files(table)
        elif self._column not in table.column_names:
            raise OptionError(
                f"the batch has no column {self._column!r} to embed (columns: {table.column_names}); "
                "pass column=... to embed_dataset."
            )
        elif self._late:
            items = table.column(self._column).to_pylist()
            prior = table.column("error").to_pylist() if "error" in table.column_names else [None] * len(items)
            return self._late_chunks(table, items, prior)
        items = table.column(self._column).to_pylist()
        prior = table.column("error").to_pylist() if "error" in table.column_names else [None] * len(items)
        results: list[Encoded | None] = [None] * len(items)
        errors = list(prior)
        late_rows = {row for _, pairs in late_docs for row, _ in pairs}
        todo = []
        for i, (item, error) in enumerate(zip(items, prior)):
            if error is None and item is None:
                errors[i] = f"the row's {self._column!r} value is null; nothing to embed"
            elif error is None and i not in late_rows:
                todo.append(i)
        if todo:
            options = {k: v for k, v in self._options.items() if k != "late_chunking"}
            for encoded in self._model.stream((items[i] for i in todo), progress=False, **options):
                row = todo[encoded.index]
                if encoded.error is not None:
                    errors[row] = _row_error(encoded.error)
                else:
                    results[row] = encoded
        self._late_spans(late_docs, results, errors)
        out = self._attach(table, results, errors)
        if "id" in out.column_names and _is_listing_output(out):
            out = _drop_image_bytes(out, self._column)
        return out

    def _expand_files(self, table: pa.Table) -> tuple[pa.Table, list[tuple[str, list[tuple[int, tuple[int, int]]]]]]:
        """File-listing rows -> chunk rows (documents layer, with this actor's model for the tokens)."""
        from ._files import file_chunks, listing_paths

        rows: list[dict[str, Any]] = []
        late: list[tuple[str, list[tuple[int, tuple[int, int]]]]] = []
        for row in table.to_pylist():
            path, data = listing_paths(row, self._column)
            extra = {k: v for k, v in row.items() if k not in ("bytes", "path", self._column)}
            if path is None:
                if self._column in row and not _is_file_value(row.get(self._column)):
                    rows.append(row)  # a plain item in a column that also holds paths
                else:
                    rows.append({**extra, self._column: None, "error": "the file listing has a row without a path"})
                continue
            got = file_chunks(path, data, self._model, late_chunking=self._late, **self._files)
            offset = len(rows)
            late += [(text, [(offset + r, chars) for r, chars in pairs]) for text, pairs in got.late]
            for chunk_row in got.rows:
                item = chunk_row.pop("item")
                rows.append({**extra, self._column: item, **chunk_row})
        return _rows_table(rows, self._column), late

    def _late_spans(
        self,
        docs: list[tuple[str, list[tuple[int, tuple[int, int]]]]],
        results: list[Encoded | None],
        errors: list[str | None],
    ) -> None:
        """Late chunking of files: each document's text chunks from one forward (``encode_spans``)."""
        if not docs:
            return
        from ..late_chunking import encode_spans

        output = "both" if self._dense and self._multi else ("dense" if self._dense else "multi")
        for text, pairs in docs:
            try:
                [res] = encode_spans(
                    self._model,
                    [(text, [chars for _, chars in pairs])],
                    output=output,
                    dim=self._options["dim"],
                    task=self._options["task"],
                    progress=False,
                )
            except Exception as exc:  # noqa: BLE001 - the document fails as a whole; the job goes on
                for row, _ in pairs:
                    errors[row] = _row_error(exc)
                continue
            for j, (row, _) in enumerate(pairs):
                bad = res.errors.get(j)
                if bad is not None:
                    errors[row] = _row_error(bad)
                    continue
                results[row] = Encoded(
                    row,
                    res.dense[j] if res.dense is not None else None,
                    res.multi[j] if res.multi is not None else None,
                    res.tasks[j],
                    res.kinds[j],
                )

    def _late_chunks(self, table: pa.Table, items: list[Any], prior: list[str | None]) -> pa.Table:
        """One row per document (a list of chunk texts) in, one row per chunk out."""
        take: list[int] = []
        chunk_items: list[Any] = []
        chunk_index: list[int] = []
        results: list[Encoded | None] = []
        errors: list[str | None] = []
        options = dict(self._options)
        options.pop("errors")
        for row, (chunks, error) in enumerate(zip(items, prior)):
            if isinstance(chunks, str) or not isinstance(chunks, (list, tuple)):
                chunks, error = (
                    [chunks],
                    error
                    or (
                        f"late_chunking=True needs a list of the document's chunk texts per row, got "
                        f"{type(chunks).__name__}"
                    ),
                )
            outcome: dict[int, Encoded] = {}
            if error is None and chunks:
                try:
                    res = self._model.encode(list(chunks), errors="skip", progress=False, **options)
                except Exception as exc:  # noqa: BLE001 - the whole document failed; the job goes on
                    error = f"{type(exc).__name__}: {exc}"
                else:
                    for i in range(len(chunks)):
                        bad = res.errors.get(i)
                        outcome[i] = Encoded(
                            i, res.dense[i] if res.dense is not None else None,
                            res.multi[i] if res.multi is not None else None,
                            res.tasks[i], res.kinds[i], bad)  # fmt: skip
            for i, chunk in enumerate(chunks or [None]):
                take.append(row)
                chunk_items.append(chunk)
                chunk_index.append(i)
                got = outcome.get(i)
                if got is None:
                    results.append(None)
                    errors.append(error or "the document has no chunks")
                elif got.error is not None:
                    results.append(None)
                    errors.append(error or _row_error(got.error))
                else:
                    results.append(got)
                    errors.append(None)
        out = table.take(pa.array(take, type=pa.int64())) if take else table.slice(0, 0)
        out = set_column(out, self._column, any_array(chunk_items))
        out = set_column(out, "chunk", pa.array(chunk_index, type=pa.int64()))
        if "source" in out.column_names:  # one document source -> one source per chunk (distinct ids)
            sources = out.column("source").to_pylist()
            out = set_column(
                out, "source", string_array([None if s is None else f"{s}#{i}" for s, i in zip(sources, chunk_index)])
            )
        return self._attach(out, results, errors)

    def _attach(self, table: pa.Table, results: list[Encoded | None], errors: list[str | None]) -> pa.Table:
        n = len(results)
        out = table.replace_schema_metadata({**(table.schema.metadata or {}), **self._metadata})
        if self._dense:
            dense = np.full((n, self._dim), np.nan, dtype=np.float32)  # (n, d); NaN rows = failed
            for i, r in enumerate(results):
                if r is not None and r.dense is not None:
                    dense[i] = r.dense
            out = set_column(out, "dense", dense_array(dense))
        if self._multi:
            empty = np.zeros((0, MULTI_DIM), np.float32)
            multi = [r.multi if r is not None and r.multi is not None else empty for r in results]
            out = set_column(out, "multi", multi_array(multi))
        out = set_column(out, "task", string_array([r.task if r is not None else None for r in results]))
        out = set_column(out, "kind", string_array([r.kind if r is not None else None for r in results]))
        return set_column(out, "error", string_array(errors))


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


def _pool_size(concurrency: int | tuple[int, int] | None, num_gpus: float) -> tuple[int, int]:
    if concurrency is None:
        if num_gpus > 0:
            gpus = ray.cluster_resources().get("GPU", 0) if ray.is_initialized() else 0
            size = max(1, int(gpus // num_gpus))
            return size, size
        return 1, 1
    if isinstance(concurrency, tuple) and len(concurrency) == 2:
        low, high = concurrency
        _positive("concurrency[0]", low, allow_none=False)
        _positive("concurrency[1]", high, allow_none=False)
        if low > high:
            raise OptionError(f"concurrency={concurrency!r}: the minimum is larger than the maximum.")
        return low, high
    _positive("concurrency", concurrency, allow_none=False)
    return int(concurrency), int(concurrency)


def embed_dataset(
    ds: ray.data.Dataset,
    model: str | os.PathLike[str],
    *,
    column: str = "item",
    output: str = "both",
    task: str | None = "auto",
    dim: int | None = None,
    late_chunking: bool = False,
    concurrency: int | tuple[int, int] | None = None,
    num_gpus: float | None = None,
    num_cpus: float = 1,
    batch_size: int = 256,
    max_batch_size: int | None = None,
    device: str = "auto",
    dtype: str = "auto",
    max_restarts: int | None = None,
    chunk_tokens: int | None = None,
    overlap_tokens: int | None = None,
    pdf_text: bool = False,
) -> ray.data.Dataset:
    """Embed the ``column`` of a Ray Dataset on an actor pool; returns the dataset with vector columns added.

    ``model``: a hub id or a folder that every actor can read (each actor loads it once). Items are
    text (``str``) or image file bytes; a file listing (``read_binary_files(..., include_paths=True)``,
    ``from_items([{"path": ...}])`` or ``pathlib.Path`` items) is cut by the documents layer inside the
    actors into the chunks ``index_files`` makes, with their locations and point ``id`` (PDFs become
    pages; see :mod:`jina_local.ray._files`).
    Added columns: ``dense`` (``output`` "dense"/"both"), ``multi`` ("multi"/"both"; ``"auto"``:
    "both" when the model makes token vectors, else "dense"), ``task``,
    ``kind``, ``error`` (null, or why the row failed: a bad row never stops the job).

    ``concurrency``: actors (an int, or ``(min, max)`` to autoscale; default one per GPU with
    ``num_gpus``, else 1). ``num_gpus``: GPUs per actor (default 1 when the cluster has GPUs, else 0).
    ``num_cpus``: CPUs reserved per actor (Ray also sizes the actor's torch threads by it).
    ``batch_size``: rows per actor call, the window the engine length-sorts into forwards of at most
    ``max_batch_size`` items under its token budget (more rows sort better; the engine bounds memory). ``late_chunking``: each row (or file) is one
    document whose chunks are encoded in one forward; output rows are its chunks (``chunk`` column).
    ``chunk_tokens`` / ``overlap_tokens`` / ``pdf_text``: how files are cut (as in ``index_files``).
    ``max_restarts``: how often a dead actor is restarted (and its batch retried) before the job fails;
    ``None`` keeps Ray Data's default, which restarts and retries without limit.
    """
    if hasattr(model, "info") and hasattr(model, "encode"):
        raise OptionError(
            "embed_dataset() needs the model's hub id or folder, not a loaded Embedder: each actor loads "
            "its own copy. Pass e.g. model.info.path."
        )
    if not isinstance(model, (str, os.PathLike)):
        raise OptionError(f"model must be a hub id or a folder path, got {type(model).__name__}.")
    if not isinstance(column, str) or not column:
        raise OptionError(f"column={column!r} must name the dataset column that holds the items.")
    if output not in _OUTPUTS:
        raise OptionError(f"output={output!r} is not valid; use 'dense', 'multi', 'both' or 'auto'.")
    _positive("batch_size", batch_size, allow_none=False)
    _positive("max_batch_size", max_batch_size)
    _positive("dim", dim)
    if max_restarts is not None and (
        isinstance(max_restarts, bool) or not isinstance(max_restarts, int) or max_restarts < 0
    ):
        raise OptionError(f"max_restarts={max_restarts!r} must be None or an integer >= 0.")
    if num_gpus is None:
        num_gpus = 1 if ray.is_initialized() and ray.cluster_resources().get("GPU", 0) >= 1 else 0
    if num_gpus < 0 or num_cpus < 0:
        raise OptionError(f"num_gpus={num_gpus!r} and num_cpus={num_cpus!r} must be >= 0.")
    low, high = _pool_size(concurrency, num_gpus)
    _positive("chunk_tokens", chunk_tokens)
    files: dict[str, Any] = {"pdf_text": bool(pdf_text)}
    if chunk_tokens is not None:
        files["chunk_tokens"] = chunk_tokens
    if overlap_tokens is not None:
        files["overlap_tokens"] = overlap_tokens
    restarts: dict[str, Any] = (
        {} if max_restarts is None else {"max_restarts": max_restarts, "max_task_retries": max_restarts}
    )
    prepared = ds.map_batches(
        prepare_rows,  # type: ignore[arg-type]  # ray's stub takes a one-argument fn; fn_kwargs passes the rest
        fn_kwargs={"column": column, "late_chunking": late_chunking},
        batch_format="pyarrow",
        batch_size=None,
    )
    return prepared.map_batches(
        EncodeBatches,
        fn_constructor_args=(os.fspath(model),),
        fn_constructor_kwargs={
            "column": column,
            "output": output,
            "task": task,
            "dim": dim,
            "late_chunking": late_chunking,
            "max_batch_size": max_batch_size,
            "device": device,
            "dtype": dtype,
            "files": files,
        },
        batch_format="pyarrow",
        batch_size=batch_size,
        compute=ray.data.ActorPoolStrategy(min_size=low, max_size=high),
        num_gpus=num_gpus,
        num_cpus=num_cpus,
        **restarts,
    )
