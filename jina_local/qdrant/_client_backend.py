"""Backend on qdrant-client: ``:memory:``, a local ``path=`` store, a server / cluster URL, or a client.

Local mode (``:memory:`` / ``path=``) is qdrant-client's pure-numpy engine: exact but brute force, and
it accepts but does not apply ``datatype`` / quantization. Servers and clusters run the real engine.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import numpy as np
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from ..errors import InputError, StoreConnectionError
from ._base import (
    DENSE,
    META_KEY,
    MULTI,
    CollectionSpec,
    PointRecord,
    QueryPlan,
    RawHit,
    StoredConfig,
)

__all__ = ["ClientBackend", "plan_to_request", "server_url"]

_F = TypeVar("_F", bound=Callable[..., Any])
_UNREACHABLE = (ResponseHandlingException, httpx.TransportError, ConnectionError, TimeoutError)


def server_url(client: QdrantClient) -> str | None:
    """The REST address a remote client talks to (``None`` for local mode)."""
    return getattr(getattr(client, "_client", None), "rest_uri", None)


def _reason(exc: BaseException) -> str:
    cause = getattr(exc, "source", None) or exc.__cause__ or exc
    return f"{type(cause).__name__}: {cause}".strip().rstrip(":")


def _reachable(method: _F) -> _F:
    """Turn a remote server's connection and authentication failures into :class:`StoreConnectionError`."""

    @functools.wraps(method)
    def call(self: ClientBackend, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except _UNREACHABLE as exc:
            url = self.url or self.label
            raise StoreConnectionError(
                f"the Qdrant server at {url} cannot be reached ({_reason(exc)}): check that it is running, "
                "that the URL's scheme, host and port are right (REST port, 6333 by default) and that no "
                "firewall or proxy blocks it; a slow server needs a larger timeout=.",
                url=url,
            ) from exc
        except UnexpectedResponse as exc:
            if exc.status_code not in (401, 403):
                raise
            url = self.url or self.label
            raise StoreConnectionError(
                f"the Qdrant server at {url} refused the request ({exc.status_code} {exc.reason_phrase}): "
                "pass its API key as api_key=... (or check the key's permissions).",
                url=url,
            ) from exc

    return call  # type: ignore[return-value]


_DENSE_QUERY = "dense query vector (dense=...)"
_MULTI_QUERY = "query token vectors (multi=...)"


def _lower(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value)).lower()


def _vector_list(value: np.ndarray) -> list[Any]:
    return np.asarray(value, dtype=np.float32).tolist()


def _query_vector(value: np.ndarray | None, mode: str, what: str) -> list[Any]:
    if value is None:  # search_embeddings checks this for callers; a plan must carry the vectors its mode reads
        raise InputError(f"mode={mode!r} needs the {what}.")
    return _vector_list(value)


def plan_to_request(plan: QueryPlan) -> models.QueryRequest:
    """Translate one :class:`QueryPlan` into a qdrant-client ``QueryRequest`` (Query API)."""
    if plan.mode == "dense":
        return models.QueryRequest(
            query=_query_vector(plan.dense, plan.mode, _DENSE_QUERY),
            using=DENSE,
            filter=plan.filter,
            limit=plan.limit,
            with_payload=plan.with_payload,
        )
    if plan.mode == "multi":
        return models.QueryRequest(
            query=_query_vector(plan.multi, plan.mode, _MULTI_QUERY),
            using=MULTI,
            filter=plan.filter,
            limit=plan.limit,
            with_payload=plan.with_payload,
        )
    return models.QueryRequest(
        prefetch=models.Prefetch(
            query=_query_vector(plan.dense, plan.mode, _DENSE_QUERY),
            using=DENSE,
            limit=plan.prefetch_limit,
            filter=plan.filter,
        ),
        query=_query_vector(plan.multi, plan.mode, _MULTI_QUERY),
        using=MULTI,
        filter=plan.filter,
        limit=plan.limit,
        with_payload=plan.with_payload,
    )


