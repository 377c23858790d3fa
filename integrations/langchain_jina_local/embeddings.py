"""``JinaLocalEmbeddings``: LangChain ``Embeddings`` over a local jina-local model.

The adapter is thin: it picks the role (``embed_query`` -> query, everything else -> document) and
the task adapter, and converts numpy rows to plain Python floats. Prompts, tokenisation, image
decoding and Matryoshka truncation all happen in :mod:`jina_local`.
"""

from __future__ import annotations

import asyncio
import inspect
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, ConfigDict, Field

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

__all__ = ["JinaLocalEmbeddings", "MultiVectorEmbeddings", "check_fetch"]


def check_fetch(fetch: Any, owner: str) -> FetchPolicy | None:
    """A ``fetch=`` option: a :class:`jina_local.FetchPolicy`, or ``None`` for jina-local's default policy."""
    if fetch is not None and not isinstance(fetch, FetchPolicy):
        raise OptionError(
            f"{owner}: fetch={fetch!r} is not a FetchPolicy; pass jina_local.FetchPolicy(...) or None "
            "(the default policy: http(s) to public addresses only, with deadlines and a size cap)."
        )
    return fetch


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


def _dense(result: EncodeResult) -> np.ndarray:
    """The ``(n, d)`` dense rows of an ``output="dense"`` encode (which always fills them)."""
    if result.dense is None:
        raise OutputError("the model returned no dense vectors; use a model that produces them.")
    return result.dense


def _multi(result: EncodeResult) -> list[np.ndarray]:
    """The token vectors of an ``output="multi"`` encode with ``errors="raise"`` (one array per item)."""
    rows = [m for m in result.multi or [] if m is not None]
    if result.multi is None or len(rows) != len(result.multi):
        raise OutputError("the model returned no token vectors; use a model with multi-vector output.")
    return rows


def _texts(texts: Sequence[str], method: str) -> list[str]:
    items = list(texts)
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise ArgumentError(
                f"{method}() takes strings, but item {i} is {type(t).__name__}; embed images with embed_image(...)."
            )
    return items


