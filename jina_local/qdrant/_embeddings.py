"""``add_embeddings``: precomputed vectors in, points out, with the checks ``add`` gets from the model.

Refused per point (reported in ``AddSummary.failures``, the rest stored): NaN, infinite or all-zero
dense vectors (a NaN point hides from dense search), malformed token vectors, an id that repeats an
earlier point of the same call, and payloads that are not JSON objects. Refused for the whole call:
shapes that do not fit the collection, task or kind names the model does not have (a bogus task
would break every later search), and texts or sources that are not strings. Task names may be Jina's
passage names (``"code.passage"`` -> ``code``); query-role names (``"retrieval.query"``) are refused:
stored points are documents.

Every finite, non-zero vector is stored scaled to unit length, its norm computed in float64 (token
vectors row by row): Qdrant's cosine normalises in float32, where a vector scaled by 1e38 overflows
and one scaled by 1e-30 underflows, and such points scored 0 against every query. Ids derived from the
vectors hash them as given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from ..errors import InputError, JinaLocalError, StoreConnectionError, TaskError
from ..inputs import TextInput
from ..options import check_positive_int
from ..routing import parse_document_task
from ._base import PointRecord
from ._points import build_payload, check_id, check_per_item, content_digest, point_id, vectors_digest
from ._results import AddSummary, ItemFailure
from ._search import KNOWN_TASKS

if TYPE_CHECKING:
    from .collection import MultiVectorCollection

__all__ = ["add_embeddings"]

KINDS = ("text", "code", "image")


def _per_point(value: Any, what: str, default: Any, n: int, error: type[JinaLocalError] = InputError) -> list[Any]:
    if value is None or isinstance(value, str):
        return [value if value is not None else default] * n
    if isinstance(value, (Mapping, set, frozenset, bytes, bytearray)) or not isinstance(value, Iterable):
        raise error(
            f"{what}={value!r} ({type(value).__name__}) is not valid: pass one string for every point, or a "
            "list with one string per point."
        )
    values = list(value)
    if len(values) != n:
        raise InputError(f"got {n} points but {len(values)} {what}; pass one per point or a single value.")
    return values


def _check_strings(values: list[Any], what: str) -> list[Any]:
    for i, value in enumerate(values):
        if value is not None and not isinstance(value, str):
            raise InputError(f"{what}[{i}]={value!r} is a {type(value).__name__}; pass a str (or None) per point.")
    return values


def _check_names(values: list[Any], valid: Sequence[str], what: str, error: type[JinaLocalError]) -> None:
    for i, value in enumerate(values):
        if value not in valid:
            raise error(f"{what}[{i}]={value!r} is not valid; use one of {', '.join(map(repr, valid))}.")


def _dense_problem(row: np.ndarray) -> str | None:
    if not np.isfinite(row).all():
        return "holds NaN or infinite values"
    if not row.any():
        return "is all zeros (it has no direction, so cosine search cannot rank it)"
    return None


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, norms taken in float64 (all-zero rows stay zero).

    Qdrant's cosine normalises in float32, where the squared norm of a vector scaled by 1e38 overflows
    and one scaled by 1e-30 underflows: such points would score 0 or ~1e-30 against every query.
    """
    wide = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(wide, axis=-1, keepdims=True)
    norms[norms == 0.0] = 1.0
    return (wide / norms).astype(np.float32)


def _multi_problem(tokens: np.ndarray) -> str | None:
    if tokens.ndim != 2 or tokens.shape[1] != 128 or tokens.shape[0] == 0:
        return f"has shape {tokens.shape}; expected (n_tokens>0, 128)"
    if not np.isfinite(tokens).all():
        return "holds NaN or infinite values"
    return None


