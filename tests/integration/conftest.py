"""Fixtures of the integration tests: one corpus indexed by the real ``jina-local index`` per model family."""

from __future__ import annotations

import pytest
from cli_helpers import FAMILIES, IndexedCorpus, index_corpus


@pytest.fixture(scope="session", params=FAMILIES)
def cli_corpus(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> IndexedCorpus:
    """``build_corpus`` indexed by a ``jina-local index --json`` subprocess; shared, so tests must not change it."""
    family = request.param
    model_dir = request.getfixturevalue("tiny_v4_dir" if family == "jina-embeddings-v4" else "tiny_clip_dir")
    return index_corpus(family, model_dir, tmp_path_factory.mktemp(f"cli-{family}"))
