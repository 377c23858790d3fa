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
