"""Properties of the token-budget batch plan and of the pure fusion of per-task hit lists."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from jina_local.batching import plan_batches
from jina_local.qdrant.fusion import MIN_ZSCORE_HITS, RRF_K, fuse_ranked


@st.composite
def plans(draw):
    n = draw(st.integers(0, 60))
    costs = draw(st.lists(st.integers(1, 600), min_size=n, max_size=n))
    keys = draw(
        st.lists(
            st.sampled_from([("retrieval", "text"), ("code", "text"), ("retrieval", "image")]), min_size=n, max_size=n
        )
    )
    return costs, keys, draw(st.integers(1, 4000)), draw(st.integers(1, 32))


@given(plans())
def test_every_index_exactly_once_and_order_restorable(case):
    costs, keys, budget, max_batch = case
    batches = plan_batches(costs, keys, token_budget=budget, max_batch_size=max_batch)
    flat = [i for b in batches for i in b.indices]
    assert sorted(flat) == list(range(len(costs)))
    # Outputs come back batch by batch; the inverse permutation of the plan puts them in input order.
    produced = np.array([(keys[i][0], costs[i] * 7 + 1) for b in batches for i in b.indices], dtype=object)
    restored = produced[np.argsort(np.array(flat, dtype=np.int64), kind="stable")] if flat else produced
    assert [tuple(row) for row in restored] == [(k[0], c * 7 + 1) for k, c in zip(keys, costs)]


@given(plans())
def test_budget_size_and_key_are_respected(case):
    costs, keys, budget, max_batch = case
    for batch in plan_batches(costs, keys, token_budget=budget, max_batch_size=max_batch):
        members = [costs[i] for i in batch.indices]
        assert 1 <= len(members) <= max_batch
        assert len(members) == 1 or max(members) * len(members) <= budget  # one over-long item runs alone
        assert all(keys[i] == batch.key for i in batch.indices)
        assert members == sorted(members, reverse=True)  # longest first: the first fixes the padding


@given(plans())
def test_plan_is_deterministic(case):
    costs, keys, budget, max_batch = case
    first = plan_batches(costs, keys, token_budget=budget, max_batch_size=max_batch)
    assert first == plan_batches(list(costs), list(keys), token_budget=budget, max_batch_size=max_batch)


score = st.floats(-1.0, 1.0, allow_nan=False, width=32)
score_lists = st.lists(st.lists(score, max_size=25).map(lambda s: sorted(s, reverse=True)), max_size=4)


@given(score_lists, st.sampled_from(["rrf", "zscore", "raw"]))
def test_fusion_keeps_every_hit_once_best_first_and_each_lists_order(lists, method):
    fused = fuse_ranked(lists, method)
    assert sorted((li, r) for li, r, _ in fused) == [(li, r) for li, s in enumerate(lists) for r in range(len(s))]
    values = [s for _, _, s in fused]
    assert all(np.isfinite(values)) and values == sorted(values, reverse=True)
    for li in range(len(lists)):
        ranks = [r for l2, r, _ in fused if l2 == li]
        assert ranks == sorted(ranks)  # a list's own order survives fusion


@given(score_lists)
def test_fusion_scores(lists):
    raw = {(li, r): s for li, r, s in fuse_ranked(lists, "raw")}
    assert all(raw[(li, r)] == float(np.float64(s[r])) for li, s in enumerate(lists) for r in range(len(s)))
    rrf = fuse_ranked(lists, "rrf")
    assert all(abs(s - 1.0 / (RRF_K + 1 + r)) < 1e-12 for _, r, s in rrf)
    z = fuse_ranked(lists, "zscore")
    for li, s in enumerate(lists):
        mine = np.array([v for l2, _, v in z if l2 == li])
        if len(s) >= MIN_ZSCORE_HITS and np.std(np.array(s, dtype=np.float64)) > 1e-6:
            assert abs(mine.mean()) < 1e-6 and abs(mine.std() - 1.0) < 1e-6
