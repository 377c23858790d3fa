"""Bad input to the store gets a typed error or a per-item failure, never garbage or a raw engine error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from jina_local.errors import (
    CollectionConfigError,
    CollectionLockedError,
    InputError,
    OptionError,
    TaskError,
)
from jina_local.qdrant import MultiVectorCollection


@pytest.fixture()
def store(tiny_v4, tmp_path: Path):
    with MultiVectorCollection.open(tmp_path / "index", "docs", model=tiny_v4) as collection:
        collection.add(["Cats sleep sixteen hours a day.", "def f(x):\n    return x\n"], progress=False)
        yield collection


@pytest.mark.parametrize("name", ["", "../x", "/abs", ".hidden", "a/b", "a\\b", "x" * 300, "..", "-dash", 5, None])
def test_collection_names_cannot_leave_the_index_folder(tiny_v4, tmp_path: Path, name) -> None:
    for location in (tmp_path / "index", ":memory:"):
        with pytest.raises(OptionError, match="collection name"):
            MultiVectorCollection.open(location, name, model=tiny_v4)
    assert not (tmp_path / "x").exists() and not Path("/abs").exists()


@pytest.mark.parametrize("options", [
    {"pool_factor": 100}, {"pool_factor": 0}, {"pool_factor": True}, {"pool_factor": 2.5},
    {"multi_dtype": "int4"}, {"dense_quantization": "int4"}, {"dense_dim": 0}, {"hnsw_m": -1},
    {"backend": "sqlite"}, {"shard_number": 0}, {"replication_factor": 1.5}, {"write_consistency_factor": 0},
])  # fmt: skip
def test_open_refuses_impossible_settings(tiny_v4, tmp_path: Path, options) -> None:
    with pytest.raises(OptionError):
        MultiVectorCollection.open(tmp_path / "index", "docs", model=tiny_v4, **options)


def test_cluster_settings_reach_create_collection(tiny_v4, monkeypatch: pytest.MonkeyPatch) -> None:
    """shard_number, replication_factor and write_consistency_factor go to create_collection (local mode
    accepts and drops them, so the call itself is what is checked); a new collection only."""
    from qdrant_client import QdrantClient

    client = QdrantClient(":memory:")
    calls: list[dict] = []
    create = client.create_collection

    def spy(name: str, **kwargs):
        calls.append(kwargs)
        return create(name, **kwargs)

    monkeypatch.setattr(client, "create_collection", spy)
    cluster = {"shard_number": 6, "replication_factor": 2, "write_consistency_factor": 2}
    with MultiVectorCollection.open(client, "docs", model=tiny_v4, **cluster):
        pass
    assert len(calls) == 1 and {k: calls[0][k] for k in cluster} == cluster
    with MultiVectorCollection.open(client, "docs", model=tiny_v4, write_consistency_factor=3):
        pass  # creation-only, as shard_number: an existing collection is opened as it is
    assert len(calls) == 1


def test_an_index_location_that_is_a_file(tiny_v4, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(OptionError, match="is a file"):
        MultiVectorCollection.open(tmp_path / "file", "docs", model=tiny_v4)


def test_a_damaged_collection_record_is_a_typed_error(store, tiny_v4, tmp_path: Path) -> None:
    store.close()
    (tmp_path / "index" / "docs" / "jina_local.json").write_text("{half a record")
    with pytest.raises(CollectionConfigError, match="damaged"):
        MultiVectorCollection.open(tmp_path / "index", "docs", model=tiny_v4)


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from jina_local.qdrant import MultiVectorCollection
    store = MultiVectorCollection.open(sys.argv[1], "docs", dense_dim=64, multi=False)
    print("open", flush=True)
    time.sleep(60)
    """
)


