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
import math
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import ray
from qdrant_client import QdrantClient
from ray.data import Datasink
from ray.data.block import BlockAccessor

from ..errors import CollectionConfigError, JinaLocalError, OptionError
from ..qdrant import MultiVectorCollection, PointPayload, key_to_point_id
from ..qdrant._base import PointRecord
from ..qdrant._ingest import item_point_id, point_record, upsert_records
from ..token_pooling import pool_tokens
from ..types import ModelInfo
from ._columns import OWN_COLUMNS, info_from_metadata, multi_array, set_column

if TYPE_CHECKING:
    from ray.data.datasource.datasink import WriteResult

__all__ = ["CollectionDatasink", "RowFailure", "TransientWriteError", "WriteSummary", "is_transient",
           "write_collection"]

MAX_REPORTED_FAILURES = 1000
"""Failed rows listed one by one in a :class:`WriteSummary` (the rest are counted)."""
_NOT_PAYLOAD = (*OWN_COLUMNS, "id", "bytes")
_TRANSIENT_STATUS = (408, 425, 429, 500, 502, 503, 504)


@dataclass(frozen=True)
class RowFailure:
    """A row that was not stored: where it came from (its ``source``, ``path`` or a text preview) and why."""

    source: str
    error: str


@dataclass
class WriteSummary:
    """What :func:`write_collection` stored."""

    written: int = 0
    """Points upserted (a re-run of the same rows overwrites them: ids are deterministic)."""
    failed: int = 0
    """Rows not stored: rows that failed to embed (their ``error`` column) and points the store refused."""
    failures: list[RowFailure] = field(default_factory=list)
    """The first :data:`MAX_REPORTED_FAILURES` failed rows."""
    tasks: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    collection: str = ""
    """Where the points went (engine and location)."""

    @property
    def ok(self) -> bool:
        """Whether every row was stored."""
        return self.failed == 0

    def merge(self, part: Mapping[str, Any]) -> None:
        self.written += int(part.get("written", 0))
        self.failed += int(part.get("failed", 0))
        room = MAX_REPORTED_FAILURES - len(self.failures)
        self.failures.extend(RowFailure(*f) for f in list(part.get("failures", []))[:max(room, 0)])
        self.tasks = sorted(set(self.tasks) | set(part.get("tasks", [])))
        self.kinds = sorted(set(self.kinds) | set(part.get("kinds", [])))


class TransientWriteError(JinaLocalError):
    """Upserts kept failing with transient errors after every retry; Ray runs the write task again."""


def is_transient(exc: BaseException) -> bool:
    """Whether an upsert error is worth retrying: network, timeouts, overload, server restarts."""
    if isinstance(exc, (ConnectionError, TimeoutError, TransientWriteError)):
        return True
    import httpx
    from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

    if isinstance(exc, (httpx.TransportError, ResponseHandlingException)):
        return True
    if isinstance(exc, UnexpectedResponse):
        return exc.status_code in _TRANSIENT_STATUS
    code = getattr(exc, "code", None)  # grpc.RpcError
    if callable(code):
        try:
            name = str(getattr(code(), "name", ""))
        except Exception:  # noqa: BLE001 - not a gRPC error after all
            return False
        return name in ("UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED")
    return False


class _RecordedModel:
    """Stands in for the Embedder in ``MultiVectorCollection.open``: its record, without weights."""

    def __init__(self, info: ModelInfo) -> None:
        self.info = info


