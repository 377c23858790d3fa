"""``MultiVectorCollection.copy_to``: between every pair of locations, resumed, rewritten, checked.

* every source kind (``:memory:``, embedded folder, qdrant-client folder, a ``QdrantClient``) into
  every target kind available here, checked point by point (vectors, payloads, record, search);
* an interrupted copy resumes (with both models, into each target kind) and copies only what is missing;
* ``overwrite=True`` writes every point again (a changed target point is restored);
* a target that silently lost points fails the final check ("copy is incomplete"), and a rerun completes it;
* targets that cannot work are refused before anything is copied.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from qdrant_client import QdrantClient

from jina_local.errors import CollectionConfigError
from jina_local.qdrant import MultiVectorCollection
from jina_local.qdrant._base import PointRecord
from jina_local.qdrant._client_backend import ClientBackend
from jina_local.qdrant._edge_backend import EdgeBackend

PROSE = [
    "Cats sleep sixteen hours a day.",
    "The quarterly revenue grew by ten percent.",
    "Paris is the capital of France.",
]
CODE = "def add(a, b):\n    return a + b"
META = [{"lang": "en", "n": 0}, {"lang": "en", "n": 1}, {"lang": "en", "n": 2}, {"lang": "py", "n": 3}]


# ---------------------------------------------------------------------- copy_to between every pair
def _source(kind: str, tmp_path: Path, model: Any) -> tuple[MultiVectorCollection, list[str]]:
    location: Any = {
        "memory": ":memory:",
        "edge": tmp_path / "src-edge",
        "client-path": tmp_path / "src-client",
        "client": QdrantClient(":memory:"),
    }[kind]
    extra = {"backend": "client"} if kind == "client-path" else {}
    if kind == "edge":
        extra["multi_dtype"] = "float16"
    coll = MultiVectorCollection.open(location, "docs", model=model, multi=model.info.has_multi, **extra)
    image = tmp_path / f"{kind}.png"
    Image.new("RGB", (56, 56), (200, 30, 30)).save(image)
    summary = coll.add(PROSE + [CODE, image], payloads=META + [{"lang": "img", "n": 4}])
    assert summary.ok
    return coll, [i for i in summary.ids if i]


def _target(kind: str, tmp_path: Path) -> tuple[Any, dict[str, Any]]:
    if kind == "edge":
        return tmp_path / "dst-edge", {}
    if kind == "client-path":
        return tmp_path / "dst-client", {"backend": "client"}
    return QdrantClient(":memory:"), {}


def _points(coll: MultiVectorCollection, ids: list[str]) -> dict[str, Any]:
    return {p["id"]: p for p in coll.get(ids, with_vectors=True)}


@pytest.mark.parametrize("target_kind", ["edge", "client-path", "client"])
@pytest.mark.parametrize("source_kind", ["memory", "edge", "client-path", "client"])
def test_copy_to_between_every_pair_of_locations(
    source_kind: str, target_kind: str, any_model: Any, tmp_path: Path
) -> None:
    source, ids = _source(source_kind, tmp_path, any_model)
    location, open_kwargs = _target(target_kind, tmp_path)
    summary = source.copy_to(location, batch_size=2, **open_kwargs)
    assert (summary.total, summary.copied, summary.skipped) == (5, 5, 0)
    target = MultiVectorCollection.open(location, "docs", model=any_model, **open_kwargs)
    assert target.count() == 5 and target.tasks == source.tasks and target.dense_dim == source.dense_dim
    assert target.metadata["model_fingerprint"] == any_model.info.fingerprint
    want, got = _points(source, ids), _points(target, ids)
    for pid in ids:
        assert got[pid]["stored"] == want[pid]["stored"]
        for name, vec in want[pid]["vector"].items():
            np.testing.assert_allclose(np.asarray(got[pid]["vector"][name]), np.asarray(vec), atol=2e-3)
    q = "how long do cats sleep"
    assert [h.id for h in target.search(q, limit=5)] == [h.id for h in source.search(q, limit=5)]
    assert [h.text for h in target.search(q, filter={"lang": "py"})] == [CODE]
    target.close()
    again = source.copy_to(location, batch_size=2, **open_kwargs)  # nothing missing: everything skipped
    assert (again.copied, again.skipped) == (0, 5)
    source.close()


def test_copy_to_refuses_what_cannot_work(tiny_v4: Any, tmp_path: Path) -> None:
    source, _ = _source("edge", tmp_path, tiny_v4)
    with pytest.raises(CollectionConfigError, match="QdrantClient\\(':memory:'\\) you keep"):
        source.copy_to(":memory:")
    with pytest.raises(CollectionConfigError, match="the source collection itself"):
        source.copy_to(tmp_path / "src-edge")
    other = MultiVectorCollection.open(tmp_path / "dst", "docs", dense_dim=source.dense_dim // 2)
    other.close()
    with pytest.raises(CollectionConfigError, match="dense vector size"):
        source.copy_to(tmp_path / "dst")
    source.close()


def _failing_upsert(monkeypatch: pytest.MonkeyPatch, backend: type, fail_on: int, drop: bool = False) -> None:
    """Make the ``fail_on``-th upsert of ``backend`` raise (or, with ``drop``, silently lose its last point)."""
    real = backend.upsert
    calls = {"n": 0}

    def upsert(self: Any, points: list[Any]) -> None:
        calls["n"] += 1
        if calls["n"] == fail_on:
            if not drop:
                raise OSError("disk full")
            points = points[:-1]
        real(self, points)

    monkeypatch.setattr(backend, "upsert", upsert)


_ENGINE = {"edge": EdgeBackend, "client-path": ClientBackend, "client": ClientBackend}


@pytest.mark.parametrize("target_kind", ["edge", "client-path", "client"])
def test_copy_to_resumes_after_an_interruption(
    target_kind: str, any_model: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, ids = _source("memory", tmp_path, any_model)
    location, open_kwargs = _target(target_kind, tmp_path)
    with monkeypatch.context() as patch:
        _failing_upsert(patch, _ENGINE[target_kind], fail_on=2)
        with pytest.raises(OSError, match="disk full"):
            source.copy_to(location, batch_size=2, **open_kwargs)
    summary = source.copy_to(location, batch_size=2, **open_kwargs)
    assert (summary.skipped, summary.copied, summary.total) == (2, 3, 5)
    target = MultiVectorCollection.open(location, "docs", model=any_model, **open_kwargs)
    assert target.count() == 5 and sorted(p["id"] for p in target.scroll()) == sorted(ids)
    want, got = _points(source, ids), _points(target, ids)
    assert all(got[i]["stored"] == want[i]["stored"] for i in ids)
    target.close()
    source.close()


def test_copy_to_overwrite_writes_every_point_again(tiny_v4: Any, tmp_path: Path) -> None:
    source, ids = _source("edge", tmp_path, tiny_v4)
    location = tmp_path / "dst"
    assert source.copy_to(location).copied == 5
    target = MultiVectorCollection.open(location, "docs", model=tiny_v4)
    raw = target._backend.retrieve([ids[0]], True)[0]
    vector = raw["vector"]
    target._backend.upsert(
        [PointRecord(ids[0], np.asarray(vector["dense"]), np.asarray(vector["multi"]), {"text": "changed"})]
    )
    target.close()
    again = source.copy_to(location)  # present ids are skipped: the changed point stays changed
    assert (again.copied, again.skipped) == (0, 5)
    target = MultiVectorCollection.open(location, "docs", model=tiny_v4)
    assert target.get([ids[0]])[0]["stored"] == {"text": "changed"}
    target.close()
    rewritten = source.copy_to(location, overwrite=True, batch_size=2)
    assert (rewritten.copied, rewritten.skipped, rewritten.total) == (5, 0, 5)
    target = MultiVectorCollection.open(location, "docs", model=tiny_v4)
    assert _points(target, ids)[ids[0]]["stored"] == _points(source, ids)[ids[0]]["stored"]
    assert target.count() == 5
    target.close()
    source.close()


def test_a_copy_that_lost_points_is_reported_and_a_rerun_completes_it(
    tiny_v4: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, _ = _source("memory", tmp_path, tiny_v4)
    location = tmp_path / "dst"
    with monkeypatch.context() as patch:
        _failing_upsert(patch, EdgeBackend, fail_on=1, drop=True)  # the engine "accepts" a page but loses a point
        with pytest.raises(CollectionConfigError, match="copy to .* is incomplete: the source has 5 points.*holds 4"):
            source.copy_to(location, batch_size=2)
    summary = source.copy_to(location, batch_size=2)  # "Run copy_to() again": it copies only what is missing
    assert (summary.copied, summary.skipped) == (1, 4)
    target = MultiVectorCollection.open(location, "docs", model=tiny_v4)
    assert target.count() == 5
    target.close()
    source.close()
