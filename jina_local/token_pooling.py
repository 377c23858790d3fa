"""Hierarchical token pooling for stored multi-vectors (documents only, never queries).

Clavié, Chaffin & Adams, "Reducing the Footprint of Multi-Vector Retrieval with Minimal Performance
Impact via Token Pooling" (arXiv 2409.14683): cluster a document's token vectors with Ward's
agglomerative clustering, replace every cluster by the mean of its members and re-normalise. With
``pool_factor`` 2 half the vectors are stored with virtually no loss; 3-4 keep a third / a quarter.

This is a dependency-free numpy implementation (no scipy): the full Ward dendrogram is built with the
nearest-neighbour-chain algorithm on squared Euclidean distances between the unit token vectors
(``|a - b|^2 = 2 - 2 cos(a, b)``, so this is Ward on cosine geometry) using Lance-Williams updates,
which is O(n^2) time and memory per document. The dendrogram is then cut into
``max(n // pool_factor, 1)`` clusters -- the same cut as ``scipy.cluster.hierarchy.fcluster(...,
criterion="maxclust")``: the ``n - k`` lowest merges are applied.

Note: colpali-engine's ``HierarchicalTokenPooler`` passes the square ``1 - similarity`` matrix to
scipy's ``linkage`` as if it were observations (each token described by its distances to all other
tokens). Here Ward runs on the token vectors themselves, as the paper describes.

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

__all__ = ["pool_tokens", "pool_documents", "ward_labels", "ward_linkage"]


def _check_pool_factor(pool_factor: int) -> None:
    if isinstance(pool_factor, bool) or not isinstance(pool_factor, (int, np.integer)) or pool_factor < 1:
        raise ValueError(
            f"pool_factor={pool_factor!r} is not valid; use an integer >= 1 "
            "(1 = no pooling, 2-4 = keep 1/2 .. 1/4 of the token vectors)."
        )


def ward_linkage(vectors: np.ndarray) -> np.ndarray:
    """Ward dendrogram of row vectors, as ``(n - 1, 3)`` rows ``[slot_a, slot_b, height]``.

    ``slot_a`` / ``slot_b`` are token indices that belong to the two merged clusters (one member of
    each, not scipy's cluster numbering); ``height`` is the Ward merge cost (squared-distance form),
    non-decreasing once sorted. Rows come in the order the nearest-neighbour chain found them.
    """
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected a 2-D array of token vectors (n_tokens, dim), got shape {x.shape}.")
    n = x.shape[0]
    if n < 2:
        return np.zeros((0, 3), dtype=np.float64)
    sq = np.einsum("ij,ij->i", x, x)
    dist = sq[:, None] + sq[None, :] - 2.0 * (x @ x.T)  # squared Euclidean, (n, n)
    np.maximum(dist, 0.0, out=dist)
    np.fill_diagonal(dist, np.inf)
    size = np.ones(n, dtype=np.float64)
    merges = np.zeros((n - 1, 3), dtype=np.float64)
    n_merges = 0
    active = n
    chain: list[int] = []
    next_start = 0
    alive = np.ones(n, dtype=bool)
    while active > 1:
        if not chain:
            while not alive[next_start]:
                next_start += 1
            chain.append(next_start)
        a = chain[-1]
        row = dist[a]
        b = int(np.argmin(row))
        if len(chain) > 1:
            prev = chain[-2]
            if row[prev] <= row[b]:  # prefer the previous chain element on ties (termination)
                b = prev
        if len(chain) > 1 and b == chain[-2]:
            chain.pop()
            chain.pop()
            height = row[b]
            merges[n_merges] = (a, b, height)
            n_merges += 1
            # Lance-Williams update for Ward on squared distances; the merged cluster lives in slot a.
            na, nb = size[a], size[b]
            total = size + na + nb
            new_row = ((na + size) * dist[a] + (nb + size) * dist[b] - size * height) / total
            new_row[~alive] = np.inf
            dist[a, :] = new_row
            dist[:, a] = new_row
            dist[a, a] = np.inf
            dist[b, :] = np.inf
            dist[:, b] = np.inf
            size[a] = na + nb
            alive[b] = False
            active -= 1
        else:
            chain.append(b)
    return merges


def ward_labels(vectors: np.ndarray, n_clusters: int) -> np.ndarray:
    """Cluster label per row (``0 .. n_clusters - 1``, numbered by first occurrence) from a Ward cut."""
    n = int(np.asarray(vectors).shape[0])
    k = max(1, min(int(n_clusters), n))
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = int(parent[i])
        return i

    if n > k:
        merges = ward_linkage(vectors)
        order = np.argsort(merges[:, 2], kind="stable")
        for row in merges[order[: n - k]]:
            ra, rb = find(int(row[0])), find(int(row[1]))
            parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([find(i) for i in range(n)])
    _, labels = np.unique(roots, return_inverse=True)  # roots are min member index -> first-occurrence order
    return labels.astype(np.int64)


def pool_tokens(tokens: np.ndarray, pool_factor: int = 2) -> np.ndarray:
    """Pool one document's ``(n_tokens, dim)`` vectors to ``max(n_tokens // pool_factor, 1)`` rows.

    Each output row is the re-normalised mean of one Ward cluster; rows are ordered by the first token
    of their cluster. ``pool_factor=1`` returns the input unchanged (as float32).
    """
    _check_pool_factor(pool_factor)
    arr = np.asarray(tokens, dtype=np.float32)
    if arr.ndim != 2:
        raise ValueError(f"expected token vectors of shape (n_tokens, dim), got shape {arr.shape}.")
    n = arr.shape[0]
    if pool_factor == 1 or n <= 1:
        return arr
    k = max(n // pool_factor, 1)
    labels = ward_labels(arr, k)
    sums = np.zeros((k, arr.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, arr.astype(np.float64))
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    norms[norms == 0.0] = 1.0
    return (sums / norms).astype(np.float32)


def pool_documents(multi: Sequence[np.ndarray], pool_factor: int = 2) -> list[np.ndarray]:
    """:func:`pool_tokens` for each document of a batch."""
    _check_pool_factor(pool_factor)
    return [pool_tokens(m, pool_factor) for m in multi]
