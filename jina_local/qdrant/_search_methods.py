"""Searching a ``MultiVectorCollection`` (a mixin of that class): text, vectors and MMR.

The work happens in :mod:`._search` and :mod:`._mmr`; these are the public entry points, split out
of :mod:`.collection` to keep each module small.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from qdrant_client import models

from ..errors import InputError
from ._base import SearchMode
from ._mmr import search_mmr
from ._results import SearchHit
from ._search import check_mode, search_text, search_vectors, wanted_tasks
from .fusion import DEFAULT_FUSION, Fusion

if TYPE_CHECKING:
    from .collection import MultiVectorCollection

__all__ = ["SearchMethods"]


class SearchMethods:
    """``check_tasks``, ``search``, ``search_embeddings`` and ``search_mmr``."""

    def _whole(self) -> MultiVectorCollection:
        """This mixin as the collection it is part of (the helpers in :mod:`._search` take that)."""
        return cast("MultiVectorCollection", self)

    def check_tasks(self, tasks: str | Sequence[str]) -> list[str]:
        """Task names (plain or Jina's) -> the adapters they name, as ``search(tasks=...)`` reads them.

        Raises :class:`~jina_local.errors.TaskError` naming the task and the valid ones, so callers
        (retrievers) can check their settings when they are built.
        """
        return wanted_tasks(self._whole(), tasks)

    def search(
        self,
        query: Any,
        limit: int = 10,
        *,
        prefetch_limit: int | None = None,
        filter: models.Filter | dict[str, Any] | None = None,
        mode: SearchMode | None = None,
        tasks: str | Sequence[str] | None = None,
        fusion: Fusion = DEFAULT_FUSION,
    ) -> list[SearchHit]:
        """Search with one text or image query.

        The query is encoded once per task adapter present in the collection (or pinned by the filter
        / ``tasks``), each encoding searches only the points of its task (filter ``task == t`` AND the
        user filter), and the lists are fused (``fusion``). ``mode``: ``"two_stage"`` (default with
        multi-vectors: dense prefetch of ``prefetch_limit`` candidates, MaxSim rerank, one engine
        call), ``"multi"`` (exhaustive MaxSim) or ``"dense"``. ``filter``: a
        ``qdrant_client.models.Filter``, a dict in Qdrant's filter shape, or a LangChain-style dict on
        metadata fields such as ``{"lang": "py"}`` (see :mod:`jina_local.qdrant.filters`).
        """
        return search_text(
            self._whole(),
            query,
            limit,
            prefetch_limit=prefetch_limit,
            filter=filter,
            mode=mode,
            tasks=tasks,
            fusion=fusion,
        )

    def search_embeddings(
        self,
        dense: np.ndarray | None = None,
        multi: np.ndarray | None = None,
        limit: int = 10,
        *,
        prefetch_limit: int | None = None,
        filter: models.Filter | dict[str, Any] | None = None,
        mode: SearchMode | None = None,
        task: str | None = None,
    ) -> list[SearchHit]:
        """Search with precomputed query vectors (``dense`` ``(dense_dim,)``, ``multi`` ``(n_tokens, 128)``).

        ``task`` restricts the search to points of that task; by default every point is searched.
        """
        chosen = check_mode(self._whole(), mode)
        if chosen in ("two_stage", "dense") and dense is None:
            raise InputError(f"mode={chosen!r} needs the dense query vector (dense=...).")
        if chosen in ("two_stage", "multi") and multi is None:
            raise InputError(f"mode={chosen!r} needs the query token vectors (multi=...).")
        task = None if task is None else wanted_tasks(self._whole(), task)[0]
        return search_vectors(
            self._whole(), {task: (dense, multi)}, limit, prefetch_limit, self._whole().filter(filter), chosen, "raw"
        )

    def search_mmr(
        self,
        query: Any = None,
        limit: int = 4,
        *,
        fetch_limit: int = 20,
        lambda_mult: float = 0.5,
        dense: np.ndarray | None = None,
        filter: models.Filter | dict[str, Any] | None = None,
        mode: SearchMode | None = None,
    ) -> list[SearchHit]:
        """Maximal marginal relevance: ``fetch_limit`` candidates, then ``limit`` relevant but diverse ones.

        With ``query`` the candidates come from :meth:`search` (two-stage MaxSim on multi-vector
        collections); with ``dense`` (a query vector) from a dense search. ``lambda_mult``: 1 = by
        relevance only, 0 = most diverse. See :mod:`jina_local.qdrant._mmr` for the scoring.
        """
        return search_mmr(
            self._whole(),
            query,
            limit,
            fetch_limit=fetch_limit,
            lambda_mult=lambda_mult,
            dense=dense,
            filter=filter,
            mode=mode,
        )
