"""Walking a collection page by page: scroll every (matching) point, delete by filter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from qdrant_client import models

from ..errors import OptionError
from ._base import Backend

__all__ = ["delete_matching", "scroll_points"]


def scroll_points(
    backend: Backend, filter: models.Filter | None, batch_size: int = 256, with_vectors: bool = False
) -> Iterator[dict[str, Any]]:
    """Every point matching ``filter`` in id order, fetched ``batch_size`` at a time."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise OptionError(f"batch_size={batch_size!r} must be a positive integer.")
    offset: Any = None
    while True:
        page, offset = backend.scroll(filter, batch_size, offset, with_vectors)
        yield from page
        if offset is None or not page:
            return


def delete_matching(backend: Backend, filter: models.Filter | None, batch_size: int = 1024) -> int:
    """Delete every point matching ``filter`` (all points for ``None``); returns how many."""
    ids = [p["id"] for p in scroll_points(backend, filter, batch_size)]
    for start in range(0, len(ids), batch_size):
        backend.delete(ids[start : start + batch_size])
    return len(ids)
