"""The same scenarios on every backend available here, checked against numpy and against each other.

Backends: qdrant-client ``:memory:``, qdrant-client ``path=`` (local mode on disk) and qdrant-edge-py
(the real engine, embedded in a folder). Vectors are precomputed (``add_embeddings`` /
``search_embeddings``) so the store is tested without a model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qdrant_client import models

from jina_local.errors import CollectionConfigError, InputError
from jina_local.qdrant import MultiVectorCollection
from jina_local.qdrant.filters import FilterError

BACKENDS = ["memory", "client_path", "edge"]
DIM = 32
N = 80
TOL = 2e-4


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def corpus() -> dict[str, Any]:
    rng = np.random.default_rng(42)
    centres = _unit(rng.standard_normal((8, 128)))
    multi, dense = [], []
    for i in range(N):
        n_tok = int(rng.integers(4, 24))
        toks = _unit(centres[i % 8] + 0.6 * rng.standard_normal((n_tok, 128)))
        multi.append(toks)
        dense.append(_unit(toks[:, :DIM].mean(0) + 0.3 * rng.standard_normal(DIM)))
    payloads = [{"group": f"g{i % 4}", "n": i, "source": f"doc-{i}"} for i in range(N)]
    tasks = ["code" if i % 3 == 0 else "retrieval" for i in range(N)]
    kinds = ["code" if t == "code" else "text" for t in tasks]
    texts = [f"document number {i}" for i in range(N)]
    q_multi = [_unit(centres[j] + 0.6 * rng.standard_normal((6, 128))) for j in range(3)]
    q_dense = [_unit(q[:, :DIM].mean(0)) for q in q_multi]
    return {
        "dense": np.stack(dense),
        "multi": multi,
        "payloads": payloads,
        "tasks": tasks,
        "kinds": kinds,
        "texts": texts,
        "q_dense": q_dense,
        "q_multi": q_multi,
    }


def _open(kind: str, root: Path, **kwargs: Any) -> MultiVectorCollection:
    if kind == "memory":
        return MultiVectorCollection.open(":memory:", "docs", **kwargs)
    if kind == "client_path":
        return MultiVectorCollection.open(root / "client", "docs", backend="client", **kwargs)
    return MultiVectorCollection.open(root / "edge", "docs", **kwargs)


def _fill(store: MultiVectorCollection, c: dict[str, Any]) -> list[str | None]:
    summary = store.add_embeddings(
        c["dense"], c["multi"], payloads=c["payloads"], tasks=c["tasks"], kinds=c["kinds"], texts=c["texts"]
    )
    assert summary.ok and summary.added == N
    return summary.ids


def _maxsim(q: np.ndarray, docs: list[np.ndarray]) -> np.ndarray:
    return np.array([float((q @ d.T).max(axis=1).sum()) for d in docs])


def _reference(
    c: dict[str, Any], qi: int, mode: str, mask: np.ndarray, limit: int, prefetch: int
) -> list[tuple[int, float]]:
    idx = np.flatnonzero(mask)
    dense_scores = c["dense"][idx] @ c["q_dense"][qi]
    if mode == "dense":
        scores, cand = dense_scores, idx
    else:
        cand = idx if mode == "multi" else idx[np.argsort(-dense_scores, kind="stable")[:prefetch]]
        scores = _maxsim(c["q_multi"][qi], [c["multi"][i] for i in cand])
    order = np.argsort(-scores, kind="stable")[:limit]
    return [(int(cand[o]), float(scores[o])) for o in order]


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory, corpus: dict[str, Any]):
    root = tmp_path_factory.mktemp("stores")
    opened = {}
    for kind in BACKENDS:
        store = _open(kind, root, dense_dim=DIM)
        ids = _fill(store, corpus)
        opened[kind] = (store, ids)
    yield opened, root
    for store, _ in opened.values():
        store.close()


def test_backends_are_the_expected_engines(stores) -> None:
    opened, _ = stores
    assert "memory" in opened["memory"][0].backend_label
    assert "path=" in opened["client_path"][0].backend_label
    assert "qdrant-edge-py" in opened["edge"][0].backend_label


@pytest.mark.parametrize("mode", ["two_stage", "multi", "dense"])
def test_all_backends_match_numpy_and_each_other(stores, corpus, mode: str) -> None:
    opened, _ = stores
    ids = opened["memory"][1]
    assert all(opened[k][1] == ids for k in BACKENDS)  # deterministic ids, identical everywhere
    for qi in range(3):
        ref = _reference(corpus, qi, mode, np.ones(N, bool), limit=10, prefetch=20)
        for kind in BACKENDS:
            hits = opened[kind][0].search_embeddings(
                corpus["q_dense"][qi], corpus["q_multi"][qi], limit=10, prefetch_limit=20, mode=mode
            )
            assert [h.id for h in hits] == [ids[i] for i, _ in ref], (kind, qi)
            np.testing.assert_allclose([h.score for h in hits], [s for _, s in ref], atol=TOL, rtol=TOL)
            assert hits[0].payload["n"] == ref[0][0] and hits[0].payload["text"] == f"document number {ref[0][0]}"


FILTERS = {
    "group": (
        models.Filter(must=[models.FieldCondition(key="group", match=models.MatchValue(value="g1"))]),
        lambda p: p["group"] == "g1",
    ),
    "any+range": (
        models.Filter(
            must=[
                models.FieldCondition(key="group", match=models.MatchAny(any=["g0", "g2"])),
                models.FieldCondition(key="n", range=models.Range(gte=10, lt=60)),
            ]
        ),
        lambda p: p["group"] in ("g0", "g2") and 10 <= p["n"] < 60,
    ),
    "must_not+should": (
        models.Filter(
            must_not=[models.FieldCondition(key="group", match=models.MatchValue(value="g3"))],
            should=[
                models.FieldCondition(key="n", range=models.Range(lt=20)),
                models.FieldCondition(key="kind", match=models.MatchValue(value="code")),
            ],
        ),
        lambda p: p["group"] != "g3" and (p["n"] < 20 or p["n"] % 3 == 0),
    ),
    "nested filter": (
        models.Filter(
            must=[
                models.Filter(
                    should=[
                        models.FieldCondition(key="task", match=models.MatchValue(value="code")),
                        models.FieldCondition(key="source", match=models.MatchValue(value="doc-7")),
                    ]
                )
            ]
        ),
        lambda p: p["n"] % 3 == 0 or p["n"] == 7,
    ),
}


@pytest.mark.parametrize("name", list(FILTERS))
@pytest.mark.parametrize("mode", ["two_stage", "multi"])
def test_filters_agree_on_every_backend(stores, corpus, name: str, mode: str) -> None:
    opened, _ = stores
    flt, pred = FILTERS[name]
    mask = np.array([pred(p) for p in corpus["payloads"]])
    ids = opened["memory"][1]
    ref = _reference(corpus, 1, mode, mask, limit=5, prefetch=15)
    for kind in BACKENDS:
        store = opened[kind][0]
        hits = store.search_embeddings(
            corpus["q_dense"][1], corpus["q_multi"][1], limit=5, prefetch_limit=15, mode=mode, filter=flt
        )
        assert [h.id for h in hits] == [ids[i] for i, _ in ref], kind
        np.testing.assert_allclose([h.score for h in hits], [s for _, s in ref], atol=TOL, rtol=TOL)
        assert store.count(flt) == int(mask.sum())


def test_task_restricted_search_and_task_record(stores, corpus) -> None:
    opened, _ = stores
    for kind in BACKENDS:
        store = opened[kind][0]
        assert store.tasks == ["code", "retrieval"]
        hits = store.search_embeddings(corpus["q_dense"][0], corpus["q_multi"][0], limit=50, task="code")
        assert hits and all(h.payload["task"] == "code" and h.task == "code" for h in hits)
        assert len(hits) == sum(t == "code" for t in corpus["tasks"])


def test_readding_is_idempotent(stores, corpus) -> None:
    opened, _ = stores
    for kind in BACKENDS:
        store, ids = opened[kind]
        again = store.add_embeddings(
            corpus["dense"][:10],
            corpus["multi"][:10],
            payloads=corpus["payloads"][:10],
            tasks=corpus["tasks"][:10],
            kinds=corpus["kinds"][:10],
            texts=corpus["texts"][:10],
        )
        assert again.ids == ids[:10]
        assert store.count() == N


def test_reopen_keeps_points_metadata_and_results(tmp_path: Path, corpus) -> None:
    for kind in ("client_path", "edge"):
        store = _open(kind, tmp_path, dense_dim=DIM, pool_factor=2)
        ids = _fill(store, corpus)
        before = store.search_embeddings(corpus["q_dense"][2], corpus["q_multi"][2], limit=5)
        store.close()
        again = _open(kind, tmp_path)  # no dims given: read from the collection
        assert again.dense_dim == DIM and again.pool_factor == 2 and again.tasks == ["code", "retrieval"]
        assert again.count() == N
        after = again.search_embeddings(corpus["q_dense"][2], corpus["q_multi"][2], limit=5)
        assert [h.id for h in after] == [h.id for h in before]
        stored = again.get([ids[3]], with_vectors=True)[0]
        assert len(stored["vector"]["multi"]) == len(corpus["multi"][3]) // 2  # pooled by 2
        again.close()


@pytest.mark.parametrize("kind", BACKENDS)
def test_mismatch_is_refused_and_touches_nothing(tmp_path: Path, corpus, kind: str) -> None:
    from qdrant_client import QdrantClient

    if kind == "memory":  # share one in-memory client between the two opens
        client = QdrantClient(":memory:")
        open_ = lambda **kw: MultiVectorCollection.open(client, "docs", **kw)  # noqa: E731
    else:
        open_ = lambda **kw: _open(kind, tmp_path, **kw)  # noqa: E731
    store = open_(dense_dim=DIM, multi_dtype="float32")
    store.add_embeddings(corpus["dense"][:5], corpus["multi"][:5])
    store.close()
    cases = [
        ({"dense_dim": 16}, ["dense vector size: collection has 32, asked dense_dim=16", "dense_dim=32"]),
        ({"multi": False}, ["stores multi-vectors", "multi=True"]),
        ({"multi_dtype": "float16"}, ["datatype: collection has float32", "multi_dtype='float32'"]),
        ({"pool_factor": 3}, ["pool_factor: collection was filled with 1, asked 3"]),
    ]
    for kwargs, needles in cases:
        with pytest.raises(CollectionConfigError) as err:
            open_(**kwargs)
        for needle in needles:
            assert needle in str(err.value)
        assert "Nothing was changed" in str(err.value)
    again = open_()
    assert again.count() == 5 and again.dense_dim == DIM
    again.close()


def test_edge_refuses_untranslatable_filter_clearly(stores, corpus) -> None:
    opened, _ = stores
    with pytest.raises(
        FilterError, match="filter must be a qdrant_client.models.Filter, a dict or LlamaIndex MetadataFilters"
    ):
        opened["edge"][0].search_embeddings(corpus["q_dense"][0], corpus["q_multi"][0], filter=["group"])  # type: ignore[arg-type]


def test_bad_vectors_are_reported_per_item(tmp_path: Path, corpus) -> None:
    store = _open("edge", tmp_path, dense_dim=DIM)
    multi = list(corpus["multi"][:4])
    multi[2] = np.zeros((3, 64), dtype=np.float32)
    summary = store.add_embeddings(corpus["dense"][:4], multi)
    assert summary.added == 3 and [f.index for f in summary.failures] == [2] and summary.ids[2] is None
    assert "expected (n_tokens>0, 128)" in summary.failures[0].error
    with pytest.raises(InputError, match=r"shape \(n, 32\)"):
        store.add_embeddings(np.zeros((2, 16), dtype=np.float32), multi[:2])
    # metadata is nested (layout 2): a caller's "task" key no longer clashes with jina-local's own field
    mine = store.add_embeddings(corpus["dense"][:1], corpus["multi"][:1], payloads=[{"task": "mine"}])
    (point,) = store.get(mine.ids)
    assert (
        mine.added == 1 and point["stored"]["metadata"] == {"task": "mine"} and point["payload"]["task"] == "retrieval"
    )
    store.close()
