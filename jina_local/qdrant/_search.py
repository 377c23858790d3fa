"""Searching a collection: query encoding per task present, one engine call, fused per-task lists.

Every option is checked before any encoding: one query (a list of queries is refused, not silently
cut to its first item), task names the model knows, a valid mode, positive limits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from qdrant_client import models

from ..errors import CollectionConfigError, InputError, OptionError, TaskError
from ..inputs import is_single_item
from ..routing import parse_task
from ._base import QueryPlan, SearchMode
from ._points import parse_payload
from ._results import SearchHit
from .filters import and_filters, field_equals, tasks_in_filter
from .fusion import FUSION_DEPTH, Fusion, fuse

if TYPE_CHECKING:
    from .collection import MultiVectorCollection

__all__ = ["QueryVectors", "check_mode", "encode_query", "query_tasks", "search_text", "search_vectors", "wanted_tasks"]

MODES = ("two_stage", "multi", "dense")
FUSIONS = ("zscore", "rrf", "raw")
KNOWN_TASKS = ("retrieval", "text-matching", "code")


def check_mode(collection: MultiVectorCollection, mode: str | None) -> SearchMode:
    chosen = mode or ("two_stage" if collection.has_multi else "dense")
    if chosen not in MODES:
        raise OptionError(f"mode={mode!r} is not valid; use 'two_stage', 'multi' or 'dense'.")
    if chosen != "dense" and not collection.has_multi:
        raise CollectionConfigError(
            f"mode={chosen!r} needs multi-vectors, but {collection.name!r} is dense-only; use mode='dense'."
        )
    return cast(SearchMode, chosen)  # one of MODES, checked above


def wanted_tasks(collection: MultiVectorCollection, tasks: str | Sequence[str]) -> list[str]:
    """The task names ``tasks`` asks for (one name or a non-empty list), each one the model has."""
    if isinstance(tasks, (Mapping, bytes, bytearray)) or not isinstance(tasks, (str, Iterable)):
        raise TaskError(
            f"tasks={tasks!r} ({type(tasks).__name__}) is not valid: pass a task name such as 'retrieval', "
            "or a list of names (or None for every task present)."
        )
    names = [tasks] if isinstance(tasks, str) else list(tasks)
    if not names:
        raise TaskError(
            f"tasks={tasks!r} names no task, so nothing would be searched: pass a task name, a list of names, "
            f"or None for every task present (in {collection.name!r}: {', '.join(collection.tasks) or 'none yet'})."
        )
    model = collection.model
    valid = tuple(model.info.tasks) if model is not None else KNOWN_TASKS
    wanted = []
    for name in names:
        task = parse_task(name)[0] if isinstance(name, str) else None
        if task not in valid:
            raise TaskError(
                f"tasks={tasks!r}: {name!r} is not a task of this collection's model; valid: "
                f"{', '.join(map(repr, valid))} (present in {collection.name!r}: {', '.join(collection.tasks) or 'none yet'})."
            )
        wanted.append(task)
    return wanted


def query_tasks(
    collection: MultiVectorCollection, flt: models.Filter | None, tasks: str | Sequence[str] | None
) -> list[str | None]:
    """The tasks to encode the query with: those present, narrowed by the filter and ``tasks``."""
    if collection.is_foreign:  # another tool's points carry no task: one query encoding, no task filter
        return [None]
    wanted = None if tasks is None else wanted_tasks(collection, tasks)
    present: list[str] = list(collection.tasks)
    pinned = tasks_in_filter(flt)
    if pinned is not None:
        present = [t for t in present if t in pinned]
    if wanted is not None:
        present = [t for t in present if t in wanted]
    return list(present)


def _check_query(query: Any) -> Any:
    if query is None:
        raise InputError("search() needs a query: a text, or an image (PIL image, pathlib.Path, image bytes).")
    if not is_single_item(query):
        raise InputError(
            f"search() takes one query (a text or an image), got a {type(query).__name__}; "
            "call search() once per query."
        )
    return query


@dataclass(frozen=True)
class QueryVectors:
    """A query encoded for :func:`search_vectors`: the mode, the checked filter, and per task ``(dense, multi)``."""

    mode: SearchMode
    filter: models.Filter | None
    vectors: dict[str | None, tuple[Any, Any]]


def encode_query(
    collection: MultiVectorCollection, query: Any, *, mode: str | None, filter: Any,
    tasks: str | Sequence[str] | None,
) -> QueryVectors:  # fmt: skip
    """The model's part of :meth:`MultiVectorCollection.search`: check, then encode the query once per task.

    Touches only the collection's settings (not its store), so it may run while another thread searches.
    """
    model = collection._require_model("search()")
    query = _check_query(query)
    chosen = check_mode(collection, mode)
    flt = collection.filter(filter)
    output = {"two_stage": "both", "multi": "multi", "dense": "dense"}[chosen]
    dim = None if collection.dense_dim == model.info.dense_dim else collection.dense_dim
    vectors: dict[str | None, tuple[Any, Any]] = {}
    for task in query_tasks(collection, flt, tasks):
        res = model.encode_query(query, task=task, output=output, dim=dim, progress=False)
        vectors[task] = (res.dense[0] if res.dense is not None else None, res.multi[0] if res.multi else None)
    return QueryVectors(chosen, flt, vectors)


def search_text(
    collection: MultiVectorCollection, query: Any, limit: int, *, prefetch_limit: int | None, filter: Any,
    mode: SearchMode | None, tasks: str | Sequence[str] | None, fusion: Fusion,
) -> list[SearchHit]:  # fmt: skip
    """:meth:`MultiVectorCollection.search`: :func:`encode_query`, then :func:`search_vectors`."""
    collection._require_model("search()")
    _check_query(query)
    check_mode(collection, mode)
    check_limits(limit, prefetch_limit, fusion)
    encoded = encode_query(collection, query, mode=mode, filter=filter, tasks=tasks)
    if not encoded.vectors:
        return []
    return search_vectors(collection, encoded.vectors, limit, prefetch_limit, encoded.filter, encoded.mode, fusion)


def check_limits(limit: Any, prefetch_limit: Any, fusion: Any) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise OptionError(f"limit={limit!r} must be a positive integer.")
    if prefetch_limit is not None and (
        isinstance(prefetch_limit, bool) or not isinstance(prefetch_limit, int) or prefetch_limit < 1
    ):
        raise OptionError(f"prefetch_limit={prefetch_limit!r} must be a positive integer (or None).")
    if fusion not in FUSIONS:
        raise OptionError(f"fusion={fusion!r} is not valid; use 'zscore', 'rrf' or 'raw'.")


def _query_vectors(collection: MultiVectorCollection, dense: Any, multi: Any) -> tuple[Any, Any]:
    d = None if dense is None else np.asarray(dense, dtype=np.float32).reshape(-1)
    m = None if multi is None else np.asarray(multi, dtype=np.float32)
    if d is not None and d.shape[0] != collection.dense_dim:
        raise InputError(f"dense query vector has {d.shape[0]} dims; this collection stores {collection.dense_dim}.")
    if m is not None and (m.ndim != 2 or m.shape[1] != 128 or m.shape[0] == 0):
        raise InputError(f"query token vectors must have shape (n_tokens, 128), got {m.shape}.")
    for what, v in (("dense", d), ("multi", m)):
        if v is not None and not np.isfinite(v).all():
            raise InputError(f"the {what} query vector holds NaN or infinite values.")
    return d, m


def search_vectors(
    collection: MultiVectorCollection, per_task: dict[str | None, tuple[Any, Any]], limit: int,
    prefetch_limit: int | None, flt: models.Filter | None, mode: SearchMode, fusion: Fusion,
) -> list[SearchHit]:  # fmt: skip
    """One engine call with a plan per task (``task == t`` AND the user filter), then fusion."""
    check_limits(limit, prefetch_limit, fusion)
    depth = limit if len(per_task) == 1 or fusion != "zscore" else max(limit, FUSION_DEPTH)
    pre = max(prefetch_limit if prefetch_limit is not None else max(100, 10 * limit), depth)
    plans = []
    for task, (dense, multi) in per_task.items():
        d, m = _query_vectors(collection, dense, multi)
        task_filter = and_filters(field_equals("task", task), flt) if task is not None else flt
        plans.append(QueryPlan(mode=mode, limit=depth, dense=d, multi=m, prefetch_limit=pre, filter=task_filter))
    results = collection._backend.query_batch(plans)
    fused = fuse(dict(zip([str(t) for t in per_task], results)), fusion, limit)
    return [
        SearchHit(id=h.id, score=s, payload=parse_payload(h.payload).flat(), raw_score=h.score, stored=h.payload)
        for h, s in fused
    ]
