"""jina_local.ray on a local Ray (2 CPUs), with the tiny v4 checkpoint loaded by the real loader in each actor.

One Ray job embeds the corpus. Its actor dies in the middle of the job and Ray restarts it. While the job
runs, this process makes the reference: a clean single-process ``add()`` of the same items. The job's rows
are then written into a folder by a writer that fails twice in the middle of a block (a transient upsert
error retried inside the task; then one that outlasts the retries, so Ray runs the task again). The collection must
equal the reference: ids, count, vectors and payloads. The other tests reuse the job's rows. The only other
actor the module starts is the CLI's: ``jina-local index --ray`` runs on the same Ray while that job runs
(each job's actor holds one of the 2 CPUs; their file listing and encoding share the actor, so neither
waits on a task the other blocks).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import threading
import time
import warnings
from pathlib import Path
from types import SimpleNamespace
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
    [f"Note {i}: cats sleep " + "and dream " * (i % 9) + "all day." for i in range(12)]
    + [f"def add_{i}(a, b):\n    return a + b * {i}\n" for i in range(4)]
    + [_png(1), _png(2)]
    + ["a lone surrogate \ud800 cannot be encoded"]
)
BAD = len(CORPUS) - 1
GOOD = len(CORPUS) - 1


def _in_thread(fn: Any) -> Any:
    """Run ``fn()`` in a thread; the returned callable joins it and returns its result (or raises its error)."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised by the joiner
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def join() -> Any:
        thread.join()
        if "error" in out:
            raise out["error"]
        return out["value"]

    return join


def _snapshot(location: Any) -> dict[str, tuple[np.ndarray, np.ndarray, dict[str, Any]]]:
    with MultiVectorCollection.open(location, "docs", create=False) as store:
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


