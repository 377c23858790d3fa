"""``MultiVectorCollection.copy_to``: move a collection between engines (embedded folder -> server, ...).

Points are copied with their vectors and payloads exactly as stored (pooled token vectors stay
pooled; nothing is re-encoded), after the collection's record (model, dims, tasks) has been written
to the target. Each page of source ids is checked against the target first, so a copy that was
interrupted resumes where it stopped; the end checks that every source point is in the target.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from qdrant_client import QdrantClient
from tqdm.auto import tqdm

from ..errors import CollectionConfigError, OptionError
from ._base import MULTI, PointRecord
from ._locations import MAX_POOL_FACTOR
from ._results import CopySummary
from ._scan import scroll_points

if TYPE_CHECKING:
    from .collection import MultiVectorCollection

__all__ = ["copy_collection"]


def _same_place(source: MultiVectorCollection, location: Any, name: str) -> bool:
    backend: Any = source._backend
    if name != source.name:
        return False
    if isinstance(location, QdrantClient):
        return getattr(backend, "client", None) is location
    root = getattr(backend, "root", None)
    if root is not None and isinstance(location, (str, os.PathLike)) and str(location) != ":memory:":
        return Path(location).expanduser().resolve() == Path(root).resolve()
    return False


def _record(raw: dict[str, Any], has_multi: bool) -> PointRecord:
    vector = raw.get("vector") or {}
    multi = np.asarray(vector[MULTI], dtype=np.float32) if has_multi else None
    return PointRecord(
        id=str(raw["id"]),
        dense=np.asarray(vector["dense"], dtype=np.float32),
        multi=multi,
        payload=dict(raw.get("payload") or {}),
    )


def _check_record(source: dict[str, Any], target: dict[str, Any], label: str) -> None:
    for key in ("model", "model_fingerprint"):
        mine, theirs = source.get(key), target.get(key)
        if mine is not None and theirs is not None and mine != theirs:
            raise CollectionConfigError(
                f"the target collection at {label} was built with {key}={theirs!r}, the source with {mine!r}; "
                "copy into another collection name (name=...). Nothing was copied."
            )


def copy_collection(
    source: MultiVectorCollection,
    location: Any,
    name: str | None,
    *,
    batch_size: int,
    overwrite: bool,
    progress: bool | None,
    open_kwargs: dict[str, Any],
) -> CopySummary:
    """Copy ``source`` to collection ``name`` at ``location`` (see ``MultiVectorCollection.copy_to``)."""
    if source.is_foreign:
        raise CollectionConfigError(
            f"{source.name!r} was written by another tool (opened with vector_name=); copy it with that tool, "
            "copy_to() copies jina-local collections."
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise OptionError(f"batch_size={batch_size!r} must be a positive integer.")
    if isinstance(location, (str, os.PathLike)) and os.fspath(location) == ":memory:":
        raise CollectionConfigError(
            "copy_to(':memory:') would copy into a client that is closed (and emptied) when the copy ends; "
            "pass a QdrantClient(':memory:') you keep, a folder, or a server URL."
        )
    target_name = name or source.name
    if _same_place(source, location, target_name):
        raise CollectionConfigError(
            f"copy_to() target is the source collection itself ({source.backend_label}); "
            "pass another location or name=."
        )
    stored = source._backend.read()
    multi_params = (stored.vectors.get(MULTI) if stored is not None else None) or {}
    kwargs = {
        "dense_dim": source.dense_dim,
        "multi": source.has_multi,
        "multi_dtype": multi_params.get("datatype") or None,
        # a factor above today's range (a collection from an earlier version) travels in the record below
        "pool_factor": source.pool_factor if (source.pool_factor or 1) <= MAX_POOL_FACTOR else None,
        **open_kwargs,
    }
    if kwargs["multi_dtype"] not in (None, "float32", "float16"):
        kwargs["multi_dtype"] = None
    target = type(source).open(location, target_name, model=None, **kwargs)
    try:
        _check_record(source._meta, target._meta, target.backend_label)
        before = target.count()
        merged = dict(source._meta)
        merged["tasks"] = sorted(set(source.tasks) | set(target.tasks))
        merged["kinds"] = sorted(set(source._meta.get("kinds", [])) | set(target._meta.get("kinds", [])))
        if before and int(target._meta.get("payload_layout") or 1) < int(merged.get("payload_layout") or 1):
            merged["payload_layout"] = target._meta.get("payload_layout")  # the target may hold older points
        target._meta = merged
        target._backend.set_metadata(dict(merged))  # the record first, then the points
        summary = CopySummary(target=target.backend_label, total=source.count())
        show = summary.total > batch_size if progress is None else progress
        with tqdm(total=summary.total, desc=f"copying {source.name}", unit="point", disable=not show) as bar:
            if overwrite:
                page: list[PointRecord] = []
                for raw in scroll_points(source._backend, None, batch_size, with_vectors=True):
                    page.append(_record(raw, source.has_multi))
                    if len(page) >= batch_size:
                        target._backend.upsert(page)
                        summary.copied += len(page)
                        bar.update(len(page))
                        page = []
                if page:
                    target._backend.upsert(page)
                    summary.copied += len(page)
                    bar.update(len(page))
            else:
                ids: list[str] = []
                for raw in scroll_points(source._backend, None, batch_size, with_vectors=False):
                    ids.append(str(raw["id"]))
                    if len(ids) >= batch_size:
                        _copy_missing(source, target, ids, summary)
                        bar.update(len(ids))
                        ids = []
                if ids:
                    _copy_missing(source, target, ids, summary)
                    bar.update(len(ids))
        after = target.count()
        done = summary.copied + summary.skipped
        if done != summary.total or after < summary.total or (before == 0 and after != summary.total):
            raise CollectionConfigError(
                f"copy to {target.backend_label} is incomplete: the source has {summary.total} points, "
                f"{done} were copied or found, the target holds {after} (it held {before} before). "
                "Run copy_to() again: it resumes and copies only what is missing."
            )
        return summary
    finally:
        target.close()


def _copy_missing(
    source: MultiVectorCollection, target: MultiVectorCollection, ids: list[str], summary: CopySummary
) -> None:
    present = {str(p["id"]) for p in target._backend.retrieve(ids, False)}
    missing = [i for i in ids if i not in present]
    summary.skipped += len(ids) - len(missing)
    if not missing:
        return
    records = [_record(raw, source.has_multi) for raw in source._backend.retrieve(missing, True)]
    if len(records) != len(missing):  # deleted from the source meanwhile: not an error of the copy
        summary.total -= len(missing) - len(records)
    target._backend.upsert(records)
    summary.copied += len(records)