def add_embeddings(
    collection: MultiVectorCollection,
    dense: Any,
    multi: Sequence[np.ndarray] | None,
    *,
    payloads: Sequence[Mapping[str, Any] | None] | None,
    ids: Sequence[str] | None,
    tasks: str | Sequence[str] | None,
    kinds: str | Sequence[str] | None,
    texts: Sequence[str | None] | None,
    sources: Sequence[str | None] | None,
    batch_size: int,
    progress: bool | None,
) -> AddSummary:
    """See :meth:`MultiVectorCollection.add_embeddings`."""
    collection._refuse_foreign_write("add_embeddings()")
    check_positive_int("batch_size", batch_size)
    if hasattr(dense, "dense") and hasattr(dense, "tasks"):  # an EncodeResult
        result = dense
        dense, multi = result.dense, multi if multi is not None else result.multi
        tasks = tasks if tasks is not None else list(result.tasks) or None
        kinds = kinds if kinds is not None else list(result.kinds) or None
    if dense is None:
        raise InputError("add_embeddings() needs dense vectors; encode with output='both' (or 'dense').")
    try:
        mat = np.asarray(dense, dtype=np.float32)  # (n, dense_dim)
    except (TypeError, ValueError) as exc:
        raise InputError(f"dense vectors must be a numeric (n, {collection.dense_dim}) array: {exc}") from None
    if mat.ndim != 2 or mat.shape[1] != collection.dense_dim:
        raise InputError(
            f"dense vectors must have shape (n, {collection.dense_dim}) for this collection, got {mat.shape}; "
            f"encode with dim={collection.dense_dim}."
        )
    n = mat.shape[0]
    if collection.has_multi:
        if multi is None or len(multi) != n:
            raise InputError(
                f"this collection stores multi-vectors: pass multi= with one (n_tokens, 128) array per point ({n})."
            )
    elif multi is not None:
        raise InputError("this collection is dense-only (multi=False); do not pass multi vectors.")
    model = collection.model
    default_task = model.info.default_task if model is not None else "retrieval"
    task_list = _per_point(tasks, "tasks", default_task, n, TaskError)
    task_list = [  # Jina's passage names -> their adapter; query-role names are refused
        parse_document_task(t, what=f"tasks[{i}]") if isinstance(t, str) else t for i, t in enumerate(task_list)
    ]
    _check_names(task_list, tuple(model.info.tasks) if model is not None else KNOWN_TASKS, "tasks", TaskError)
    kind_list = _per_point(kinds, "kinds", "text", n)
    _check_names(kind_list, KINDS, "kinds", InputError)
    text_list = _check_strings(_per_point(texts, "texts", None, n), "texts")
    source_list = _check_strings(_per_point(sources, "sources", None, n), "sources")
    check_per_item(payloads, "payloads", n, "point")
    check_per_item(ids, "ids", n, "point")

    summary = AddSummary(ids=[None] * n)
    first_of: dict[str, int] = {}
    records: list[PointRecord] = []
    show = n > batch_size if progress is None else progress
    with tqdm(total=n, desc=f"storing {collection.name}", unit="point", disable=not show) as bar:
        for i in range(n):
            try:
                record = _record(
                    collection, i, mat[i], multi, payloads, ids, task_list, kind_list, text_list, source_list
                )
                if record.id in first_of:
                    raise InputError(f"point {i} has the id {record.id} of point {first_of[record.id]} in this call.")
            except JinaLocalError as exc:
                summary.failures.append(ItemFailure(i, str(exc)))
                continue
            first_of[record.id] = i
            records.append(record)
            summary.ids[i] = record.id
            if len(records) >= batch_size:
                _flush(collection, records, task_list, kind_list, summary, first_of)
                bar.update(len(records))
                records = []
        if records:
            _flush(collection, records, task_list, kind_list, summary, first_of)
        bar.update(n - bar.n)
    return summary


def _record(
    collection: MultiVectorCollection, i: int, row: np.ndarray, multi: Any, payloads: Any, ids: Any,
    task_list: list[Any], kind_list: list[Any], text_list: list[Any], source_list: list[Any],
) -> PointRecord:  # fmt: skip
    problem = _dense_problem(row)
    if problem:
        raise InputError(f"dense vector {i} {problem}; store only finite, non-zero vectors.")
    tokens = None
    if collection.has_multi:
        tokens = np.asarray(multi[i], dtype=np.float32)  # (n_tokens, 128)
        problem = _multi_problem(tokens)
        if problem:
            raise InputError(f"multi-vector {i} {problem}.")
    user = payloads[i] if payloads is not None else None
    if user is not None and not isinstance(user, Mapping):
        raise InputError(f"payload {i} must be a dict (or None), got {type(user).__name__}.")
    source = str((user or {}).get("source") or source_list[i] or "")
    if ids is not None:
        pid = check_id(ids[i], i)
    elif text_list[i] is not None:
        pid = point_id(source, content_digest(TextInput(str(text_list[i]))))
    else:
        pid = point_id(source, vectors_digest(row, tokens))
    payload = build_payload(user, index=i, kind=str(kind_list[i]), task=str(task_list[i]), source=source,
                            text=text_list[i], point_id=pid)  # fmt: skip
    unit_tokens = None if tokens is None else _unit_rows(tokens)  # ids above hash the vectors as given
    return PointRecord(pid, _unit_rows(row), collection._pool(unit_tokens), payload)


def _flush(
    collection: MultiVectorCollection, records: list[PointRecord], task_list: list[Any], kind_list: list[Any],
    summary: AddSummary, first_of: dict[str, int],
) -> None:  # fmt: skip
    """Record the batch's tasks and kinds in the metadata first, then upsert (point by point on failure)."""
    indices = [first_of[r.id] for r in records]
    collection._record_written({str(task_list[i]) for i in indices}, {str(kind_list[i]) for i in indices})
    try:
        collection._backend.upsert(records)
        return
    except StoreConnectionError:
        raise  # the server is gone: no point can be stored, so say so once
    except Exception:  # noqa: BLE001 - find the point(s) the engine refuses
        pass
    for index, record in zip(indices, records):
        try:
            collection._backend.upsert([record])
        except Exception as exc:  # noqa: BLE001 - one point the engine refuses loses only itself
            summary.ids[index] = None
            summary.failures.append(ItemFailure(index, f"upsert failed: {type(exc).__name__}: {exc}"))
    summary.failures.sort(key=lambda f: f.index)
