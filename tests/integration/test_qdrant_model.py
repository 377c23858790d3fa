"""End to end with the tiny jina-embeddings-v4 checkpoint: add, search, tasks followed, validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from qdrant_client import models

from jina_local.errors import CollectionConfigError
from jina_local.qdrant import MultiVectorCollection

PROSE = [
    "Cats sleep sixteen hours a day.",
    "The quarterly revenue grew by ten percent.",
    "Paris is the capital of France.",
    "Rain is expected tomorrow afternoon.",
]
CODE = ["def add(a, b):\n    return a + b", "for i in range(10):\n    print(i)"]


def _image(colour: tuple[int, int, int]) -> Image.Image:
    return Image.new("RGB", (56, 56), colour)


@pytest.fixture()
def filled(tiny_v4, tmp_path: Path):
    store = MultiVectorCollection.open(tmp_path / "index", "docs", model=tiny_v4)
    s1 = store.add(PROSE + [_image((200, 30, 30)), 12345], payloads=[{"lang": "en"}] * 6)
    s2 = store.add(CODE, task="code", payloads=[{"source": f"file{i}.py"} for i in range(2)])
    yield store, s1, s2
    store.close()


def test_add_reports_bad_items_and_writes_the_rest(filled) -> None:
    store, s1, s2 = filled
    assert [f.index for f in s1.failures] == [5] and "item 5" in s1.failures[0].error
    assert s1.added == 5 and s2.added == 2 and store.count() == 7
    assert store.tasks == ["code", "retrieval"]
    pts = {p["id"]: p["payload"] for p in store.get([i for i in s1.ids + s2.ids if i])}
    assert pts[s1.ids[0]]["text"] == PROSE[0] and pts[s1.ids[0]]["task"] == "retrieval"
    assert pts[s1.ids[0]]["lang"] == "en" and pts[s1.ids[0]]["kind"] == "text"
    assert pts[s1.ids[4]]["kind"] == "image" and "text" not in pts[s1.ids[4]]
    assert pts[s2.ids[1]]["task"] == "code" and pts[s2.ids[1]]["source"] == "file1.py"


def test_readding_is_idempotent(filled) -> None:
    store, s1, _ = filled
    again = store.add(PROSE[:2], payloads=[{"lang": "en"}] * 2)
    assert again.ids == s1.ids[:2] and store.count() == 7


def test_search_matches_an_independent_maxsim(filled, tiny_v4) -> None:
    store, s1, s2 = filled
    query = "how long do cats sleep"
    for task, ids, texts in (("retrieval", s1.ids[:4], PROSE), ("code", s2.ids, CODE)):
        docs = tiny_v4.encode_document(texts, task=task, output="multi")
        q = tiny_v4.encode_query(query, task=task, output="multi").multi[0]
        ref = sorted(((float((q @ d.T).max(1).sum()), i) for d, i in zip(docs.multi, ids)), reverse=True)
        hits = store.search(
            query,
            limit=10,
            mode="multi",
            tasks=task,
            filter=models.Filter(must_not=[models.FieldCondition(key="kind", match=models.MatchValue(value="image"))]),
        )
        assert [h.id for h in hits] == [i for _, i in ref]
        np.testing.assert_allclose([h.raw_score for h in hits], [s for s, _ in ref], atol=1e-3)


def test_query_is_encoded_once_per_task_present(filled, tiny_v4, monkeypatch) -> None:
    store, s1, s2 = filled
    seen: list[Any] = []
    real = tiny_v4.encode_query

    def spy(items: Any, **kwargs: Any):
        seen.append(kwargs.get("task"))
        return real(items, **kwargs)

    monkeypatch.setattr(tiny_v4, "encode_query", spy)
    hits = store.search("add two numbers", limit=7)
    assert sorted(seen) == ["code", "retrieval"]
    assert {h.id for h in hits} == {i for i in s1.ids + s2.ids if i}  # fused list covers both tasks
    assert hits == sorted(hits, key=lambda h: -h.score)
    seen.clear()
    only = store.search(
        "add two numbers",
        filter=models.Filter(must=[models.FieldCondition(key="task", match=models.MatchValue(value="code"))]),
    )
    assert seen == ["code"] and {h.id for h in only} == set(s2.ids)
    for mode in ("two_stage", "dense", "multi"):
        assert len(store.search("anything", limit=3, mode=mode)) == 3


def test_image_query(filled) -> None:
    store, s1, _ = filled
    hits = store.search(_image((200, 30, 30)), limit=1, tasks="retrieval", mode="multi")
    assert hits[0].id == s1.ids[4]


def test_matryoshka_pooling_and_model_validation(tiny_v4, tmp_path: Path) -> None:
    small = min(d for d in tiny_v4.info.matryoshka_dims if d < tiny_v4.info.dense_dim)
    store = MultiVectorCollection.open(tmp_path, "small", model=tiny_v4, dense_dim=small, pool_factor=2)
    summary = store.add(PROSE)
    n_tokens = [len(m) for m in tiny_v4.encode_document(PROSE, output="multi").multi]
    stored = store.get(summary.ids, with_vectors=True)  # type: ignore[arg-type]
    by_id = {p["id"]: p for p in stored}
    assert [len(by_id[i]["vector"]["dense"]) for i in summary.ids] == [small] * 4  # type: ignore[index]
    assert [len(by_id[i]["vector"]["multi"]) for i in summary.ids] == [n // 2 for n in n_tokens]  # type: ignore[index]
    assert store.search(PROSE[2], limit=1, mode="dense")[0].id == summary.ids[2]
    store.close()
    with pytest.raises(CollectionConfigError, match="not a Matryoshka size"):
        MultiVectorCollection.open(tmp_path, "bad", model=tiny_v4, dense_dim=small + 1)
    meta_file = tmp_path / "small" / "jina_local.json"
    meta = json.loads(meta_file.read_text())
    assert meta["model_fingerprint"] == tiny_v4.info.fingerprint
    meta["model"] = "jinaai/some-other-model"
    meta_file.write_text(json.dumps(meta))
    # Same weights under another name (e.g. a hub id vs a local copy): accepted.
    MultiVectorCollection.open(tmp_path, "small", model=tiny_v4).close()
    meta["model_fingerprint"] = "0123456789abcdef"
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(CollectionConfigError, match="built with other weights .'jinaai/some-other-model'"):
        MultiVectorCollection.open(tmp_path, "small", model=tiny_v4)
    again = MultiVectorCollection.open(tmp_path, "small")  # without a model: vectors only
    assert again.count() == 4
    with pytest.raises(CollectionConfigError, match="needs a model"):
        again.search("x")
    again.close()


def test_mixed_collection_routes_documents_and_queries_follow_them(tiny_v4, tmp_path: Path) -> None:
    """Issue 4 end to end: auto routing on add, per-task query encodings on search, fused results.

    The tiny model has random weights, so "a code question" is the code snippet itself: what is
    checked is that the code hit comes back, stored with the code adapter, found through the
    query encoded with the code adapter (and the same for prose).
    """
    items = [*CODE, *PROSE, _image((10, 200, 10))]
    with MultiVectorCollection.open(tmp_path / "mixed", "docs", model=tiny_v4) as store:
        summary = store.add(items)  # no task: routed per item
        stored = {p["id"]: p["payload"] for p in store.get(summary.ids)}  # type: ignore[arg-type]
        tasks = [stored[i]["task"] for i in summary.ids]  # type: ignore[index]
        assert tasks == ["code", "code"] + ["retrieval"] * 5
        for mode in ("two_stage", "multi", "dense"):
            code_hit = store.search(CODE[1], limit=3, mode=mode)[0]
            assert code_hit.id == summary.ids[1] and code_hit.task == "code", mode
            prose_hit = store.search(PROSE[2], limit=3, mode=mode)[0]
            assert prose_hit.id == summary.ids[4] and prose_hit.task == "retrieval", mode
        # Override beats auto: forcing retrieval stores the code snippet under the retrieval adapter.
        forced = store.add([CODE[0] + "  # forced"], task="retrieval")
        assert store.get(forced.ids)[0]["payload"]["task"] == "retrieval"  # type: ignore[arg-type]


def test_skip_existing_does_not_encode_stored_items(filled, tiny_v4, monkeypatch) -> None:
    store, s1, _ = filled
    encoded: list[object] = []
    real = tiny_v4.stream

    def spy(items, **kw):
        def seen():
            for item in items:
                encoded.append(item)
                yield item

        return real(seen(), **kw)

    monkeypatch.setattr(tiny_v4, "stream", spy)
    again = store.add([*PROSE[:2], "A brand new note."], payloads=[{"lang": "en"}] * 3, skip_existing=True)
    assert again.skipped == [0, 1] and again.ids[:2] == s1.ids[:2] and again.added == 1
    assert encoded == ["A brand new note."] and store.count() == 8
