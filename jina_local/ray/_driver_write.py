"""``write_collection`` into a collection that lives in this process: the driver writes, batch by batch.

An open ``MultiVectorCollection`` or ``QdrantClient`` (``:memory:`` too) cannot travel to Ray's write
tasks, so the driver iterates the dataset and upserts with the same :class:`~jina_local.ray._writer.BlockWriter`
the write tasks use.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import ray
from qdrant_client import QdrantClient

from ..errors import CollectionConfigError, OptionError
from ..qdrant import MultiVectorCollection
from ..types import ModelInfo
from ._columns import info_from_metadata
from ._sink import CollectionDatasink, _pool_rows, _RecordedModel, _schema_dims
from ._writer import BlockWriter, WriteSummary

__all__ = ["write_in_process"]


def _write_here(ds: ray.data.Dataset, open_for: Any, sink: CollectionDatasink, batch_rows: int) -> WriteSummary:
    """The driver writes into a collection that lives in this process (``:memory:``, a given client).

    ``open_for(schema)`` returns the collection for the first batch's schema (created or validated).
    """
    collection: MultiVectorCollection | None = None
    writer: BlockWriter | None = None
    tables: Iterable[pa.Table] = ds.iter_batches(batch_format="pyarrow", batch_size=batch_rows)  # Arrow batches
    for table in tables:
        if writer is None:  # the first batch: collection and writer are set together
            collection = open_for(table.schema)
            writer = sink.open_writer(collection)
        writer.write_table(table)
    summary = WriteSummary(collection=collection.backend_label if collection is not None else "")
    if writer is not None and collection is not None:
        summary.merge(writer.result())
        collection._record_written(set(summary.tasks), set(summary.kinds))
    return summary


def _check_against(collection: MultiVectorCollection, schema: pa.Schema, asked: int | None) -> None:
    dim, has_multi = _schema_dims(schema)
    if dim is not None and dim != collection.dense_dim:
        raise CollectionConfigError(
            f"the rows' dense vectors have {dim} dims but {collection.name!r} stores {collection.dense_dim}; "
            f"embed with dim={collection.dense_dim}."
        )
    if asked is not None and asked != collection.dense_dim:
        raise CollectionConfigError(
            f"dense_dim={asked} was asked but {collection.name!r} stores {collection.dense_dim}."
        )
    if collection.has_multi and not has_multi:
        raise CollectionConfigError(
            f"{collection.name!r} stores multi-vectors but the rows have none; embed with output='both'."
        )


def write_in_process(
    ds: ray.data.Dataset,
    location: MultiVectorCollection | QdrantClient,
    name: str | None,
    *,
    column: str,
    info: ModelInfo | None,
    create: dict[str, Any],
    upsert_batch: int,
    retries: int,
) -> WriteSummary:
    sink = CollectionDatasink(
        ":memory:", name or "", column=column, model=info, create=create, upsert_batch=upsert_batch, retries=retries
    )
    if isinstance(location, MultiVectorCollection):
        if name is not None and name != location.name:
            raise OptionError(
                f"name={name!r} differs from the given collection's name {location.name!r}; leave it out."
            )
        given = location
        pool = given.pool_factor

        def open_for(schema: pa.Schema) -> MultiVectorCollection:
            _check_against(given, schema, create.get("dense_dim"))
            return given

        if pool and pool > 1:
            ds = ds.map_batches(
                _pool_rows,  # type: ignore[arg-type]  # ray's stub takes a one-argument fn; fn_kwargs passes the rest
                fn_kwargs={"factor": int(pool)},
                batch_format="pyarrow",
                batch_size=None,
            )
        return _write_here(ds, open_for, sink, batch_rows=1024)
    if not name:
        raise OptionError("write_collection(client, ...) needs the collection name (name=...).")
    client = location
    opened: list[MultiVectorCollection] = []

    def open_client(schema: pa.Schema) -> MultiVectorCollection:
        dim, has_multi = _schema_dims(schema)
        recorded = info or info_from_metadata(schema.metadata)
        kwargs = {**create, "dense_dim": create.get("dense_dim") or dim, "multi": create.get("multi", has_multi)}
        model = _RecordedModel(recorded) if recorded else None  # stands in for the Embedder: only .info is read
        store = MultiVectorCollection.open(client, name, model=model, **kwargs)  # type: ignore[arg-type]
        opened.append(store)
        return store

    pool = create.get("pool_factor")
    if pool is None and client.collection_exists(name):
        with MultiVectorCollection.open(client, name, create=False) as existing:
            pool = existing.pool_factor
    if pool and pool > 1:
        ds = ds.map_batches(
            _pool_rows,  # type: ignore[arg-type]  # ray's stub takes a one-argument fn; fn_kwargs passes the rest
            fn_kwargs={"factor": int(pool)},
            batch_format="pyarrow",
            batch_size=None,
        )
    try:
        return _write_here(ds, open_client, sink, batch_rows=1024)
    finally:
        for store in opened:
            store.close()
