"""The main job end to end: index a folder (text, code, image) into the embedded store, resume, search."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jina_local.cli import chunk_text, collect_chunks, main


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    (root / "src").mkdir(parents=True)
    (root / "notes.md").write_text("Cats sleep sixteen hours a day.\n\nDogs bark at the mail carrier.\n")
    (root / "src" / "math.py").write_text("def add(a, b):\n    return a + b\n")
    (root / ".hidden").write_text("never indexed")
    (root / "blob.bin").write_bytes(b"\x00\x01\x02binary")
    Image.fromarray(np.full((56, 84, 3), 90, dtype=np.uint8)).save(root / "chart.png")
    return root


def test_collect_chunks_types_files_and_skips_binaries(corpus):
    chunks, skipped = collect_chunks([str(corpus)])
    kinds = {Path(c.source).name: c.kind for c in chunks}
    assert kinds == {"notes.md": "text", "math.py": "code", "chart.png": "image"}
    assert any("blob.bin" in s for s in skipped)


def test_chunk_text_respects_the_budget():
    text = "\n\n".join(f"paragraph {i} " + "word " * 30 for i in range(20))
    chunks = chunk_text(text, max_chars=400)
    assert all(len(c) <= 400 for c in chunks)
    assert "".join(chunks).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(" ", "")


def test_index_resume_and_search(corpus, tiny_v4_dir, tmp_path, capsys):
    index = str(tmp_path / "index")
    args = ["--model", str(tiny_v4_dir), "--index", index, "--device", "cpu"]
    assert main(["index", str(corpus), *args]) == 0
    out = capsys.readouterr().out
    assert "indexed 3 new chunk(s) from 3 file(s)" in out

    assert main(["index", str(corpus), *args]) == 0  # second run: nothing new to encode
    captured = capsys.readouterr()
    assert "3 chunk(s) already indexed, 0 to go" in captured.err
    assert "3 in total" in captured.out

    (corpus / "more.txt").write_text("A new note about rain in April.")
    assert main(["index", str(corpus), *args]) == 0
    assert "indexed 1 new chunk(s)" in capsys.readouterr().out

    assert main(["search", "how long do cats sleep", "--index", index, "--limit", "4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    ranked = [line for line in lines if line.strip()[:2].rstrip(".").isdigit()]
    assert len(ranked) == 4
    assert any("math.py" in line and "[code/code]" in line for line in ranked)
    assert any("chart.png" in line and "[image/retrieval]" in line for line in ranked)


def test_info_prints_model_facts(tiny_v4_dir, capsys):
    assert main(["info", "--model", str(tiny_v4_dir), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "retrieval, text-matching, code" in out and "multi-vector dim  128" in out


def test_missing_path_is_a_clean_error(tmp_path, capsys):
    assert main(["index", str(tmp_path / "nope"), "--index", str(tmp_path / "i")]) == 1
    assert "neither a file nor a folder" in capsys.readouterr().err
