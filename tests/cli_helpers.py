"""Driving ``jina-local`` as a user would: a subprocess (``python -m jina_local``) with a clean environment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FAMILIES = ("jina-embeddings-v4", "jina-clip-v2")
INDEXED = {"notes.md", "plain.txt", "code.py", "utf16.txt", "latin1.txt", "chart.png", "report.pdf", "sub/deep.md"}
NOT_DOCUMENTS = {"blob.dat": "not text", "empty.txt": "empty", "escape.txt": "symbolic link"}
UNREADABLE = {"corrupt.pdf": "corrupt", "locked.pdf": "encrypted"}
FLOAT_CPU = ("--device", "cpu", "--dtype", "float32")


def cli_env(**extra: str) -> dict[str, str]:
    """This interpreter's import path, offline, no colours, a fixed terminal width for ``--help``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "HF_HUB_OFFLINE": "1"}
    env.update(COLUMNS="100", NO_COLOR="1", TOKENIZERS_PARALLELISM="false", **extra)
    return env


def cli_command(*args: Any) -> list[str]:
    return [sys.executable, "-m", "jina_local", *map(str, args)]


def run_cli(*args: Any, cwd: Path | None = None, prefix: tuple[str, ...] = (), timeout: float = 600) -> Any:
    """Run ``jina-local ARGS`` and return the ``CompletedProcess`` (text stdout / stderr)."""
    return subprocess.run(
        [*prefix, *cli_command(*args)], capture_output=True, text=True, cwd=cwd, env=cli_env(), timeout=timeout
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def assert_clean(result: Any, code: int) -> None:
    """Exit code as expected, and never a traceback."""
    assert result.returncode == code, (result.returncode, result.stdout[-3000:], result.stderr[-3000:])
    assert "Traceback" not in result.stderr + result.stdout, result.stderr


def relative(root: Path, path: str) -> str:
    return Path(path).relative_to(root.resolve()).as_posix()


@dataclass
class IndexedCorpus:
    """A ``build_corpus`` folder indexed by ``jina-local index --json`` with one model family."""

    family: str
    model_dir: Path
    root: Path
    corpus: Path
    index: Path
    result: Any
    summary: dict[str, Any]

    @property
    def multi(self) -> bool:
        return self.family == "jina-embeddings-v4"


def index_corpus(family: str, model_dir: Path, root: Path) -> IndexedCorpus:
    """Build the corpus under ``root`` and index it; ``--model`` is given relative to the working directory."""
    from fixture_docs import build_corpus

    outside = root / "outside"
    outside.mkdir(parents=True)
    corpus = build_corpus(root / "docs", outside)
    index = root / "index"
    model_rel = os.path.relpath(model_dir, root)  # the collection must record the absolute folder
    result = run_cli("index", corpus, "--model", model_rel, "--index", index, *FLOAT_CPU, "--json", cwd=root)
    return IndexedCorpus(family, model_dir, root, corpus, index, result, json.loads(result.stdout))


def copy_tree(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)
    return target
