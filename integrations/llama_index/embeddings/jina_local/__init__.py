"""LlamaIndex embeddings for jina-local: ``from llama_index.embeddings.jina_local import JinaLocalEmbedding``."""

from __future__ import annotations

from llama_index.embeddings.jina_local.base import JinaLocalEmbedding

__all__ = ["JinaLocalEmbedding"]