class JinaLocalEmbeddings(BaseModel, Embeddings, MultiVectorEmbeddings):
    """Jina embedding models (jina-embeddings-v4, jina-clip-v2) run locally through jina-local.

    Build it from a loaded model, or from a name / folder loaded on first use::

        model = jina_local.load("jinaai/jina-embeddings-v4")
        embeddings = JinaLocalEmbeddings(model=model)
        embeddings = JinaLocalEmbeddings(model="jinaai/jina-embeddings-v4", device="cuda")   # = model_name

    Instances built from the same name, device and dtype share one loaded model (process-wide).
    ``embed_query`` encodes with the *query* role and the ``query_task`` adapter; ``embed_documents``
    / ``embed_image`` with the *document* role and ``document_task``. Task names may be Jina's API
    names (``"retrieval.query"``, ``"code.passage"``, ``"text-matching"``), which also set the role.

    ``document_task=None`` (default) gives documents the queries' adapter, so both sit in one vector
    space in any store (InMemoryVectorStore, langchain-qdrant, ...): ``retrieval`` by default,
    ``code`` with ``query_task="code"``, ``text-matching`` with ``query_task="text-matching"``.
    ``document_task="auto"`` routes each document by content (code -> ``code``, prose and images ->
    ``retrieval``), which only pays off in a store that routes queries per task:
    :class:`~langchain_jina_local.JinaLocalVectorStore` and ``JinaLocalRetriever`` do (they route
    per item by default and search each adapter's documents with a query of that adapter).
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, protected_namespaces=())

    model: Embedder | None = Field(default=None, repr=False, exclude=True)
    """A loaded model (``jina_local.load(...)``); a string is taken as ``model_name``."""
    model_name: str | None = None
    """Hugging Face id or local folder, loaded on first use with ``device`` / ``dtype``."""
    device: str = "auto"
    """``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``, ``"cuda:1"``... (with ``model_name``)."""
    dtype: str = "auto"
    """``"auto"`` (bfloat16 on CUDA, float32 on CPU), ``"float32"``, ``"bfloat16"``... (with ``model_name``)."""
    revision: str | None = None
    """Hub revision to load (with ``model_name``)."""
    local_files_only: bool | None = None
    """Never download (with ``model_name``); ``None`` follows ``HF_HUB_OFFLINE``."""
    dimensions: int | None = None
    """Matryoshka size of dense vectors (e.g. 128, 256, 512, 1024 for v4); ``None`` = full size."""
    query_task: str | None = "retrieval"
    """Adapter of ``embed_query``: ``"retrieval"``, ``"code"``, ``"text-matching"`` or a Jina name."""
    document_task: str | None = None
    """Adapter of documents and images: ``None`` = the queries' adapter; ``"auto"`` = per item by content."""
    batch_size: int | None = None
    """Most items per forward pass (batches are also capped by a token budget); ``None`` = the model's."""
    show_progress: bool = False
    """Show a progress bar while encoding."""
    max_length: int | None = None
    """Most text tokens per item (longer texts are truncated); ``None`` = the model's limit."""
    max_pixels: int | None = None
    """Largest image area in pixels before resizing; ``None`` = the model's default."""
    fetch: FetchPolicy | None = None
    """How image URLs are downloaded (``jina_local.FetchPolicy``); ``None`` = the default policy (public
    http(s) addresses only, deadlines, a byte cap). ``FetchPolicy(allow_urls=False)`` switches URLs off."""
    late_chunking: bool | None = None
    """Encode the texts of one ``embed_documents`` call as chunks of one document in one forward.

    Documents only: queries (``embed_query``) and images are always encoded on their own."""
    model_kwargs: dict[str, Any] | None = Field(default=None, exclude=True)
    """langchain-huggingface style: ``device``, ``torch_dtype``, ``revision``, ``local_files_only``."""
    encode_kwargs: dict[str, Any] | None = Field(default=None, exclude=True)
    """langchain-huggingface style: ``batch_size``, ``normalize_embeddings=True``, ``show_progress_bar``, ``task``."""
    query_encode_kwargs: dict[str, Any] | None = Field(default=None, exclude=True)
    """langchain-huggingface style options for queries (``task`` -> ``query_task``)."""

    def __init__(self, model: Any = None, **kwargs: Any) -> None:
        if isinstance(model, str):  # model="jinaai/jina-embeddings-v4", as other integrations take it
            if kwargs.get("model_name") not in (None, model):
                raise OptionError(f"model={model!r} and model_name={kwargs['model_name']!r} differ; pass one.")
            kwargs["model_name"], model = model, None
        translated = jina_local.hf_style_options(
            kwargs.get("model_kwargs"),
            kwargs.get("encode_kwargs"),
            kwargs.get("query_encode_kwargs"),
            owner="JinaLocalEmbeddings",
        )
        for key, value in translated.items():
            if key in kwargs and kwargs[key] != value:
                raise OptionError(
                    f"{key}={kwargs[key]!r} contradicts the value {value!r} given in model_kwargs / "
                    "encode_kwargs; give it once."
                )
            kwargs[key] = value
        if model is not None and not isinstance(model, Embedder):
            raise ArgumentError(
                f"model must be a jina_local.Embedder (from jina_local.load) or a model name, "
                f"got {type(model).__name__}."
            )
        if model is None and not kwargs.get("model_name"):
            raise OptionError(
                "JinaLocalEmbeddings needs a model: pass model=jina_local.load(...) or "
                "model_name='jinaai/jina-embeddings-v4' (a Hugging Face id or a local folder)."
            )
        if model is not None:
            if kwargs.get("model_name") and kwargs["model_name"] != model.info.name:
                raise OptionError(
                    f"model_name={kwargs['model_name']!r} does not match the given model ({model.info.name!r}); "
                    "pass model= or model_name=, not both."
                )
            kwargs["model_name"] = model.info.name
            if kwargs.get("device", "auto") == "auto":
                kwargs["device"] = model.info.device  # a reload (after pickling) finds the same copy
            if kwargs.get("dtype", "auto") == "auto":
                kwargs["dtype"] = model.info.dtype
        check_fetch(kwargs.get("fetch"), "JinaLocalEmbeddings")
        super().__init__(model=model, **kwargs)
        parse_task(self.query_task)  # spelling now; availability once the model is there
        parse_task(self.document_task)
        if self.model is not None:
            self._check_against(self.model)

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
        if self.model is None:
            model = jina_local.load(
                str(self.model_name),
                device=self.device,
                dtype=self.dtype,
                revision=self.revision,
                local_files_only=self.local_files_only,
                shared=True,
            )
            self._check_against(model)
            self.model = model
        return self.model

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        state["__dict__"] = {**state["__dict__"], "model": None}  # weights never travel; reloaded by name
        return state

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> JinaLocalEmbeddings:
        memo = {} if memo is None else memo
        if self.model is not None:
            memo[id(self.model)] = self.model  # a copy shares the (read-only) model
        return super().__deepcopy__(memo)

    # ------------------------------------------------------------------ tasks
    def query_spec(self) -> tuple[str | None, Role]:
        """``(task, role)`` of queries (``None`` task = automatic)."""
        task, role = parse_task(self.query_task)
        return (None if task == "auto" else task), role or "query"

    def document_spec(self, *, per_item: bool = False) -> tuple[str | None, Role]:
        """``(task, role)`` of documents; ``None`` task = routed per item.

        ``per_item=True`` is for stores that route queries per task (they leave an unset
        ``document_task`` to per-item routing); otherwise an unset one follows the queries.
        """
        task, role = parse_task(self.document_task)
        query_task, _ = self.query_spec()
        return jina_local.paired_document_task(query_task, task, per_item=per_item), role or "document"

    def encode_options(self, output: str = "dense", *, documents: bool = False) -> dict[str, Any]:
        """The options every encode of this instance passes (dims, limits, batch size, progress, fetch).

        ``documents=True``: the call encodes document texts, so ``late_chunking`` applies too (it is
        never used for queries or images).
        """
        options: dict[str, Any] = {
            "output": output,
            "dim": self.dimensions if output == "dense" else None,
            "batch_size": self.batch_size,
            "progress": self.show_progress,
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
        return options

    def _encode(
        self, items: list[Any], spec: tuple[str | None, Role], output: str = "dense", *, documents: bool = False
    ) -> EncodeResult:
        task, role = spec
        return self.embedder.encode(items, role=role, task=task, **self.encode_options(output, documents=documents))

    # ------------------------------------------------------------------ dense
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Dense vectors of documents (document role, ``document_task``)."""
        items = _texts(texts, "embed_documents")
        if not items:
            return []
        return _dense(self._encode(items, self.document_spec(), documents=True)).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Dense vector of a query (query role, ``query_task``)."""
        (item,) = _texts([text], "embed_query")
        return _dense(self._encode([item], self.query_spec()))[0].tolist()

    def embed_image(self, uris: list[Any]) -> list[list[float]]:
        """Dense vectors of images: paths, ``http(s)://`` URLs, ``data:image/`` URIs, bytes or PIL images.

        Images are documents (document role, ``document_task``); query them with ``embed_query``.
        """
        items = [image_reference(u, i, fetch=self.fetch) for i, u in enumerate(uris)]
        if not items:
            return []
        return _dense(self._encode(items, self.document_spec())).tolist()

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
        return [m.tolist() for m in _multi(self._encode(items, self.document_spec(), "multi", documents=True))]

    def embed_query_multi(self, text: str) -> list[list[float]]:
        """Per-token vectors of a query (query role, ``query_task``)."""
        (item,) = _texts([text], "embed_query_multi")
        return _multi(self._encode([item], self.query_spec(), "multi"))[0].tolist()

    def embed_image_multi(self, uris: list[Any]) -> list[list[list[float]]]:
        """Per-token vectors of images (same inputs as ``embed_image``)."""
        items = [image_reference(u, i, fetch=self.fetch) for i, u in enumerate(uris)]
        if not items:
            return []
        return [m.tolist() for m in _multi(self._encode(items, self.document_spec(), "multi"))]
