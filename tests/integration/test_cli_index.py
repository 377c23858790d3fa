"""``jina-local index`` and ``info --index`` driven as a user would (subprocesses), with both model families:
what is indexed, skipped and failed, exit codes, the summary, path spellings, re-indexing with --prune."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cli_helpers import (
    FLOAT_CPU,
    INDEXED,
    NOT_DOCUMENTS,
    UNREADABLE,
    assert_clean,
    relative,
    run_cli,
)
from fixture_docs import build_corpus

from jina_local.qdrant import MultiVectorCollection


def test_index_reports_every_file_and_exits_2_for_unreadable_pdfs(cli_corpus):
    assert_clean(cli_corpus.result, 2)  # corrupt.pdf and locked.pdf could not be read
    s, root = cli_corpus.summary, cli_corpus.corpus
    assert {relative(root, p) for p in s["indexed"]} == INDEXED
    assert s["failed"] == [] and s["unchanged"] == [] and s["pruned"] == []
    skipped = {Path(i["path"]).name: i for i in s["skipped"]}
    assert set(skipped) == set(NOT_DOCUMENTS) | set(UNREADABLE)
    for name, reason in {**NOT_DOCUMENTS, **UNREADABLE}.items():
        assert reason in skipped[name]["reason"], skipped[name]
        assert skipped[name]["unreadable"] == (name in UNREADABLE)
    assert s["hidden_files"] == 2 and s["ignored_files"] == 2  # .hidden.md + .gitignore; ignored.md + build/out.txt
    assert s["chunks_added"] == s["points"] > len(INDEXED) and s["chunks_deleted"] == 0
    assert s["model"] == str(cli_corpus.model_dir.resolve())  # given relative, recorded absolute
    assert s["multi"] is cli_corpus.multi  # jina-clip-v2: a dense-only collection, made automatically
    assert s["collection"] == "docs" and s["index"] == str(cli_corpus.index.resolve())
    assert s["ok"] is False and s["exit_code"] == 2
    assert "--prune" not in cli_corpus.result.stderr


def test_a_relative_spelling_is_the_same_files_and_the_summary_reads_well(cli_corpus):
    points = cli_corpus.summary["points"]
    result = run_cli("index", "docs/../docs", "--model", cli_corpus.model_dir, "--index", "index", *FLOAT_CPU,
                     cwd=cli_corpus.root)  # fmt: skip
    assert_clean(result, 2)
    out = result.stdout
    assert f"index index [docs], model {cli_corpus.model_dir.resolve()}" in out
    assert f"0 indexed, {len(INDEXED)} unchanged, 5 skipped (2 unreadable), 0 failed" in out
    assert f"0 added, 0 deleted; {points} in the collection" in out
    assert "2 hidden and 2 ignored files" in out
    lines = out.splitlines()
    assert any(line.startswith("  skipped:") and "docs/" in line for line in lines)
    assert any("docs/blob.dat: not text" in line for line in lines)
    unreadable = [line for line in lines if "corrupt.pdf" in line or "locked.pdf" in line]
    assert len(unreadable) == 2 and unreadable[0].startswith("  unreadable:")
    assert "exit code 2" in out and "run the same command again" in out


def test_info_lists_the_collection_without_the_model(cli_corpus, tmp_path):
    where = os.path.relpath(cli_corpus.index, tmp_path)
    result = run_cli("info", "--index", where, "--json", cwd=tmp_path)
    assert_clean(result, 0)
    info = json.loads(result.stdout)
    assert info["index"] == str(cli_corpus.index.resolve())
    [entry] = info["collections"]
    assert entry["name"] == "docs" and entry["model"] == str(cli_corpus.model_dir.resolve())
    assert entry["points"] == cli_corpus.summary["points"] and entry["multi"] is cli_corpus.multi
    assert entry["dense_dim"] == cli_corpus.summary["dense_dim"] and entry["multi_dim"] == (
        128 if entry["multi"] else None
    )
    assert set(entry["kinds"]) == {"text", "code", "image"} and sum(entry["kinds"].values()) == entry["points"]
    assert set(entry["tasks"]) == ({"retrieval", "code"} if cli_corpus.multi else {"retrieval"})
    assert sum(entry["kind_task"].values()) == entry["points"]
    human = run_cli("info", "--index", where, "--collection", "docs", cwd=tmp_path)
    assert_clean(human, 0)
    assert "by kind" in human.stdout and f"points     {entry['points']}" in human.stdout
    assert ("multi-vector 128-d" in human.stdout) is cli_corpus.multi


def _stored(index: Path) -> dict[str, dict]:
    """path -> {"hash": ..., "chunks": {index: text or page}} of what the collection holds (no model needed)."""
    out: dict[str, dict] = {}
    with MultiVectorCollection.open(index, "docs", create=False) as store:
        for point in store.scroll():
            p = point["payload"]
            entry = out.setdefault(p["path"], {"hash": p["file_hash"], "chunks": {}})
            entry["chunks"][p["chunk"]] = p.get("text") or p.get("page")
    return out


def test_edit_delete_and_reindex_with_prune(cli_corpus, tmp_path, request):
    model = request.getfixturevalue("tiny_v4" if cli_corpus.multi else "tiny_clip")
    outside = tmp_path / "outside"
    outside.mkdir()
    corpus = build_corpus(tmp_path / "docs", outside)
    index = tmp_path / "index"
    with MultiVectorCollection.open(index, "docs", model) as store:  # the first run, in-process (same model)
        first = store.index_files([corpus], progress=False)
    before = _stored(index)
    notes, plain = str(corpus / "notes.md"), str(corpus / "plain.txt")
    (corpus / "notes.md").write_text("# Dogs\n\nDogs bark at the mail carrier every morning.\n", encoding="utf-8")
    (corpus / "plain.txt").unlink()
    result = run_cli("index", corpus, "--prune", "--model", cli_corpus.model_dir, "--index", index, *FLOAT_CPU,
                     "--json", cwd=tmp_path)  # fmt: skip
    assert_clean(result, 2)  # the unreadable PDFs are still there
    s = json.loads(result.stdout)
    assert s["indexed"] == [notes] and s["pruned"] == [plain]
    assert {relative(corpus, p) for p in s["unchanged"]} == INDEXED - {"notes.md", "plain.txt"}
    assert s["chunks_deleted"] == len(before[notes]["chunks"]) + len(before[plain]["chunks"])
    after = _stored(index)
    assert plain not in after and after[notes]["hash"] != before[notes]["hash"]
    assert "Dogs bark" in " ".join(after[notes]["chunks"].values()) and "Cats" not in str(after[notes])
    assert {p: v for p, v in after.items() if p != notes} == {
        p: v for p, v in before.items() if p not in (notes, plain)
    }
    assert s["points"] == sum(len(v["chunks"]) for v in after.values())
    assert len(first.indexed) == len(INDEXED)


def test_token_modes_run_on_multi_vector_collections_and_are_refused_clearly_on_dense_only(cli_corpus):
    for mode in ("two_stage", "multi"):
        result = run_cli("search", "cats", "--index", cli_corpus.index, "--mode", mode)
        if cli_corpus.multi:  # jina-embeddings-v4
            assert_clean(result, 0)
            continue
        assert_clean(result, 1)  # jina-clip-v2: dense-only
        [line] = [line for line in result.stderr.splitlines() if line.strip()]
        assert line.startswith("error:") and "dense-only" in line and "--mode dense" in line
