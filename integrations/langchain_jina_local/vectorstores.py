"""``JinaLocalVectorStore``: a LangChain ``VectorStore`` over a jina-local ``MultiVectorCollection``.

Two paths, chosen by the embedding:

* a :class:`~langchain_jina_local.JinaLocalEmbeddings` -> the collection encodes documents itself
  (dense + per-token vectors in one forward, routed per item to the right adapter) and searches
  with a dense prefetch and a MaxSim rerank, one query encoding per adapter present;
* any other LangChain ``Embeddings`` -> dense-only: its vectors are stored and searched as given.

Ids may be any strings: each maps to a ``uuid5`` point id and is handed back as given. The payload
layout is the one langchain-qdrant and llama-index read (``docs/qdrant.md``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore

from jina_local import ArgumentError, FetchPolicy, InputError, OptionError, image_reference
from jina_local.documents import pdf_page
from jina_local.errors import CollectionConfigError
from jina_local.qdrant import (
    MultiVectorCollection,
    PointPayload,
    SearchHit,
    check_filter,
    document_key,
    key_to_point_id,
    parse_payload,
)

from .embeddings import JinaLocalEmbeddings
from .retrievers import page_render

__all__ = ["JinaLocalVectorStore"]

_SEARCH_KWARGS = frozenset({"mode", "prefetch_limit", "tasks"})


def _document(key: str, stored: dict[str, Any], collection: MultiVectorCollection | None = None) -> Document:
    """A stored point as a ``Document``. With ``collection`` (search hits), a PDF page hit's content is the
    path of the page's cached render (``metadata["page_image"]`` too), rendered at the model's budget."""
    item = parse_payload(stored)
    metadata = dict(item.metadata)
    if item.text is not None:
        return Document(page_content=item.text, metadata=metadata, id=key)
    content = str(item.image or item.source or "")
    where = pdf_page(metadata) if item.kind == "image" and collection is not None else None
    if where is not None:
        render = page_render(metadata, collection)
        if render is not None:
            content = metadata["page_image"] = render
        else:  # no image to give: say where the page is
            content = f"{where[0]}#page={where[1]}"
    return Document(page_content=content, metadata=metadata, id=key)


def _hit_document(hit: SearchHit, collection: MultiVectorCollection) -> Document:
    return _document(hit.key, hit.stored or hit.payload, collection)


class JinaLocalVectorStore(VectorStore):
    """A LangChain vector store on Qdrant: multi-vector MaxSim with jina-local, dense with any embeddings.

    ::

        embeddings = JinaLocalEmbeddings(model="jinaai/jina-embeddings-v4")
        store = JinaLocalVectorStore.from_documents(docs, embeddings, location="./index", collection_name="docs")
        store = JinaLocalVectorStore(location="./index", collection_name="docs", embedding=embeddings)
        store = JinaLocalVectorStore(collection=MultiVectorCollection.open("./index", "docs", model=model))
        store.similarity_search("how long do cats sleep", k=4, filter={"lang": "en"})

    ``location``: anything ``MultiVectorCollection.open`` takes (``":memory:"``, a folder for the
    embedded engine, a server URL, a ``QdrantClient``); ``open_kwargs`` go to it (``dense_dim``,
    ``multi_dtype``, ``api_key``...). ``filter`` everywhere: a LangChain-style dict on metadata
    (``{"lang": "py"}``, ``{"year": {"$gte": 2020}}``), a dict in Qdrant's shape, or a
    ``qdrant_client.models.Filter``. On the jina-local path documents are routed per item unless
    the embeddings set ``document_task``; ``similarity_search`` also takes ``mode``
    (``"two_stage"`` / ``"multi"`` / ``"dense"``), ``prefetch_limit`` and ``tasks``.
    """

    def __init__(
        self,
        collection: MultiVectorCollection | None = None,
        embedding: Embeddings | None = None,
        *,
        location: Any = None,
        collection_name: str | None = None,
        **open_kwargs: Any,
    ) -> None:
        if collection is None:
            if location is None or collection_name is None or embedding is None:
                raise OptionError(
                    "JinaLocalVectorStore needs collection=MultiVectorCollection.open(...), or "
                    "location=, collection_name= and embedding= to open one."
                )
            collection = _open(location, collection_name, embedding, open_kwargs)
        elif open_kwargs or location is not None or collection_name is not None:
            raise OptionError("pass either collection= or location= / collection_name= (with open options), not both.")
        if not isinstance(collection, MultiVectorCollection):
            raise ArgumentError(
                f"collection must be a jina_local.qdrant.MultiVectorCollection, got {type(collection).__name__}."
            )
        if embedding is None:
            if collection.model is None:
                raise OptionError(
                    "the collection was opened without a model: pass embedding=..., or open it with "
                    "model=jina_local.load(...)."
                )
            embedding = JinaLocalEmbeddings(model=collection.model)
        if isinstance(embedding, JinaLocalEmbeddings):
            if collection.model is None:
                raise CollectionConfigError(
                    "the collection was opened without a model, so it cannot encode with "
                    "jina-local: open it with model=embedding.embedder."
                )
            if collection.model.info.fingerprint != embedding.embedder.info.fingerprint:
                raise CollectionConfigError(
                    f"the collection's model ({collection.model.info.name}) is not the "
                    f"embedding's ({embedding.embedder.info.name}); use one model."
                )
        self.collection = collection
        self._embedding = embedding

    # ------------------------------------------------------------------ basics
    @property
    def embeddings(self) -> Embeddings:
        return self._embedding

    @property
    def uses_jina_local(self) -> bool:
        """Whether the collection encodes and searches itself (multi-vectors, per-task routing)."""
        return isinstance(self._embedding, JinaLocalEmbeddings)

    @property
    def _fetch(self) -> FetchPolicy | None:
        """The embeddings' ``FetchPolicy`` for image URLs (``None``: jina-local's default policy)."""
        return self._embedding.fetch if isinstance(self._embedding, JinaLocalEmbeddings) else None

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        if self.uses_jina_local and (self.collection.has_multi or len(self.collection.tasks) > 1):
            raise NotImplementedError(
                "relevance scores in [0, 1] need a cosine score; this store ranks by MaxSim (or fuses several "
                "adapters' lists), whose scores have no fixed range. Use similarity_search_with_score, or "
                "similarity_search(..., mode='dense') on a single-adapter collection."
            )
        return lambda score: (score + 1.0) / 2.0  # cosine similarity -> [0, 1]

    # ------------------------------------------------------------------ writing
    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: Sequence[str | None] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Embed and store texts; returns their ids (given ones as given, others derived from text + metadata)."""
        items = list(texts)
        return self._add(items, [t if isinstance(t, str) else "" for t in items], metadatas, ids, kwargs, "add_texts")

    def add_images(
        self,
        uris: Sequence[Any],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: Sequence[str | None] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Embed and store images (paths, URLs, data URIs, bytes, PIL images); needs jina-local embeddings."""
        if not self.uses_jina_local:
            raise InputError("add_images() needs JinaLocalEmbeddings (the collection encodes the images itself).")
        items = [image_reference(u, i, fetch=self._fetch) for i, u in enumerate(uris)]
        return self._add(
            items,
            [str(u) if isinstance(u, str) else f"image {i}" for i, u in enumerate(uris)],
            metadatas,
            ids,
            kwargs,
            "add_images",
        )

    def _add(
        self,
        items: list[Any],
        id_texts: list[str],
        metadatas: list[dict[str, Any]] | None,
        ids: Sequence[str | None] | None,
        kwargs: dict[str, Any],
        what: str,
    ) -> list[str]:
        unknown = sorted(set(kwargs) - {"batch_size"})
        if unknown:
            raise ArgumentError(f"{what}() got unexpected argument(s) {unknown}.")
        n = len(items)
        if metadatas is not None and len(metadatas) != n:
            raise InputError(f"{what}(): got {n} items but {len(metadatas)} metadatas; pass one dict per item.")
        if ids is not None and len(ids) != n:
            raise InputError(f"{what}(): got {n} items but {len(ids)} ids; pass one id per item (or None).")
        metas = [dict(m or {}) for m in (metadatas or [{}] * n)]
        keys = [
            str(ids[i]) if ids is not None and ids[i] is not None else document_key(id_texts[i], metas[i])
            for i in range(n)
        ]
        if not items:
            return []
        point_ids = [key_to_point_id(k, i) for i, k in enumerate(keys)]
        payloads = [PointPayload(m, item_id=k) for m, k in zip(metas, keys)]
        emb = self._embedding
        if isinstance(emb, JinaLocalEmbeddings):  # uses_jina_local
            task, _ = emb.document_spec(per_item=True)
            summary = self.collection.add(
                items,
                payloads=payloads,
                ids=point_ids,
                task=task,
                progress=emb.show_progress,
                **({"batch_size": kwargs["batch_size"]} if "batch_size" in kwargs else {}),
            )
        else:
            if any(not isinstance(t, str) for t in items):
                raise InputError(f"{what}() takes strings with these embeddings.")
            vectors = np.asarray(self._embedding.embed_documents(items), dtype=np.float32)
            summary = self.collection.add_embeddings(vectors, payloads=payloads, ids=point_ids, texts=items)
        if summary.failures:
            listed = "; ".join(f"item {f.index}: {f.error}" for f in summary.failures[:5])
            raise InputError(
                f"{what}(): {len(summary.failures)} of {n} items were not stored ({listed}); the others were."
            )
        return keys

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Delete by ids (any strings, as given to ``add_*``), or by ``filter=``; no ids and no filter: everything."""
        flt = kwargs.pop("filter", None)
        if kwargs:
            raise ArgumentError(f"delete() got unexpected argument(s) {sorted(kwargs)}; it takes ids and filter.")
        if ids is not None:
            self.collection.delete([key_to_point_id(k, i) for i, k in enumerate(ids)])
        elif flt is not None:
            self.collection.delete_where(flt)
        else:
            self.collection.clear()
        return True

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """Documents by id, in the order given; missing ids are left out."""
        points = {p["id"]: p for p in self.collection.get([key_to_point_id(k, i) for i, k in enumerate(ids)])}
        out = []
        for i, key in enumerate(ids):
            point = points.get(key_to_point_id(key, i))
            if point is not None:
                out.append(_document(str(point["stored"].get("item_id") or point["id"]), point["stored"]))
        return out

    # ------------------------------------------------------------------ searching
    def _hits(self, query: Any, k: int, filter: Any, kwargs: dict[str, Any]) -> list[SearchHit]:
        unknown = sorted(set(kwargs) - _SEARCH_KWARGS)
        if unknown:
            raise ArgumentError(
                f"search got unexpected argument(s) {unknown}; it takes k, filter, {', '.join(sorted(_SEARCH_KWARGS))}."
            )
        check_filter(filter)  # a clear error before any encoding
        if self.uses_jina_local:
            return self.collection.search(query, limit=k, filter=filter, **kwargs)
        if kwargs.get("tasks") or kwargs.get("mode") not in (None, "dense"):
            raise InputError("mode / tasks need JinaLocalEmbeddings; these embeddings search dense vectors only.")
        dense = self._embedding.embed_query(query)
        return self.collection.search_embeddings(
            dense=np.asarray(dense, dtype=np.float32),
            limit=k,
            filter=filter,
            mode="dense",
            prefetch_limit=kwargs.get("prefetch_limit"),
        )

    def similarity_search(self, query: str, k: int = 4, filter: Any = None, **kwargs: Any) -> list[Document]:
        return [doc for doc, _ in self.similarity_search_with_score(query, k, filter, **kwargs)]

    def similarity_search_with_score(
        self, query: str, k: int = 4, filter: Any = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Documents and scores (cosine for dense, MaxSim for two-stage; fused across adapters), best first."""
        return [(_hit_document(h, self.collection), h.score) for h in self._hits(query, k, filter, kwargs)]

    def similarity_search_by_image(self, image: Any, k: int = 4, filter: Any = None, **kwargs: Any) -> list[Document]:
        """Documents for an image query (a path, URL, data URI, bytes or PIL image); needs jina-local embeddings."""
        if not self.uses_jina_local:
            raise InputError("similarity_search_by_image() needs JinaLocalEmbeddings.")
        return [
            _hit_document(h, self.collection)
            for h in self._hits(image_reference(image, 0, fetch=self._fetch), k, filter, kwargs)
        ]

    def similarity_search_by_vector(
        self, embedding: list[float], k: int = 4, filter: Any = None, **kwargs: Any
    ) -> list[Document]:
        """Documents nearest to a dense query vector (of the collection's size)."""
        return [
            _hit_document(h, self.collection)
            for h in self.collection.search_embeddings(
                dense=np.asarray(embedding, dtype=np.float32), limit=k, filter=filter, mode="dense", **kwargs
            )
        ]

    def max_marginal_relevance_search(
        self, query: str, k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5, filter: Any = None, **kwargs: Any
    ) -> list[Document]:
        """MMR: ``fetch_k`` candidates (two-stage MaxSim on the jina-local path), ``k`` relevant and diverse."""
        unknown = sorted(set(kwargs) - {"mode"})
        if unknown:
            raise ArgumentError(f"max_marginal_relevance_search() got unexpected argument(s) {unknown}.")
        if self.uses_jina_local:
            hits = self.collection.search_mmr(
                query, k, fetch_limit=fetch_k, lambda_mult=lambda_mult, filter=filter, mode=kwargs.get("mode")
            )
        else:
            dense = np.asarray(self._embedding.embed_query(query), dtype=np.float32)
            hits = self.collection.search_mmr(
                dense=dense, limit=k, fetch_limit=fetch_k, lambda_mult=lambda_mult, filter=filter
            )
        return [_hit_document(h, self.collection) for h in hits]

    def max_marginal_relevance_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: Any = None,
        **kwargs: Any,
    ) -> list[Document]:
        hits = self.collection.search_mmr(
            dense=np.asarray(embedding, dtype=np.float32),
            limit=k,
            fetch_limit=fetch_k,
            lambda_mult=lambda_mult,
            filter=filter,
        )
        return [_hit_document(h, self.collection) for h in hits]

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        location: Any = ":memory:",
        collection_name: str | None = None,
        **kwargs: Any,
    ) -> JinaLocalVectorStore:
        """Open (or create) ``collection_name`` at ``location`` (default ``":memory:"``) and add the texts."""
        add_kwargs = {k: kwargs.pop(k) for k in ("batch_size",) if k in kwargs}
        store = cls(
            embedding=embedding, location=location, collection_name=collection_name or uuid.uuid4().hex, **kwargs
        )
        store.add_texts(texts, metadatas, ids=ids, **add_kwargs)
        return store

    def close(self) -> None:
        """Release the collection (an embedded folder stays locked until then)."""
        self.collection.close()


def _open(location: Any, name: str, embedding: Embeddings, open_kwargs: dict[str, Any]) -> MultiVectorCollection:
    if isinstance(embedding, JinaLocalEmbeddings):
        model = embedding.embedder
        kwargs = {"dense_dim": embedding.dimensions, "multi": model.info.has_multi, **open_kwargs}
        return MultiVectorCollection.open(location, name, model=model, **kwargs)
    if not isinstance(embedding, Embeddings):
        raise ArgumentError(f"embedding must be a LangChain Embeddings, got {type(embedding).__name__}.")
    if "dense_dim" not in open_kwargs:
        open_kwargs = {**open_kwargs, "dense_dim": len(embedding.embed_query("dimension probe"))}
    return MultiVectorCollection.open(location, name, model=None, **{"multi": False, **open_kwargs})
