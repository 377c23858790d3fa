"""``JinaLocalRetriever``: a LlamaIndex retriever over a jina-local ``MultiVectorCollection``.

The collection does the work: it encodes the query once per task adapter its documents were
stored with (so queries follow the documents), runs dense prefetch + MaxSim rerank in Qdrant, and
fuses the per-task lists. This class only turns hits into ``NodeWithScore`` objects.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Literal

try:
    from llama_index.core.base.base_retriever import BaseRetriever
    from llama_index.core.callbacks import CallbackManager
    from llama_index.core.schema import (
        BaseNode,
        ImageNode,
        NodeWithScore,
        QueryBundle,
        TextNode,
    )
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "llama_index.retrievers.jina_local needs llama-index-core, which is not installed. "
        'Install the extra: pip install "jina-local[llamaindex]"'
    ) from exc

from llama_index.vector_stores.jina_local.filters import to_filter
from llama_index.vector_stores.jina_local.pages import show_page

from jina_local import ArgumentError, FetchPolicy, OptionError, image_reference
from jina_local.qdrant import MultiVectorCollection, SearchHit

__all__ = ["JinaLocalRetriever", "hit_to_node"]

_MODES = ("two_stage", "multi", "dense")
_BOOKKEEPING = ["kind", "task", "raw_score"]
"""Payload keys kept in node metadata but hidden from the LLM and from re-embedding."""


def hit_to_node(hit: SearchHit, collection: MultiVectorCollection | None = None) -> NodeWithScore:
    """A text hit -> ``TextNode`` with the stored text; an image hit -> ``ImageNode`` with its path / URL;
    a PDF page hit (from ``index_files``) -> ``ImageNode`` whose ``image_path`` is a cached render of the
    page (``jina_local.documents.page_image``), with the PDF's ``path`` and ``page`` in the metadata.

    ``metadata`` is the stored payload (``source``, ``kind``, ``task``, ``image``, user fields)
    without the text, plus ``raw_score`` (the engine's score); the node id is the point id and the
    score is the (fused) search score.
    """
    payload = dict(hit.payload)
    text = payload.pop("text", None)
    metadata = {**payload, "raw_score": hit.raw_score}
    common: dict[str, Any] = {
        "id_": hit.id,
        "metadata": metadata,
        "excluded_llm_metadata_keys": list(_BOOKKEEPING),
        "excluded_embed_metadata_keys": list(_BOOKKEEPING),
    }
    node: BaseNode
    if payload.get("kind") == "image" and text is None:
        ref = str(payload.get("image") or "")
        if ref.lower().startswith(("http://", "https://")):
            node = ImageNode(image_url=ref, **common)
        elif ref and not ref.lower().startswith("data"):
            node = ImageNode(image_path=ref, **common)
        else:  # stored from a PIL image or a data URI: no reference to give back
            node = ImageNode(**common)
        show_page(node, collection)
    else:
        node = TextNode(text=str(text or ""), **common)
    return NodeWithScore(node=node, score=hit.score)


class JinaLocalRetriever(BaseRetriever):
    """Retrieve nodes from a :class:`jina_local.qdrant.MultiVectorCollection` (dense prefetch, MaxSim rerank).

    ::

        store = MultiVectorCollection.open("./index", name="docs", model=jina_local.load(...))
        retriever = JinaLocalRetriever(store, similarity_top_k=5)
        nodes = retriever.retrieve("how long do cats sleep")
        nodes = retriever.retrieve(QueryBundle(query_str="", image_path="cat.png"))   # by image

    ``mode``: ``"two_stage"`` (default on multi-vector collections), ``"multi"`` (exhaustive MaxSim)
    or ``"dense"``. ``filter``: LlamaIndex ``MetadataFilters``, a filter dict (``{"lang": "py"}``,
    ``{"year": {"$gte": 2020}}``, or Qdrant's shape) or a ``qdrant_client.models.Filter``, on your
    metadata and jina-local's fields ``kind``, ``task``, ``source``; checked when the retriever is
    built. ``tasks`` restricts the search to documents stored with
    those adapters. A ``QueryBundle`` with ``image_path`` searches by that image; an image URL there is
    downloaded under ``fetch`` (a ``jina_local.FetchPolicy``; ``None`` = the default policy).
    """

    def __init__(
        self,
        collection: MultiVectorCollection,
        *,
        similarity_top_k: int = 10,
        mode: Literal["two_stage", "multi", "dense"] | None = None,
        filter: Any = None,
        prefetch_limit: int | None = None,
        tasks: Sequence[str] | None = None,
        fetch: FetchPolicy | None = None,
        callback_manager: CallbackManager | None = None,
        verbose: bool = False,
    ) -> None:
        if not isinstance(collection, MultiVectorCollection):
            raise ArgumentError(
                f"collection must be a jina_local.qdrant.MultiVectorCollection, got {type(collection).__name__}; "
                "open one with MultiVectorCollection.open(location, name, model=...)."
            )
        if isinstance(similarity_top_k, bool) or not isinstance(similarity_top_k, int) or similarity_top_k < 1:
            raise OptionError(f"similarity_top_k={similarity_top_k!r} must be a positive integer.")
        if mode is not None and mode not in _MODES:
            raise OptionError(f"mode={mode!r} is not valid; use 'two_stage', 'multi', 'dense' or None.")
        if fetch is not None and not isinstance(fetch, FetchPolicy):
            raise OptionError(f"fetch={fetch!r} is not a FetchPolicy; pass jina_local.FetchPolicy(...) or None.")
        super().__init__(callback_manager=callback_manager, verbose=verbose)
        self.collection = collection
        self.similarity_top_k = similarity_top_k
        self.mode = mode
        self.filter = to_filter(filter)  # a FilterError names the field now, not at the first query
        self.prefetch_limit = prefetch_limit
        self.fetch = fetch
        self.tasks = list(tasks) if tasks is not None else None
        if self.tasks is not None:
            collection.check_tasks(self.tasks)  # TaskError naming the task and the valid ones, now

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        query: Any = query_bundle.query_str
        if query_bundle.image_path:
            query = image_reference(query_bundle.image_path, 0, fetch=self.fetch)
        hits = self.collection.search(
            query,
            limit=self.similarity_top_k,
            prefetch_limit=self.prefetch_limit,
            filter=self.filter,
            mode=self.mode,
            tasks=self.tasks,
        )
        return [hit_to_node(h, self.collection) for h in hits]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return await asyncio.to_thread(self._retrieve, query_bundle)
