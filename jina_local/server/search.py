"""``POST /v1/search`` over the index given with ``--index``: ``{query | image, limit, mode, filter}``.

The answer is :func:`jina_local.search_view.hits_to_json`'s shape, the same as ``jina-local search
--json``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import JinaLocalError
from ..search_view import hits_to_json
from .embeddings import _check_image
from .errors import RequestError
from .schemas import ImageRef, parse_image_ref
from .urls import fetch_image
from .work import ModelRunner

__all__ = ["MAX_LIMIT", "SearchJob", "SearchRequest", "parse_search_request"]

MAX_LIMIT = 100
_MODES = ("two_stage", "multi", "dense")
_FIELDS = frozenset({"query", "image", "limit", "mode", "filter", "thumbnails"})


@dataclass
class SearchRequest:
    """A validated search request."""

    query: str | ImageRef
    limit: int = 10
    mode: str | None = None
    filter: Any = None
    thumbnails: bool = True


def parse_search_request(body: Any, *, allow_urls: bool) -> SearchRequest:
    """Validate a decoded JSON body; refusals name the field."""
    from pydantic import ValidationError
    from qdrant_client import models

    if not isinstance(body, dict):
        raise RequestError('the request body must be a JSON object such as {"query": "..."}.', status=400)
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise RequestError(f"unknown field(s) {unknown}; fields are {sorted(_FIELDS)}.", field=unknown[0])
    has_query, has_image = body.get("query") is not None, body.get("image") is not None
    if has_query == has_image:
        raise RequestError("send exactly one of 'query' (text) and 'image' (base64 or data: URI).", field="query")
    if has_query:
        if not isinstance(body["query"], str) or not body["query"].strip():
            raise RequestError("query must be a non-empty string.", field="query")
        query: str | ImageRef = body["query"]
    else:
        query = parse_image_ref(body["image"], "image", 0, allow_urls)
    limit = body.get("limit", 10)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise RequestError(f"limit must be an integer from 1 to {MAX_LIMIT}, got {limit!r}.", field="limit")
    mode = body.get("mode")
    if mode is not None and mode not in _MODES:
        raise RequestError(f"mode={mode!r} is not valid; use one of {list(_MODES)} or leave it out.", field="mode")
    flt = None
    if body.get("filter") is not None:
        try:
            flt = models.Filter.model_validate(body["filter"])
        except ValidationError as exc:
            details = exc.errors()
            first: Mapping[str, Any] = details[0] if details else {}
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise RequestError(
                f"filter is not a Qdrant filter: {first.get('msg', 'invalid')}{f' at {where}' if where else ''}.",
                field="filter",
            ) from None
    thumbnails = body.get("thumbnails", True)
    if not isinstance(thumbnails, bool):
        raise RequestError("thumbnails must be true or false.", field="thumbnails")
    return SearchRequest(query=query, limit=limit, mode=mode, filter=flt, thumbnails=thumbnails)


class SearchJob:
    """One search; :meth:`__call__` runs in a model thread and returns the JSON body."""

    def __init__(
        self,
        req: SearchRequest,
        runner: ModelRunner,
        collection: Any,
        lock: threading.Lock,
        *,
        fetch: Any,
        max_image_pixels: int,
    ) -> None:
        self.req = req
        self.runner = runner
        self.collection = collection
        self.lock = lock
        self.fetch = fetch
        self.max_image_pixels = max_image_pixels

    def __call__(self) -> bytes:
        from ..qdrant._search import encode_query, search_vectors
        from ..qdrant.fusion import DEFAULT_FUSION

        req = self.req
        query: Any = req.query
        if isinstance(query, ImageRef):
            query = query.data if query.data is not None else fetch_image(str(query.url), self.fetch, 0, "image")
            _check_image(query, 0, "image", self.max_image_pixels)
        try:
            # the forwards run outside the store's lock, so concurrent searches share them (the Embedder is
            # thread-safe); only the store is used one search at a time
            encoded = encode_query(self.collection, query, mode=req.mode, filter=req.filter, tasks=None)
            hits: list[Any] = []
            if encoded.vectors:
                with self.lock:
                    hits = search_vectors(
                        self.collection, encoded.vectors, req.limit, None, encoded.filter, encoded.mode, DEFAULT_FUSION
                    )
            result = hits_to_json(
                query,
                hits,
                collection=_LockedStore(self.collection, self.lock),
                model=self.runner.model,
                mode=req.mode,
                thumbnails=req.thumbnails,
                query_tokens={task: multi for task, (_, multi) in encoded.vectors.items()},
            )
        except JinaLocalError as exc:
            raise RequestError(f"the search could not run: {exc}", field="query") from None
        return json.dumps(result, separators=(",", ":")).encode("utf-8")


class _LockedStore:
    """The collection as :func:`hits_to_json` sees it: its settings as they are, reads of points under the lock."""

    def __init__(self, collection: Any, lock: threading.Lock) -> None:
        self._collection = collection
        self._lock = lock

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)

    def get(self, ids: Any, with_vectors: bool = False) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._collection.get(ids, with_vectors=with_vectors))
