"""``JinaLocalEmbeddings``: LangChain ``Embeddings`` over a local jina-local model.

The adapter is thin: it picks the role (``embed_query`` -> query, everything else -> document) and
the task adapter, and converts numpy rows to plain Python floats. Prompts, tokenisation, image
decoding and Matryoshka truncation all happen in :mod:`jina_local`.
"""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Optional

from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

import jina_local
from jina_local import Embedder, EncodeResult
from jina_local.inputs import image_reference
from jina_local.routing import paired_document_task


__all__ = ["JinaLocalEmbeddings", "MultiVectorEmbeddings"]

class MultiVectorEmbeddings(ABC):
    """Late-interaction embeddings: one vector per token, compared with MaxSim.

    The counterpart of ``langchain_core.embeddings.Embeddings`` for multi-vector models, in the way
    ``langchain_qdrant.SparseEmbeddings`` is for sparse ones. A document is a ``list`` of token
    vectors (``list[list[float]]``).
    """

    @abstractmethod
    def embed_documents_multi(self, texts: list[str]) -> list[list[list[float]]]:
        """Token vectors of each document."""

    @abstractmethod
    def embed_query_multi(self, text: str) -> list[list[float]]:
        """Token vectors of a query."""

    async def aembed_documents_multi(self, texts: list[str]) -> list[list[list[float]]]:
        """Async ``embed_documents_multi`` (runs in a worker thread)."""
        return await asyncio.to_thread(self.embed_documents_multi, texts)

    async def aembed_query_multi(self, text: str) -> list[list[float]]:
        """Async ``embed_query_multi`` (runs in a worker thread)."""
        return await asyncio.to_thread(self.embed_query_multi, text)


def _texts(texts: Sequence[str], method: str) -> list[str]:
    items = list(texts)
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise TypeError(
                f"{method}() takes strings, but item {i} is {type(t).__name__}; "
                "embed images with embed_image(...)."
            )
    return items


