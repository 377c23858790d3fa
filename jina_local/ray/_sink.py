"""``write_collection``: embedded rows -> a :class:`~jina_local.qdrant.MultiVectorCollection`, through a Ray ``Datasink``.

* The collection is created or validated once, on the driver, with ``MultiVectorCollection.open``'s
  rules: before anything runs when it exists already, else from the first block's schema (dense size,
  multi-vectors, and the model record the encoders put in the schema metadata).
* Write tasks open it without creating, turn rows into points by the collection's own rules (ids,
  payloads: :func:`jina_local.qdrant._ingest.item_point_id` / ``point_record``, the ones ``add``
  uses) and upsert ``upsert_batch`` points at a time. A transient error (connection, timeout, HTTP
  408/429/5xx, gRPC unavailable) is retried with backoff; past ``retries`` the task fails and Ray
  runs it again. Point ids are deterministic, so whatever part of a block was written before a
  failure is overwritten, never duplicated.
* A URL (a Qdrant server or cluster) takes many writers at once. A folder is a single-writer
  store: its write tasks run one at a time, on the driver's node. An open ``MultiVectorCollection``
  or ``QdrantClient`` (``:memory:`` too) lives in this process, so the driver writes into it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import ray
from qdrant_client import QdrantClient
from ray.data import Datasink
from ray.data.block import BlockAccessor

from ..errors import CollectionConfigError, OptionError
from ..qdrant import MultiVectorCollection
from ..token_pooling import pool_tokens
from ..types import ModelInfo
from ._columns import info_from_metadata, multi_array, set_column
from ._writer import (
    BlockWriter,
    RowFailure,
    TransientWriteError,
    WriteSummary,
    is_transient,
)

if TYPE_CHECKING:
    from ray.data.datasource.datasink import WriteResult

__all__ = [
    "CollectionDatasink",
    "RowFailure",
    "TransientWriteError",
    "WriteSummary",
    "is_transient",
    "write_collection",
]


class _RecordedModel:
    """Stands in for the Embedder in ``MultiVectorCollection.open``: its record, without weights."""

    def __init__(self, info: ModelInfo) -> None:
        self.info = info


class _Target:
    """Where the collection is and how to open it (plain values, so write tasks can take it).

    A URL and a folder take the same code from here on; what differs is the client only. For a URL
    :meth:`connect` builds a ``QdrantClient`` and ``MultiVectorCollection.open`` is given that client;
    a folder goes to ``MultiVectorCollection.open`` as it is (the embedded engine). (Ray's scheduling
    differs too: see :class:`CollectionDatasink`.) Tests on local Ray run the URL path with
    :meth:`connect` returning a local-mode client, since no Qdrant server runs there.
    """

    def __init__(self, location: str, name: str, api_key: str | None, timeout: int | None) -> None:
        self.location = location
        self.name = name
        self.api_key = api_key
        self.timeout = timeout

    @property
    def is_local(self) -> bool:
        return not self.location.startswith(("http://", "https://"))

    def connect(self) -> QdrantClient:
        """The client of a URL location: a Qdrant server or cluster."""
        return QdrantClient(url=self.location, api_key=self.api_key, timeout=self.timeout)

    @contextmanager
    def open(self, **kwargs: Any) -> Iterator[MultiVectorCollection]:
        """The collection, open for the ``with`` block (``kwargs``: ``MultiVectorCollection.open``'s)."""
        client = None if self.is_local else self.connect()
        try:
            with MultiVectorCollection.open(self.location if client is None else client, self.name, **kwargs) as store:
                yield store
        finally:
            if client is not None:
                client.close()

    def stored_metadata(self) -> dict[str, Any] | None:
        """The collection's record if it exists (nothing is created, the store is released again)."""
        from ..qdrant._locations import resolve_backend

        client = None if self.is_local else self.connect()
        try:
            store = resolve_backend(self.location if client is None else client, self.name, "auto", None, None)
            try:
                stored = store.read()
            finally:
                store.close()
        finally:
            if client is not None:
                client.close()
        return None if stored is None else dict(stored.metadata)


def _schema_dims(schema: pa.Schema | None) -> tuple[int | None, bool]:
    """``(dense size, has multi)`` read off a block schema."""
    if schema is None:
        return None, False
    dim = None
    if "dense" in schema.names:
        shape = getattr(schema.field("dense").type, "shape", None)
        if shape:
            dim = int(shape[-1])
    return dim, "multi" in schema.names


class CollectionDatasink(Datasink):
    """A Ray ``Datasink`` that upserts embedded rows into a jina-local collection (see the module doc).

    ``location``: a Qdrant URL (many writers) or a folder (one writer at a time, driver's node).
    ``create``: settings used if the collection is created (``MultiVectorCollection.open`` arguments).
    """

    def __init__(
        self,
        location: str,
        name: str,
        *,
        column: str = "item",
        model: ModelInfo | None = None,
        create: Mapping[str, Any] | None = None,
        api_key: str | None = None,
        timeout: int | None = None,
        upsert_batch: int = 64,
        retries: int = 5,
        backoff: float = 0.5,
    ) -> None:
        self.target = _Target(location, name, api_key, timeout)
        self.column = column
        self.model = model
        self.create = dict(create or {})
        self.upsert_batch = upsert_batch
        self.retries = retries
        self.backoff = backoff
        self.summary = WriteSummary()

    # ------------------------------------------------------------------ driver side
    def prepare(self, schema: pa.Schema | None) -> None:
        """Create the collection from the data's schema, or validate it (driver; called once per write)."""
        dim, has_multi = _schema_dims(schema)
        info = self.model or info_from_metadata(schema.metadata if schema is not None else None)
        asked = self.create.get("dense_dim")
        if dim is not None and asked is not None and asked != dim:
            raise OptionError(
                f"dense_dim={asked} was asked but the rows' dense vectors have {dim} dims; "
                f"embed with dim={asked}, or pass dense_dim={dim}."
            )
        multi = self.create.get("multi")
        if multi is None:
            multi = has_multi if schema is not None else None
        kwargs = {**self.create, "dense_dim": asked or dim, "multi": multi}
        with self.target.open(model=_RecordedModel(info) if info is not None else None, **kwargs) as store:
            self.summary.collection = store.backend_label

    def on_write_start(self, schema: pa.Schema | None = None) -> None:
        self.prepare(schema)

    def on_write_complete(self, write_result: WriteResult[Any]) -> None:
        for part in write_result.write_returns:
            self.summary.merge(json.loads(part))
        self.record(self.summary.tasks, self.summary.kinds)

    def record(self, tasks: Iterable[str], kinds: Iterable[str]) -> None:
        """Write the union of every writer's tasks/kinds into the collection record (writers race on it)."""
        with self.target.open(create=False) as store:
            store._record_written(set(tasks), set(kinds))

    # ------------------------------------------------------------------ write tasks
    def open_writer(self, collection: MultiVectorCollection) -> BlockWriter:
        return BlockWriter(
            collection, column=self.column, upsert_batch=self.upsert_batch, retries=self.retries, backoff=self.backoff
        )

    def write(self, blocks: Iterable[Any], ctx: Any) -> str:
        with self.target.open(create=False) as store:
            writer = self.open_writer(store)
            for block in blocks:
                writer.write_table(BlockAccessor.for_block(block).to_arrow())
            return json.dumps(writer.result())  # Ray keeps write returns in a one-row table: plain text

    @property
    def supports_distributed_writes(self) -> bool:
        return not self.target.is_local

    @property
    def min_rows_per_write(self) -> int | None:
        return 1024 if self.target.is_local else None  # each local write task opens the folder once

    def get_name(self) -> str:
        return "JinaLocalCollection"


def _pool_rows(table: pa.Table, factor: int) -> pa.Table:
    """Token pooling of the ``multi`` column (a CPU stage before the writers, parallel across tasks)."""
    if "multi" not in table.column_names or table.num_rows == 0:
        return table
    multi = BlockAccessor.for_block(table.select(["multi"])).to_batch_format("numpy")["multi"]
    pooled = [
        pool_tokens(np.asarray(m, dtype=np.float32), factor) if len(m) else np.asarray(m, np.float32) for m in multi
    ]
    return set_column(table, "multi", multi_array(pooled))


def write_collection(
    ds: ray.data.Dataset,
    location: str | os.PathLike[str] | QdrantClient | MultiVectorCollection,
    name: str | None = None,
    *,
    column: str = "item",
    model: Any = None,
    dense_dim: int | None = None,
    multi: bool | None = None,
    pool_factor: int | None = None,
    multi_dtype: str | None = None,
    on_disk: bool = False,
    dense_quantization: str | None = None,
    shard_number: int | None = None,
    replication_factor: int | None = None,
    write_consistency_factor: int | None = None,
    api_key: str | None = None,
    timeout: int | None = None,
    upsert_batch: int = 64,
    retries: int = 5,
    concurrency: int | None = None,
    max_task_retries: int = 3,
) -> WriteSummary:
    """Upsert the rows of an embedded dataset (from :func:`embed_dataset`) into collection ``name``.

    ``location``: a Qdrant server or cluster URL (``api_key``, ``timeout``; ``concurrency`` write
    tasks at once, default Ray's choice), a folder (the embedded engine: single-writer, so one write
    task at a time on the driver's node), or an open ``MultiVectorCollection`` / ``QdrantClient``
    in this process, which the driver writes into (``":memory:"`` as a string is refused: it would
    be gone when the write ends). The collection is created if missing (``dense_dim``, ``multi``,
    ``multi_dtype``, ``on_disk``, ``dense_quantization``, ``shard_number``, ``replication_factor``,
    ``write_consistency_factor`` as in ``MultiVectorCollection.open``; sizes default to the data's),
    else validated; ``model``
    (an Embedder or its ``ModelInfo``) is recorded, by default the one named in the rows' schema.
    ``pool_factor`` pools token vectors in a parallel CPU stage before the writers.

    Ids are the collection's (``uuid5(source, content)``, or an ``id`` column of any strings), so a
    re-run or a retried block overwrites instead of duplicating. Columns other than the item, vectors,
    ``task``/``kind``/``error``, ``id`` and ``bytes`` go into each point's metadata. Rows with an
    ``error`` are not stored and are listed in the summary.
    """
    for what, value in (("upsert_batch", upsert_batch), ("concurrency", concurrency)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise OptionError(f"{what}={value!r} must be a positive integer.")
    for what, value in (("retries", retries), ("max_task_retries", max_task_retries)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise OptionError(f"{what}={value!r} must be an integer >= 0.")
    info = getattr(model, "info", model)
    if info is not None and not isinstance(info, ModelInfo):
        raise OptionError(
            "model= takes a loaded Embedder or its ModelInfo (the record stored with the collection); "
            f"got {type(model).__name__}. Leave it out to use the record the encoders wrote."
        )
    create = {
        k: v
        for k, v in {
            "dense_dim": dense_dim,
            "multi": multi,
            "pool_factor": pool_factor,
            "multi_dtype": multi_dtype,
            "on_disk": on_disk,
            "dense_quantization": dense_quantization,
            "shard_number": shard_number,
            "replication_factor": replication_factor,
            "write_consistency_factor": write_consistency_factor,
        }.items()
        if v is not None
    }
    if isinstance(location, (MultiVectorCollection, QdrantClient)):
        from ._driver_write import write_in_process

        return write_in_process(
            ds, location, name, column=column, info=info, create=create, upsert_batch=upsert_batch, retries=retries
        )
    if not isinstance(location, (str, os.PathLike)):
        raise OptionError(
            f"location must be a Qdrant URL, a folder, a MultiVectorCollection or a QdrantClient, "
            f"got {type(location).__name__}."
        )
    loc = os.fspath(location)
    if loc == ":memory:":
        raise CollectionConfigError(
            "write_collection(':memory:') would write into a store that is gone when the write ends; open one "
            "you keep (MultiVectorCollection.open(':memory:', name, ...)) and pass it, or use a folder or a URL."
        )
    if not name:
        raise OptionError("write_collection() needs the collection name (name=...).")
    sink = CollectionDatasink(
        loc,
        name,
        column=column,
        model=info,
        create=create,
        api_key=api_key,
        timeout=timeout,
        upsert_batch=upsert_batch,
        retries=retries,
    )
    stored = sink.target.stored_metadata()
    if stored is not None:  # validate now, before any actor starts: a mismatch costs nothing
        sink.prepare(None)
        pool_factor = stored.get("pool_factor") if pool_factor is None else pool_factor
    if pool_factor is not None and pool_factor > 1:
        ds = ds.map_batches(
            _pool_rows,  # type: ignore[arg-type]  # ray's stub takes a one-argument fn; fn_kwargs passes the rest
            fn_kwargs={"factor": int(pool_factor)},
            batch_format="pyarrow",
            batch_size=None,
        )
    remote_args: dict[str, Any] = {"max_retries": max_task_retries, "retry_exceptions": [TransientWriteError]}
    ds.write_datasink(sink, ray_remote_args=remote_args, concurrency=1 if sink.target.is_local else concurrency)
    return sink.summary
