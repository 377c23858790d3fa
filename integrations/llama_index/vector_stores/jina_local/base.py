"""``JinaLocalVectorStore``: a LlamaIndex vector store over a jina-local ``MultiVectorCollection``.

With a jina-local model the collection encodes the nodes itself (dense + per-token vectors in one
forward, each node routed to its adapter) and a query string is searched with a dense prefetch and
a MaxSim rerank, one query encoding per adapter present. Without one it stores and searches the
nodes' own ``embedding`` (dense-only). Nodes are stored whole (text, metadata, relationships,
``ref_doc_id``) in llama-index's own node record, so ``stores_text=True`` and llama-index's
``QdrantVectorStore`` can read the collection too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Literal

try:
    from llama_index.core.bridge.pydantic import BaseModel, PrivateAttr
    from llama_index.core.schema import BaseNode, ImageNode, MetadataMode, TextNode
    from llama_index.core.vector_stores.types import (
        BasePydanticVectorStore,
        VectorStoreQuery,
        VectorStoreQueryMode,
        VectorStoreQueryResult,
    )
    from llama_index.core.vector_stores.utils import (
        metadata_dict_to_node,
        node_to_metadata_dict,
    )
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "llama_index.vector_stores.jina_local needs llama-index-core, which is not installed. "
        'Install the extra: pip install "jina-local[llamaindex]"'
    ) from exc

import numpy as np
from qdrant_client import models

import jina_local
from jina_local import ArgumentError, Embedder, FetchPolicy, InputError, OptionError, image_reference
from jina_local.qdrant import (
    MultiVectorCollection,
    PointPayload,
    SearchHit,
    key_to_point_id,
    parse_payload,
)

from .filters import to_filter
from .pages import show_page

__all__ = ["JinaLocalVectorStore", "node_from_payload"]

_MODES = (VectorStoreQueryMode.DEFAULT, VectorStoreQueryMode.MMR)


def node_from_payload(point_id: str, stored: dict[str, Any]) -> BaseNode:
    """The node a point holds: llama-index's node record when there is one, else built from the payload."""
    if isinstance(stored.get("_node_content"), str):
        try:
            return metadata_dict_to_node(stored)
        except (ValueError, TypeError):
            pass
    item = parse_payload(stored)
    key = item.item_id or point_id
    if item.kind == "image" and item.text is None:
        ref = str(item.image or item.source or "")
        if ref.lower().startswith(("http://", "https://")):
            return ImageNode(id_=key, image_url=ref, metadata=item.metadata)
        return ImageNode(id_=key, image_path=ref or None, metadata=item.metadata)
    return TextNode(id_=key, text=item.text or "", metadata=item.metadata)


def _model_of(model: Any) -> Embedder | None:
    if model is None or isinstance(model, Embedder):
        return model
    if isinstance(model, str):
        return jina_local.load(model, shared=True)
    embedder = getattr(model, "embedder", None)  # a JinaLocalEmbedding
    if isinstance(embedder, Embedder):
        return embedder
    raise ArgumentError(
        f"model must be a jina_local.Embedder, a JinaLocalEmbedding or a model name, got {type(model).__name__}."
    )