def test_a_folder_held_by_another_process(tmp_path: Path, tiny_v4) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path / "index")], stdout=subprocess.PIPE,
                             text=True, env=env)  # fmt: skip
    try:
        assert child.stdout.readline().strip() == "open"
        with pytest.raises(CollectionLockedError, match="already open"):
            MultiVectorCollection.open(tmp_path / "index", "docs", dense_dim=64, multi=False)
        with pytest.raises(CollectionLockedError):  # creating the same collection at the same time
            MultiVectorCollection.open(tmp_path / "index", "docs", model=tiny_v4, dense_dim=64, multi=False)
    finally:
        child.kill()
        child.wait(timeout=30)
    deadline = time.monotonic() + 10
    while True:  # the lock goes with the process
        try:
            MultiVectorCollection.open(tmp_path / "index", "docs", dense_dim=64, multi=False).close()
            break
        except CollectionLockedError:
            assert time.monotonic() < deadline
            time.sleep(0.1)


def test_add_embeddings_refuses_vectors_that_would_hide_or_break_points(store, tiny_v4) -> None:
    good = tiny_v4.encode(["one", "two", "three", "four", "five"], output="both")
    dense = good.dense.copy()
    dense[1, 3] = np.nan
    dense[2, :] = 0.0
    dense[3, 0] = np.inf
    before = store.count()
    summary = store.add_embeddings(dense, good.multi, texts=["one", "two", "three", "four", "five"])
    assert [f.index for f in summary.failures] == [1, 2, 3]
    assert "NaN" in summary.failures[0].error and "zeros" in summary.failures[1].error
    assert summary.added == 2 and store.count() == before + 2
    broken = [m.copy() for m in good.multi]
    broken[0][0, 0] = np.nan
    bad = store.add_embeddings(good.dense, broken, texts=["1", "2", "3", "4", "5"])
    assert [f.index for f in bad.failures] == [0]


def test_add_embeddings_duplicate_ids_in_one_call(store, tiny_v4) -> None:
    good = tiny_v4.encode(["same", "same", "other"], output="both")
    before = store.count()
    summary = store.add_embeddings(good, texts=["same", "same", "other"])
    assert [f.index for f in summary.failures] == [1] and "of point 0" in summary.failures[0].error
    assert summary.added == 2 and store.count() == before + 2


def test_add_embeddings_refuses_unknown_tasks_and_kinds(store, tiny_v4) -> None:
    good = tiny_v4.encode(["x"], output="both")
    with pytest.raises(TaskError, match="bogus"):
        store.add_embeddings(good.dense, good.multi, tasks="bogus")
    with pytest.raises(InputError, match="kinds"):
        store.add_embeddings(good.dense, good.multi, kinds="movie")
    assert store.search("x", limit=3)  # later searches still work
    assert "bogus" not in store.tasks


@pytest.mark.parametrize("payload", [0, b"bytes", 5, "text", ["a"], {"when": object()}, {"x": float("nan")}, {1: "a"}])
def test_payloads_that_are_not_json_objects(store, payload) -> None:
    before = store.count()
    summary = store.add(["first text", "second text"], payloads=[payload, {"fine": True}], progress=False)
    assert [f.index for f in summary.failures] == [0]
    assert "payload 0" in summary.failures[0].error
    assert store.count() == before + 1


def test_search_refuses_what_it_would_silently_misread(store) -> None:
    with pytest.raises(InputError, match="one query"):
        store.search(["cats", "dogs"])
    with pytest.raises(TaskError, match="bogus"):
        store.search("cats", tasks=["bogus"])
    for options in (
        {"limit": 0},
        {"limit": -5},
        {"limit": 2.5},
        {"prefetch_limit": 0},
        {"mode": "hybrid"},
        {"fusion": "max"},
    ):
        with pytest.raises(OptionError):
            store.search("cats", **options)
    assert store.search("cats", tasks=["retrieval"], limit=1)[0].payload["task"] == "retrieval"
    assert store.search("cats", tasks="retrieval.query", limit=1)


def test_collection_record_is_json(store, tmp_path: Path) -> None:
    record = json.loads((tmp_path / "index" / "docs" / "jina_local.json").read_text())
    assert record["tasks"] == ["code", "retrieval"] and record["dense_dim"] == 64


