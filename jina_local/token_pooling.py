"""Hierarchical token pooling for stored multi-vectors (documents only, never queries).

Clavié, Chaffin & Adams, "Reducing the Footprint of Multi-Vector Retrieval with Minimal Performance
Impact via Token Pooling" (arXiv 2409.14683): cluster a document's token vectors with Ward's
agglomerative clustering, replace every cluster by the mean of its members and re-normalise. With
``pool_factor`` 2 half the vectors are stored with virtually no loss; 3-4 keep a third / a quarter.

The dendrogram is ``scipy.cluster.hierarchy.linkage(..., method="ward")`` on the Euclidean distances
between the token vectors themselves (computed with one matrix product; for unit vectors ``|a - b|^2 = 2 - 2 cos(a, b)``, so this is Ward
on cosine geometry). It is cut into exactly ``max(n // pool_factor, 1)`` clusters by applying the
``n - k`` lowest merges, which is ``fcluster(..., criterion="maxclust")`` except that tied merge
heights (duplicate tokens) never leave fewer than ``k`` clusters.

Note: colpali-engine's ``HierarchicalTokenPooler`` passes the square ``1 - similarity`` matrix to
scipy's ``linkage`` as if it were observations (each token described by its distances to all other
tokens). Here Ward runs on the token vectors, as the paper describes.

Throughput and parallelism (``tests/benchmarks/bench_pooling.py``, ``docs/benchmarks.md``): scipy's
linkage holds the GIL, so pooling many documents in parallel needs worker *processes*; threads do
not add throughput.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> tokens = rng.standard_normal((10, 4)).astype(np.float32)
>>> tokens /= np.linalg.norm(tokens, axis=1, keepdims=True)
>>> pooled = pool_tokens(tokens, pool_factor=2)
>>> pooled.shape
(5, 4)
>>> bool(np.allclose(np.linalg.norm(pooled, axis=1), 1.0, atol=1e-5))
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import squareform

from .errors import InputError, OptionError

__all__ = ["pool_tokens", "pool_documents", "ward_labels", "ward_linkage"]


def _check_pool_factor(pool_factor: int) -> None:
    if isinstance(pool_factor, bool) or not isinstance(pool_factor, (int, np.integer)) or pool_factor < 1:
        raise OptionError(
            f"pool_factor={pool_factor!r} is not valid; use an integer >= 1 "
            "(1 = no pooling, 2-4 = keep 1/2 .. 1/4 of the token vectors)."
        )


def _as_token_matrix(vectors: np.ndarray, dtype: type) -> np.ndarray:
    try:
        arr: np.ndarray = np.asarray(vectors, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise InputError(f"token vectors must be a numeric (n_tokens, dim) array: {exc}.") from None
    if arr.ndim != 2:
        raise InputError(
            f"expected token vectors of shape (n_tokens, dim), got shape {arr.shape}; pass one 2-d array per document."
        )
    return arr


def ward_linkage(vectors: np.ndarray) -> np.ndarray:
    """Scipy's Ward linkage matrix ``(n - 1, 4)`` of the row vectors, merges sorted by height.

    Row ``i`` merges clusters ``Z[i, 0]`` and ``Z[i, 1]`` (ids ``< n`` are tokens, ``n + j`` is the
    cluster made by row ``j``) at Ward distance ``Z[i, 2]`` into a cluster of ``Z[i, 3]`` tokens.
    """
    x = _as_token_matrix(vectors, np.float64)
    if x.shape[0] < 2:
        return np.zeros((0, 4), dtype=np.float64)
    # Pairwise Euclidean distances through one BLAS product: ~1.3x faster than linkage's own pdist at
    # 768 tokens, and numpy releases the GIL here (scipy's nearest-neighbour chain does not).
    sq = np.einsum("ij,ij->i", x, x)  # (n,)
    dist = sq[:, None] + sq[None, :] - 2.0 * (x @ x.T)  # (n, n) squared distances
    np.maximum(dist, 0.0, out=dist)
    np.sqrt(dist, out=dist)
    np.fill_diagonal(dist, 0.0)
    return linkage(squareform(dist, checks=False), method="ward")  # condensed (n*(n-1)/2,) input


def _cut(merges: np.ndarray, n: int, k: int) -> np.ndarray:
    """Labels ``0 .. k-1`` (numbered by first token) after the ``n - k`` lowest merges of ``merges``."""
    parent = np.arange(2 * n - 1)  # node -> the node it merged into (itself while a root)
    for row in range(n - k):
        a, b = int(merges[row, 0]), int(merges[row, 1])
        parent[a] = parent[b] = n + row
    roots = np.arange(n)
    while True:  # follow parents to the roots, all leaves at once
        up = parent[roots]
        if np.array_equal(up, roots):
            break
        roots = up
    _, first, inverse = np.unique(roots, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse.reshape(-1)]


def ward_labels(vectors: np.ndarray, n_clusters: int) -> np.ndarray:
    """Cluster label per row (``0 .. n_clusters - 1``, numbered by first occurrence) from a Ward cut."""
    x = _as_token_matrix(vectors, np.float64)
    n = x.shape[0]
    k = max(1, min(int(n_clusters), n))
    if n <= k:
        return np.arange(n, dtype=np.int64)
    return _cut(ward_linkage(x), n, k)


def pool_tokens(tokens: np.ndarray, pool_factor: int = 2) -> np.ndarray:
    """Pool one document's ``(n_tokens, dim)`` vectors to ``max(n_tokens // pool_factor, 1)`` rows.

    Each output row is the re-normalised mean of one Ward cluster; rows are ordered by the first token
    of their cluster. ``pool_factor=1`` returns the input unchanged (as float32).
    """
    _check_pool_factor(pool_factor)
    arr = _as_token_matrix(tokens, np.float32)
    n = arr.shape[0]
    if pool_factor == 1 or n <= 1:
        return arr
    k = max(n // pool_factor, 1)
    labels = ward_labels(arr, k)  # (n,)
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], np.arange(k))
    sums = np.add.reduceat(arr[order].astype(np.float64), starts, axis=0)  # (k, dim)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    norms[norms == 0.0] = 1.0
    return (sums / norms).astype(np.float32)


def pool_documents(multi: Sequence[np.ndarray], pool_factor: int = 2) -> list[np.ndarray]:
    """:func:`pool_tokens` for each document of a batch."""
    _check_pool_factor(pool_factor)
    return [pool_tokens(m, pool_factor) for m in multi]