class JinaLocalVectorStore(BasePydanticVectorStore):
    """Store and search LlamaIndex nodes in a :class:`jina_local.qdrant.MultiVectorCollection`.

    ::

        store = JinaLocalVectorStore(location="./index", collection_name="docs", model=model)
        index = VectorStoreIndex(nodes, storage_context=StorageContext.from_defaults(vector_store=store),
                                 embed_model=JinaLocalEmbedding(model=model))
        pipeline = IngestionPipeline(transformations=[SentenceSplitter(), JinaLocalEmbedding(model=model)],
                                     vector_store=store, docstore=SimpleDocumentStore())

    ``model``: a ``jina_local.Embedder``, a ``JinaLocalEmbedding`` or a model name. With one, the
    store encodes every node itself (dense + token vectors, routed per node), so the dense vectors
    LlamaIndex computed first are not used; without one the nodes' own embeddings are stored
    dense-only (``dense_dim=`` for a new collection). ``mode``:
    ``"two_stage"`` / ``"multi"`` / ``"dense"`` for query strings. ``document_task``: force one
    adapter on every node (default: routed per node, queries follow per task). ``filters`` in
    queries: ``MetadataFilters`` (every operator Qdrant can express), filter dicts, or a
    ``qdrant_client.models.Filter``. ``fetch``: the ``jina_local.FetchPolicy`` for image nodes' URLs
    (default: the ``JinaLocalEmbedding``'s, else jina-local's default policy).
    """

    stores_text: bool = True
    flat_metadata: bool = False
    collection_name: str
    mode: Literal["two_stage", "multi", "dense"] | None = None
    prefetch_limit: int | None = None
    document_task: str | None = None
    fetch: FetchPolicy | None = None

    _collection: MultiVectorCollection = PrivateAttr()

    def __init__(
        self,
        collection: MultiVectorCollection | None = None,
        *,
        location: Any = None,
        collection_name: str | None = None,
        model: Any = None,
        mode: str | None = None,
        prefetch_limit: int | None = None,
        document_task: str | None = None,
        fetch: FetchPolicy | None = None,
        **open_kwargs: Any,
    ) -> None:
        if fetch is None and model is not None and not isinstance(model, (str, Embedder)):
            fetch = getattr(model, "fetch", None)  # a JinaLocalEmbedding's policy
        if fetch is not None and not isinstance(fetch, FetchPolicy):
            raise OptionError(f"fetch={fetch!r} is not a FetchPolicy; pass jina_local.FetchPolicy(...) or None.")
        embedder = _model_of(model)
        if collection is None:
            if location is None or collection_name is None:
                raise OptionError(
                    "JinaLocalVectorStore needs collection=MultiVectorCollection.open(...), or "
                    "location= and collection_name= (and model=) to open one."
                )
            kwargs = dict(open_kwargs)
            if embedder is not None:
                kwargs.setdefault("multi", embedder.info.has_multi)
            else:
                kwargs.setdefault("multi", False)
            collection = MultiVectorCollection.open(location, collection_name, model=embedder, **kwargs)
        else:
            if open_kwargs or location is not None:
                raise OptionError("pass either collection= or location= / collection_name= (with open options).")
            if not isinstance(collection, MultiVectorCollection):
                raise ArgumentError(
                    f"collection must be a jina_local.qdrant.MultiVectorCollection, got {type(collection).__name__}."
                )
            if embedder is not None and collection.model is not None and embedder is not collection.model:
                raise OptionError("model= differs from the collection's model; open the collection with that model.")
        if mode not in (None, "two_stage", "multi", "dense"):
            raise OptionError(f"mode={mode!r} is not valid; use 'two_stage', 'multi', 'dense' or None.")
        # Jina's passage names -> their adapter; a query-role name or an adapter the loaded model lacks
        # is a TaskError now, not at the first add
        model_info = collection.model.info if collection.model is not None else None
        document_task = jina_local.parse_document_task(document_task, model_info, what="document_task")
        super().__init__(  # type: ignore[call-arg]  # pydantic takes this class's fields; mypy checks the base's
            collection_name=collection.name,
            mode=mode,
            prefetch_limit=prefetch_limit,
            document_task=document_task,
            fetch=fetch,
        )
        self._collection = collection

    @classmethod
    def class_name(cls) -> str:
        return "JinaLocalVectorStore"

    def __getstate__(self) -> dict[Any, Any]:
        # llama-index's BaseComponent silently drops attributes that do not pickle, which would give a
        # store without its collection. The collection pickles as "reopen from the folder / URL with the
        # model's name", and a :memory: one raises NotPicklableError saying what to do.
        return BaseModel.__getstate__(self)

    def __setstate__(self, state: dict[Any, Any]) -> None:
        BaseModel.__setstate__(self, state)  # not BaseComponent's: it re-runs __init__ without the collection

    @property
    def client(self) -> MultiVectorCollection:
        """The jina-local collection behind this store."""
        return self._collection

    @property
    def collection(self) -> MultiVectorCollection:
        return self._collection

    def _filter(
        self, filters: Any = None, node_ids: list[str] | None = None, doc_ids: list[str] | None = None
    ) -> models.Filter | None:
        parts = []
        if filters is not None:
            parts.append(self._collection.filter(to_filter(filters)))
        if doc_ids:
            parts.append(self._collection.filter({"ref_doc_id": {"$in": [str(d) for d in doc_ids]}}))
        if node_ids:
            parts.append(
                models.Filter(
                    must=[models.HasIdCondition(has_id=[key_to_point_id(n, i) for i, n in enumerate(node_ids)])]
                )
            )
        present = [p for p in parts if p is not None]
        if not present:
            return None
        if len(present) == 1:
            return present[0]
        must: list[models.Condition] = list(present)
        return models.Filter(must=must)

    # ------------------------------------------------------------------ writing
    def add(self, nodes: Sequence[BaseNode], **add_kwargs: Any) -> list[str]:
        """Store nodes (encoding them with the collection's model when it has one); returns their ids."""
        if not nodes:
            return []
        keys = [node.node_id for node in nodes]
        ids = [key_to_point_id(k, i) for i, k in enumerate(keys)]
        payloads = []
        for node in nodes:
            record = node_to_metadata_dict(node, remove_text=False, flat_metadata=False)
            ref = node.ref_doc_id or "None"
            payloads.append(
                PointPayload(
                    node.metadata,
                    item_id=node.node_id,
                    node=record["_node_content"],
                    fields={"doc_id": ref, "document_id": ref, "ref_doc_id": ref},
                    text=node.get_content(MetadataMode.NONE),
                )
            )
        if self._collection.model is not None:
            items = [self._item(node, i) for i, node in enumerate(nodes)]
            summary = self._collection.add(
                items, payloads=payloads, ids=ids, task=self.document_task, progress=add_kwargs.get("show_progress")
            )
        else:
            missing = [i for i, n in enumerate(nodes) if n.embedding is None]
            if missing:
                raise InputError(
                    f"nodes {missing[:5]} have no embedding and the collection has no model; embed "
                    "them first (e.g. VectorStoreIndex(..., embed_model=...)) or open the store with model=."
                )
            dense = np.asarray([n.embedding for n in nodes], dtype=np.float32)
            texts = [
                None if isinstance(n, ImageNode) and not n.text else n.get_content(MetadataMode.NONE) for n in nodes
            ]
            kinds = ["image" if isinstance(n, ImageNode) and not n.text else "text" for n in nodes]
            summary = self._collection.add_embeddings(dense, payloads=payloads, ids=ids, texts=texts, kinds=kinds)
        if summary.failures:
            listed = "; ".join(f"node {keys[f.index]!r}: {f.error}" for f in summary.failures[:5])
            raise InputError(
                f"{len(summary.failures)} of {len(nodes)} nodes were not stored ({listed}); the others were."
            )
        return keys

    def _item(self, node: BaseNode, index: int) -> Any:
        """What the model encodes for a node: its image (image nodes), else its text as LlamaIndex embeds it."""
        if isinstance(node, ImageNode) and (node.image or node.image_path or node.image_url):
            if node.image_path:
                return image_reference(node.image_path, index, fetch=self.fetch)
            if node.image_url:
                return image_reference(node.image_url, index, fetch=self.fetch)
            return image_reference(node.resolve_image(), index, fetch=self.fetch)
        return node.get_content(metadata_mode=MetadataMode.EMBED)

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Delete every node of the source document ``ref_doc_id``."""
        self._collection.delete_where({"ref_doc_id": str(ref_doc_id)})

    def delete_nodes(self, node_ids: list[str] | None = None, filters: Any = None, **kwargs: Any) -> None:
        """Delete nodes by id and / or filter (both given: the nodes matching both)."""
        flt = self._filter(filters, node_ids)
        if flt is None:
            return
        self._collection.delete_where(flt)

    def clear(self) -> None:
        """Delete every node (the collection and its settings stay)."""
        self._collection.clear()

    def get_nodes(
        self, node_ids: list[str] | None = None, filters: Any = None, limit: int | None = None
    ) -> list[BaseNode]:
        """Nodes by id and / or filter (all nodes when neither is given), in id order for filters."""
        if node_ids is not None and filters is None:
            points = {p["id"]: p for p in self._collection.get([key_to_point_id(n, i) for i, n in enumerate(node_ids)])}
            found = [points[key_to_point_id(n, i)] for i, n in enumerate(node_ids) if key_to_point_id(n, i) in points]
            nodes = [node_from_payload(p["id"], p["stored"]) for p in found]
        else:
            nodes = []
            for point in self._collection.scroll(self._filter(filters, node_ids)):
                nodes.append(node_from_payload(point["id"], point["stored"]))
                if limit is not None and len(nodes) >= limit:
                    break
        return nodes[:limit] if limit is not None else nodes

    # ------------------------------------------------------------------ searching
    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """Dense search with ``query_embedding``; with a ``query_str`` and a jina-local model, two-stage MaxSim."""
        mode = VectorStoreQueryMode(query.mode or VectorStoreQueryMode.DEFAULT)
        if mode not in _MODES:
            raise InputError(
                f"query mode {mode.value!r} is not supported by JinaLocalVectorStore; use 'default' "
                "(dense, or MaxSim with a query string) or 'mmr'."
            )
        flt = self._filter(query.filters, query.node_ids, query.doc_ids)
        k = query.similarity_top_k
        text = query.query_str if self._collection.model is not None and query.query_str else None
        if text is None and query.query_embedding is None:
            raise InputError("the query has neither a query string (with a jina-local model) nor a query_embedding.")
        dense = None if text is not None else np.asarray(query.query_embedding, dtype=np.float32)
        if mode == VectorStoreQueryMode.MMR:
            lam = query.mmr_threshold if query.mmr_threshold is not None else kwargs.get("mmr_threshold", 0.5)
            fetch = int(kwargs.get("mmr_prefetch_k") or max(20, 4 * k))
            hits = self._collection.search_mmr(
                text,
                k,
                fetch_limit=fetch,
                lambda_mult=lam,
                dense=dense,
                filter=flt,
                mode=self.mode if text is not None else None,
            )
        elif text is not None:
            hits = self._collection.search(
                text, limit=k, filter=flt, mode=self.mode, prefetch_limit=self.prefetch_limit
            )
        else:
            hits = self._collection.search_embeddings(dense=dense, limit=k, filter=flt, mode="dense")
        return self._result(hits)

    def _result(self, hits: list[SearchHit]) -> VectorStoreQueryResult:
        nodes = [node_from_payload(h.id, h.stored or h.payload) for h in hits]
        for node in nodes:
            if isinstance(node, ImageNode):  # a PDF page -> its cached render (docs/documents.md)
                show_page(node, self._collection)
        return VectorStoreQueryResult(nodes=nodes, similarities=[h.score for h in hits], ids=[n.node_id for n in nodes])

    # ------------------------------------------------------------------ async (worker threads)
    async def async_add(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[str]:
        return await asyncio.to_thread(self.add, nodes, **kwargs)

    async def adelete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        await asyncio.to_thread(self.delete, ref_doc_id, **delete_kwargs)

    async def adelete_nodes(self, node_ids: list[str] | None = None, filters: Any = None, **kwargs: Any) -> None:
        await asyncio.to_thread(self.delete_nodes, node_ids, filters, **kwargs)

    async def aclear(self) -> None:
        await asyncio.to_thread(self.clear)

    async def aget_nodes(
        self, node_ids: list[str] | None = None, filters: Any = None, limit: int | None = None
    ) -> list[BaseNode]:
        return await asyncio.to_thread(self.get_nodes, node_ids, filters, limit)

    async def aquery(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        return await asyncio.to_thread(self.query, query, **kwargs)