@pytest.mark.parametrize("tasks", [5, [], (), {"retrieval": 1}, b"retrieval", 2.5])
def test_search_tasks_that_name_no_task(store, tasks) -> None:
    with pytest.raises(TaskError, match="tasks="):
        store.search("cats", tasks=tasks)


@pytest.mark.parametrize("tasks", [5, {"retrieval"}, {"retrieval": 1}, b"retrieval"])
def test_add_embeddings_tasks_of_the_wrong_kind(store, tiny_v4, tasks) -> None:
    good = tiny_v4.encode(["x"], output="both")
    with pytest.raises(TaskError, match="tasks="):
        store.add_embeddings(good.dense, good.multi, tasks=tasks)


@pytest.mark.parametrize(
    ("items", "says"),
    [({"a text", "b text"}, "add\\(\\) got a set"), (frozenset({"a"}), "frozenset"), ({"a": 1}, "mapping")],
)
def test_add_refuses_unordered_and_keyed_containers(store, items, says) -> None:
    before = store.count()
    with pytest.raises(InputError, match=says):
        store.add(items, payloads=[{"n": 1}, {"n": 2}][: len(items)], progress=False)
    assert store.count() == before


@pytest.mark.parametrize(("what", "value"), [("payloads", 5), ("payloads", {"a": 1}), ("ids", 7), ("ids", "abc")])
def test_add_payloads_and_ids_must_be_one_per_item(store, tiny_v4, what, value) -> None:
    with pytest.raises(InputError, match=f"{what} is a"):
        store.add(["a text", "b text"], progress=False, **{what: value})
    with pytest.raises(InputError, match=f"{what} is a"):
        store.add_embeddings(tiny_v4.encode(["a", "b"], output="both"), **{what: value})


@pytest.mark.parametrize(("what", "values"), [("texts", [5, 6]), ("texts", [b"a", None]), ("sources", [1, "b"])])
def test_add_embeddings_texts_and_sources_must_be_strings(store, tiny_v4, what, values) -> None:
    before = store.count()
    with pytest.raises(InputError, match=rf"{what}\[0\]="):
        store.add_embeddings(tiny_v4.encode(["a", "b"], output="both"), **{what: values})
    assert store.count() == before


def test_vectors_at_extreme_scales_are_stored_normalised(tiny_v4, tmp_path: Path) -> None:
    docs = tiny_v4.encode(["cats sleep all day", "stock prices fell"], output="both")
    with MultiVectorCollection.open(tmp_path / "scales", "docs", model=tiny_v4) as store:
        for scale, tag in ((1.0, "unit"), (1e38, "huge"), (1e-30, "tiny")):
            factor = np.float32(scale)
            summary = store.add_embeddings(
                docs.dense * factor, [m * factor for m in docs.multi], texts=[f"{tag} cats", f"{tag} stocks"]
            )
            assert summary.added == 2 and not summary.failures
        for mode in ("dense", "multi", "two_stage"):
            hits = store.search("cats sleep all day", mode=mode, limit=6)
            scores = {h.payload["text"]: h.raw_score for h in hits}
            for tag in ("huge", "tiny"):  # the same direction scores the same, at any scale
                assert scores[f"{tag} cats"] == pytest.approx(scores["unit cats"], rel=1e-4, abs=1e-5), mode
        stored = store.get([h.id for h in hits], with_vectors=True)
        norms = [np.linalg.norm(np.asarray(p["vector"]["dense"], np.float64)) for p in stored]
        assert np.allclose(norms, 1.0, atol=1e-5)


@pytest.mark.parametrize("pool_factor", [5, 8, 9])
def test_pool_factor_beyond_the_documented_range(tiny_v4, tmp_path: Path, pool_factor) -> None:
    with pytest.raises(OptionError, match="2-4"):
        MultiVectorCollection.open(tmp_path / "index", "docs", model=tiny_v4, pool_factor=pool_factor)
    with MultiVectorCollection.open(tmp_path / "index", "docs", model=tiny_v4, pool_factor=4) as store:
        assert store.pool_factor == 4
