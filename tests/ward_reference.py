"""The hand-written Ward clustering that jina_local.token_pooling used before it moved to scipy.

Kept as an independent reference: ``tests/unit/test_token_pooling.py`` checks scipy's partitions
against it, and ``tests/benchmarks/bench_pooling.py`` times it as the "before" row. Nearest-neighbour
chain on squared Euclidean distances with Lance-Williams updates, O(n^2) per document, pure numpy.
"""

from __future__ import annotations

import numpy as np

__all__ = ["reference_ward_labels", "reference_pool_tokens"]


def _nn_chain_merges(vectors: np.ndarray) -> np.ndarray:
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


def reference_ward_labels(vectors: np.ndarray, n_clusters: int) -> np.ndarray:
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
        merges = _nn_chain_merges(vectors)
        order = np.argsort(merges[:, 2], kind="stable")
        for row in merges[order[: n - k]]:
            ra, rb = find(int(row[0])), find(int(row[1]))
            parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([find(i) for i in range(n)])
    _, labels = np.unique(roots, return_inverse=True)  # roots are min member index -> first-occurrence order
    return labels.astype(np.int64)


def reference_pool_tokens(tokens: np.ndarray, pool_factor: int) -> np.ndarray:
    """Re-normalised cluster means, rows ordered by first token (the old ``pool_tokens``)."""
    arr = np.asarray(tokens, dtype=np.float32)
    n = arr.shape[0]
    if pool_factor == 1 or n <= 1:
        return arr
    k = max(n // pool_factor, 1)
    labels = reference_ward_labels(arr, k)
    sums = np.zeros((k, arr.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, arr.astype(np.float64))
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    norms[norms == 0.0] = 1.0
    return (sums / norms).astype(np.float32)
