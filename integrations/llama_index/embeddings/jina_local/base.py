"""``JinaLocalEmbedding``: a LlamaIndex ``MultiModalEmbedding`` over a local jina-local model.

Thin by design: it picks the role (query vs document) and the task adapter, keeps LlamaIndex's
batches as batches (the batch hooks are overridden), and converts numpy rows to lists of floats.
Prompts, tokenisation, image decoding and Matryoshka truncation happen in :mod:`jina_local`.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np

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
from jina_local import (
    ArgumentError,
    DimensionError,
    Embedder,
    EncodeResult,
    FetchPolicy,
    InputError,
    OptionError,
    OutputError,
    Role,
    TaskError,
    image_reference,
    parse_task,
)

__all__ = ["JinaLocalEmbedding"]


def _dense(result: EncodeResult) -> np.ndarray:
    """The ``(n, d)`` dense rows of a dense encode (which always fills them)."""
    if result.dense is None:
        raise OutputError("the model returned no dense vectors; use a model that produces them.")
    return result.dense


def _texts(texts: Sequence[str], method: str) -> list[str]:
    items = list(texts)
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise ArgumentError(
                f"{method} takes strings, but item {i} is {type(t).__name__}; "
                "embed images with get_image_embedding(...)."
            )
    return items


class JinaLocalEmbedding(MultiModalEmbedding):
    """Jina embedding models (jina-embeddings-v4, jina-clip-v2) run locally through jina-local.

    Build it from a loaded model, or from a name / folder loaded on first use::

        JinaLocalEmbedding(model=jina_local.load("jinaai/jina-embeddings-v4"))
        JinaLocalEmbedding(model="jinaai/jina-embeddings-v4", device="cuda")     # a string = model_name

    Instances built from the same name, device and dtype share one loaded model (process-wide); a
    pickled instance carries no weights and reloads them by name. ``get_query_embedding`` encodes
    with the *query* role and the ``query_task`` adapter; text and image embeddings (the nodes) with
    the *document* role and ``document_task``. Jina's API task names (``"retrieval.query"``,
    ``"code.passage"``, ``"text-matching"``) are accepted and set the role too.

    ``document_task=None`` (default) gives documents the queries' adapter, so both share one vector
    space in any store (``VectorStoreIndex`` on ``SimpleVectorStore``, llama-index's Qdrant store,
    ...). ``document_task="auto"`` routes each node by content (code -> ``code``, prose and images
    -> ``retrieval``); it pays off only where queries are routed per task too, which the
    ``JinaLocalVectorStore`` of ``llama_index.vector_stores.jina_local`` and the
    ``JinaLocalRetriever`` do by default.
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    embed_batch_size: int = Field(
        default=32,
        gt=0,
        le=2048,
        description="Items handed to the model per call (it splits them further by a token budget).",
    )
    device: str = Field(default="auto", description="'auto', 'cpu', 'cuda', 'cuda:1'... (with model_name).")
    dtype: str = Field(default="auto", description="'auto', 'float32', 'bfloat16'... (with model_name).")
    revision: str | None = Field(default=None, description="Hub revision to load (with model_name).")
    local_files_only: bool | None = Field(
        default=None, description="Never download (with model_name); None follows HF_HUB_OFFLINE."
    )
    dimensions: int | None = Field(
        default=None, description="Matryoshka size of the vectors (e.g. 128, 256, 512, 1024 for v4); None = full."
    )
    query_task: str | None = Field(
        default="retrieval",
        description="Adapter of queries: 'retrieval', 'code', 'text-matching' or a Jina name like 'retrieval.query'.",
    )
    document_task: str | None = Field(
        default=None,
        description="Adapter of texts and images; None = the queries' adapter, 'auto' = per item.",
    )
    max_length: int | None = Field(default=None, description="Most text tokens per item; None = the model's.")
    max_pixels: int | None = Field(default=None, description="Largest image area before resizing; None = default.")
    fetch: FetchPolicy | None = Field(
        default=None,
        description=(
            "How image URLs are downloaded (jina_local.FetchPolicy); None = the default policy: public "
            "http(s) addresses only, deadlines, a byte cap. FetchPolicy(allow_urls=False) switches URLs off."
        ),
    )
    late_chunking: bool | None = Field(
        default=None,
        description=(
            "Encode the texts of one batch as chunks of one document in one forward; "
            "documents only (queries and images are always encoded on their own)."
        ),
    )

    _model: Embedder | None = PrivateAttr(default=None)

    def __init__(
        self,
        *,
        model: Any = None,
        model_name: str | None = None,
        model_kwargs: dict[str, Any] | None = None,
        encode_kwargs: dict[str, Any] | None = None,
        query_encode_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(model, str):  # model="jinaai/jina-embeddings-v4", as other LlamaIndex embeddings take it
            if model_name not in (None, model):
                raise OptionError(f"model={model!r} and model_name={model_name!r} differ; pass one.")
            model_name, model = model, None
        translated = jina_local.hf_style_options(
            model_kwargs, encode_kwargs, query_encode_kwargs, owner="JinaLocalEmbedding"
        )
        if "show_progress" in translated:
            raise InputError(
                "JinaLocalEmbedding: show_progress_bar is not an option here; LlamaIndex asks per call "
                "(get_text_embedding_batch(texts, show_progress=True))."
            )
        if "batch_size" in translated:
            translated["embed_batch_size"] = translated.pop("batch_size")
        for key, value in translated.items():
            if key in kwargs and kwargs[key] != value:
                raise OptionError(
                    f"{key}={kwargs[key]!r} contradicts the value {value!r} given in model_kwargs / "
                    "encode_kwargs; give it once."
                )
            kwargs[key] = value
        if model is None and not model_name:
            raise OptionError(
                "JinaLocalEmbedding needs a model: pass model=jina_local.load(...) or "
                "model_name='jinaai/jina-embeddings-v4' (a Hugging Face id or a local folder)."
            )
        if model is not None:
            if not isinstance(model, Embedder):
                raise ArgumentError(
                    f"model must be a jina_local.Embedder (from jina_local.load) or a model name, "
                    f"got {type(model).__name__}."
                )
            if model_name and model_name != model.info.name:
                raise OptionError(
                    f"model_name={model_name!r} does not match the given model ({model.info.name!r}); "
                    "pass model= or model_name=, not both."
                )
            model_name = model.info.name
            if kwargs.get("device", "auto") == "auto":
                kwargs["device"] = model.info.device  # a reload (after pickling) finds the same copy
            if kwargs.get("dtype", "auto") == "auto":
                kwargs["dtype"] = model.info.dtype
        elif not model_name:
            raise OptionError(
                "JinaLocalEmbedding needs a model: pass model=jina_local.load(...) or "
                "model_name='jinaai/jina-embeddings-v4' (a Hugging Face id or a local folder)."
            )
        fetch = kwargs.get("fetch")
        if fetch is not None and not isinstance(fetch, FetchPolicy):
            raise OptionError(
                f"JinaLocalEmbedding: fetch={fetch!r} is not a FetchPolicy; pass jina_local.FetchPolicy(...) or None."
            )
        super().__init__(model_name=model_name, **kwargs)
        parse_task(self.query_task)
        parse_task(self.document_task)
        self._model = model
        if model is not None:
            self._check_against(model)

    @classmethod
    def class_name(cls) -> str:
        return "JinaLocalEmbedding"

    # ------------------------------------------------------------------ model
    def _check_against(self, model: Embedder) -> None:
        info = model.info
        for name, value in (("query_task", self.query_task), ("document_task", self.document_task)):
            task, _ = parse_task(value)
            if task not in (None, "auto") and task not in info.tasks:
                valid = ", ".join(repr(t) for t in info.tasks)
                raise TaskError(
                    f"{name}={value!r} is not a task of {info.name}; valid tasks: {valid} "
                    "(or Jina's names such as 'retrieval.query')."
                )
        if self.dimensions is not None and self.dimensions not in info.matryoshka_dims:
            valid = ", ".join(str(d) for d in info.matryoshka_dims)
            raise DimensionError(
                f"dimensions={self.dimensions!r} is not a Matryoshka size of {info.name}; valid: {valid}."
            )

    @property
    def embedder(self) -> Embedder:
        """The jina-local model, loaded now (once per process) if it was given by ``model_name``."""
        if self._model is None:
            model = jina_local.load(
                self.model_name,
                device=self.device,
                dtype=self.dtype,
                revision=self.revision,
                local_files_only=self.local_files_only,
                shared=True,
            )
            self._check_against(model)
            self._model = model
        return self._model

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        private = state.get("__pydantic_private__")
        if private:
            state["__pydantic_private__"] = {**private, "_model": None}  # weights never travel; reloaded by name
        return state

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> JinaLocalEmbedding:
        memo = {} if memo is None else memo
        if self._model is not None:
            memo[id(self._model)] = self._model  # a copy shares the (read-only) model
        return super().__deepcopy__(memo)

    def query_spec(self) -> tuple[str | None, Role]:
        """``(task, role)`` of queries (``None`` task = automatic)."""
        task, role = parse_task(self.query_task)
        return (None if task == "auto" else task), role or "query"

    def document_spec(self, *, per_item: bool = False) -> tuple[str | None, Role]:
        """``(task, role)`` of documents; ``None`` task = routed per item (``per_item`` stores leave it so)."""
        task, role = parse_task(self.document_task)
        return jina_local.paired_document_task(self.query_spec()[0], task, per_item=per_item), role or "document"

    def _encode(self, items: list[Any], spec: tuple[str | None, Role], *, documents: bool = False) -> EncodeResult:
        """Encode ``items``; ``documents=True`` (document texts) is the one case ``late_chunking`` applies to."""
        task, role = spec
        options: dict[str, Any] = {
            "dim": self.dimensions,
            "progress": False,
            "max_length": self.max_length,
            "max_pixels": self.max_pixels,
            "fetch": self.fetch,
        }
        if self.late_chunking and documents:
            if "late_chunking" not in inspect.signature(self.embedder.encode).parameters:
                raise InputError(
                    "late_chunking=True needs a jina-local whose encode() has late_chunking; "
                    "upgrade jina-local or leave late_chunking unset."
                )
            options["late_chunking"] = True
        return self.embedder.encode(items, role=role, task=task, **options)

    # ------------------------------------------------------------------ text
    def _get_query_embedding(self, query: str) -> Embedding:
        (item,) = _texts([query], "get_query_embedding")
        return _dense(self._encode([item], self.query_spec()))[0].tolist()

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
        return _dense(self._encode(items, self.document_spec(), documents=True)).tolist()

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return await asyncio.to_thread(self._get_text_embeddings, texts)

    # ------------------------------------------------------------------ images
    def _get_image_embedding(self, img_file_path: ImageType) -> Embedding:
        return self._get_image_embeddings([img_file_path])[0]

    async def _aget_image_embedding(self, img_file_path: ImageType) -> Embedding:
        return await asyncio.to_thread(self._get_image_embedding, img_file_path)

    def _get_image_embeddings(self, img_file_paths: list[ImageType]) -> list[Embedding]:
        items = [image_reference(ref, i, fetch=self.fetch) for i, ref in enumerate(img_file_paths)]
        if not items:
            return []
        return _dense(self._encode(items, self.document_spec())).tolist()

    async def _aget_image_embeddings(self, img_file_paths: list[ImageType]) -> list[Embedding]:
        return await asyncio.to_thread(self._get_image_embeddings, img_file_paths)
