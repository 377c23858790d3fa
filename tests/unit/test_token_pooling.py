"""Token pooling: scipy's Ward cut checked against the old hand-written Ward and a naive greedy one."""

from __future__ import annotations

import numpy as np
import pytest
from ward_reference import reference_pool_tokens, reference_ward_labels

from jina_local.errors import InputError, OptionError
from jina_local.token_pooling import pool_documents, pool_tokens, ward_labels, ward_linkage


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


def _clustered(rng: np.random.Generator, n: int, d: int, groups: int, noise: float) -> np.ndarray:
    """Unit vectors around a few centres, like the token vectors of one document."""
    centres = rng.standard_normal((groups, d))
    x = centres[rng.integers(0, groups, size=n)] + noise * rng.standard_normal((n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


DOCUMENTS = [  # (seed, n_tokens, dim, shape)
    *[(s, n, 128, "random") for s, n in enumerate((2, 3, 5, 17, 40, 99, 160, 300))],
    *[(s, n, 128, "clustered") for s, n in enumerate((8, 33, 64, 128, 257, 400), start=20)],
    *[(s, n, 16, "random") for s, n in enumerate((11, 50, 120), start=40)],
]


@pytest.mark.parametrize("seed,n,dim,shape", DOCUMENTS)
def test_scipy_partitions_equal_the_hand_written_ward(seed: int, n: int, dim: int, shape: str) -> None:
    rng = np.random.default_rng(seed)
    x = _unit(rng, n, dim) if shape == "random" else _clustered(rng, n, dim, groups=max(2, n // 10), noise=0.3)
    for pool_factor in (2, 3, 4):
        k = max(n // pool_factor, 1)
        labels = ward_labels(x, k)
        assert labels.shape == (n,) and len(np.unique(labels)) == k
        np.testing.assert_array_equal(labels, reference_ward_labels(x, k))  # same partition, same numbering
        np.testing.assert_allclose(pool_tokens(x, pool_factor), reference_pool_tokens(x, pool_factor), atol=1e-6)


def test_linkage_is_scipy_layout_sorted_by_height() -> None:
    x = _unit(np.random.default_rng(9), 30, 8)
    merges = ward_linkage(x)
    assert merges.shape == (29, 4)
    assert np.all(np.diff(merges[:, 2]) >= 0)
    assert merges[-1, 3] == 30  # the last merge holds every token
    assert ward_linkage(x[:1]).shape == (0, 4)


def test_tied_duplicates_still_give_exactly_k_clusters() -> None:
    # fcluster(maxclust) cannot split a tie and would return 1 cluster here; the cut must give 2.
    x = np.tile(_unit(np.random.default_rng(10), 1, 8), (3, 1))
    assert sorted(ward_labels(x, 2).tolist()) == [0, 0, 1]
    assert pool_tokens(x, pool_factor=1).shape == (3, 8)
    assert pool_tokens(np.concatenate([x, x[:1]]), pool_factor=2).shape == (2, 8)


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
    with pytest.raises(OptionError, match="pool_factor"):
        pool_tokens(np.ones((4, 2), dtype=np.float32), pool_factor=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bad", [np.ones(4, np.float32), np.ones((2, 2, 2), np.float32), [["a", "b"]], [[1.0], [1.0, 2.0]]]
)
def test_token_vectors_that_are_not_a_matrix_are_input_errors(bad: object) -> None:
    for call in (lambda: pool_tokens(bad, 2), lambda: pool_documents([bad], 2)):  # type: ignore[arg-type]
        with pytest.raises(InputError, match="token vectors"):
            call()
