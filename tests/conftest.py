"""Session fixtures: tiny checkpoints written in the published layouts, and models loaded from them."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # fixture_* modules live beside this file

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # unit tests never reach a hub
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# page renders (jina_local.documents.page_image) go to a folder of this run, never the user's cache
os.environ.setdefault("JINA_LOCAL_CACHE", tempfile.mkdtemp(prefix="jina-local-test-cache-"))

from fixture_clip import tiny_clip_dir  # noqa: E402, F401 - session fixture shared by all tests
from fixture_v4 import write_v4_checkpoint  # noqa: E402


@pytest.fixture(scope="session")
def tiny_v4_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random jina-embeddings-v4 checkpoint in the published on-disk layout."""
    return write_v4_checkpoint(tmp_path_factory.mktemp("jina-embeddings-v4"), "tiny", seed=0)


@pytest.fixture(scope="session")
def tiny_v4(tiny_v4_dir: Path):  # -> jina_local.Embedder
    """The tiny checkpoint loaded by the real loader, on the CPU in float32."""
    import jina_local

    return jina_local.load(tiny_v4_dir, device="cpu", dtype="float32")


@pytest.fixture(scope="session")
def tiny_clip(tiny_clip_dir: Path):  # -> jina_local.Embedder
    """The tiny jina-clip-v2 checkpoint loaded by the real loader, on the CPU in float32."""
    import jina_local

    return jina_local.load(tiny_clip_dir, device="cpu", dtype="float32")


@pytest.fixture(scope="session", params=["jina-embeddings-v4", "jina-clip-v2"])
def any_model(request: pytest.FixtureRequest):  # -> jina_local.Embedder
    """Each model family in turn: integration tests that must hold for both use this."""
    return request.getfixturevalue("tiny_v4" if request.param == "jina-embeddings-v4" else "tiny_clip")


# Benchmarks are scripts (run them directly); keep doctest collection out of them.
collect_ignore_glob = ["benchmarks/*"]
