"""LangChain integration of jina-local: local Jina embeddings, a multi-vector Qdrant retriever and vector store.

>>> import jina_local                                                          # doctest: +SKIP
>>> from langchain_jina_local import JinaLocalEmbeddings, JinaLocalRetriever   # doctest: +SKIP
>>> model = jina_local.load("jinaai/jina-embeddings-v4")                       # doctest: +SKIP
>>> embeddings = JinaLocalEmbeddings(model=model, dimensions=256)              # doctest: +SKIP
>>> embeddings.embed_query("how long do cats sleep")                           # doctest: +SKIP
"""

from __future__ import annotations

try:
    import langchain_core  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "langchain_jina_local needs langchain-core, which is not installed. "
        'Install the extra: pip install "jina-local[langchain]"'
    ) from exc

from .embeddings import JinaLocalEmbeddings, MultiVectorEmbeddings
from .retrievers import JinaLocalRetriever
from .vectorstores import JinaLocalVectorStore

__all__ = ["JinaLocalEmbeddings", "JinaLocalRetriever", "JinaLocalVectorStore", "MultiVectorEmbeddings"]
