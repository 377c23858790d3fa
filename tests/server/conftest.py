"""Fixtures of the server tests: servers on the tiny checkpoints, and an index built by the real CLI."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")
sys.path.insert(0, str(Path(__file__).parent))  # server_helpers lives beside this file

from server_helpers import LiveServer, live_server, make_corpus  # noqa: E402


@pytest.fixture(scope="module")
def v4_server(tiny_v4) -> Iterator[LiveServer]:
    """A server on the tiny v4 checkpoint (no key, default settings)."""
    with live_server(tiny_v4, served_model_name="jina-embeddings-v4") as server:
        yield server


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory, tiny_v4_dir) -> Path:
    """A text + code + image corpus indexed by ``jina-local index`` (in-process) with the tiny v4 checkpoint."""
    from jina_local.cli import main

    root = tmp_path_factory.mktemp("search")
    corpus = make_corpus(root / "corpus")
    index = root / "index"
    args = ["index", str(corpus), "--model", str(tiny_v4_dir), "--index", str(index), "--device", "cpu", "--json"]
    assert main(args) == 0
    return index


@pytest.fixture(scope="module")
def search_server(tiny_v4, index_dir) -> Iterator[LiveServer]:
    """A server with ``--index`` on that corpus."""
    with live_server(tiny_v4, index=str(index_dir), collection="docs") as server:
        yield server
