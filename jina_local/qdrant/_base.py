"""The small protocol every storage backend implements, and the plain values that cross it.

Two backends exist: :mod:`._client_backend` (qdrant-client: ``:memory:``, a local ``path=`` store, a
server or cluster URL, or a user's ``QdrantClient``) and :mod:`._edge_backend` (qdrant-edge-py, the
real Qdrant engine in-process). The collection class speaks only this protocol, so both give the same
ids, payloads and scores for the same data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
from qdrant_client import models

__all__ = [
    "DENSE",
    "MULTI",
    "META_KEY",
    "SCHEMA_VERSION",
    "Backend",
    "CollectionSpec",
    "PointRecord",
    "QueryPlan",
    "RawHit",
    "StoredConfig",
]

DENSE = "dense"
"""Name of the dense (single-vector) named vector."""
MULTI = "multi"
"""Name of the multi-vector (one 128-d vector per token, MaxSim) named vector."""
META_KEY = "jina_local"
"""Key under which jina-local keeps its record in the collection metadata."""
SCHEMA_VERSION = 1

SearchMode = Literal["two_stage", "multi", "dense"]


@dataclass(frozen=True)
class CollectionSpec:
    """What to create: vector sizes and the storage settings that matter."""

    dense_dim: int
    multi: bool = True
    multi_dim: int = 128
    multi_dtype: Literal["float32", "float16"] = "float32"
    on_disk: bool = False
    hnsw_m: int = 16
    hnsw_ef_construct: int = 100
    dense_quantization: Literal["int8"] | None = None
    shard_number: int | None = None
    replication_factor: int | None = None
    write_consistency_factor: int | None = None


@dataclass(frozen=True)
class StoredConfig:
    """What an existing collection holds, read without touching its points."""

    vectors: dict[str, dict[str, Any]]
    """name -> {"size", "distance" (lower case), "comparator" (or None), "datatype" (or None), "m"}."""
    metadata: dict[str, Any]
    """jina-local's record (``META_KEY`` entry of the collection metadata), ``{}`` when absent."""


@dataclass
class PointRecord:
    """One point to upsert."""

    id: str
    dense: np.ndarray
    multi: np.ndarray | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class QueryPlan:
    """One query: ``mode`` picks dense only, exhaustive MaxSim, or dense prefetch + MaxSim rerank."""

    mode: SearchMode
    limit: int
    dense: np.ndarray | None = None
    multi: np.ndarray | None = None
    prefetch_limit: int = 100
    filter: models.Filter | None = None
    with_payload: bool = True


@dataclass
class RawHit:
    """One scored point as a backend returns it (ids always as strings)."""

    id: str
    score: float
    payload: dict[str, Any] = field(default_factory=dict)


class Backend(Protocol):
    """Storage operations the collection needs; implemented per engine."""

    label: str
    """Human-readable engine and location, for messages and benchmarks."""

    def read(self) -> StoredConfig | None:
        """The stored config, or ``None`` when the collection does not exist. Touches no points."""
        ...

    def create(self, spec: CollectionSpec, metadata: dict[str, Any]) -> None:
        """Create the collection (named vectors ``dense`` / ``multi``) with jina-local's metadata."""
        ...

    def attach(self) -> None:
        """Open the stored data for reading and writing (after validation passed)."""
        ...

    def set_metadata(self, metadata: dict[str, Any]) -> None:
        """Replace jina-local's metadata record."""
        ...

    def upsert(self, points: list[PointRecord]) -> None:
        """Insert or overwrite points; returns once they are searchable."""
        ...

    def query_batch(self, plans: list[QueryPlan]) -> list[list[RawHit]]:
        """Run several queries in one call; one hit list per plan, best first."""
        ...

    def count(self, filter: models.Filter | None = None) -> int:
        """Number of points (matching ``filter``)."""
        ...

    def retrieve(self, ids: list[str], with_vectors: bool = False) -> list[dict[str, Any]]:
        """Points by id as ``{"id", "payload", "vector"}`` dicts (missing ids are skipped)."""
        ...

    def scroll(
        self,
        filter: models.Filter | None = None,
        limit: int = 256,
        offset: Any = None,
        with_vectors: bool = False,
        payload_keys: list[str] | None = None,
    ) -> tuple[list[dict[str, Any]], Any]:
        """One page of points (``{"id", "payload", "vector"}``) in id order, and the next page's offset.

        ``payload_keys``: return only these payload keys (dotted paths into nested objects allowed)."""
        ...

    def delete(self, ids: list[str]) -> None:
        """Delete points by id."""
        ...

    def ensure_payload_index(self, key: str) -> None:
        """Create a keyword index on payload ``key`` if the engine indexes payloads (idempotent)."""
        ...

    def optimize(self) -> None:
        """Build indexes / merge segments now where the engine leaves that to the caller."""
        ...

    def close(self) -> None:
        """Flush and release files / connections the backend opened."""
        ...
