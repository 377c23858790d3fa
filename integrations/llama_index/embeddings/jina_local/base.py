"""``JinaLocalEmbedding``: a LlamaIndex ``MultiModalEmbedding`` over a local jina-local model.

Thin by design: it picks the role (query vs document) and the task adapter, keeps LlamaIndex's
batches as batches (the batch hooks are overridden), and converts numpy rows to lists of floats.
Prompts, tokenisation, image decoding and Matryoshka truncation happen in :mod:`jina_local`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any, Optional

try:
    from llama_index.core.base.embeddings.base import Embedding
    from llama_index.core.bridge.pydantic import ConfigDict, Field, PrivateAttr
    from llama_index.core.embeddings import MultiModalEmbedding
    from llama_index.core.schema import ImageType
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "llama_index.embeddings.jina_local needs llama-index-core, which is not installed. "
        'Install the extra: pip install "jina-local[llamaindex]"'
    ) from exc

import jina_local
from jina_local import Embedder, EncodeResult
from jina_local.inputs import image_reference
from jina_local.routing import paired_document_task

__all__ = ["JinaLocalEmbedding"]



def _texts(texts: Sequence[str], method: str) -> list[str]:
    items = list(texts)
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise TypeError(
                f"{method} takes strings, but item {i} is {type(t).__name__}; "
                "embed images with get_image_embedding(...)."
            )
    return items


class JinaLocalEmbedding(MultiModalEmbedding):
    """Jina embedding models (jina-embeddings-v4, jina-clip-v2) run locally through jina-local.

    Build it from a loaded model, or from a name / folder loaded on first use::

        JinaLocalEmbedding(model=jina_local.load("jinaai/jina-embeddings-v4"))
        JinaLocalEmbedding(model_name="jinaai/jina-embeddings-v4", device="cuda")

    ``get_query_embedding`` encodes with the *query* role and the ``query_task`` adapter; text and
    image embeddings (the nodes) with the *document* role and ``document_task`` (default: chosen
    per item by content: code -> ``code``, prose and images -> ``retrieval``). A query must use the
    adapter of the documents it is compared with: keep ``"retrieval"`` for prose and images, set
    ``query_task="code"`` for a code index, and ``"text-matching"`` for symmetric similarity (then
    documents use ``"text-matching"`` too, unless ``document_task`` says otherwise). The
    ``JinaLocalRetriever`` of ``llama_index.retrievers.jina_local`` does this per task by itself.
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    embed_batch_size: int = Field(
        default=32, gt=0, le=2048,
        description="Items handed to the model per call (it splits them further by a token budget).",
    )
    device: str = Field(default="auto", description="'auto', 'cpu', 'cuda', 'cuda:1'... (with model_name).")
    dtype: str = Field(default="auto", description="'auto', 'float32', 'bfloat16'... (with model_name).")
    revision: Optional[str] = Field(default=None, description="Hub revision to load (with model_name).")
    local_files_only: Optional[bool] = Field(
        default=None, description="Never download (with model_name); None follows HF_HUB_OFFLINE."
    )
    dimensions: Optional[int] = Field(
        default=None, description="Matryoshka size of the vectors (e.g. 128, 256, 512, 1024 for v4); None = full."
    )
    query_task: Optional[str] = Field(
        default="retrieval",
        description="Adapter of queries: 'retrieval', 'code' or 'text-matching' (None = automatic).",
    )
    document_task: Optional[str] = Field(
        default=None, description="Adapter of texts and images; None = chosen per item by content."
    )

    _model: Optional[Embedder] = PrivateAttr(default=None)
    _load_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, *, model: Optional[Embedder] = None, model_name: Optional[str] = None, **kwargs: Any) -> None:
        if model is None and not model_name:
            raise ValueError(
                "JinaLocalEmbedding needs a model: pass model=jina_local.load(...) or "
                "model_name='jinaai/jina-embeddings-v4' (a Hugging Face id or a local folder)."
            )
        if model is not None:
            if not isinstance(model, Embedder):
                raise TypeError(f"model must be a jina_local.Embedder (from jina_local.load), got {type(model).__name__}.")
            if model_name and model_name != model.info.name:
                raise ValueError(
                    f"model_name={model_name!r} does not match the given model ({model.info.name!r}); "
                    "pass model= or model_name=, not both."
                )
            model_name = model.info.name
        super().__init__(model_name=model_name, **kwargs)
        self._model = model

    @classmethod
    def class_name(cls) -> str:
        return "JinaLocalEmbedding"

    # ------------------------------------------------------------------ model
    @property
    def embedder(self) -> Embedder:
        """The jina-local model, loaded now if it was given by ``model_name``."""
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    self._model = jina_local.load(
                        self.model_name,
                        device=self.device,
                        dtype=self.dtype,
                        revision=self.revision,
                        local_files_only=self.local_files_only,
                    )
        return self._model

    @property
    def _doc_task(self) -> Optional[str]:
        return paired_document_task(self.query_task, self.document_task)

    def _encode(self, items: list[Any], *, role: str, task: Optional[str]) -> EncodeResult:
        return self.embedder.encode(items, role=role, task=task, dim=self.dimensions, progress=False)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ text
    def _get_query_embedding(self, query: str) -> Embedding:
        (item,) = _texts([query], "get_query_embedding")
        return self._encode([item], role="query", task=self.query_task).dense[0].tolist()  # type: ignore[index]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return await asyncio.to_thread(self._get_query_embedding, query)

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._get_text_embeddings([text])[0]

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return await asyncio.to_thread(self._get_text_embedding, text)

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        items = _texts(texts, "get_text_embedding_batch")
        if not items:
            return []
        return self._encode(items, role="document", task=self._doc_task).dense.tolist()  # type: ignore[union-attr]

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return await asyncio.to_thread(self._get_text_embeddings, texts)

    # ------------------------------------------------------------------ images
    def _get_image_embedding(self, img_file_path: ImageType) -> Embedding:
        return self._get_image_embeddings([img_file_path])[0]

    async def _aget_image_embedding(self, img_file_path: ImageType) -> Embedding:
        return await asyncio.to_thread(self._get_image_embedding, img_file_path)

    def _get_image_embeddings(self, img_file_paths: list[ImageType]) -> list[Embedding]:
        items = [image_reference(ref, i) for i, ref in enumerate(img_file_paths)]
        if not items:
            return []
        return self._encode(items, role="document", task=self._doc_task).dense.tolist()  # type: ignore[union-attr]

    async def _aget_image_embeddings(self, img_file_paths: list[ImageType]) -> list[Embedding]:
        return await asyncio.to_thread(self._get_image_embeddings, img_file_paths)
