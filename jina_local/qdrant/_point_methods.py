"""Reading, deleting and copying points of a ``MultiVectorCollection`` (a mixin of that class).

The state (backend, record, name) lives in :class:`~jina_local.qdrant.MultiVectorCollection`; these
methods work on it. Split out to keep each module small.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from qdrant_client import QdrantClient, models

from ..errors import CollectionConfigError
from ._copy import copy_collection
from ._points import PAYLOAD_LAYOUT, check_id, parse_payload
from ._results import CopySummary
from ._scan import delete_matching, scroll_points
from .filters import FilterError, check_filter

if TYPE_CHECKING:
    from ._base import Backend

__all__ = ["PointMethods"]


class PointMethods:
    """``filter``, ``count``, ``get``, ``scroll``, ``delete``, ``delete_where``, ``clear`` and ``copy_to``."""

    _backend: Backend
    _meta: dict[str, Any]
    name: str

    @property
    def is_foreign(self) -> bool:
        """Whether this is another tool's dense-only collection opened with ``vector_name=`` (read-only)."""
        return bool(self._meta.get("foreign"))

    @property
    def _legacy_payload(self) -> bool:
        """Whether points of the flat payload layout 1 may be stored (filters then read both places)."""
        return int(self._meta.get("payload_layout") or 1) < PAYLOAD_LAYOUT

    def filter(self, filter: Any) -> models.Filter | None:
        """Check and translate a filter (``models.Filter``, a dict or ``MetadataFilters``) for this collection."""
        return check_filter(filter, legacy=self._legacy_payload or self.is_foreign)

    def count(self, filter: Any = None) -> int:
        """Number of points, optionally matching a filter (see :mod:`jina_local.qdrant.filters`)."""
        return self._backend.count(self.filter(filter))

    def get(self, ids: Sequence[str], with_vectors: bool = False) -> list[dict[str, Any]]:
        """Points by id: ``{"id", "payload" (flat view), "stored" (as stored), "vector"}``; missing ids are skipped."""
        return [
            _with_view(r) for r in self._backend.retrieve([check_id(i, n) for n, i in enumerate(ids)], with_vectors)
        ]

    def delete(self, ids: Sequence[str]) -> None:
        """Delete points by id (the task record is not shrunk: a stale task only costs one empty search)."""
        self._refuse_foreign_write("delete()")
        self._backend.delete([check_id(i, n) for n, i in enumerate(ids)])

    def scroll(
        self, filter: Any = None, *, batch_size: int = 256, with_vectors: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Every point (matching ``filter``) in id order, as :meth:`get` returns them, page by page."""
        yield from (_with_view(r) for r in scroll_points(self._backend, self.filter(filter), batch_size, with_vectors))

    def delete_where(self, filter: Any) -> int:
        """Delete every point matching ``filter``; returns how many were deleted."""
        self._refuse_foreign_write("delete_where()")
        flt = self.filter(filter)
        if flt is None:
            raise FilterError("delete_where() needs a filter; use clear() to delete every point.")
        return delete_matching(self._backend, flt)

    def clear(self) -> int:
        """Delete every point (the collection, its settings and model record stay); returns how many."""
        self._refuse_foreign_write("clear()")
        deleted = delete_matching(self._backend, None)
        self._meta["tasks"], self._meta["kinds"] = [], []
        self._backend.set_metadata(dict(self._meta))
        return deleted

    def copy_to(
        self,
        location: str | os.PathLike[str] | QdrantClient,
        name: str | None = None,
        *,
        batch_size: int = 256,
        overwrite: bool = False,
        progress: bool | None = None,
        **open_kwargs: Any,
    ) -> CopySummary:
        """Copy every point (vectors, payloads) and the collection's settings and record to another location.

        ``location`` is anything :meth:`open` takes (a folder, a ``QdrantClient``, a server URL);
        ``name`` defaults to this collection's name. The target is created with this collection's
        vector settings, or validated when it exists. Points already in the target are skipped
        (``overwrite=True`` writes them again), so an interrupted copy resumes where it stopped.
        The copy is checked at the end: every source point must be in the target, else
        :class:`~jina_local.errors.CollectionConfigError`. ``open_kwargs`` (``api_key``,
        ``timeout``, ``on_disk``, ``shard_number``...) go to :meth:`open` for the target.
        """
        return copy_collection(
            self,  # type: ignore[arg-type]
            location,
            name,
            batch_size=batch_size,
            overwrite=overwrite,
            progress=progress,
            open_kwargs=open_kwargs,
        )

    def _refuse_foreign_write(self, what: str) -> None:
        if self.is_foreign:
            raise CollectionConfigError(
                f"{what} is refused on {self.name!r}: it was written by another tool and is opened read-only "
                "(vector_name=...). Write to it with that tool, or copy what you need into a jina-local collection."
            )


def _with_view(record: dict[str, Any]) -> dict[str, Any]:
    """A backend record with the flat payload view beside the payload as stored."""
    return {
        "id": record["id"],
        "payload": parse_payload(record["payload"]).flat(),
        "stored": record["payload"],
        "vector": record.get("vector"),
    }
