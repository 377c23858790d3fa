"""Maximal marginal relevance over search hits: relevant, and not redundant with what was picked.

``score(d) = lambda * relevance(d) - (1 - lambda) * max_{s picked} redundancy(d, s)``, picked greedily.
Redundancy is the cosine of the stored dense vectors of two documents of the *same* task adapter;
vectors of different adapters live in different spaces, so such pairs count as not redundant.
Relevance is the engine's cosine for a dense search (as LangChain's MMR) and the MaxSim / fused score
scaled to [0, 1] over the candidates otherwise (MaxSim sums have no fixed range).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError, OptionError

if TYPE_CHECKING:
    from ._results import SearchHit
    from .collection import MultiVectorCollection

__all__ = ["mmr_order", "search_mmr"]


def mmr_order(
    relevance: Sequence[float],
    vectors: np.ndarray,
    tasks: Sequence[str | None],
    k: int,
    lambda_mult: float = 0.5,
    *,
    scale: bool = False,
) -> list[int]:
    """Indices of ``k`` candidates in MMR order.

    ``vectors``: ``(n, d)`` dense vectors of the candidates (rows need not be normalised).

    >>> v = np.array([[1.0, 0.0], [0.99, 0.14], [0.0, 1.0]])
    >>> mmr_order([0.9, 0.89, 0.5], v, ["t"] * 3, k=2, lambda_mult=0.5)
    [0, 2]
    >>> mmr_order([0.9, 0.89, 0.5], v, ["t"] * 3, k=2, lambda_mult=1.0)
    [0, 1]
    """
    if not 0.0 <= lambda_mult <= 1.0:
        raise OptionError(f"lambda_mult={lambda_mult!r} must be between 0 (diverse) and 1 (relevant).")
    n = len(relevance)
    if n == 0 or k <= 0:
        return []
    rel = np.asarray(relevance, dtype=np.float64)
    if scale:
        span = rel.max() - rel.min()
        rel = (rel - rel.min()) / span if span > 0 else np.ones_like(rel)
    mat = np.asarray(vectors, dtype=np.float64).reshape(n, -1)
    mat = mat / np.maximum(np.linalg.norm(mat, axis=1, keepdims=True), 1e-12)
    sim = mat @ mat.T  # (n, n)
    same = np.array([[a == b for b in tasks] for a in tasks])
    sim = np.where(same, sim, 0.0)
    picked = [int(np.argmax(rel))]
    while len(picked) < min(k, n):
        redundancy = sim[:, picked].max(axis=1)
        score = lambda_mult * rel - (1.0 - lambda_mult) * redundancy
        score[picked] = -np.inf
        picked.append(int(np.argmax(score)))
    return picked


def _dense_of(vector: Any) -> Any:
    """The dense vector of a retrieved point (named ``dense``, or another tool's only vector)."""
    return vector.get("dense", next(iter(vector.values()))) if isinstance(vector, dict) else vector


def search_mmr(
    collection: MultiVectorCollection,
    query: Any,
    limit: int,
    *,
    fetch_limit: int,
    lambda_mult: float,
    dense: Any,
    filter: Any,
    mode: Any,
) -> list[SearchHit]:
    """``MultiVectorCollection.search_mmr``: candidates from a search, then :func:`mmr_order` on their vectors."""
    if (query is None) == (dense is None):
        raise InputError("search_mmr() takes a query or a dense query vector (dense=...), one of them.")
    fetch = max(int(fetch_limit), int(limit))
    if dense is not None:
        hits = collection.search_embeddings(dense=dense, limit=fetch, filter=filter, mode="dense")
    else:
        hits = collection.search(query, limit=fetch, filter=filter, mode=mode)
    if not hits:
        return []
    vectors = {r["id"]: r["vector"] for r in collection.get([h.id for h in hits], with_vectors=True)}
    kept = [h for h in hits if h.id in vectors]
    mat = np.stack([np.asarray(_dense_of(vectors[h.id]), dtype=np.float32) for h in kept])
    order = mmr_order(
        [h.raw_score if dense is not None else h.score for h in kept],
        mat,
        [h.task for h in kept],
        limit,
        lambda_mult,
        scale=dense is None,
    )
    return [kept[i] for i in order]