class JinaLocalEmbeddings(BaseModel, Embeddings, MultiVectorEmbeddings):
    """Jina embedding models (jina-embeddings-v4, jina-clip-v2) run locally through jina-local.

    Build it from a loaded model, or from a name / folder loaded on first use::

        model = jina_local.load("jinaai/jina-embeddings-v4")
        embeddings = JinaLocalEmbeddings(model=model)
        embeddings = JinaLocalEmbeddings(model_name="jinaai/jina-embeddings-v4", device="cuda")

    ``embed_query`` encodes with the *query* role and the ``query_task`` adapter;
    ``embed_documents`` / ``embed_image`` with the *document* role and ``document_task``
    (default: chosen per item by content: code -> ``code``, prose and images -> ``retrieval``).
    A query must use the adapter of the documents it is compared with: keep ``"retrieval"`` for
    prose and images, set ``query_task="code"`` for a code index, and ``"text-matching"`` for
    symmetric similarity (then documents use ``"text-matching"`` too, unless ``document_task`` says
    otherwise). :class:`~langchain_jina_local.JinaLocalRetriever` over a
    ``MultiVectorCollection`` does this per task by itself.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, protected_namespaces=())

    model: Optional[Embedder] = Field(default=None, repr=False, exclude=True)
    """A loaded model (``jina_local.load(...)``); give this or ``model_name``."""
    model_name: Optional[str] = None
    """Hugging Face id or local folder, loaded on first use with ``device`` / ``dtype``."""
    device: str = "auto"
    """``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``, ``"cuda:1"``... (with ``model_name``)."""
    dtype: str = "auto"
    """``"auto"`` (bfloat16 on CUDA, float32 on CPU), ``"float32"``, ``"bfloat16"``... (with ``model_name``)."""
    revision: Optional[str] = None
    """Hub revision to load (with ``model_name``)."""
    local_files_only: Optional[bool] = None
    """Never download (with ``model_name``); ``None`` follows ``HF_HUB_OFFLINE``."""
    dimensions: Optional[int] = None
    """Matryoshka size of dense vectors (e.g. 128, 256, 512, 1024 for v4); ``None`` = full size."""
    query_task: Optional[str] = "retrieval"
    """Adapter of ``embed_query``: ``"retrieval"``, ``"code"`` or ``"text-matching"`` (``None`` = automatic)."""
    document_task: Optional[str] = None
    """Adapter of documents and images; ``None`` = chosen per item by content (see the class docs)."""
    batch_size: Optional[int] = None
    """Most items per forward pass (batches are also capped by a token budget); ``None`` = the model's."""
    show_progress: bool = False
    """Show a progress bar while encoding."""

    _load_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @model_validator(mode="after")
    def _check_model_source(self) -> JinaLocalEmbeddings:
        if self.model is None and not self.model_name:
            raise ValueError(
                "JinaLocalEmbeddings needs a model: pass model=jina_local.load(...) or "
                "model_name='jinaai/jina-embeddings-v4' (a Hugging Face id or a local folder)."
            )
        if self.model is not None and self.model_name and self.model_name != self.model.info.name:
            raise ValueError(
                f"model_name={self.model_name!r} does not match the given model ({self.model.info.name!r}); "
                "pass model= or model_name=, not both."
            )
        if self.model is not None and not self.model_name:
            self.model_name = self.model.info.name
        return self

    # ------------------------------------------------------------------ model
    @property
    def embedder(self) -> Embedder:
        """The jina-local model, loaded now if it was given by ``model_name``."""
        if self.model is None:
            with self._load_lock:
                if self.model is None:
                    self.model = jina_local.load(
                        str(self.model_name),
                        device=self.device,
                        dtype=self.dtype,
                        revision=self.revision,
                        local_files_only=self.local_files_only,
                    )
        return self.model

    @property
    def _doc_task(self) -> Optional[str]:
        return paired_document_task(self.query_task, self.document_task)

    def _encode(self, items: list[Any], *, role: str, task: Optional[str], output: str = "dense") -> EncodeResult:
        return self.embedder.encode(
            items,
            role=role,  # type: ignore[arg-type]
            task=task,
            output=output,  # type: ignore[arg-type]
            dim=self.dimensions if output == "dense" else None,
            batch_size=self.batch_size,
            progress=self.show_progress,
        )

    # ------------------------------------------------------------------ dense
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Dense vectors of documents (document role, ``document_task``)."""
        items = _texts(texts, "embed_documents")
        if not items:
            return []
        result = self._encode(items, role="document", task=self._doc_task)
        return result.dense.tolist()  # type: ignore[union-attr]

    def embed_query(self, text: str) -> list[float]:
        """Dense vector of a query (query role, ``query_task``)."""
        (item,) = _texts([text], "embed_query")
        return self._encode([item], role="query", task=self.query_task).dense[0].tolist()  # type: ignore[index]

    def embed_image(self, uris: list[Any]) -> list[list[float]]:
        """Dense vectors of images: paths, ``http(s)://`` URLs, ``data:image/`` URIs, bytes or PIL images.

        Images are documents (document role, ``document_task``); query them with ``embed_query``.
        """
        items = [image_reference(u, i) for i, u in enumerate(uris)]
        if not items:
            return []
        result = self._encode(items, role="document", task=self._doc_task)
        return result.dense.tolist()  # type: ignore[union-attr]

    embed_images = embed_image  # the name langchain-community's JinaEmbeddings uses

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Async ``embed_documents`` (runs in a worker thread)."""
        return await asyncio.to_thread(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> list[float]:
        """Async ``embed_query`` (runs in a worker thread)."""
        return await asyncio.to_thread(self.embed_query, text)

    async def aembed_image(self, uris: list[Any]) -> list[list[float]]:
        """Async ``embed_image`` (runs in a worker thread)."""
        return await asyncio.to_thread(self.embed_image, uris)

    # ------------------------------------------------------------------ late interaction
    def embed_documents_multi(self, texts: list[str]) -> list[list[list[float]]]:
        """Per-token vectors (128-d each for v4) of documents, for MaxSim scoring."""
        items = _texts(texts, "embed_documents_multi")
        if not items:
            return []
        result = self._encode(items, role="document", task=self._doc_task, output="multi")
        return [m.tolist() for m in result.multi]  # type: ignore[union-attr]

    def embed_query_multi(self, text: str) -> list[list[float]]:
        """Per-token vectors of a query (query role, ``query_task``)."""
        (item,) = _texts([text], "embed_query_multi")
        return self._encode([item], role="query", task=self.query_task, output="multi").multi[0].tolist()  # type: ignore[index]

    def embed_image_multi(self, uris: list[Any]) -> list[list[list[float]]]:
        """Per-token vectors of images (same inputs as ``embed_image``)."""
        items = [image_reference(u, i) for i, u in enumerate(uris)]
        if not items:
            return []
        result = self._encode(items, role="document", task=self._doc_task, output="multi")
        return [m.tolist() for m in result.multi]  # type: ignore[union-attr]
