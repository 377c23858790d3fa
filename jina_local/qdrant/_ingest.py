"""Streaming ingest: items -> ids -> (skip stored) -> ``Embedder.stream`` -> payloads -> pooled -> upserts.

The whole input goes through one :meth:`Embedder.stream`, so the engine sorts it by length across
windows instead of 16-item chunks, and points are upserted as results arrive. Token pooling runs in a
small thread pool beside the model worker, off its critical section. Every per-item failure — reading,
preparing, encoding, payload building, pooling or upserting one point — becomes an
:class:`ItemFailure` with the item's index; the other items are stored. Before a batch of points that
brings a new task or kind is upserted, the collection metadata is updated, so a killed run leaves a
collection that ``search`` can use and a re-run completes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from ..errors import EncodingError, InputError, JinaLocalError, StoreConnectionError
from ..inputs import TextInput, as_item_list, check_text, is_single_item, load_item, refuse_container
from ..routing import parse_document_task
from ._base import PointRecord
from ._points import build_payload, check_id, content_digest, point_id
from ._results import AddSummary, ItemFailure

if TYPE_CHECKING:
    from ..embedder import Embedder
    from ..types import Encoded, Output
    from .collection import MultiVectorCollection

__all__ = [
    "IngestPlan",
    "document_tasks",
    "ingest",
    "item_key",
    "item_point_id",
    "item_source",
    "point_record",
    "upsert_records",
]

UPSERT_BATCH = 64
"""Points per upsert while streaming."""
_EXISTING_CHECK = 256
"""Ids looked up per ``retrieve`` when skipping stored items."""


@dataclass(frozen=True)
class _Keyed:
    index: int
    item: Any
    source: str
    pid: str
    user: Mapping[str, Any] | None


@dataclass(frozen=True)
class IngestPlan:
    """What one ``add`` call needs besides its items."""

    model: Embedder
    output: Output
    dim: int | None
    task: str | None
    batch_size: int | None
    skip_existing: bool
    progress: bool | None
    pool: Callable[[np.ndarray], np.ndarray | None] | None
    retrieve: Callable[[list[str]], set[str]]
    upsert: Callable[[list[PointRecord]], None]
    record: Callable[[set[str], set[str]], None]
    label: str = "indexing"


def item_source(items: Any) -> Any:
    """``add``'s items as ``encode`` takes them: one item becomes a list of one, ordered iterables (generators
    too) pass as they are, and a mapping, a set, an open file or a numeric array is refused, since the
    results (and ``payloads`` / ``ids``, paired by position) would not line up with what was meant."""
    if items is None or is_single_item(items) or not isinstance(items, Iterable):
        return as_item_list(items, "add()")
    refuse_container(items, "add()")
    return items


def _length(items: Any) -> int | None:
    try:
        return len(items)
    except TypeError:
        return None


def _bytes_digest(data: bytes) -> str:
    return hashlib.sha256(b"image-bytes\x00" + data).hexdigest()


def item_key(item: Any, index: int) -> tuple[str, str]:
    """``(source, content digest)`` of one item without decoding it.

    Text: SHA-256 of the text (as ``content_digest``). Image files, image bytes and ``data:image/``
    URIs: SHA-256 of the encoded bytes. PIL images: their RGB pixels. Anything unreadable raises the
    typed error ``load_item`` would raise.
    """
    if isinstance(item, str):
        check_text(item, index)  # a lone surrogate is a typed error, not a UnicodeEncodeError
        if item[:11].lower() == "data:image/":
            header, _, payload = item.partition(",")
            try:
                return "", _bytes_digest(base64.b64decode(payload.strip()))
            except (binascii.Error, ValueError):
                load_item(item, index)  # raises the typed error
        return "", content_digest(TextInput(item))
    if isinstance(item, os.PathLike):
        path = Path(item)
        try:
            return str(path), _bytes_digest(path.read_bytes())
        except OSError as exc:
            raise InputError(f"item {index} is a path to '{path}', which cannot be read: {exc}") from exc
    if isinstance(item, (bytes, bytearray, memoryview)):
        return "", _bytes_digest(bytes(item))
    if isinstance(item, Image.Image):
        return "", content_digest(load_item(item, index))
    if isinstance(item, io.IOBase) or hasattr(item, "read"):
        raise InputError(f"item {index} is a file object; pass its bytes (f.read()) or a pathlib.Path.")
    _refuse_framework_object(item, index)
    load_item(item, index)  # raises the typed error for unsupported types
    raise InputError(f"item {index} ({type(item).__name__}) cannot be stored.")  # pragma: no cover


def document_tasks(task: Any, model: Embedder) -> Any:
    """``add``'s ``task`` (one name or one per item) as adapters; query-role names are a ``TaskError``."""
    if task is None or isinstance(task, str):
        return parse_document_task(task, model.info)
    return [parse_document_task(t, model.info, what=f"task[{i}]") for i, t in enumerate(task)]