class ClientBackend:
    """One collection reached through a ``QdrantClient``."""

    def __init__(self, client: QdrantClient, name: str, *, label: str, owns_client: bool, local: bool) -> None:
        self.client = client
        self.name = name
        self.label = label
        self._owns_client = owns_client
        self._local = local
        self.url = None if local else server_url(client)

    # ------------------------------------------------------------------ schema
    @_reachable
    def read(self) -> StoredConfig | None:
        if not self.client.collection_exists(self.name):
            return None
        config = self.client.get_collection(self.name).config
        raw = config.params.vectors
        vectors: dict[str, dict[str, Any]] = {}
        if isinstance(raw, dict):
            for vname, params in raw.items():
                mv = params.multivector_config
                vectors[vname] = {
                    "size": params.size,
                    "distance": _lower(params.distance),
                    "comparator": _lower(mv.comparator) if mv is not None else None,
                    "datatype": _lower(params.datatype),
                    "m": params.hnsw_config.m if params.hnsw_config is not None else None,
                }
        elif raw is not None:  # one unnamed vector: not ours, reported as such by validation
            vectors[""] = {
                "size": raw.size,
                "distance": _lower(raw.distance),
                "comparator": None,
                "datatype": None,
                "m": None,
            }
        metadata = dict((getattr(config, "metadata", None) or {}).get(META_KEY) or {})
        return StoredConfig(vectors=vectors, metadata=metadata)

    @_reachable
    def create(self, spec: CollectionSpec, metadata: dict[str, Any]) -> None:
        dense_quant = None
        if spec.dense_quantization == "int8":
            dense_quant = models.ScalarQuantization(
                scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, quantile=0.99, always_ram=True)
            )
        vectors = {
            DENSE: models.VectorParams(
                size=spec.dense_dim,
                distance=models.Distance.COSINE,
                hnsw_config=models.HnswConfigDiff(m=spec.hnsw_m, ef_construct=spec.hnsw_ef_construct),
                quantization_config=dense_quant,
            )
        }
        if spec.multi:
            vectors[MULTI] = models.VectorParams(
                size=spec.multi_dim,
                distance=models.Distance.COSINE,
                multivector_config=models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM),
                hnsw_config=models.HnswConfigDiff(m=0),  # rerank only: no graph over token vectors
                datatype=models.Datatype.FLOAT16 if spec.multi_dtype == "float16" else None,
                on_disk=True if spec.on_disk else None,
            )
        self.client.create_collection(
            self.name,
            vectors_config=vectors,
            shard_number=spec.shard_number,
            replication_factor=spec.replication_factor,
            write_consistency_factor=spec.write_consistency_factor,
            metadata={META_KEY: metadata},
        )
        if not self._local:  # payload indexes do nothing in local mode (and warn there)
            for key in ("task", "kind", "source"):
                self.client.create_payload_index(self.name, key, models.PayloadSchemaType.KEYWORD)

    def attach(self) -> None:
        return None

    @_reachable
    def set_metadata(self, metadata: dict[str, Any]) -> None:
        self.client.update_collection(self.name, metadata={META_KEY: metadata})

    # ------------------------------------------------------------------ data
    @_reachable
    def upsert(self, points: list[PointRecord]) -> None:
        structs = []
        for p in points:
            vector: dict[str, Any] = {DENSE: _vector_list(p.dense)}
            if p.multi is not None:
                vector[MULTI] = _vector_list(p.multi)
            structs.append(models.PointStruct(id=p.id, vector=vector, payload=p.payload))
        self.client.upsert(self.name, points=structs, wait=True)

    @_reachable
    def query_batch(self, plans: list[QueryPlan]) -> list[list[RawHit]]:
        if not plans:
            return []
        responses = self.client.query_batch_points(self.name, requests=[plan_to_request(p) for p in plans])
        return [
            [RawHit(id=str(pt.id), score=float(pt.score), payload=dict(pt.payload or {})) for pt in resp.points]
            for resp in responses
        ]

    @_reachable
    def count(self, filter: models.Filter | None = None) -> int:
        return int(self.client.count(self.name, count_filter=filter, exact=True).count)

    @_reachable
    def retrieve(self, ids: list[str], with_vectors: bool = False) -> list[dict[str, Any]]:
        records = self.client.retrieve(self.name, ids=ids, with_payload=True, with_vectors=with_vectors)
        return [{"id": str(r.id), "payload": dict(r.payload or {}), "vector": r.vector} for r in records]

    @_reachable
    def scroll(
        self,
        filter: models.Filter | None = None,
        limit: int = 256,
        offset: Any = None,
        with_vectors: bool = False,
        payload_keys: list[str] | None = None,
    ) -> tuple[list[dict[str, Any]], Any]:
        """One page of points in id order, and the offset of the next page (``None`` at the end)."""
        with_payload: Any = True if payload_keys is None else list(payload_keys)
        records, next_offset = self.client.scroll(
            self.name,
            scroll_filter=filter,
            limit=limit,
            offset=offset,
            with_payload=with_payload,
            with_vectors=with_vectors,
        )
        return [{"id": str(r.id), "payload": dict(r.payload or {}), "vector": r.vector} for r in records], next_offset

    @_reachable
    def delete(self, ids: list[str]) -> None:
        points: list[models.ExtendedPointId] = list(ids)
        self.client.delete(self.name, points_selector=models.PointIdsList(points=points), wait=True)

    @_reachable
    def ensure_payload_index(self, key: str) -> None:
        if not self._local:  # payload indexes do nothing in local mode (and warn there)
            self.client.create_payload_index(self.name, key, models.PayloadSchemaType.KEYWORD)

    def optimize(self) -> None:
        return None  # the server optimises in the background; local mode has no indexes

    def close(self) -> None:
        if self._owns_client:
            self.client.close()
