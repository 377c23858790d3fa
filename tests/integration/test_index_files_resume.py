"""index_files beyond the per-path lookups (the one-scroll path without prune), and a run interrupted mid-way:
the next run completes to exactly what one clean run gives."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fixture_docs import write_pdf, write_png

import jina_local.qdrant._index_files as index_module
import jina_local.qdrant._ingest as ingest_module
from jina_local.documents import read_file
from jina_local.qdrant import MultiVectorCollection

SENTENCE = "Lighthouse keepers trim the wick, polish the lens and log the weather every night. "


def _write_notes(folder: Path, names: list[str], repeat: int = 6, tag: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text(f"# {name} {tag}\n\n" + SENTENCE * repeat, encoding="utf-8")


def _points(store: MultiVectorCollection) -> dict[str, dict[str, Any]]:
    """id -> {path, chunk, file_hash, dense, multi} of every stored point."""
    out = {}
    for point in store.scroll(with_vectors=True):
        vector = point["vector"]
        out[point["id"]] = {
            "path": point["payload"]["path"],
            "chunk": point["payload"]["chunk"],
            "file_hash": point["payload"]["file_hash"],
            "dense": np.asarray(vector["dense"], dtype=np.float32),
            "multi": np.asarray(vector["multi"], dtype=np.float32) if "multi" in vector else None,
        }
    return out


def _assert_same_points(got: dict[str, dict[str, Any]], want: dict[str, dict[str, Any]]) -> None:
    assert sorted(got) == sorted(want)
    for pid, point in want.items():
        other = got[pid]
        assert (other["path"], other["chunk"], other["file_hash"]) == (
            point["path"],
            point["chunk"],
            point["file_hash"],
        )
        np.testing.assert_allclose(other["dense"], point["dense"], atol=1e-5)
        if point["multi"] is not None:
            np.testing.assert_allclose(other["multi"], point["multi"], atol=1e-5)


@pytest.fixture
def full_scans(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Lower the per-path lookup limit to 2 files and record which path every run took."""
    taken: list[bool] = []
    real = index_module._stored_state

    def spy(store: Any, paths: list[str], full_scan: bool) -> Any:
        taken.append(full_scan)
        return real(store, paths, full_scan)

    monkeypatch.setattr(index_module, "_FILTERED_SCAN_MAX_FILES", 2)
    monkeypatch.setattr(index_module, "_stored_state", spy)
    return taken


def test_one_scroll_without_prune_matches_the_per_path_lookups(any_model: Any, tmp_path: Path, full_scans) -> None:
    folder, other = tmp_path / "docs", tmp_path / "other"
    _write_notes(folder, [f"n{i}.md" for i in range(5)])
    _write_notes(other, ["o1.md", "o2.md", "o3.md"], tag="other")
    with MultiVectorCollection.open(tmp_path / "index", "docs", any_model) as store:
        first = store.index_files([folder], progress=False)
        assert len(first.indexed) == 5 and full_scans == [True]
        store.index_files([other], progress=False)
        before = _points(store)

        again = store.index_files([folder], progress=False)  # the scroll also reads other/'s chunks
        assert len(again.unchanged) == 5 and again.indexed == [] and again.chunks_deleted == 0
        _assert_same_points(_points(store), before)  # no prune: chunks of files outside the walk stay

        _write_notes(folder, ["n0.md"], tag="edited")
        (folder / "n1.md").unlink()
        _write_notes(folder, ["n5.md"], tag="new")
        changed = store.index_files([folder], progress=False)
        assert full_scans == [True, True, True, True]
        assert sorted(Path(p).name for p in changed.indexed) == ["n0.md", "n5.md"]
        assert len(changed.unchanged) == 4 - 1 and changed.pruned == []
        paths = {p["path"] for p in _points(store).values()}
        assert str(folder.resolve() / "n1.md") in paths  # deleted, but without prune its chunks stay
        assert {str(other.resolve() / n) for n in ("o1.md", "o2.md", "o3.md")} <= paths

    # the same runs through the per-path lookups give the same collection
    full_scans.clear()
    index_module._FILTERED_SCAN_MAX_FILES = 10_000  # undone by monkeypatch with the rest
    fresh_folder, fresh_other = tmp_path / "fresh" / "docs", tmp_path / "fresh" / "other"
    _write_notes(fresh_folder, [f"n{i}.md" for i in range(5)])
    _write_notes(fresh_other, ["o1.md", "o2.md", "o3.md"], tag="other")
    with MultiVectorCollection.open(tmp_path / "per-path", "docs", any_model) as lookups:
        lookups.index_files([fresh_folder], progress=False)
        lookups.index_files([fresh_other], progress=False)
        _write_notes(fresh_folder, ["n0.md"], tag="edited")
        (fresh_folder / "n1.md").unlink()
        _write_notes(fresh_folder, ["n5.md"], tag="new")
        same = lookups.index_files([fresh_folder], progress=False)
        assert full_scans == [False, False, False]
        assert (sorted(Path(p).name for p in same.indexed), len(same.unchanged), same.chunks_deleted) == (
            ["n0.md", "n5.md"],
            3,
            changed.chunks_deleted,
        )


