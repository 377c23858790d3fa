"""LlamaIndex vector store for jina-local: ``from llama_index.vector_stores.jina_local import JinaLocalVectorStore``."""

from __future__ import annotations

from llama_index.vector_stores.jina_local.base import JinaLocalVectorStore
from llama_index.vector_stores.jina_local.filters import to_filter

__all__ = ["JinaLocalVectorStore", "to_filter"]
