"""Qdrant store for jina-local: dense + multi-vector (MaxSim) points, embedded or on a server.

>>> from jina_local.qdrant import MultiVectorCollection                      # doctest: +SKIP
>>> store = MultiVectorCollection.open("./index", name="docs", model=model)  # doctest: +SKIP
>>> store.add(["Cats sleep 16 hours a day."])                                # doctest: +SKIP
>>> store.search("how long do cats sleep", limit=5, filter={"lang": "en"})   # doctest: +SKIP
"""

from __future__ import annotations

from ._catalog import collection_counts, list_collections
from ._index_summary import FileIssue, IndexSummary
from ._metadata_filters import metadata_filters_to_dict
from ._points import (
    PointPayload,
    StoredItem,
    document_key,
    key_to_point_id,
    parse_payload,
)
from .collection import (
    AddSummary,
    CopySummary,
    ItemFailure,
    MultiVectorCollection,
    SearchHit,
)
from .filters import FilterError, check_filter

__all__ = [
    "AddSummary",
    "CopySummary",
    "FileIssue",
    "FilterError",
    "IndexSummary",
    "ItemFailure",
    "MultiVectorCollection",
    "PointPayload",
    "SearchHit",
    "StoredItem",
    "check_filter",
    "collection_counts",
    "document_key",
    "key_to_point_id",
    "list_collections",
    "metadata_filters_to_dict",
    "parse_payload",
]
