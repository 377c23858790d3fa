"""``EncodeBatches``: the callable class the actor pool of :func:`~jina_local.ray.embed_dataset` runs."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pyarrow as pa

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
from ._rows import _drop_image_bytes, _is_file_value, _is_listing, _is_listing_output, _row_error, _rows_table

__all__ = ["EncodeBatches"]


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