def _flaky_sink(faults: Path) -> type:
    class FlakyWriter(_sink.BlockWriter):
        """Upserts half of a chunk, then fails with a transient error: once at its 2nd upsert (the retry inside
        the task succeeds), and at both tries of its 4th chunk (retries=1 is then spent, the task fails with
        TransientWriteError and Ray runs it again, from the block's first row). Once each per job."""

        calls = 0

        def _send(self, records: list[Any], tasks: set[str], kinds: set[str]) -> None:
            type(self).calls += 1
            fault = {2: "transient", 4: "block", 5: "block"}.get(type(self).calls)
            if fault is not None and not (faults / fault).exists():
                super()._send(records[: len(records) // 2], tasks, kinds)
                if type(self).calls != 4:
                    (faults / fault).write_text(str(os.getpid()))
                raise ConnectionError("connection reset by peer (simulated)")
            super()._send(records, tasks, kinds)

    class FlakySink(_sink.CollectionDatasink):
        def open_writer(self, collection: Any) -> Any:
            return FlakyWriter(
                collection, column=self.column, upsert_batch=self.upsert_batch, retries=self.retries, backoff=0.01
            )

        def write(self, blocks: Any, ctx: Any) -> str:
            with open(faults / "write-tasks", "a") as tries:
                tries.write(f"{os.getpid()}\n")
            return super().write(blocks, ctx)

    return FlakySink


def _reference(model: Any, folder: Path) -> dict[str, Any]:
    """A clean single-process run: ``add()`` of the same items, the collection every Ray run must equal."""
    with MultiVectorCollection.open(folder, "docs", model) as direct:
        added = direct.add(CORPUS, payloads=[{"n": i} for i in range(len(CORPUS))])
    assert [f.index for f in added.failures] == [BAD]
    return _snapshot(folder)


def _docs_folder(docs: Path) -> Path:
    from fixture_docs import write_pdf

    (docs / "sub").mkdir(parents=True)
    (docs / "a.md").write_text("# Cats\n\nCats sleep sixteen hours a day.\n\nThey dream, too.")
    (docs / "sub" / "code.py").write_text("def add(a, b):\n    return a + b\n")
    (docs / "chart.png").write_bytes(_png(3))
    write_pdf(docs / "report.pdf", ["Quarterly revenue grew.", "Costs fell."])
    (docs / "blob.bin").write_bytes(b"\x00\x01\x02binary")
    (docs / ".hidden.md").write_text("never indexed")
    return docs


def _run_cli(argv: list[str]) -> SimpleNamespace:
    """``jina-local ...`` in this process: exit code and what it printed."""
    from jina_local.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return SimpleNamespace(code=code, out=out.getvalue(), err=err.getvalue())


@pytest.fixture(scope="module")
def job(
    local_ray: Any, tiny_v4_dir: Path, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> SimpleNamespace:
    """Everything that starts an actor, at once on the 2 CPUs: the Ray run, materialized (its actor dies at its
    3rd batch and Ray restarts it), and ``jina-local index --ray`` of a folder. Meanwhile this process builds
    the references: ``add()`` of the corpus, ``index_files`` of the folder."""
    marker = tmp_path_factory.mktemp("faults") / "actor-died"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_embed, "EncodeBatches", _dying_encoder(str(marker), at_call=3))
        planned = embed_dataset(
            local_ray.data.from_items([{"item": x, "n": i} for i, x in enumerate(CORPUS)], override_num_blocks=4),
            str(tiny_v4_dir),
            device="cpu",
            dtype="float32",
            batch_size=3,
            concurrency=1,  # restarts: Ray Data's default (without limit); max_restarts= is checked on the plan
        )
    materialized = _in_thread(planned.materialize)
    try:
        cli = SimpleNamespace(docs=_docs_folder(tmp_path_factory.mktemp("cli") / "docs"))
        cli.index = cli.docs.parent / "index"
        model = request.getfixturevalue("tiny_v4")

        def references() -> tuple[dict[str, Any], dict[str, Any]]:
            added = _reference(model, tmp_path_factory.mktemp("reference"))
            with MultiVectorCollection.open(cli.docs.parent / "direct", "docs", model) as direct:
                direct.index_files([cli.docs])
            return added, _snapshot(cli.docs.parent / "direct")

        built = _in_thread(references)
        try:
            argv = ["index", str(cli.docs), "--ray", "--index", str(cli.index), "--model", str(tiny_v4_dir)]
            cli.run = _run_cli([*argv, "--device", "cpu", "--dtype", "float32"])
        finally:
            reference, cli.reference = built()
    finally:
        embedded = materialized()
    return SimpleNamespace(embedded=embedded, actor_died=marker.exists(), reference=reference, cli=cli)


@pytest.fixture(scope="module")
def embedded(job: SimpleNamespace) -> Any:
    return job.embedded


@pytest.fixture(scope="module")
def reference(job: SimpleNamespace) -> dict[str, Any]:
    return job.reference


@pytest.fixture(scope="module")
def clean(embedded: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The job's rows written into a folder by the failing writer (one write task: a folder has one writer)."""
    faults = tmp_path_factory.mktemp("writer-faults")
    folder = tmp_path_factory.mktemp("written")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_sink, "CollectionDatasink", _flaky_sink(faults))
        summary = write_collection(embedded, folder, "docs", upsert_batch=4, retries=1)
    faulted = sorted(p.name for p in faults.iterdir() if p.name != "write-tasks")
    tries = len((faults / "write-tasks").read_text().split())
    return {"folder": folder, "summary": summary, "points": _snapshot(folder), "faults": faulted, "tries": tries}


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


def test_actor_killed_and_writer_failing_mid_block_lose_and_duplicate_nothing(
    job: SimpleNamespace, clean: dict[str, Any], reference: dict[str, Any]
) -> None:
    assert job.actor_died  # the actor did die in the middle of the job, and Ray restarted it
    assert clean["faults"] == ["block", "transient"]  # both writer failures happened, half-way through a chunk
    assert clean["tries"] == 2  # the failed block's task ran again (a folder's rows go to one write task)
    assert clean["summary"].written == GOOD and clean["summary"].failed == 1
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


def test_a_url_takes_the_tested_path_but_for_its_client(
    embedded: Any, reference: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write path of a Qdrant URL (distributed write tasks, Ray's choice of how many), with the one
    URL-only step, building the client, swapped: a qdrant-client local store stands in for the server."""
    from qdrant_client import QdrantClient

    server = tmp_path / "server"

    class LocalServer(_sink._Target):
        def connect(self) -> QdrantClient:
            deadline = time.monotonic() + 60
            while True:
                try:
                    return QdrantClient(path=str(server))
                except RuntimeError as exc:  # another write task holds it: local mode has one writer at a time
                    if "already accessed" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)

    monkeypatch.setattr(_sink, "_Target", LocalServer)
    summary = write_collection(embedded, "http://qdrant.test:6333", "docs", upsert_batch=8)
    assert summary.written == GOOD and summary.failed == 1 and summary.tasks == ["code", "retrieval"]
    client = QdrantClient(path=str(server))
    try:
        _assert_same(_snapshot(client), reference)
    finally:
        client.close()


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


def test_cluster_settings_reach_create_collection(embedded: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from qdrant_client import QdrantClient

    client = QdrantClient(":memory:")  # local mode accepts and drops cluster settings: check the call
    calls: list[dict[str, Any]] = []
    create = client.create_collection

    def spy(name: str, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return create(name, **kwargs)

    monkeypatch.setattr(client, "create_collection", spy)
    cluster = {"shard_number": 4, "replication_factor": 2, "write_consistency_factor": 2}
    summary = write_collection(embedded, client, "docs", **cluster)
    assert summary.written == GOOD
    assert len(calls) == 1 and {k: calls[0][k] for k in cluster} == cluster


def test_existing_collection_is_validated_before_the_job(embedded: Any, clean: dict[str, Any]) -> None:
    from jina_local.errors import CollectionConfigError

    with pytest.raises(CollectionConfigError, match="pool_factor"):
        write_collection(embedded, clean["folder"], "docs", pool_factor=2)


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


def test_cli_index_with_ray_builds_what_index_files_builds(job: SimpleNamespace, tiny_v4: Any) -> None:
    cli = job.cli
    assert cli.run.code == 2, cli.run  # blob.bin is reported, the rest is stored
    assert "blob.bin" in cli.run.err and "binary" in cli.run.err
    got = _snapshot(cli.index)
    assert sorted({Path(p[2]["metadata"]["path"]).name for p in got.values()}) == [
        "a.md",
        "chart.png",
        "code.py",
        "report.pdf",
    ]
    _assert_same(got, cli.reference)  # same ids, vectors and payloads as index_files (pages rendered alike)
    with MultiVectorCollection.open(cli.index, "docs", tiny_v4) as ray_built:
        again = ray_built.index_files([cli.docs])  # index_files takes the Ray-built files as done
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
