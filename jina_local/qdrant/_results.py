"""What the collection returns: search hits and add summaries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["AddSummary", "ItemFailure", "SearchHit"]


@dataclass(frozen=True)
class SearchHit:
    """One result: point id, score (fused when several task lists were merged), payload."""

    id: str
    score: float
    payload: dict[str, Any]
    raw_score: float
    """The engine's score (cosine for dense, MaxSim sum for multi / two-stage) before any fusion."""

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
