"""``MultiVectorCollection``: one Qdrant collection of dense + multi-vector points for a jina-local model.

The class is thin: it resolves a location to a backend (:mod:`._client_backend` or
:mod:`._edge_backend`), validates the schema on open, turns items into points (encode, pool, ids,
payloads) and queries into plans, and fuses per-task result lists. Engines live in the backends.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from qdrant_client import QdrantClient

from ..documents import DEFAULT_CHUNK_TOKENS, DEFAULT_MAX_FILE_BYTES
from ..errors import CollectionConfigError, OptionError
from ..options import check_positive_int
from ..token_pooling import pool_tokens
from ._base import Backend
from ._embeddings import add_embeddings
from ._foreign import open_foreign
from ._ingest import IngestPlan, document_tasks, ingest, item_source
from ._locations import (
    BackendName,
    check_collection_name,
    check_open_options,
    resolve_backend,
)
from ._pickling import ReopenSpec, reduce_collection, reopen_spec
from ._point_methods import PointMethods
from ._points import check_per_item
from ._results import AddSummary, CopySummary, ItemFailure, SearchHit
from ._schema import open_or_create
from ._search_methods import SearchMethods

if TYPE_CHECKING:
    from ..embedder import Embedder
    from ..types import EncodeResult
    from ._index_files import IndexSummary

__all__ = ["AddSummary", "CopySummary", "ItemFailure", "MultiVectorCollection", "SearchHit"]


class MultiVectorCollection(PointMethods, SearchMethods):
    """Dense + multi-vector (MaxSim) points in one Qdrant collection. Build it with :meth:`open`.

    Reading, deleting and copying points: :class:`._point_methods.PointMethods`; searching:
    :class:`._search_methods.SearchMethods` (both mixed in here).
    """

    def __init__(self, backend: Backend, name: str, model: Embedder | None, meta: dict[str, Any]) -> None:
        self._backend = backend
        self.name = name
        self.model = model
        self._meta = meta
        self._lock = threading.RLock()  # metadata read-modify-write; adds may run in several threads
        self._pool_workers: ThreadPoolExecutor | None = None
        self._reopen: ReopenSpec | None = None  # how a pickle reopens it (set by open(); None: this process only)

    # ------------------------------------------------------------------ open / validate
    @classmethod
    def open(
        cls,
        location: str | os.PathLike[str] | QdrantClient,
        name: str,
        model: Embedder | None = None,
        *,
        dense_dim: int | None = None,
        multi: bool | None = None,
        on_disk: bool = False,
        multi_dtype: Literal["float32", "float16"] | None = None,
        pool_factor: int | None = None,
        dense_quantization: Literal["int8"] | None = None,
        hnsw_m: int = 16,
        hnsw_ef_construct: int = 100,
        backend: BackendName = "auto",
        api_key: str | None = None,
        timeout: int | None = None,
        shard_number: int | None = None,
        replication_factor: int | None = None,
        write_consistency_factor: int | None = None,
        create: bool = True,
        vector_name: str | None = None,
    ) -> MultiVectorCollection:
        """Open collection ``name`` at ``location``, creating it if missing (``create=True``).

        ``location``: ``":memory:"`` (qdrant-client local mode), a folder (embedded Qdrant engine,
        qdrant-edge-py; a folder written by ``QdrantClient(path=...)`` is opened with qdrant-client),
        an ``http(s)://`` URL of a Qdrant server or cluster (``api_key``), or a ``QdrantClient``.
        ``dense_dim`` picks the Matryoshka size at creation (default: the model's full size);
        ``multi``: store per-token vectors (default: when the model produces them; without a model,
        what an existing collection holds, else True); ``multi=False`` stores dense vectors only.
        Creation-only settings: ``on_disk`` (multi-vectors
        memory-mapped), ``multi_dtype`` (``"float16"`` halves multi-vector storage),
        ``dense_quantization="int8"``, ``hnsw_m`` / ``hnsw_ef_construct`` (dense graph),
        ``shard_number`` / ``replication_factor`` / ``write_consistency_factor`` (cluster; the
        embedded engine and qdrant-client's local mode ignore them). ``pool_factor`` (2-4) pools stored
        document token vectors; it is recorded and must not change later. An existing collection
        is validated against all explicit arguments and the model; a mismatch raises
        :class:`CollectionConfigError` and changes nothing.

        ``vector_name``: open a dense-only collection written by another tool (langchain-qdrant:
        ``""``, its unnamed vector; llama-index: ``"text-dense"`` or ``""``) for dense search
        through that vector. Such a collection is read-only here (``add`` is refused: its payload
        layout is the other tool's); ``search`` encodes the query once (no task routing) and the
        model must produce vectors of the collection's size.
        """
        if model is not None and not hasattr(model, "info"):
            raise OptionError(
                f"model must be a jina_local.Embedder (from jina_local.load), got {type(model).__name__}."
            )
        check_collection_name(name)
        check_open_options(
            pool_factor=pool_factor,
            multi_dtype=multi_dtype,
            dense_dim=dense_dim,
            hnsw_m=hnsw_m,
            hnsw_ef_construct=hnsw_ef_construct,
            dense_quantization=dense_quantization,
            shard_number=shard_number,
            replication_factor=replication_factor,
            write_consistency_factor=write_consistency_factor,
        )
        info = model.info if model is not None else None
        if multi is None and info is not None:
            multi = info.has_multi
        if info is not None and multi and not info.has_multi:
            raise CollectionConfigError(
                f"{info.name} produces no per-token vectors, so a multi-vector collection cannot be filled; "
                "open it with multi=False (dense only)."
            )
        store = resolve_backend(location, name, backend, api_key, timeout)
        reopen = reopen_spec(location, store, name, api_key=api_key, timeout=timeout, vector_name=vector_name)
        if vector_name is not None:
            foreign = open_foreign(cls, store, name, model, vector_name=vector_name, dense_dim=dense_dim)
            foreign._reopen = reopen
            return foreign
        try:
            meta = open_or_create(store, name, info, dense_dim=dense_dim, multi=multi, on_disk=on_disk,
                                  multi_dtype=multi_dtype, pool_factor=pool_factor,
                                  dense_quantization=dense_quantization, hnsw_m=hnsw_m,
                                  hnsw_ef_construct=hnsw_ef_construct, shard_number=shard_number,
                                  replication_factor=replication_factor, create=create,
                                  write_consistency_factor=write_consistency_factor)  # fmt: skip
            store.attach()
            opened = cls(store, name, model, meta)
            opened._reopen = reopen
            return opened
        except BaseException:
            store.close()  # release the folder lock / connection we took; nothing was written
            raise

    # ------------------------------------------------------------------ properties
    @property
    def dense_dim(self) -> int:
        """Size of the stored dense vectors."""
        return int(self._meta["dense_dim"])

    @property
    def has_multi(self) -> bool:
        """Whether points carry multi-vectors."""
        return bool(self._meta.get("multi"))

    @property
    def pool_factor(self) -> int | None:
        """Token pooling applied to stored multi-vectors (``None`` = off)."""
        return self._meta.get("pool_factor")

    @property
    def tasks(self) -> list[str]:
        """Task adapters present in the collection (kept in its metadata, updated on add)."""
        return list(self._meta.get("tasks", []))

    @property
    def backend_label(self) -> str:
        """Which engine and where."""
        return self._backend.label

    @property
    def metadata(self) -> dict[str, Any]:
        """jina-local's record in the collection metadata (a copy)."""
        return dict(self._meta)

    def __repr__(self) -> str:
        return f"MultiVectorCollection({self.name!r}, {self.backend_label}, dense_dim={self.dense_dim}, multi={self.has_multi})"

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickle as "reopen from the folder / URL with the model's name" (see :mod:`._pickling`)."""
        return reduce_collection(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> MultiVectorCollection:
        """A collection is a handle on stored points: a deep copy (of a store holding it) shares it."""
        return self

    def __enter__(self) -> MultiVectorCollection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Flush and release the store (folders stay locked until closed)."""
        if self._pool_workers is not None:
            self._pool_workers.shutdown(wait=True)
            self._pool_workers = None
        self._backend.close()

    def optimize(self) -> None:
        """Build the dense HNSW graph / merge segments now (embedded engine; no-op elsewhere)."""
        self._backend.optimize()

    # ------------------------------------------------------------------ writing
    def _require_model(self, what: str) -> Embedder:
        if what.startswith(("add", "index")):
            self._refuse_foreign_write(what)
        if self.model is None:
            raise CollectionConfigError(
                f"{what} needs a model: open the collection with model=jina_local.load(...), "
                "or use the *_embeddings method with precomputed vectors."
            )
        return self.model

    def _record_written(self, tasks: set[str], kinds: set[str]) -> None:
        with self._lock:
            self._record_locked(tasks, kinds)

    def _record_locked(self, tasks: set[str], kinds: set[str]) -> None:
        new_tasks = set(self._meta.get("tasks", [])) | tasks
        new_kinds = set(self._meta.get("kinds", [])) | kinds
        model_name = self.model.info.name if self.model is not None else None
        if (
            new_tasks != set(self._meta.get("tasks", []))
            or new_kinds != set(self._meta.get("kinds", []))
            or (self._meta.get("model") is None and model_name is not None)
        ):
            self._meta["tasks"] = sorted(new_tasks)
            self._meta["kinds"] = sorted(new_kinds)
            if self._meta.get("model") is None:
                self._meta["model"] = model_name
                self._meta["model_fingerprint"] = self.model.info.fingerprint if self.model is not None else None
            self._backend.set_metadata(dict(self._meta))

    def _pool(self, multi: np.ndarray | None) -> np.ndarray | None:
        if multi is None or not self.pool_factor or self.pool_factor <= 1:
            return multi
        return pool_tokens(multi, self.pool_factor)

    def add(
        self,
        items: Any,
        payloads: Sequence[Mapping[str, Any] | None] | None = None,
        ids: Sequence[str] | None = None,
        *,
        task: str | None = None,
        batch_size: int | None = None,
        progress: bool | None = None,
        skip_existing: bool = False,
    ) -> AddSummary:
        """Encode documents (dense + multi in one forward) and upsert them as they are encoded.

        ``items`` may be any iterable, a generator too: it is streamed through the model once, so its
        items are length-sorted across the whole input, and memory stays bounded. ``payloads``: one
        dict per item (``source`` sets the source used for the id; ``kind``, ``task``, ``text``,
        ``image`` are reserved). ``ids``: UUIDs to use instead of the deterministic
        ``uuid5(source, content)``. ``task``: force one adapter (default: automatic routing per item);
        Jina's passage names (``"code.passage"``) are read as their adapter, and a query-role name
        (``"retrieval.query"``) is a ``TaskError``: stored points are documents.
        ``batch_size``: at most this many items per forward (default: the model's). ``skip_existing``:
        items whose id is already stored are not encoded again (listed in ``AddSummary.skipped``), so
        an interrupted run resumes cheaply. Items that cannot be read, encoded or stored are listed in
        ``AddSummary.failures`` with their index and the reason; the others are stored.
        """
        model = self._require_model("add()")
        task = document_tasks(task, model)
        items = item_source(items)
        count = len(items) if hasattr(items, "__len__") else None
        check_per_item(payloads, "payloads", count)
        check_per_item(ids, "ids", count)
        check_positive_int("batch_size", batch_size)
        plan = IngestPlan(
            model=model,
            output="both" if self.has_multi else "dense",
            dim=None if self.dense_dim == model.info.dense_dim else self.dense_dim,
            task=task,
            batch_size=batch_size,
            skip_existing=skip_existing,
            progress=progress,
            pool=self._pool if self.pool_factor and self.pool_factor > 1 else None,
            retrieve=lambda pids: {str(p["id"]) for p in self._backend.retrieve(pids, False)},
            upsert=self._backend.upsert,
            record=self._record_written,
            label=f"indexing {self.name}",
        )
        return ingest(items, payloads, ids, plan, self._workers())

    def _workers(self) -> ThreadPoolExecutor:
        """Threads that pool token vectors beside the model worker (created on first use)."""
        with self._lock:
            if self._pool_workers is None:
                self._pool_workers = ThreadPoolExecutor(2, thread_name_prefix="jina-local-pool")
            return self._pool_workers

    def add_embeddings(
        self,
        dense: np.ndarray | EncodeResult,
        multi: Sequence[np.ndarray] | None = None,
        *,
        payloads: Sequence[Mapping[str, Any] | None] | None = None,
        ids: Sequence[str] | None = None,
        tasks: str | Sequence[str] | None = None,
        kinds: str | Sequence[str] | None = None,
        texts: Sequence[str | None] | None = None,
        sources: Sequence[str | None] | None = None,
        batch_size: int = 256,
        progress: bool | None = None,
    ) -> AddSummary:
        """Upsert precomputed vectors: ``dense`` ``(n, dense_dim)`` and ``multi`` (one ``(t_i, 128)`` per point).

        ``dense`` may be an :class:`~jina_local.EncodeResult` (its ``multi``, ``tasks`` and ``kinds``
        are then used). ``tasks`` / ``kinds``: one value or one per point (defaults: the model's
        default task or ``"retrieval"``, and ``"text"``); names the model does not have are refused,
        Jina's passage names (``"code.passage"``) are read as their adapter and query-role names are refused.
        ``texts`` / ``sources`` go to the payload and into the deterministic ids (which fall back to
        a hash of the vectors). Points with NaN, infinite or all-zero vectors, malformed token
        vectors, a repeated id or a payload that is not a dict are reported in ``failures``. Vectors
        are stored scaled to unit length (norms in float64), so any finite non-zero scale, 1e38 or
        1e-30 included, stores the same direction.
        """
        return add_embeddings(
            self,
            dense,
            multi,
            payloads=payloads,
            ids=ids,
            tasks=tasks,
            kinds=kinds,
            texts=texts,
            sources=sources,
            batch_size=batch_size,
            progress=progress,
        )

    def index_files(
        self,
        paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        prune: bool = False,
        late_chunking: bool = False,
        chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
        overlap_tokens: int | None = None,
        pdf_text: bool = False,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        batch_size: int | None = None,
        progress: bool | None = None,
    ) -> IndexSummary:
        """Index files and folders so that the collection follows them; returns an :class:`IndexSummary`.

        Text and markdown are chunked by the model's tokens (``chunk_tokens``, ``overlap_tokens``; default
        an eighth of ``chunk_tokens``), code at definitions with line ranges, images as they are, PDFs page
        by page (rendered to the model's pixel budget; ``pdf_text=True`` also embeds each page's text
        layer). Unchanged files are skipped, changed files replaced, and with ``prune=True`` chunks of
        files no longer under the given folders are deleted. ``late_chunking=True`` embeds each file's
        chunks in one forward over the whole file. ``batch_size``: at most this many chunks per forward
        (default: the model's). See ``docs/documents.md``.
        """
        from ._index_files import index_files

        return index_files(
            self,
            paths,
            prune=prune,
            late_chunking=late_chunking,
            chunk_tokens=chunk_tokens,
            overlap_tokens=overlap_tokens,
            pdf_text=pdf_text,
            max_file_bytes=max_file_bytes,
            batch_size=batch_size,
            progress=progress,
        )
