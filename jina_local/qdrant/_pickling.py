"""Pickling and copying a ``MultiVectorCollection``: reopened from where it lives, never copied.

A collection is a handle on stored points, like a database connection. A pickle carries how to
open it again -- the location (an absolute folder path or a server URL), the name, the engine, the
connection options (``api_key`` included: treat such a pickle as a secret) and the model's name,
device, dtype and revision, reloaded once per process with ``jina_local.load(..., shared=True)`` --
and neither points nor weights. ``copy.deepcopy`` shares the collection, as it would a connection.

Not picklable, with a :class:`~jina_local.errors.NotPicklableError` saying what to do: a
``":memory:"`` collection and one opened over a ``QdrantClient`` object (both exist only in this
process). An embedded-engine folder has one writer: unpickle it where the original is closed (another
process, or after ``close()``), else the reopen is a ``CollectionLockedError``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qdrant_client import QdrantClient

from ..errors import NotPicklableError
from ._base import Backend

if TYPE_CHECKING:
    from ..embedder import Embedder
    from .collection import MultiVectorCollection

__all__ = ["ReopenSpec", "reduce_collection", "reopen_spec"]


@dataclass(frozen=True)
class ReopenSpec:
    """How to open a collection again: what ``MultiVectorCollection.open`` needs besides the model."""

    location: str
    name: str
    backend: str
    api_key: str | None = None
    timeout: int | None = None
    vector_name: str | None = None


def reopen_spec(
    location: Any, backend: Backend, name: str, *, api_key: str | None, timeout: int | None, vector_name: str | None
) -> ReopenSpec | None:
    """The spec to reopen a collection opened at ``location``; ``None`` where it exists only in this process."""
    if isinstance(location, QdrantClient):
        return None
    loc = os.fspath(location)
    if loc == ":memory:":
        return None
    if not loc.startswith(("http://", "https://")):
        loc = str(Path(loc).expanduser().resolve())  # another working directory finds the same folder
    from ._edge_backend import EdgeBackend

    engine = "edge" if isinstance(backend, EdgeBackend) else "client"
    return ReopenSpec(loc, name, engine, api_key=api_key, timeout=timeout, vector_name=vector_name)


def _model_spec(model: Embedder | None) -> tuple[str, str, str, str | None] | None:
    if model is None:
        return None
    info = model.info
    return (info.name, info.device, info.dtype, info.revision)


def reduce_collection(collection: MultiVectorCollection) -> tuple[Any, tuple[Any, ...]]:
    """``__reduce__`` of a collection: reopen it from its spec, or refuse by name."""
    spec: ReopenSpec | None = getattr(collection, "_reopen", None)
    if spec is None:
        raise NotPicklableError(
            f"collection {collection.name!r} ({collection.backend_label}) exists only in this process, so it "
            "cannot be pickled: open it from a folder or a Qdrant server URL to pickle it (a pickle reopens it "
            "there), or copy it there first with collection.copy_to(folder_or_url)."
        )
    shape = {} if spec.vector_name is not None else {"dense_dim": collection.dense_dim, "multi": collection.has_multi}
    return _reopen, (spec, _model_spec(collection.model), shape)


def _reopen(
    spec: ReopenSpec, model_spec: tuple[str, str, str, str | None] | None, shape: dict[str, Any]
) -> MultiVectorCollection:
    from ..loading import load
    from .collection import MultiVectorCollection

    model = None
    if model_spec is not None:
        name, device, dtype, revision = model_spec
        model = load(name, device=device, dtype=dtype, revision=revision, shared=True)  # one copy per process
    return MultiVectorCollection.open(
        spec.location,
        spec.name,
        model=model,
        backend=spec.backend,  # type: ignore[arg-type]
        api_key=spec.api_key,
        timeout=spec.timeout,
        vector_name=spec.vector_name,
        create=False,
        **shape,
    )
