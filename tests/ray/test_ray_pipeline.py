"""jina_local.ray on a local Ray (2 CPUs), with the tiny v4 checkpoint loaded by the real loader in each actor.

A clean single-process run (``add()``) is the reference. The Ray run, whose actor dies in the middle of
the job, and runs whose writer fails in the middle of a block must end in the same collection: ids,
count, vectors and payloads.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from jina_local.qdrant import MultiVectorCollection

ray = pytest.importorskip("ray", reason="Ray Data is not installed: pip install -e '.[test]' (or jina-local[ray])")

from jina_local.ray import _embed, _sink, embed_dataset, write_collection


def _png(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (40, 56, 3), dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


CORPUS: list[Any] = (
    [f"Note {i}: cats sleep " + "and dream " * (i % 9) + "all day." for i in range(20)]
    + [f"def add_{i}(a, b):\n    return a + b * {i}\n" for i in range(8)]
    + [_png(1), _png(2)]
    + ["a lone surrogate \ud800 cannot be encoded"]
)
BAD = len(CORPUS) - 1
GOOD = len(CORPUS) - 1


def _dataset(local_ray: Any) -> Any:
    return local_ray.data.from_items([{"item": x, "n": i} for i, x in enumerate(CORPUS)], override_num_blocks=4)


def _embed_run(local_ray: Any, model_dir: Path, **kwargs: Any) -> Any:
    return embed_dataset(
        _dataset(local_ray), str(model_dir), device="cpu", dtype="float32", batch_size=4, concurrency=1, **kwargs
    )


def _snapshot(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray, dict[str, Any]]]:
    with MultiVectorCollection.open(folder, "docs", create=False) as store:
        points = {p["id"]: p for p in store.scroll(with_vectors=True)}
        assert store.count() == len(points)
    return {
        pid: (np.asarray(p["vector"]["dense"], np.float32), np.asarray(p["vector"]["multi"], np.float32), p["stored"])
        for pid, p in points.items()
    }


def _assert_same(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert sorted(got) == sorted(want)
    for pid, (dense, multi, payload) in want.items():
        g_dense, g_multi, g_payload = got[pid]
        assert np.abs(g_dense - dense).max() <= 1e-6
        assert g_multi.shape == multi.shape and np.abs(g_multi - multi).max() <= 1e-6
        node, g_node = json.loads(payload.get("_node_content", "{}")), json.loads(g_payload.get("_node_content", "{}"))
        assert g_node == node  # the node record's JSON may list metadata keys in another order
        assert {**g_payload, "_node_content": None} == {**payload, "_node_content": None}


def _dying_encoder(marker: str, at_call: int) -> type:
    class DyingEncoder(_embed.EncodeBatches):
        """Kills its own process once, at its ``at_call``-th batch (the marker file makes it once per job)."""

        calls = 0

        def __call__(self, table: Any) -> Any:
            type(self).calls += 1
            if type(self).calls == at_call and not os.path.exists(marker):
                Path(marker).write_text(str(os.getpid()))
                os._exit(1)
            return super().__call__(table)

    return DyingEncoder


@pytest.fixture(scope="module")
def embedded(local_ray: Any, tiny_v4_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The Ray run, computed once (materialized): its actor dies at its 3rd batch and Ray restarts it."""
    marker = tmp_path_factory.mktemp("faults") / "actor-died"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_embed, "EncodeBatches", _dying_encoder(str(marker), at_call=3))
        ds = _embed_run(local_ray, tiny_v4_dir, max_restarts=2).materialize()
    ds.actor_died = marker.exists()  # type: ignore[attr-defined]
    return ds


