"""Fixtures of the server tests: servers on the tiny checkpoints, and an index of a small corpus."""

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
def index_dir(tmp_path_factory, tiny_v4) -> Path:
    """A text + code + image + PDF corpus indexed with the tiny v4 checkpoint.

    Built with ``MultiVectorCollection.index_files``, what ``jina-local index`` runs.
    """
    from jina_local.qdrant import MultiVectorCollection

    root = tmp_path_factory.mktemp("search")
    corpus = make_corpus(root / "corpus")
    index = root / "index"
    with MultiVectorCollection.open(str(index), "docs", tiny_v4) as collection:
        summary = collection.index_files(corpus, progress=False)
    assert not summary.failed and not summary.skipped and summary.chunks_added == 5, summary
    return index


@pytest.fixture(scope="module")
def search_server(tiny_v4, index_dir) -> Iterator[LiveServer]:
    """A server with ``--index`` on that corpus."""
    with live_server(tiny_v4, index=str(index_dir), collection="docs") as server:
        yield server
