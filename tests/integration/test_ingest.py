"""Streaming ``add``: one bad item loses only itself, metadata comes first, a killed run resumes exactly."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jina_local.qdrant import MultiVectorCollection

GOOD = [f"note {i}: " + f"words about topic {i % 13} " * (1 + i % 9) for i in range(999)]


def _bomb() -> bytes:
    """A tiny PNG whose header claims more pixels than PIL agrees to decode."""
    buffer = io.BytesIO()
    Image.new("1", (30000, 30000)).save(buffer, format="PNG")
    return buffer.getvalue()


def _case(kind: str, store: MultiVectorCollection):
    """999 good items and, at index 500, one bad item of ``kind``; returns (items, payloads)."""
    items: list[object] = list(GOOD)
    payloads: list[object] = [{"n": i} for i in range(999)]
    bad_item, bad_payload = "a perfectly fine extra text", {"n": 999}
    if kind == "surrogate":
        bad_item = "broken \ud800 text"
    elif kind == "bomb":
        bad_item = _bomb()
    elif kind == "non-dict payload":
        bad_payload = 5
    elif kind == "unserialisable payload":
        bad_payload = {"when": object()}
    items.insert(500, bad_item)
    payloads.insert(500, bad_payload)
    return items, payloads


@pytest.mark.parametrize("kind", ["surrogate", "bomb", "non-dict payload", "unserialisable payload", "failing upsert"])
def test_one_bad_item_among_1000_loses_only_itself(tiny_v4, tmp_path: Path, kind: str, monkeypatch) -> None:
    store = MultiVectorCollection.open(tmp_path / "index", "docs", model=tiny_v4)
    items, payloads = _case(kind, store)
    if kind == "failing upsert":
        real = store._backend.upsert

        def refuse_one(points):
            if any(p.payload["metadata"].get("n") == 999 for p in points):  # layout 2: metadata nested
                raise RuntimeError("the engine refused this point")
            return real(points)

        monkeypatch.setattr(store._backend, "upsert", refuse_one)
    with store:
        summary = store.add(items, payloads=payloads, progress=False)
        assert [f.index for f in summary.failures] == [500], summary.failures[:3]
        assert summary.added == 999 and store.count() == 999
        assert summary.ids[500] is None and all(summary.ids[i] for i in range(1000) if i != 500)


def test_add_takes_a_generator_and_batches_across_the_whole_input(tiny_v4, tmp_path: Path) -> None:
    sizes: list[int] = []
    remove = tiny_v4.add_batch_listener(lambda event: sizes.append(event.size))
    try:
        with MultiVectorCollection.open(tmp_path / "index", "docs", model=tiny_v4) as store:
            summary = store.add((text for text in GOOD[:200]), batch_size=32, progress=False)
            assert summary.added == 200 and store.count() == 200
    finally:
        remove()
    assert max(sizes) == 32  # not 16-item chunks any more
    assert sum(sizes) == 200


def test_metadata_is_written_before_the_points(tiny_v4, tmp_path: Path, monkeypatch) -> None:
    store = MultiVectorCollection.open(tmp_path / "index", "docs", model=tiny_v4)
    seen: list[list[str]] = []
    real = store._backend.upsert

    def check(points):
        seen.append(list(store._backend.read().metadata.get("tasks", [])))
        return real(points)

    monkeypatch.setattr(store._backend, "upsert", check)
    with store:
        store.add(["Prose about cats.", "def f(x):\n    return x\n"], progress=False)
    assert seen and set(seen[0]) == {"code", "retrieval"}


_KILLED_RUN = textwrap.dedent(
    """
    import sys, time
    import jina_local
    from jina_local.qdrant import MultiVectorCollection

    model = jina_local.load(sys.argv[1], device="cpu", dtype="float32")
    store = MultiVectorCollection.open(sys.argv[2], "docs", model=model)
    real = store._backend.upsert

    def slow(points):
        real(points)
        print("stored", len(points), flush=True)
        time.sleep(0.2)

    store._backend.upsert = slow
    texts = [f"note {i}: " + f"words about topic {i % 13} " * (1 + i % 9) for i in range(600)]
    store.add(texts, progress=False)
    print("finished", flush=True)
    """
)


def test_a_killed_add_can_be_searched_and_resumed_to_a_clean_run(tiny_v4, tiny_v4_dir: Path, tmp_path: Path) -> None:
    texts = [f"note {i}: " + f"words about topic {i % 13} " * (1 + i % 9) for i in range(600)]
    script = tmp_path / "run.py"
    script.write_text(_KILLED_RUN)
    killed = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen([sys.executable, str(script), str(tiny_v4_dir), str(killed)], stdout=subprocess.PIPE,
                             text=True, env=env)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        stored = 0
        while stored < 3 and time.monotonic() < deadline:  # three upserts landed, the run is mid-way
            line = child.stdout.readline()
            assert line and not line.startswith("finished"), "the run ended before it could be killed"
            stored += line.startswith("stored")
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    with MultiVectorCollection.open(killed, "docs", model=tiny_v4) as store:
        partial = store.count()
        assert 0 < partial < 600
        assert store.tasks == ["retrieval"]  # the metadata came before the points
        assert store.search("words about topic 3", limit=3)  # searchable as it is
        resumed = store.add(texts, skip_existing=True, progress=False)
        assert len(resumed.skipped) == partial and resumed.added == 600 - partial
        assert store.count() == 600
        got = {p["id"]: p for p in store.get([i for i in resumed.ids if i], with_vectors=True)}
    with MultiVectorCollection.open(tmp_path / "clean", "docs", model=tiny_v4) as clean:
        reference = clean.add(texts, progress=False)
        want = {p["id"]: p for p in clean.get([i for i in reference.ids if i], with_vectors=True)}
    assert set(got) == set(want)
    for pid, point in want.items():
        assert got[pid]["payload"] == point["payload"]
        np.testing.assert_allclose(got[pid]["vector"]["dense"], point["vector"]["dense"], atol=1e-6)