def _refuse_framework_object(item: Any, index: int) -> None:
    """A LangChain ``Document`` or a LlamaIndex node: say which store takes it (recognised by module, no import)."""
    package = str(type(item).__module__).split(".", 1)[0]
    name = type(item).__name__
    if package in ("langchain_core", "langchain") and hasattr(item, "page_content"):
        raise InputError(
            f"item {index} is a LangChain {name}; MultiVectorCollection.add() takes texts and images. Store "
            "Documents with langchain_jina_local.JinaLocalVectorStore(collection=...).add_documents(docs) "
            "(it keeps their metadata and ids), or pass [d.page_content for d in docs] with "
            "payloads=[d.metadata for d in docs]."
        )
    if package == "llama_index" and hasattr(item, "get_content"):
        raise InputError(
            f"item {index} is a LlamaIndex {name}; MultiVectorCollection.add() takes texts and images. Store "
            "nodes with llama_index.vector_stores.jina_local.JinaLocalVectorStore(collection=...).add(nodes) "
            "(it keeps their metadata, relationships and ids), or pass their texts with payloads=[metadata]."
        )


def item_point_id(item: Any, index: int, user: Mapping[str, Any] | None = None, id: Any = None) -> tuple[str, str]:
    """``(source, point id)`` of one item by the collection's rules (what ``add`` stores it under).

    ``source`` is ``user["source"]`` when given, else the item's own (a path's name, or ``""``); the id
    is ``id`` (a UUID) when given, else ``uuid5(source, content digest)``. Unreadable items raise the
    typed error. Used by ``add`` and by :mod:`jina_local.ray`, so both store an item under one id.
    """
    source, digest = item_key(item, index)
    source = str((user or {}).get("source") or source)
    pid = check_id(id, index) if id is not None else point_id(source, digest)
    return source, pid


def point_record(
    item: Any,
    index: int,
    *,
    user: Mapping[str, Any] | None,
    source: str,
    pid: str,
    dense: np.ndarray,
    multi: np.ndarray | None,
    task: str,
    kind: str,
) -> PointRecord:
    """The point ``add`` stores for one encoded item: vectors plus the layout-2 payload (text or image field)."""
    text = item if isinstance(item, str) and kind != "image" else None
    payload = build_payload(user, index=index, kind=kind, task=task, source=source, text=text,
                            image=(source or None) if kind == "image" else None, point_id=pid)  # fmt: skip
    return PointRecord(pid, dense, multi, payload)


def upsert_records(
    collection: MultiVectorCollection, records: list[PointRecord], tasks: set[str], kinds: set[str]
) -> None:
    """Record new tasks/kinds in the collection metadata, then upsert ``records`` (as ``add`` does per batch)."""
    collection._record_written(tasks, kinds)
    collection._backend.upsert(records)