class Crash(Exception):
    """What the encoder raises to stop a run mid-way (a killed worker, an out-of-memory error)."""


def _crash_after(model: Any, monkeypatch: pytest.MonkeyPatch, results: int) -> None:
    """The model's stream yields ``results`` items, then raises; points are upserted one at a time."""
    real = model.stream

    def stream(*args: Any, **kwargs: Any) -> Any:
        for n, item in enumerate(real(*args, **kwargs)):
            if n == results:
                raise Crash("the encoder died")
            yield item

    monkeypatch.setattr(model, "stream", stream)
    monkeypatch.setattr(ingest_module, "UPSERT_BATCH", 1)


def test_an_interrupted_run_is_completed_by_the_next(any_model: Any, tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "docs"
    names = [f"n{i}.md" for i in range(4)]
    _write_notes(folder, names, repeat=8)
    write_png(folder / "chart.png")
    write_pdf(folder / "report.pdf", ["Quarterly revenue grew", "Costs fell", "Outlook is good"])
    options = {"chunk_tokens": 48, "progress": False}
    with MultiVectorCollection.open(tmp_path / "index", "docs", any_model) as store:
        store.index_files([folder], **options)
        old = _points(store)
        _write_notes(folder, names[:2], repeat=9, tag="edited")  # two files change...
        _write_notes(folder, ["n4.md", "n5.md"], repeat=8, tag="new")  # ...two are new
        edited = {str(folder.resolve() / n) for n in names[:2]}
        new = {str(folder.resolve() / n) for n in ("n4.md", "n5.md")}

        # Crash after a number of chunks that no set of whole files adds up to: whatever order the encoder
        # takes the chunks in, at least one file is left half-done.
        sizes = [len(read_file(p, any_model, chunk_tokens=48).chunks) for p in sorted(edited | new)]
        sums = {sum(c) for r in range(len(sizes) + 1) for c in itertools.combinations(sizes, r)}
        crash_at = max(n for n in range(1, sum(sizes)) if n not in sums)
        with monkeypatch.context() as patch:
            _crash_after(any_model, patch, results=crash_at)
            with pytest.raises(Crash):
                store.index_files([folder], **options)
        half = _points(store)
        assert old.keys() <= half.keys()  # nothing of the old versions is lost while the new ones are incomplete
        new_ids = half.keys() - old.keys()
        assert len(new_ids) == crash_at  # what the encoder returned before it died is stored
        per_file: dict[str, int] = {}
        for pid in new_ids:
            per_file[half[pid]["path"]] = per_file.get(half[pid]["path"], 0) + 1

        resumed = store.index_files([folder], **options)
        assert resumed.failed == [] and resumed.skipped == []
        after = _points(store)
        total = {path: sum(1 for p in after.values() if p["path"] == path) for path in edited | new}
        half_done = {path for path in total if 0 < per_file.get(path, 0) < total[path]}
        not_started = {path for path in total if path not in per_file}
        assert half_done and half_done | not_started <= set(resumed.indexed)  # redone: their missing chunks
        assert set(resumed.unchanged) == {str(p) for p in folder.resolve().iterdir()} - half_done - not_started
        assert resumed.chunks_added == len(after.keys() - half.keys())  # only the missing chunks were encoded
        assert (
            resumed.chunks_deleted
            == len(half.keys() - after.keys())
            == sum(1 for p in old.values() if p["path"] in edited)
        )  # the old versions of the edited files, once their new versions are complete

    with MultiVectorCollection.open(tmp_path / "clean", "docs", any_model) as clean:
        clean.index_files([folder], **options)
        want = _points(clean)
        assert clean.count() == len(want)
    _assert_same_points(after, want)  # ids, count and vectors of one clean run; old versions gone