@pytest.fixture(scope="module")
def reference(tiny_v4: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A clean single-process run: ``add()`` of the same items, the collection every Ray run must equal."""
    folder = tmp_path_factory.mktemp("reference")
    with MultiVectorCollection.open(folder, "docs", tiny_v4) as direct:
        added = direct.add(CORPUS, payloads=[{"n": i} for i in range(len(CORPUS))])
    assert [f.index for f in added.failures] == [BAD]
    return _snapshot(folder)


@pytest.fixture(scope="module")
def clean(embedded: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("written")
    summary = write_collection(embedded, folder, "docs")
    assert summary.written == GOOD and summary.failed == 1
    return {"folder": folder, "summary": summary, "points": _snapshot(folder)}


def test_vectors_equal_single_process_encode(embedded: Any, tiny_v4: Any) -> None:
    rows = sorted(embedded.take_all(), key=lambda r: r["n"])
    assert [r["n"] for r in rows] == list(range(len(CORPUS)))
    want = tiny_v4.encode(CORPUS, output="both", errors="skip")
    assert set(want.errors) == {BAD}
    for i, row in enumerate(rows):
        if i == BAD:
            assert "lone surrogate" in row["error"] and row["task"] is None and row["kind"] is None
            assert np.isnan(row["dense"]).all() and row["multi"].shape == (0, 128)
            continue
        assert row["error"] is None
        assert (row["task"], row["kind"]) == (want.tasks[i], want.kinds[i])
        assert row["dense"].dtype == np.float32 and row["dense"].shape == (tiny_v4.info.dense_dim,)
        assert np.abs(row["dense"] - want.dense[i]).max() <= 1e-6
        assert row["multi"].shape == want.multi[i].shape
        assert np.abs(row["multi"] - want.multi[i]).max() <= 1e-6
    assert {r["kind"] for r in rows if r["kind"]} == {"text", "code", "image"}


def test_actor_killed_mid_job_loses_and_duplicates_nothing(
    embedded: Any, clean: dict[str, Any], reference: dict[str, Any]
) -> None:
    assert embedded.actor_died  # the actor did die in the middle of the job, and Ray restarted it
    _assert_same(clean["points"], reference)  # ids, count, vectors and payloads of a clean add()


def test_collection_record_and_summary(clean: dict[str, Any], tiny_v4: Any) -> None:
    summary = clean["summary"]
    assert summary.tasks == ["code", "retrieval"] and summary.kinds == ["code", "image", "text"]
    assert "lone surrogate" in summary.failures[0].error
    with MultiVectorCollection.open(clean["folder"], "docs", tiny_v4, create=False) as store:
        meta = store.metadata
        assert (meta["model"], meta["model_fingerprint"]) == (tiny_v4.info.name, tiny_v4.info.fingerprint)
        assert meta["tasks"] == ["code", "retrieval"]
        hit = store.search("cats sleep and dream", limit=1)[0]
        assert hit.payload["text"].startswith("Note ")


def _flaky_sink(marker: str, how: str) -> type:
    class FlakyWriter(_sink.BlockWriter):
        """Upserts half of its second chunk, then fails once: a transient error, or the process dies."""

        chunks = 0

        def _send(self, records: list[Any], tasks: set[str], kinds: set[str]) -> None:
            type(self).chunks += 1
            if type(self).chunks == 2 and not os.path.exists(marker):
                super()._send(records[: len(records) // 2], tasks, kinds)
                Path(marker).write_text(how)
                if how == "die":
                    os._exit(1)  # Ray runs the write task again in a new worker
                raise ConnectionError("connection reset by peer (simulated)")  # retried inside the task
            super()._send(records, tasks, kinds)

    class FlakySink(_sink.CollectionDatasink):
        def open_writer(self, collection: Any) -> Any:
            return FlakyWriter(
                collection,
                column=self.column,
                upsert_batch=self.upsert_batch,
                retries=self.retries,
                backoff=self.backoff,
            )

    return FlakySink


@pytest.mark.parametrize("how", ["transient", "die"])
def test_writer_failure_mid_block_is_retried_without_duplicates(
    how: str, reference: dict[str, Any], embedded: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "writer-failed"
    monkeypatch.setattr(_sink, "CollectionDatasink", _flaky_sink(str(marker), how))
    summary = write_collection(embedded, tmp_path / "idx", "docs", upsert_batch=4)
    assert marker.read_text() == how
    assert summary.written == GOOD and summary.failed == 1
    _assert_same(_snapshot(tmp_path / "idx"), reference)


def test_in_process_collection_and_pooling(embedded: Any, tiny_v4: Any) -> None:
    from jina_local.token_pooling import pool_tokens

    rows = {r["n"]: r for r in embedded.take_all()}
    with MultiVectorCollection.open(":memory:", "docs", tiny_v4, pool_factor=2) as store:
        summary = write_collection(embedded, store)
        assert summary.written == GOOD and store.count() == GOOD
        points = list(store.scroll(with_vectors=True))
    for point in points:
        want = pool_tokens(rows[point["payload"]["n"]]["multi"], 2)  # pooled in the stage before the writer
        got = np.asarray(point["vector"]["multi"], np.float32)
        assert got.shape == want.shape and np.abs(got - want).max() <= 1e-6


def test_existing_collection_is_validated_before_the_job(embedded: Any, clean: dict[str, Any]) -> None:
    from jina_local.errors import CollectionConfigError

    with pytest.raises(CollectionConfigError, match="pool_factor"):
        write_collection(embedded, clean["folder"], "docs", pool_factor=2)


def test_cli_index_with_ray_builds_what_index_files_builds(
    local_ray: Any, tiny_v4: Any, tiny_v4_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from fixture_docs import write_pdf

    from jina_local.cli import main

    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "a.md").write_text("# Cats\n\nCats sleep sixteen hours a day.\n\nThey dream, too.")
    (docs / "sub" / "code.py").write_text("def add(a, b):\n    return a + b\n")
    (docs / "chart.png").write_bytes(_png(3))
    write_pdf(docs / "report.pdf", ["Quarterly revenue grew.", "Costs fell."])
    (docs / "blob.bin").write_bytes(b"\x00\x01\x02binary")
    (docs / ".hidden.md").write_text("never indexed")
    index = tmp_path / "index"
    code = main(
        [
            "index",
            str(docs),
            "--ray",
            "--index",
            str(index),
            "--model",
            str(tiny_v4_dir),
            "--device",
            "cpu",
            "--dtype",
            "float32",
        ]
    )
    out = capsys.readouterr()
    assert code == 2, out  # blob.bin is reported, the rest is stored
    assert "blob.bin" in out.err and "binary" in out.err
    with MultiVectorCollection.open(tmp_path / "direct", "docs", tiny_v4) as direct:
        direct.index_files([docs])
    got, want = _snapshot(index), _snapshot(tmp_path / "direct")
    assert sorted({Path(p[2]["metadata"]["path"]).name for p in got.values()}) == [
        "a.md",
        "chart.png",
        "code.py",
        "report.pdf",
    ]
    _assert_same(got, want)  # same ids, vectors and payloads as index_files (pages rendered alike)
    with MultiVectorCollection.open(index, "docs", tiny_v4) as ray_built:
        again = ray_built.index_files([docs])  # index_files takes the Ray-built files as done
    assert len(again.unchanged) == 4 and again.chunks_added == 0 and again.chunks_deleted == 0


def test_id_column_gives_the_point_ids(embedded: Any, tiny_v4: Any) -> None:
    from jina_local.qdrant import key_to_point_id

    def with_ids(batch: dict[str, Any]) -> dict[str, Any]:  # a numpy-format stage drops the schema record too
        return {**batch, "id": np.array([f"doc-{n}" for n in batch["n"]], dtype=object)}

    with MultiVectorCollection.open(":memory:", "docs", tiny_v4) as store:
        summary = write_collection(embedded.map_batches(with_ids, batch_format="numpy"), store)
        assert summary.written == GOOD
        [point] = store.get([key_to_point_id("doc-3")])
    assert point["payload"]["n"] == 3 and point["stored"]["item_id"] == "doc-3" and "id" not in point["payload"]


def test_embed_dataset_passes_no_deprecated_ray_argument(local_ray: Any, tiny_v4_dir: Path) -> None:
    """Ray 2.60 deprecates map_batches' **ray_remote_args (removal in 2.64). embed_dataset raises no such warning
    and passes nothing that way unless max_restarts is given (Ray has no named parameter for it)."""
    ds = local_ray.data.from_items([{"item": "x"}])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        default = embed_dataset(ds, str(tiny_v4_dir), device="cpu")
        limited = embed_dataset(ds, str(tiny_v4_dir), device="cpu", max_restarts=2)
    deprecated = [
        f"{w.filename}:{w.lineno}: {w.message}"
        for w in caught
        if issubclass(w.category, DeprecationWarning)
        and ("ray_remote_args" in str(w.message) or f"{os.sep}jina_local{os.sep}" in w.filename)
    ]
    assert not deprecated
    default_args = default._logical_plan.dag.ray_remote_args
    assert "max_restarts" not in default_args and "max_task_retries" not in default_args  # Ray Data's defaults
    limited_args = limited._logical_plan.dag.ray_remote_args
    assert (limited_args["max_restarts"], limited_args["max_task_retries"]) == (2, 2)
