"""``JinaLocalVectorStore`` against LangChain's unmodified standard suite, and its MaxSim path.

``VectorStoreIntegrationTests`` brings its own 6-d fake embeddings, so it runs the dense-only path
(any LangChain ``Embeddings``), on ``":memory:"`` and on an embedded-engine folder. The jina-local
path (multi-vectors, per-task routing, two-stage MaxSim) is checked against the collection itself
with the tiny v4 and jina-clip-v2 checkpoints.
"""

from __future__ import annotations

import copy
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.vectorstores import InMemoryVectorStore
from langchain_tests.integration_tests import VectorStoreIntegrationTests
from PIL import Image
from qdrant_client import QdrantClient, models

from jina_local import InputError, TaskError
from jina_local.errors import CollectionConfigError
from jina_local.qdrant import FilterError, MultiVectorCollection
from langchain_jina_local import JinaLocalEmbeddings, JinaLocalVectorStore

PROSE = ["Cats sleep sixteen hours a day.", "The quarterly revenue grew by ten percent.",
         "Paris is the capital of France.", "Rain is expected tomorrow afternoon."]
CODE = ["def add(a, b):\n    return a + b", "for i in range(10):\n    print(i * i)"]


def _async_suite(cls: type) -> type:
    cls = pytest.mark.asyncio(cls)
    return pytest.mark.filterwarnings("ignore:.*is marked with '@pytest.mark.asyncio':pytest.PytestWarning")(cls)


# ---------------------------------------------------------------------- LangChain's standard suite
@_async_suite
class TestStandardInMemory(VectorStoreIntegrationTests):
    """Dense-only path on qdrant-client's local mode."""

    @pytest.fixture()
    def vectorstore(self) -> Any:
        store = JinaLocalVectorStore(location=QdrantClient(":memory:"), collection_name="standard",
                                     embedding=self.get_embeddings())
        yield store
        store.close()


@_async_suite
class TestStandardEmbeddedFolder(VectorStoreIntegrationTests):
    """Dense-only path on the embedded engine (qdrant-edge-py) in a folder."""

    @pytest.fixture()
    def vectorstore(self, tmp_path: Path) -> Any:
        store = JinaLocalVectorStore(location=tmp_path / "index", collection_name="standard",
                                     embedding=self.get_embeddings())
        yield store
        store.close()
