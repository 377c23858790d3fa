"""index_files on a real folder, with both model families: what is indexed, skipped and failed; re-indexing
that skips, replaces and prunes; and a collection that equals a clean index of the folder afterwards."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from fixture_docs import build_corpus, write_pdf, write_png

from jina_local.errors import OptionError
from jina_local.qdrant import MultiVectorCollection, parse_payload
from jina_local.qdrant._scan import scroll_points

INDEXED = {"notes.md", "plain.txt", "code.py", "utf16.txt", "latin1.txt", "chart.png", "report.pdf", "sub/deep.md"}
SKIPPED = {
    "blob.dat": "not text",
    "empty.txt": "empty",
    "corrupt.pdf": "corrupt",
    "locked.pdf": "encrypted",
    "escape.txt": "symbolic link",
}


def stored(store):
    """(relative-free) path -> {chunk index: payload} of everything in the collection."""
    out: dict[str, dict[int, dict]] = {}
    for point in scroll_points(store._backend, None):
        payload = parse_payload(
            point["payload"]
        ).flat()  # index_files' fields are metadata (layout 2), beside jina-local's
        out.setdefault(payload["path"], {})[payload["chunk"]] = payload
    return out


def ids(store):
    return {point["id"] for point in scroll_points(store._backend, None)}


@pytest.fixture
def corpus(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    return build_corpus(tmp_path / "docs", outside)


def rel(root, paths):
    return {str(Path(p).relative_to(root.resolve())) for p in paths}


def test_a_folder_is_indexed_with_locations_and_reasons(any_model, corpus, tmp_path):
    (corpus / "build" / "obj").mkdir()
    (corpus / "build" / "obj" / "a.o").write_bytes(b"\x00")  # ignored: counted inside its ignored folder
    with MultiVectorCollection.open(tmp_path / "index", "docs", any_model) as store:
        assert store.has_multi == any_model.info.has_multi  # jina-clip-v2 gets a dense-only collection
        summary = store.index_files([corpus], progress=False)
        assert rel(corpus, summary.indexed) == INDEXED and summary.failed == [] and summary.unchanged == []
        reasons = {
            str(Path(i.path).relative_to(corpus)) if i.path.startswith(str(corpus)) else i.path: i.reason
            for i in summary.skipped
        }
        assert set(reasons) == set(SKIPPED)
        assert all(SKIPPED[name] in reason for name, reason in reasons.items())
        # files passed over: .hidden.md, .gitignore; ignored.md, build/out.txt, build/obj/a.o
        assert summary.hidden_files == 2 and summary.ignored_files == 3
        points = stored(store)
        assert summary.chunks_added == store.count() == sum(len(v) for v in points.values())
        assert rel(corpus, points) == INDEXED
        for path, chunks in points.items():
            assert Path(path).is_absolute() and Path(path).is_file()
            assert sorted(chunks) == list(range(len(chunks)))
            assert all(p["file_chunks"] == len(chunks) for p in chunks.values())
        image = points[str(corpus / "chart.png")][0]
        assert image["image"] == str(corpus / "chart.png") and image["kind"] == "image"
        pages = points[str(corpus / "report.pdf")]
        assert [pages[i]["page"] for i in sorted(pages)] == [1, 2, 3]
        assert pages[0]["page_text"] == "Quarterly revenue grew" and pages[0]["kind"] == "image"
        assert points[str(corpus / "latin1.txt")][0]["text"] == "Café crème à la française."
        assert points[str(corpus / "utf16.txt")][0]["text"] == "Note: the meeting moved to Tuesday."
        code = points[str(corpus / "code.py")][0]
        assert code["lines"][0] == 1 and code["language"] == "python"
        hits = store.search("cats sleep", limit=3)
        assert hits and all("path" in h.payload for h in hits)


def test_reindexing_skips_replaces_and_prunes(any_model, corpus, tmp_path, monkeypatch):
    with MultiVectorCollection.open(tmp_path / "index", "docs", any_model) as store:
        first = store.index_files([corpus], progress=False)
        before = store.count()
        monkeypatch.chdir(corpus.parent)
        again = store.index_files(["./docs", "docs/../docs"], progress=False)  # other spellings, same files
        assert rel(corpus, again.unchanged) == INDEXED and again.indexed == []
        assert again.chunks_added == again.chunks_deleted == 0 and store.count() == before

        (corpus / "notes.md").write_text("# Dogs\n\nDogs sleep twelve hours.\n", encoding="utf-8")  # edit
        (corpus / "plain.txt").unlink()  # delete
        (corpus / "sub" / "new.md").write_text("A brand new note about owls.\n", encoding="utf-8")  # add
        (corpus / "ignored.md").write_text("# still ignored\n", encoding="utf-8")
        kept = store.index_files([corpus], progress=False)  # no prune: the deleted file stays
        assert rel(corpus, kept.indexed) == {"notes.md", "sub/new.md"}
        points = stored(store)
        assert str(corpus / "plain.txt") in points
        notes = points[str(corpus / "notes.md")]
        assert [notes[i]["text"] for i in sorted(notes)] == ["# Dogs\n\nDogs sleep twelve hours."]

        pruned = store.index_files([corpus], prune=True, progress=False)
        assert rel(corpus, pruned.pruned) == {"plain.txt"} and pruned.chunks_deleted == len(
            points[str(corpus / "plain.txt")]
        )
        assert rel(corpus, pruned.unchanged) == INDEXED - {"plain.txt"} | {"sub/new.md"}

        with MultiVectorCollection.open(tmp_path / "fresh", "docs", any_model) as fresh:
            fresh.index_files([corpus], progress=False)
            assert ids(store) == ids(fresh)  # the collection equals a clean index of the folder
            assert stored(store) == stored(fresh)
        assert first.chunks_added + kept.chunks_added - kept.chunks_deleted - pruned.chunks_deleted == store.count()


def test_a_failing_chunk_keeps_the_file_not_done_and_the_old_version(any_model, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    write_png(folder / "a.png")
    (folder / "b.md").write_text("Owls hunt at night.\n", encoding="utf-8")
    with MultiVectorCollection.open(tmp_path / "index", "docs", any_model) as store:
        store.index_files([folder], progress=False)
        old = stored(store)[str(folder / "a.png")]
        (folder / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"broken" * 10)  # a PNG header, then garbage
        broken = store.index_files([folder], progress=False)
        assert [f.path for f in broken.failed] == [str(folder / "a.png")] and "chunk" in broken.failed[0].reason
        assert stored(store)[str(folder / "a.png")] == old  # nothing lost: the old version stays until replaced
        again = store.index_files([folder], progress=False)
        assert [f.path for f in again.failed] == [str(folder / "a.png")]  # retried, not taken as done
        write_png(folder / "a.png", color=(10, 200, 10))
        fixed = store.index_files([folder], progress=False)
        assert fixed.indexed == [str(folder / "a.png")] and fixed.chunks_deleted == 1
        assert stored(store)[str(folder / "a.png")][0]["file_hash"] != old[0]["file_hash"]


def test_a_file_that_becomes_unindexable_loses_its_chunks(any_model, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Some text about cats.\n", encoding="utf-8")
    with MultiVectorCollection.open(tmp_path / "index", "docs", any_model) as store:
        store.index_files([folder], progress=False)
        (folder / "a.txt").write_bytes(bytes(200))
        summary = store.index_files([folder], progress=False)
        assert summary.skipped[0].path == str(folder / "a.txt") and summary.chunks_deleted == 1
        assert store.count() == 0


def test_late_chunking_and_pdf_text(any_model, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "long.md").write_text("# Title\n\n" + "Cats sleep a lot. Dogs bark at night. " * 30, encoding="utf-8")
    write_pdf(folder / "r.pdf", ["Revenue grew a lot", "Costs fell"])
    with (
        MultiVectorCollection.open(tmp_path / "plain", "docs", any_model) as plain,
        MultiVectorCollection.open(tmp_path / "late", "docs", any_model) as late,
    ):
        plain.index_files([folder], chunk_tokens=40, pdf_text=True, progress=False)
        summary = late.index_files([folder], chunk_tokens=40, late_chunking=True, pdf_text=True, progress=False)
        assert summary.failed == [] and len(summary.indexed) == 2
        late_points, plain_points = stored(late), stored(plain)
        md = late_points[str(folder / "long.md")]
        assert len(md) > 3 and all(p["late_chunking"] for p in md.values())
        pdf = late_points[str(folder / "r.pdf")]
        assert [(pdf[i]["kind"], pdf[i]["page"]) for i in sorted(pdf)] == [
            ("image", 1),
            ("text", 1),
            ("image", 2),
            ("text", 2),
        ]
        assert "late_chunking" not in pdf[0]

        def overlaps(chunks):
            spans = [tuple(chunks[i]["chars"]) for i in sorted(chunks)]
            return any(b[0] < a[1] for a, b in itertools.pairwise(spans))

        assert overlaps(plain_points[str(folder / "long.md")]) and not overlaps(md)  # late chunks do not overlap
        assert late.search("cats sleep", limit=2)
        again = late.index_files([folder], chunk_tokens=40, late_chunking=True, pdf_text=True, progress=False)
        assert len(again.unchanged) == 2
        before = late.count()
        changed = late.index_files([folder], chunk_tokens=40, pdf_text=True, progress=False)  # options changed
        assert len(changed.indexed) == 2 and changed.chunks_deleted == before
        assert late.count() == changed.chunks_added == plain.count()


def test_option_errors_are_typed(any_model, tmp_path):
    with MultiVectorCollection.open(tmp_path / "index", "docs", any_model) as store:
        for kwargs in [
            {"chunk_tokens": 0},
            {"chunk_tokens": -3},
            {"chunk_tokens": 50, "overlap_tokens": 50},
            {"late_chunking": True, "overlap_tokens": 5},
            {"chunk_tokens": 100_000},
            {"max_file_bytes": 0},
        ]:
            with pytest.raises(OptionError):
                store.index_files([tmp_path], progress=False, **kwargs)


def test_missing_roots_are_failures_and_never_pruned(any_model, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("Hello there.\n", encoding="utf-8")
    with MultiVectorCollection.open(":memory:", "docs", any_model) as store:  # the qdrant-client backend
        store.index_files([folder], progress=False)
        summary = store.index_files([tmp_path / "nope"], prune=True, progress=False)
        assert [f.path for f in summary.failed] == [str(tmp_path / "nope")] and store.count() == 1
        os.remove(folder / "a.md")
        assert store.index_files([folder], prune=True, progress=False).pruned == [str(folder / "a.md")]
        assert store.count() == 0


def test_docs_documents_md_runs_on_the_sample_folder(any_model, tmp_path, monkeypatch, capsys):
    """The Python in docs/documents.md runs as written, on a generated copy of examples/sample-docs."""
    import re

    from fixture_docs import ROOT, sample_docs_module

    import jina_local

    sample_docs_module().main([str(tmp_path / "examples" / "sample-docs")])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(jina_local, "load", lambda *a, **k: any_model)
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "documents.md").read_text(encoding="utf-8"), re.DOTALL)
    namespace: dict[str, object] = {"model": any_model}
    for block in blocks:
        if block.lstrip().startswith("MultiVectorCollection.index_files("):
            continue  # the signature, not an example
        code = (
            block
            if any_model.info.has_multi
            else block.replace('output="both"', 'output="dense"').replace("[m.shape for m in late.multi]", "None")
        )
        exec(compile(code, "docs/documents.md", "exec"), namespace)  # noqa: S102 - our own docs
    out = capsys.readouterr().out
    assert "6 indexed, 0 unchanged" in out and "q3-report.pdf" in out
    assert namespace["summary"].failed == [] and namespace["summary"].skipped == []