def _keyed_items(
    items: Iterable[Any],
    payloads: Sequence[Mapping[str, Any] | None] | None,
    ids: Sequence[Any] | None,
    summary: AddSummary,
) -> Iterator[_Keyed]:
    for index, item in enumerate(items):
        summary.ids.append(None)
        try:
            user = payloads[index] if payloads is not None else None
            if user is not None and not isinstance(user, Mapping):
                raise InputError(f"payload {index} must be a dict (or None), got {type(user).__name__}.")
            source, pid = item_point_id(item, index, user)
            if ids is not None:
                pid = check_id(ids[index], index)
        except JinaLocalError as exc:
            summary.failures.append(ItemFailure(index, str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 - one bad item loses only itself
            summary.failures.append(ItemFailure(index, f"{type(exc).__name__}: {exc}"))
            continue
        yield _Keyed(index, item, source, pid, user)


def _skip_stored(keyed: Iterator[_Keyed], plan: IngestPlan, summary: AddSummary) -> Iterator[_Keyed]:
    """Drop items whose id is already stored, looking ids up a few hundred at a time."""
    group: list[_Keyed] = []

    def flush() -> Iterator[_Keyed]:
        stored = plan.retrieve([k.pid for k in group])
        for k in group:
            if k.pid in stored:
                summary.ids[k.index] = k.pid
                summary.skipped.append(k.index)
            else:
                yield k
        group.clear()

    for k in keyed:
        group.append(k)
        if len(group) >= _EXISTING_CHECK:
            yield from flush()
    if group:
        yield from flush()


def ingest(
    items: Iterable[Any],
    payloads: Sequence[Mapping[str, Any] | None] | None,
    ids: Sequence[Any] | None,
    plan: IngestPlan,
    workers: ThreadPoolExecutor,
) -> AddSummary:
    """Run one ``add``; see the module docstring."""
    summary = AddSummary(ids=[])
    keyed: Iterator[_Keyed] = _keyed_items(items, payloads, ids, summary)
    if plan.skip_existing:
        keyed = _skip_stored(keyed, plan, summary)
    order: deque[_Keyed] = deque()  # keyed items handed to the stream, in the order it yields them

    def feed() -> Iterator[Any]:
        for k in keyed:
            order.append(k)
            yield k.item

    results = plan.model.stream(
        feed(), role="document", task=plan.task, output=plan.output, dim=plan.dim,
        batch_size=plan.batch_size, errors="skip", progress=False,
    )  # fmt: skip
    total = _length(items)
    show = plan.progress if plan.progress is not None else total is None or total > UPSERT_BATCH
    bar = tqdm(total=total, desc=plan.label, unit="item", disable=not show)
    pending: list[tuple[_Keyed, Encoded, Future[np.ndarray | None] | None]] = []
    for encoded in results:
        k = order.popleft()
        bar.update(k.index + 1 - bar.n)  # failed and skipped items before it count as handled
        if encoded.error is not None:
            summary.failures.append(ItemFailure(k.index, str(encoded.error)))
            continue
        pooled = workers.submit(plan.pool, encoded.multi) if plan.pool and encoded.multi is not None else None
        pending.append((k, encoded, pooled))
        if len(pending) >= UPSERT_BATCH:
            _write(pending, plan, summary)
            pending = []
    if pending:
        _write(pending, plan, summary)
    bar.update(len(summary.ids) - bar.n)
    bar.close()
    summary.failures.sort(key=lambda f: f.index)
    summary.skipped.sort()
    return summary


def _write(
    pending: list[tuple[_Keyed, Encoded, Future[np.ndarray | None] | None]], plan: IngestPlan, summary: AddSummary
) -> None:
    """Build payloads and points, record new tasks/kinds in the metadata, then upsert (one by one on failure)."""
    records: list[tuple[int, PointRecord, str, str]] = []
    for k, encoded, pooled in pending:
        try:
            multi = pooled.result() if pooled is not None else encoded.multi
            if encoded.dense is None:  # add() always asks for the dense vector; an item without one fails alone
                raise EncodingError(f"item {k.index} came back without its dense vector.")
            task, kind = str(encoded.task), str(encoded.kind)
            record = point_record(
                k.item,
                k.index,
                user=k.user,
                source=k.source,
                pid=k.pid,
                dense=encoded.dense,
                multi=multi,
                task=task,
                kind=kind,
            )
            records.append((k.index, record, task, kind))
        except Exception as exc:  # noqa: BLE001 - payload or pooling failures lose only this item
            summary.failures.append(
                ItemFailure(
                    k.index, f"{type(exc).__name__}: {exc}" if not isinstance(exc, JinaLocalError) else str(exc)
                )
            )
    if not records:
        return
    plan.record({r[2] for r in records}, {r[3] for r in records})
    try:
        plan.upsert([r[1] for r in records])
        written = records
    except StoreConnectionError:
        raise  # the server is gone: no point can be stored, so say so once
    except Exception:  # noqa: BLE001 - find the point(s) the engine refuses
        written = []
        for entry in records:
            try:
                plan.upsert([entry[1]])
                written.append(entry)
            except Exception as exc:  # noqa: BLE001 - one point the engine refuses loses only itself
                summary.failures.append(ItemFailure(entry[0], f"upsert failed: {type(exc).__name__}: {exc}"))
    for index, record, _, _ in written:
        summary.ids[index] = record.id
