"""What the collection returns: search hits and add summaries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["AddSummary", "CopySummary", "ItemFailure", "SearchHit"]


@dataclass(frozen=True)
class SearchHit:
    """One result: point id, score (fused when several task lists were merged), payload."""

    id: str
    score: float
    payload: dict[str, Any]
    """Flat view: the item's metadata plus jina-local's fields (``kind``, ``task``, ``source``, ``text``, ``image``)."""
    raw_score: float
    """The engine's score (cosine for dense, MaxSim sum for multi / two-stage) before any fusion."""
    stored: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The payload exactly as stored (see the layout in ``docs/qdrant.md``)."""

    @property
    def metadata(self) -> dict[str, Any]:
        """The caller's metadata as it was given (layout 1 points: their non-reserved keys)."""
        from ._points import parse_payload

        return parse_payload(self.stored or self.payload).metadata

    @property
    def text(self) -> str | None:
        """The stored text (``None`` for images)."""
        return self.payload.get("text")

    @property
    def key(self) -> str:
        """The caller's id when one was given as a non-UUID string, else the point id."""
        return str(self.stored.get("item_id") or self.id)

    @property
    def task(self) -> str | None:
        """The task adapter the point was embedded with."""
        return self.payload.get("task")


@dataclass(frozen=True)
class ItemFailure:
    """An item that was not stored, and why."""

    index: int
    error: str


@dataclass
class AddSummary:
    """What ``add`` / ``add_embeddings`` did: one id per item (``None`` if it failed) and the failures."""

    ids: list[str | None] = field(default_factory=list)
    failures: list[ItemFailure] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    """Positions of items already stored under the same id (``add(..., skip_existing=True)``)."""

    @property
    def added(self) -> int:
        """Number of points written."""
        return sum(1 for i in self.ids if i is not None) - len(self.skipped)

    @property
    def ok(self) -> bool:
        """Whether every item was stored."""
        return not self.failures


@dataclass
class CopySummary:
    """What ``copy_to`` did."""

    target: str
    """Engine and location of the target collection."""
    total: int
    """Points in the source."""
    copied: int = 0
    """Points written to the target by this call."""
    skipped: int = 0
    """Points already in the target (a resumed copy) and left as they were."""