def _plain(value: Any) -> Any:
    """A payload value Qdrant can store (JSON): numpy scalars and arrays become Python values, NaN None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return None  # raw bytes are not JSON; keep the column out of the payload
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _describe(row_source: Any, item: Any) -> str:
    if row_source:
        return str(row_source)
    if isinstance(item, str):
        return repr(item[:60] + ("..." if len(item) > 60 else ""))
    return f"<{type(item).__name__} item>"


class _Target:
    """Where the collection is and how to open it (plain values, so write tasks can take it)."""

    def __init__(self, location: str, name: str, api_key: str | None, timeout: int | None) -> None:
        self.location = location
        self.name = name
        self.api_key = api_key
        self.timeout = timeout

    @property
    def is_local(self) -> bool:
        return not self.location.startswith(("http://", "https://"))

    def open(self, **kwargs: Any) -> MultiVectorCollection:
        return MultiVectorCollection.open(self.location, self.name, api_key=self.api_key, timeout=self.timeout,
                                          **kwargs)

    def stored_metadata(self) -> dict[str, Any] | None:
        """The collection's record if it exists (nothing is created, the store is released again)."""
        from ..qdrant._locations import resolve_backend

        store = resolve_backend(self.location, self.name, "auto", self.api_key, self.timeout)
        try:
            stored = store.read()
        finally:
            store.close()
        return None if stored is None else dict(stored.metadata)


