"""Collections jina-local did not write: other tools' dense-only collections, and folders of the wrong engine.

* A collection written by langchain-qdrant (one unnamed vector, or ``vector_name``) or llama-index
  (``""`` or ``"text-dense"``) has no ``dense`` / ``multi`` named vectors. Opening it normally is
  refused with :func:`foreign_advice`; ``MultiVectorCollection.open(..., vector_name=...)`` opens it
  read-only for dense search through :class:`ForeignBackend`.
* A folder written by the embedded engine (qdrant-edge-py) cannot be read by
  ``QdrantClient(path=...)``: qdrant-client's local mode has its own storage format and sees an
  empty folder. :func:`check_client_path` says so instead of letting a user create an empty
  collection there.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from qdrant_client import QdrantClient, models

from ..errors import CollectionConfigError
from ._base import Backend, QueryPlan, RawHit, StoredConfig
from ._client_backend import _DENSE_QUERY, ClientBackend, _query_vector

if TYPE_CHECKING:
    from ..embedder import Embedder
    from .collection import MultiVectorCollection

__all__ = ["ForeignBackend", "check_client_path", "foreign_advice", "open_foreign"]


def _describe(vectors: dict[str, dict[str, Any]]) -> str:
    parts = []
    for name, params in sorted(vectors.items()):
        label = "one unnamed vector" if name == "" else f"vector {name!r}"
        extra = ", multi-vector" if params.get("comparator") else ""
        parts.append(f"{label} of size {params.get('size')} ({params.get('distance')}{extra})")
    return "; ".join(parts) or "no dense vectors"


def foreign_advice(stored: StoredConfig, name: str, label: str) -> str:
    """The message for a collection without jina-local's ``dense`` vector: what it is and what works."""
    dense = [(n, p) for n, p in stored.vectors.items() if not p.get("comparator")]
    lines = [
        (
            f"collection {name!r} at {label} was not written by jina-local: it has {_describe(stored.vectors)}, "
            "not jina-local's named vectors 'dense' and 'multi' (langchain-qdrant and llama-index write this kind)."
        )
    ]
    if dense:
        vname, params = dense[0]
        lines.append(
            f"To search it dense-only, open it with vector_name={vname!r} "
            f"(MultiVectorCollection.open(location, {name!r}, model=model, vector_name={vname!r})), with the model "
            f"that filled it ({params.get('size')}-d vectors; a jina-local model is cut to that size when it is one "
            "of its Matryoshka sizes), or without a model and search_embeddings(). It is then read-only."
        )
    lines.append(
        "To search it with multi-vectors (MaxSim), index the documents again into a new jina-local "
        "collection (another name); nothing was changed."
    )
    return "\n".join(lines)


class ForeignBackend(ClientBackend):
    """A qdrant-client collection of another tool: dense queries go to its vector; nothing is written."""

    def __init__(self, inner: ClientBackend, vector_name: str) -> None:
        super().__init__(
            inner.client,
            inner.name,
            label=f"{inner.label} (foreign, vector {vector_name!r})",
            owns_client=inner._owns_client,
            local=inner._local,
        )
        self.vector_name = vector_name

    def query_batch(self, plans: list[QueryPlan]) -> list[list[RawHit]]:
        if not plans:
            return []
        using = self.vector_name or None  # "" is the unnamed vector
        requests = [
            models.QueryRequest(
                query=_query_vector(p.dense, p.mode, _DENSE_QUERY),
                using=using,
                filter=p.filter,
                limit=p.limit,
                with_payload=p.with_payload,
            )
            for p in plans
        ]
        responses = self.client.query_batch_points(self.name, requests=requests)
        return [
            [RawHit(id=str(pt.id), score=float(pt.score), payload=dict(pt.payload or {})) for pt in r.points]
            for r in responses
        ]

    def set_metadata(self, metadata: dict[str, Any]) -> None:
        return None  # the other tool's collection keeps its own metadata


def open_foreign(
    cls: type[MultiVectorCollection],
    store: Backend,
    name: str,
    model: Embedder | None,
    *,
    vector_name: str,
    dense_dim: int | None,
) -> MultiVectorCollection:
    """Open another tool's dense-only collection read-only for dense search through ``vector_name``."""
    try:
        if not isinstance(store, ClientBackend):
            raise CollectionConfigError(
                "vector_name= opens collections written by other tools through qdrant-client (a server URL, "
                "':memory:' via a QdrantClient, or a QdrantClient(path=...) folder); an embedded-engine folder "
                "only holds jina-local collections: open it without vector_name."
            )
        if not isinstance(vector_name, str):
            raise CollectionConfigError(
                f"vector_name must be a string ('' is the unnamed vector), got {vector_name!r}."
            )
        stored = store.read()
        if stored is None:
            raise CollectionConfigError(
                f"collection {name!r} does not exist at {store.label}; vector_name= only opens existing collections."
            )
        params = stored.vectors.get(vector_name)
        if params is None or params.get("comparator"):
            dense = sorted(repr(n) for n, p in stored.vectors.items() if not p.get("comparator"))
            raise CollectionConfigError(
                f"collection {name!r} at {store.label} has no dense vector {vector_name!r}; its dense vectors: "
                f"{', '.join(dense) or 'none'} ('' is the unnamed vector)."
            )
        size = int(params["size"])
        if dense_dim is not None and dense_dim != size:
            raise CollectionConfigError(
                f"vector {vector_name!r} of {name!r} has size {size}, asked dense_dim={dense_dim}."
            )
        info = model.info if model is not None else None
        if info is not None and size != info.dense_dim and size not in info.matryoshka_dims:
            raise CollectionConfigError(
                f"vector {vector_name!r} of {name!r} has size {size}, which {info.name} cannot produce "
                f"(its sizes: {', '.join(str(d) for d in sorted({info.dense_dim, *info.matryoshka_dims}))}); "
                "search it with search_embeddings() and the vectors of the model that filled it."
            )
    except BaseException:
        store.close()
        raise
    meta = {
        "foreign": True,
        "vector_name": vector_name,
        "dense_dim": size,
        "multi": False,
        "tasks": [],
        "kinds": [],
        "model": None,
        "payload_layout": 1,
    }
    return cls(ForeignBackend(store, vector_name), name, model, meta)


def _edge_collections(folder: Path) -> list[str]:
    return sorted(p.parent.parent.name for p in folder.glob("*/shard/edge_config.json"))


def check_client_path(client: QdrantClient, name: str) -> None:
    """Refuse a ``QdrantClient(path=...)`` pointed at an embedded-engine folder, saying what to do instead."""
    inner = getattr(client, "_client", None)
    location = getattr(inner, "location", None)
    if not isinstance(location, str) or location == ":memory:":
        return
    folder = Path(location)
    edge = _edge_collections(folder)
    if not edge:
        return
    if name in edge or not client.collection_exists(name):
        raise CollectionConfigError(
            f"{folder} is a folder of jina-local's embedded engine (qdrant-edge-py; collections: {', '.join(edge)}), "
            "and QdrantClient(path=...) cannot read it: qdrant-client's local mode has its own storage format and "
            f"sees no collections there. Open the folder itself with the embedded engine (backend='auto' or 'edge'): MultiVectorCollection.open({str(folder)!r}, "
            f"{name!r}, model=...); to use it through qdrant-client, copy it with "
            "store.copy_to(QdrantClient(path=<another folder>)) or to a server URL."
        )
