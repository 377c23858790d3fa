"""Qdrant store for jina-local: dense + multi-vector (MaxSim) points, embedded or on a server.

>>> from jina_local.qdrant import MultiVectorCollection                      # doctest: +SKIP
>>> store = MultiVectorCollection.open("./index", name="docs", model=model)  # doctest: +SKIP
>>> store.add(["Cats sleep 16 hours a day."])                                # doctest: +SKIP
>>> store.search("how long do cats sleep", limit=5)                          # doctest: +SKIP
"""

from __future__ import annotations

from ._index_files import FileIssue, IndexSummary
from .collection import AddSummary, ItemFailure, MultiVectorCollection, SearchHit
from .filters import FilterError

__all__ = ["AddSummary", "FileIssue", "FilterError", "IndexSummary", "ItemFailure", "MultiVectorCollection", "SearchHit"]
