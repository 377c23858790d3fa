"""The Python in README.md runs as written (on the tiny checkpoint instead of the real weights)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import jina_local

README = Path(__file__).resolve().parents[2] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_python_runs(tiny_v4, tmp_path, monkeypatch):
    blocks = _python_blocks()
    assert len(blocks) >= 3
    monkeypatch.chdir(tmp_path)
    Image.fromarray(np.full((56, 84, 3), 200, dtype=np.uint8)).save("chart.png")
    monkeypatch.setattr(jina_local, "load", lambda *a, **k: tiny_v4)
    dims = {"dim=256": "dim=16", "dense_dim=512": "dense_dim=32", "dimensions=512": "dimensions=32"}
    namespace: dict[str, object] = {"Path": Path}
    for block in blocks:
        code = block
        for real, tiny in dims.items():
            code = code.replace(real, tiny)
        code = code.replace('"http://qdrant:6333"', '":memory:"')
        try:
            exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
        except Exception as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"README block failed: {type(exc).__name__}: {exc}\n{block}")
    docs = namespace["docs"]
    assert docs.tasks == ["retrieval", "retrieval"] and docs.kinds == ["text", "image"]
    assert namespace["code"].tasks == ["code"]
    assert namespace["small_query"].dense.shape == (1, 16) and namespace["scores"].shape == (2,)