class _BlockWriter:
    """Rows -> points -> batched upserts with retries, into one open collection (one per write task)."""

    def __init__(self, collection: MultiVectorCollection, *, column: str, upsert_batch: int, retries: int,
                 backoff: float) -> None:
        self.collection = collection
        self.column = column
        self.upsert_batch = upsert_batch
        self.retries = retries
        self.backoff = backoff
        self.stats: dict[str, Any] = {"written": 0, "failed": 0, "failures": [], "tasks": set(), "kinds": set()}

    def _fail(self, source: str, error: str) -> None:
        self.stats["failed"] += 1
        if len(self.stats["failures"]) < MAX_REPORTED_FAILURES:
            self.stats["failures"].append((source, error))

    def write_table(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        batch = BlockAccessor.for_block(table).to_batch_format("numpy")
        if self.column not in batch or "dense" not in batch:
            raise OptionError(
                f"write_collection() needs the columns {self.column!r} and 'dense' (got {sorted(batch)}); "
                "embed the dataset with embed_dataset(..., output='both') first."
            )
        multi_col = batch.get("multi") if self.collection.has_multi else None
        if self.collection.has_multi and multi_col is None:
            raise OptionError("the collection stores multi-vectors but the rows have no 'multi' column; "
                              "embed with output='both'.")
        meta_cols = [c for c in batch if c not in (*_NOT_PAYLOAD, self.column)]
        items, dense = batch[self.column], batch["dense"]
        errors = batch.get("error")
        pending: list[tuple[PointRecord, str, str, str]] = []
        for i in range(len(items)):
            item = items[i]
            user = {c: _plain(batch[c][i]) for c in meta_cols}
            where = _describe(user.get("source") or user.get("path"), item)
            error = errors[i] if errors is not None else None
            if error is not None:
                self._fail(where, str(error))
                continue
            try:
                task, kind = str(batch["task"][i]), str(batch["kind"][i])
                if "id" in batch and batch["id"][i] is not None:
                    given = _plain(batch["id"][i])
                    pid = key_to_point_id(given, i)
                    payload: Mapping[str, Any] = PointPayload(user, item_id=str(given))
                    source = str(user.get("source") or "")
                else:
                    source, pid = item_point_id(item, i, user)
                    payload = user
                multi = np.asarray(multi_col[i], dtype=np.float32) if multi_col is not None else None
                if multi is not None and (multi.ndim != 2 or multi.shape[0] == 0):
                    raise OptionError(f"its multi-vector has shape {multi.shape}; expected (n_tokens > 0, 128)")
                record = point_record(item, i, user=payload, source=source, pid=pid,
                                      dense=np.asarray(dense[i], dtype=np.float32), multi=multi, task=task, kind=kind)
            except Exception as exc:  # noqa: BLE001 - one bad row loses only itself
                self._fail(where, f"{type(exc).__name__}: {exc}")
                continue
            pending.append((record, task, kind, where))
            if len(pending) >= self.upsert_batch:
                self._flush(pending)
                pending = []
        if pending:
            self._flush(pending)

    def _upsert(self, records: list[PointRecord], tasks: set[str], kinds: set[str]) -> None:
        """One upsert, retried with exponential backoff while the error is transient."""
        for attempt in range(self.retries + 1):
            try:
                self._send(records, tasks, kinds)
                return
            except Exception as exc:
                if not is_transient(exc):
                    raise
                if attempt == self.retries:
                    raise TransientWriteError(
                        f"upserting {len(records)} points into {self.collection.backend_label} failed "
                        f"{self.retries + 1} times: {type(exc).__name__}: {exc}"
                    ) from exc
                time.sleep(min(self.backoff * (2**attempt), 30.0))

    def _send(self, records: list[PointRecord], tasks: set[str], kinds: set[str]) -> None:
        upsert_records(self.collection, records, tasks, kinds)

    def _flush(self, pending: list[tuple[PointRecord, str, str, str]]) -> None:
        tasks, kinds = {p[1] for p in pending}, {p[2] for p in pending}
        try:
            self._upsert([p[0] for p in pending], tasks, kinds)
            written = pending
        except TransientWriteError:
            raise  # the whole task is retried by Ray
        except Exception:  # noqa: BLE001 - find the point(s) the store refuses, keep the others
            written = []
            for entry in pending:
                try:
                    self._upsert([entry[0]], {entry[1]}, {entry[2]})
                    written.append(entry)
                except TransientWriteError:
                    raise
                except Exception as exc:  # noqa: BLE001 - this point only
                    self._fail(entry[3], f"upsert failed: {type(exc).__name__}: {exc}")
        self.stats["written"] += len(written)
        self.stats["tasks"] |= {p[1] for p in written}
        self.stats["kinds"] |= {p[2] for p in written}

    def result(self) -> dict[str, Any]:
        out = dict(self.stats)
        out["tasks"], out["kinds"] = sorted(out["tasks"]), sorted(out["kinds"])
        return out


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

    def __init__(self, location: str, name: str, *, column: str = "item", model: ModelInfo | None = None,
                 create: Mapping[str, Any] | None = None, api_key: str | None = None, timeout: int | None = None,
                 upsert_batch: int = 64, retries: int = 5, backoff: float = 0.5) -> None:
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
            raise OptionError(f"dense_dim={asked} was asked but the rows' dense vectors have {dim} dims; "
                              f"embed with dim={asked}, or pass dense_dim={dim}.")
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
    def open_writer(self, collection: MultiVectorCollection) -> _BlockWriter:
        return _BlockWriter(collection, column=self.column, upsert_batch=self.upsert_batch, retries=self.retries,
                            backoff=self.backoff)

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
    pooled = [pool_tokens(np.asarray(m, dtype=np.float32), factor) if len(m) else np.asarray(m, np.float32)
              for m in multi]
    return set_column(table, "multi", multi_array(pooled))


def _write_here(ds: ray.data.Dataset, open_for: Any, sink: CollectionDatasink, batch_rows: int) -> WriteSummary:
    """The driver writes into a collection that lives in this process (``:memory:``, a given client).

    ``open_for(schema)`` returns the collection for the first batch's schema (created or validated).
    """
    collection: MultiVectorCollection | None = None
    writer: _BlockWriter | None = None
    for table in ds.iter_batches(batch_format="pyarrow", batch_size=batch_rows):
        if collection is None:
            collection = open_for(table.schema)
            writer = sink.open_writer(collection)
        writer.write_table(table)  # type: ignore[union-attr]
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
        raise CollectionConfigError(f"dense_dim={asked} was asked but {collection.name!r} stores {collection.dense_dim}.")
    if collection.has_multi and not has_multi:
        raise CollectionConfigError(f"{collection.name!r} stores multi-vectors but the rows have none; "
                                    "embed with output='both'.")


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
    ``multi_dtype``, ``on_disk``, ``dense_quantization``, ``shard_number``, ``replication_factor``
    as in ``MultiVectorCollection.open``; sizes default to the data's), else validated; ``model``
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
        raise OptionError("model= takes a loaded Embedder or its ModelInfo (the record stored with the collection); "
                          f"got {type(model).__name__}. Leave it out to use the record the encoders wrote.")
    create = {k: v for k, v in {"dense_dim": dense_dim, "multi": multi, "pool_factor": pool_factor,
                                "multi_dtype": multi_dtype, "on_disk": on_disk,
                                "dense_quantization": dense_quantization, "shard_number": shard_number,
                                "replication_factor": replication_factor}.items() if v is not None}
    if isinstance(location, (MultiVectorCollection, QdrantClient)):
        return _write_in_process(ds, location, name, column=column, info=info, create=create,
                                 upsert_batch=upsert_batch, retries=retries)
    if not isinstance(location, (str, os.PathLike)):
        raise OptionError(f"location must be a Qdrant URL, a folder, a MultiVectorCollection or a QdrantClient, "
                          f"got {type(location).__name__}.")
    loc = os.fspath(location)
    if loc == ":memory:":
        raise CollectionConfigError(
            "write_collection(':memory:') would write into a store that is gone when the write ends; open one "
            "you keep (MultiVectorCollection.open(':memory:', name, ...)) and pass it, or use a folder or a URL."
        )
    if not name:
        raise OptionError("write_collection() needs the collection name (name=...).")
    sink = CollectionDatasink(loc, name, column=column, model=info, create=create, api_key=api_key, timeout=timeout,
                              upsert_batch=upsert_batch, retries=retries)
    stored = sink.target.stored_metadata()
    if stored is not None:  # validate now, before any actor starts: a mismatch costs nothing
        sink.prepare(None)
        pool_factor = stored.get("pool_factor") if pool_factor is None else pool_factor
    if pool_factor is not None and pool_factor > 1:
        ds = ds.map_batches(_pool_rows, fn_kwargs={"factor": int(pool_factor)}, batch_format="pyarrow", batch_size=None)
    remote_args: dict[str, Any] = {"max_retries": max_task_retries, "retry_exceptions": [TransientWriteError]}
    ds.write_datasink(sink, ray_remote_args=remote_args, concurrency=1 if sink.target.is_local else concurrency)
    return sink.summary


def _write_in_process(ds: ray.data.Dataset, location: MultiVectorCollection | QdrantClient, name: str | None, *,
                      column: str, info: ModelInfo | None, create: dict[str, Any], upsert_batch: int,
                      retries: int) -> WriteSummary:
    sink = CollectionDatasink(":memory:", name or "", column=column, model=info, create=create,
                              upsert_batch=upsert_batch, retries=retries)
    if isinstance(location, MultiVectorCollection):
        if name is not None and name != location.name:
            raise OptionError(f"name={name!r} differs from the given collection's name {location.name!r}; leave it out.")
        given = location
        pool = given.pool_factor

        def open_for(schema: pa.Schema) -> MultiVectorCollection:
            _check_against(given, schema, create.get("dense_dim"))
            return given

        if pool and pool > 1:
            ds = ds.map_batches(_pool_rows, fn_kwargs={"factor": int(pool)}, batch_format="pyarrow", batch_size=None)
        return _write_here(ds, open_for, sink, batch_rows=1024)
    if not name:
        raise OptionError("write_collection(client, ...) needs the collection name (name=...).")
    client = location
    opened: list[MultiVectorCollection] = []

    def open_client(schema: pa.Schema) -> MultiVectorCollection:
        dim, has_multi = _schema_dims(schema)
        recorded = info or info_from_metadata(schema.metadata)
        kwargs = {**create, "dense_dim": create.get("dense_dim") or dim, "multi": create.get("multi", has_multi)}
        store = MultiVectorCollection.open(client, name, model=_RecordedModel(recorded) if recorded else None, **kwargs)
        opened.append(store)
        return store

    pool = create.get("pool_factor")
    if pool is None and client.collection_exists(name):
        with MultiVectorCollection.open(client, name, create=False) as existing:
            pool = existing.pool_factor
    if pool and pool > 1:
        ds = ds.map_batches(_pool_rows, fn_kwargs={"factor": int(pool)}, batch_format="pyarrow", batch_size=None)
    try:
        return _write_here(ds, open_client, sink, batch_rows=1024)
    finally:
        for store in opened:
            store.close()
