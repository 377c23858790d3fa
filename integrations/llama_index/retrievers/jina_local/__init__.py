"""LlamaIndex retriever for jina-local: ``from llama_index.retrievers.jina_local import JinaLocalRetriever``."""

from __future__ import annotations

from llama_index.retrievers.jina_local.base import JinaLocalRetriever

__all__ = ["JinaLocalRetriever"]
