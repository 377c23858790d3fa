"""Token pooling: Ward clustering checked against a naive greedy implementation of the same math."""

from __future__ import annotations

import numpy as np
import pytest

from jina_local.token_pooling import pool_documents, pool_tokens, ward_labels


def _unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.standard_normal((n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _naive_ward_partition(x: np.ndarray, k: int) -> set[frozenset[int]]:
    """Greedy agglomeration: merge the pair with the smallest Ward cost until k clusters remain."""
    x = x.astype(np.float64)
    clusters = [[i] for i in range(len(x))]
    while len(clusters) > k:
        best = None
        for i in range(len(clusters)):
            for j in range(i + 1, len(clusters)):
                a, b = clusters[i], clusters[j]
                ca, cb = x[a].mean(0), x[b].mean(0)
                cost = len(a) * len(b) / (len(a) + len(b)) * float(((ca - cb) ** 2).sum())
                if best is None or cost < best[0]:
                    best = (cost, i, j)
        assert best is not None
        _, i, j = best
        clusters[i] = clusters[i] + clusters[j]
        del clusters[j]
    return {frozenset(c) for c in clusters}


def _partition(labels: np.ndarray) -> set[frozenset[int]]:
    return {frozenset(np.flatnonzero(labels == c).tolist()) for c in np.unique(labels)}


@pytest.mark.parametrize("seed,n,k", [(0, 12, 6), (1, 20, 5), (2, 31, 10), (3, 9, 1), (4, 16, 15)])
def test_ward_cut_matches_naive_greedy_agglomeration(seed: int, n: int, k: int) -> None:
    x = _unit(np.random.default_rng(seed), n, 8)
    assert _partition(ward_labels(x, k)) == _naive_ward_partition(x, k)


def test_pooled_rows_are_renormalised_cluster_means() -> None:
    x = _unit(np.random.default_rng(5), 14, 16)
    pooled = pool_tokens(x, pool_factor=2)
    labels = ward_labels(x, 7)
    assert pooled.shape == (7, 16) and pooled.dtype == np.float32
    for c in range(7):
        mean = x[labels == c].astype(np.float64).mean(0)
        np.testing.assert_allclose(pooled[c], mean / np.linalg.norm(mean), atol=1e-6)
    # clusters are numbered by their first token
    first = [int(np.flatnonzero(labels == c)[0]) for c in range(7)]
    assert first == sorted(first)


def test_well_separated_groups_are_recovered() -> None:
    rng = np.random.default_rng(6)
    centres = _unit(rng, 4, 32)
    group = np.repeat(np.arange(4), 5)
    rng.shuffle(group)
    x = centres[group] + 0.01 * rng.standard_normal((20, 32)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    pooled = pool_tokens(x, pool_factor=5)
    assert pooled.shape == (4, 32)
    sims = pooled @ centres.T
    assert sorted(np.argmax(sims, axis=1).tolist()) == [0, 1, 2, 3]
    assert float(sims.max(axis=1).min()) > 0.999


def test_duplicates_collapse_first_and_factor_one_is_identity() -> None:
    x = _unit(np.random.default_rng(7), 5, 8)
    doubled = np.concatenate([x, x])  # every token twice -> pooling by 2 gives exactly the tokens back
    pooled = pool_tokens(doubled, pool_factor=2)
    np.testing.assert_allclose(pooled, x, atol=1e-6)
    np.testing.assert_array_equal(pool_tokens(x, pool_factor=1), x)


def test_sizes_short_documents_and_batches() -> None:
    rng = np.random.default_rng(8)
    docs = [_unit(rng, n, 8) for n in (1, 2, 3, 7, 100)]
    out = pool_documents(docs, pool_factor=3)
    assert [len(o) for o in out] == [1, 1, 1, 2, 33]
    assert all(np.allclose(np.linalg.norm(o, axis=1), 1.0, atol=1e-5) for o in out)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_invalid_pool_factor_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="pool_factor"):
        pool_tokens(np.ones((4, 2), dtype=np.float32), pool_factor=bad)  # type: ignore[arg-type]
