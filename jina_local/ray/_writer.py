"""Rows -> points -> batched upserts with retries: the part of a write task that touches the store.

Points are built by the collection's own rules (:func:`jina_local.qdrant._ingest.item_point_id` /
``point_record``, the ones ``add`` uses; an ``id`` column of any strings maps through
``key_to_point_id``). Upserts go ``upsert_batch`` points at a time; a transient error is retried with
exponential backoff, and past ``retries`` :class:`TransientWriteError` makes Ray run the task again.
A point the store refuses for good is reported and skipped; the others of its batch are stored.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from ray.data.block import BlockAccessor

from ..errors import JinaLocalError, OptionError
from ..qdrant import MultiVectorCollection, PointPayload, key_to_point_id
from ..qdrant._base import PointRecord
from ..qdrant._ingest import item_point_id, point_record, upsert_records
from ._columns import OWN_COLUMNS

__all__ = ["MAX_REPORTED_FAILURES", "BlockWriter", "RowFailure", "TransientWriteError", "WriteSummary", "is_transient"]

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
        self.failures.extend(RowFailure(*f) for f in list(part.get("failures", []))[: max(room, 0)])
        self.tasks = sorted(set(self.tasks) | set(part.get("tasks", [])))
        self.kinds = sorted(set(self.kinds) | set(part.get("kinds", [])))


class TransientWriteError(JinaLocalError):
    """Upserts kept failing with transient errors after every retry; Ray runs the write task again."""


def is_transient(exc: BaseException) -> bool:
    """Whether an upsert error is worth retrying: network, timeouts, overload, server restarts."""
    if isinstance(exc, (ConnectionError, TimeoutError, TransientWriteError)):
        return True
    import httpx
    from qdrant_client.http.exceptions import (
        ResponseHandlingException,
        UnexpectedResponse,
    )

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


class BlockWriter:
    """Rows -> points -> batched upserts with retries, into one open collection (one per write task)."""

    def __init__(
        self, collection: MultiVectorCollection, *, column: str, upsert_batch: int, retries: int, backoff: float
    ) -> None:
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
            raise OptionError(
                "the collection stores multi-vectors but the rows have no 'multi' column; embed with output='both'."
            )
        meta_cols = [c for c in batch if c not in (*_NOT_PAYLOAD, self.column)]
        # metadata and ids as Arrow's Python values: ints stay ints where numpy would make NaN floats of nulls
        plain = {c: table.column(c).to_pylist() for c in (*meta_cols, "id") if c in table.column_names}
        items, dense = batch[self.column], batch["dense"]
        errors = batch.get("error")
        pending: list[tuple[PointRecord, str, str, str]] = []
        for i in range(len(items)):
            item = items[i]
            user = {c: _plain(plain[c][i]) for c in meta_cols if plain[c][i] is not None}  # null = absent
            where = _describe(user.get("source") or user.get("path"), item)
            error = errors[i] if errors is not None else None
            if error is not None:
                self._fail(where, str(error))
                continue
            try:
                task, kind = str(batch["task"][i]), str(batch["kind"][i])
                if "id" in plain and plain["id"][i] is not None:
                    given = _plain(plain["id"][i])
                    pid = key_to_point_id(given, i)
                    payload: Mapping[str, Any] = PointPayload(user, item_id=str(given))
                    source = str(user.get("source") or "")
                else:
                    source, pid = item_point_id(item, i, user)
                    payload = user
                multi = np.asarray(multi_col[i], dtype=np.float32) if multi_col is not None else None
                if multi is not None and (multi.ndim != 2 or multi.shape[0] == 0):
                    raise OptionError(f"its multi-vector has shape {multi.shape}; expected (n_tokens > 0, 128)")
                record = point_record(
                    item,
                    i,
                    user=payload,
                    source=source,
                    pid=pid,
                    dense=np.asarray(dense[i], dtype=np.float32),
                    multi=multi,
                    task=task,
                    kind=kind,
                )
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
