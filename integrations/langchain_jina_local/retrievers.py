"""``JinaLocalRetriever``: a LangChain retriever over a jina-local ``MultiVectorCollection``.

The collection does the work: it encodes the query once per task adapter its documents were
stored with (so queries follow the documents), runs dense prefetch + MaxSim rerank in Qdrant, and
fuses the per-task lists. This class only turns hits into ``Document`` objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from jina_local import ArgumentError, FetchPolicy, image_reference
from jina_local.documents import hit_page_image, pdf_page
from jina_local.qdrant import MultiVectorCollection, SearchHit, check_filter

from .embeddings import check_fetch

__all__ = ["JinaLocalRetriever"]

_IGNORED_KWARGS = frozenset({"verbose"})  # forwarded by BaseRetriever.invoke itself


def page_render(fields: Mapping[str, Any], collection: MultiVectorCollection | None) -> str | None:
    """The cached PNG of a PDF-page hit (``jina_local.documents.hit_page_image``), or ``None``."""
    model = collection.model if collection is not None else None
    return hit_page_image(fields, getattr(model, "info", None))


def hit_to_document(hit: SearchHit, collection: MultiVectorCollection | None = None) -> Document:
    """A text hit -> its stored text; an image hit -> its image reference (path / URL) as content; a PDF
    page hit -> the path of the page's cached render (:func:`page_render`).

    ``metadata`` is the stored payload (``source``, ``kind``, ``task``, ``image``, the location fields
    ``path``, ``page``, ``lines``... of ``index_files``, user fields) without the text, plus ``id``,
    ``score`` (fused) and ``raw_score`` (the engine's score); a page hit also has ``page_image``.
    """
    payload = dict(hit.payload)
    text = payload.pop("text", None)
    extra: dict[str, Any] = {}
    if text is None:
        content = str(payload.get("image") or payload.get("source") or "")
        where = pdf_page(payload) if payload.get("kind") == "image" else None
        if where is not None:
            render = page_render(payload, collection)
            if render is not None:
                content = extra["page_image"] = render
            else:  # no image to give: say where the page is
                content = f"{where[0]}#page={where[1]}"
    else:
        content = str(text)
    metadata = {**payload, **extra, "id": hit.id, "score": hit.score, "raw_score": hit.raw_score}
    return Document(page_content=content, metadata=metadata, id=hit.id)


class JinaLocalRetriever(BaseRetriever):
    """Retrieve from a :class:`jina_local.qdrant.MultiVectorCollection` (dense prefetch, MaxSim rerank).

    ::

        store = MultiVectorCollection.open("./index", name="docs", model=jina_local.load(...))
        retriever = JinaLocalRetriever(collection=store, k=5)
        docs = retriever.invoke("how long do cats sleep")          # or .invoke(q, k=10, filter=...)

    ``mode``: ``"two_stage"`` (default on multi-vector collections), ``"multi"`` (exhaustive MaxSim)
    or ``"dense"``. ``filter``: a LangChain-style dict on metadata (``{"lang": "py"}``,
    ``{"year": {"$gte": 2020}}``), a dict in Qdrant's shape or a ``qdrant_client.models.Filter``;
    jina-local's own fields ``kind``, ``task`` and ``source`` can be filtered too. It is checked
    when the retriever is built, and a per-call ``filter`` when it is given. ``tasks`` restricts the search to documents stored with
    those adapters. Image hits carry their path / URL as ``page_content`` and in
    ``metadata["image"]``; PDF page hits (from ``index_files``) carry the path of a cached PNG of the
    page (``jina_local.documents.page_image``) as ``page_content`` and ``metadata["page_image"]``, with
    ``path`` and ``page`` in the metadata. Search by image with :meth:`search_by_image`.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    collection: MultiVectorCollection
    """The store to search; it must have been opened with ``model=``."""
    k: int = Field(default=4, ge=1)
    """Number of documents to return."""
    mode: Literal["two_stage", "multi", "dense"] | None = None
    """Search mode; ``None`` = two-stage on multi-vector collections, dense otherwise."""
    filter: Any | None = None
    """Filter applied to every search (dict, ``qdrant_client.models.Filter`` or ``MetadataFilters``)."""
    prefetch_limit: int | None = Field(default=None, ge=1)
    """Dense candidates reranked by MaxSim in two-stage mode (default ``max(100, 10 * k)``)."""
    tasks: list[str] | None = None
    """Search only documents stored with these task adapters (default: all present); checked when built."""
    fetch: FetchPolicy | None = None
    """How an image URL given to :meth:`search_by_image` is downloaded; ``None`` = jina-local's default policy."""

    def __init__(self, **kwargs: Any) -> None:
        check_fetch(kwargs.get("fetch"), "JinaLocalRetriever")
        super().__init__(**kwargs)
        check_filter(self.filter)  # raises FilterError naming the field, before any search
        if self.tasks is not None:
            self.collection.check_tasks(self.tasks)  # TaskError naming the task and the valid ones

    def _search(
        self,
        query: Any,
        k: int | None,
        filter: Any,
        mode: Literal["two_stage", "multi", "dense"] | None,
        kwargs: dict[str, Any],
    ) -> list[Document]:
        unknown = sorted(set(kwargs) - _IGNORED_KWARGS)
        if unknown:
            raise ArgumentError(
                f"JinaLocalRetriever got unexpected argument(s) {unknown}; it accepts k, filter and mode."
            )
        hits = self.collection.search(
            query,
            limit=self.k if k is None else k,
            prefetch_limit=self.prefetch_limit,
            filter=self.filter if filter is None else filter,
            mode=self.mode if mode is None else mode,
            tasks=self.tasks,
        )
        return [hit_to_document(h, self.collection) for h in hits]

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        filter: Any = None,
        mode: Literal["two_stage", "multi", "dense"] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """Documents for a text query; ``k``, ``filter``, ``mode`` override the fields for one call."""
        return self._search(query, k, filter, mode, kwargs)

    def search_by_image(
        self,
        image: Any,
        *,
        k: int | None = None,
        filter: Any = None,
        mode: Literal["two_stage", "multi", "dense"] | None = None,
    ) -> list[Document]:
        """Documents for an image query: a path, ``http(s)://`` URL, ``data:image/`` URI, bytes or PIL image."""
        return self._search(image_reference(image, 0, fetch=self.fetch), k, filter, mode, {})
