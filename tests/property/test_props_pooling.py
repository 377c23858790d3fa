"""Properties of mean pooling, Matryoshka truncation, token pooling and MaxSim (against a tiny reference)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from jina_local.errors import OptionError
from jina_local.pooling import masked_mean, truncate_matryoshka
from jina_local.token_pooling import pool_documents, pool_tokens

finite = st.floats(-100, 100, allow_nan=False, allow_infinity=False, width=32)


@st.composite
def hidden_and_mask(draw):
    b, length, d = draw(st.integers(1, 4)), draw(st.integers(1, 12)), draw(st.integers(1, 8))
    hidden = draw(arrays(np.float32, (b, length, d), elements=finite))
    mask = draw(arrays(np.int64, (b, length), elements=st.integers(0, 1)))
    return hidden, mask


def maxsim(query: np.ndarray, doc: np.ndarray) -> float:
    """Reference late-interaction score: for each query token its best document token, summed."""
    return float((query.astype(np.float64) @ doc.astype(np.float64).T).max(axis=1).sum())


def unit_rows(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# -- masked_mean --------------------------------------------------------------------------------


@given(hidden_and_mask())
def test_masked_mean_is_the_mean_of_the_kept_positions(case):
    hidden, mask = case
    out = masked_mean(torch.from_numpy(hidden), torch.from_numpy(mask)).numpy()
    for row in range(hidden.shape[0]):
        kept = hidden[row][mask[row] == 1].astype(np.float64)
        expected = kept.mean(axis=0) if len(kept) else np.zeros(hidden.shape[2])
        np.testing.assert_allclose(out[row], expected, rtol=1e-4, atol=1e-3)


@given(hidden_and_mask(), st.integers(0, 2**32 - 1))
def test_masked_mean_ignores_masked_values_and_order(case, seed):
    hidden, mask = case
    rng = np.random.default_rng(seed)
    noisy = np.where(mask[..., None] == 1, hidden, rng.uniform(-1e3, 1e3, hidden.shape).astype(np.float32))
    base = masked_mean(torch.from_numpy(hidden), torch.from_numpy(mask))
    assert torch.equal(masked_mean(torch.from_numpy(noisy), torch.from_numpy(mask)), base)
    perm = rng.permutation(hidden.shape[1])
    shuffled = masked_mean(torch.from_numpy(hidden[:, perm]), torch.from_numpy(mask[:, perm]))
    torch.testing.assert_close(shuffled, base, rtol=1e-4, atol=1e-3)


# -- Matryoshka truncation ----------------------------------------------------------------------


@st.composite
def vectors_and_dims(draw):
    n, d = draw(st.integers(1, 5)), draw(st.integers(2, 64))
    vectors = draw(arrays(np.float32, (n, d), elements=finite))
    a = draw(st.integers(1, d + 4))
    b = draw(st.integers(1, a))
    return vectors, a, b


@given(vectors_and_dims())
def test_truncation_keeps_a_prefix_and_renormalises(case):
    vectors, dim, _ = case
    tensor = torch.from_numpy(vectors)
    out = truncate_matryoshka(tensor, dim)
    if dim >= vectors.shape[1]:
        assert torch.equal(out, tensor)
        return
    assert out.shape == (vectors.shape[0], dim)
    prefix = vectors[:, :dim].astype(np.float64)
    norms = np.linalg.norm(prefix, axis=1)
    for row in range(len(vectors)):
        if norms[row] < 1e-6:  # a zero prefix stays (near) zero instead of dividing by zero
            assert torch.isfinite(out[row]).all()
            continue
        np.testing.assert_allclose(out[row].numpy(), prefix[row] / norms[row], rtol=1e-4, atol=1e-5)
    assert truncate_matryoshka(tensor, None) is tensor


@given(vectors_and_dims())
def test_truncation_is_nested(case):
    vectors, a, b = case
    tensor = torch.from_numpy(vectors)
    if np.linalg.norm(vectors[:, :b], axis=1).min() < 1e-3:
        return
    torch.testing.assert_close(
        truncate_matryoshka(truncate_matryoshka(tensor, a), b), truncate_matryoshka(tensor, b), rtol=1e-4, atol=1e-5
    )


# -- token pooling ------------------------------------------------------------------------------


@given(st.integers(0, 40), st.integers(1, 5), st.integers(2, 16), st.integers(0, 2**32 - 1))
def test_pool_tokens_shape_and_unit_rows(n, pool_factor, d, seed):
    tokens = unit_rows(np.random.default_rng(seed), n, d) if n else np.zeros((0, d), np.float32)
    pooled = pool_tokens(tokens, pool_factor)
    expected = n if (pool_factor == 1 or n <= 1) else max(n // pool_factor, 1)
    assert pooled.shape == (expected, d) and pooled.dtype == np.float32
    if n:
        np.testing.assert_allclose(np.linalg.norm(pooled, axis=1), 1.0, atol=1e-5)
    if pool_factor == 1:
        np.testing.assert_array_equal(pooled, tokens)


@given(st.integers(1, 12), st.integers(2, 4), st.integers(4, 32), st.integers(0, 2**32 - 1))
def test_pooling_exact_duplicates_recovers_them_in_first_occurrence_order(k, pool_factor, d, seed):
    """k distinct tokens each repeated pool_factor times: the cut must merge exactly the duplicates."""
    rng = np.random.default_rng(seed)
    distinct = unit_rows(rng, k, d)
    order = rng.permutation(k * pool_factor)
    tokens = np.repeat(distinct, pool_factor, axis=0)[order]
    pooled = pool_tokens(tokens, pool_factor)
    first_seen = list(dict.fromkeys(int(i) // pool_factor for i in order))
    np.testing.assert_allclose(pooled, distinct[first_seen], atol=1e-5)
    query = unit_rows(rng, 5, d)
    assert maxsim(query, pooled) == pytest.approx(maxsim(query, tokens), abs=1e-4)  # lossless for MaxSim


@given(st.lists(st.integers(0, 20), min_size=0, max_size=5), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_pool_documents_is_pool_tokens_per_document(lengths, pool_factor, seed):
    rng = np.random.default_rng(seed)
    docs = [unit_rows(rng, n, 8) if n else np.zeros((0, 8), np.float32) for n in lengths]
    pooled = pool_documents(docs, pool_factor)
    assert len(pooled) == len(docs)
    for got, doc in zip(pooled, docs):
        np.testing.assert_array_equal(got, pool_tokens(doc, pool_factor))


@pytest.mark.parametrize("pool_factor", [0, -1, 2.5, True, "2"])
def test_pool_factor_must_be_a_positive_integer(pool_factor):
    with pytest.raises(OptionError, match="pool_factor"):
        pool_tokens(np.ones((4, 2), np.float32), pool_factor)


# -- MaxSim (reference) -------------------------------------------------------------------------


@given(st.integers(1, 6), st.integers(1, 10), st.integers(2, 16), st.integers(0, 2**32 - 1))
def test_maxsim_reference_properties(nq, nd, d, seed):
    """The properties the store's MaxSim ranking relies on, on the reference used above."""
    rng = np.random.default_rng(seed)
    q, doc, extra = unit_rows(rng, nq, d), unit_rows(rng, nd, d), unit_rows(rng, 3, d)
    score = maxsim(q, doc)
    assert -nq - 1e-6 <= score <= nq + 1e-6  # unit vectors: each term in [-1, 1]
    assert maxsim(q, doc[rng.permutation(nd)]) == pytest.approx(score, abs=1e-9)  # token order is irrelevant
    assert maxsim(q, np.vstack([doc, extra])) >= score - 1e-9  # more document tokens never lower it
    assert maxsim(q, doc) == pytest.approx(sum(maxsim(q[i : i + 1], doc) for i in range(nq)))  # additive
    assert maxsim(doc, doc) == pytest.approx(nd, abs=1e-5)  # a document matches itself perfectly
