"""Counters of the engine: what ran, how full the batches were, how long items waited."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BatchEvent", "EngineStats", "StatsRecorder"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchEvent:
    """One forward as the engine ran it (given to batch listeners)."""

    task: str
    group: Hashable
    size: int
    tokens: int
    padded_tokens: int
    queue_waits: tuple[float, ...]
    """Seconds each item of the batch waited between submission and the start of its forward."""
    forward_seconds: float
    callers: int
    """How many distinct ``stream``/``encode`` calls the batch served (more than 1 = coalesced)."""


@dataclass(frozen=True)
class EngineStats:
    """A snapshot of the engine's counters since the model was loaded (``Embedder.stats()``)."""

    items_submitted: int = 0
    items_done: int = 0
    items_failed: int = 0
    items_cancelled: int = 0
    pending_items: int = 0
    batches: int = 0
    coalesced_batches: int = 0
    tokens: int = 0
    padded_tokens: int = 0
    batch_sizes: dict[int, int] = field(default_factory=dict)
    queue_wait_seconds_total: float = 0.0
    queue_wait_seconds_max: float = 0.0
    forward_seconds_total: float = 0.0
    prepare_seconds_total: float = 0.0
    task_switches: int = 0
    oom_splits: int = 0

    @property
    def mean_batch_size(self) -> float:
        return self.items_done / self.batches if self.batches else 0.0

    @property
    def padding_fraction(self) -> float:
        """Share of padded positions that were padding (0 = perfectly length-sorted)."""
        return 1.0 - self.tokens / self.padded_tokens if self.padded_tokens else 0.0


class StatsRecorder:
    """Thread-safe accumulation of :class:`EngineStats` and fan-out of :class:`BatchEvent` to listeners."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, float] = {}
        self._batch_sizes: Counter[int] = Counter()
        self._wait_max = 0.0
        self._listeners: list[Callable[[BatchEvent], None]] = []

    def add(self, **amounts: float) -> None:
        with self._lock:
            for name, amount in amounts.items():
                self._values[name] = self._values.get(name, 0) + amount

    def batch(self, event: BatchEvent) -> None:
        with self._lock:
            values = self._values
            values["batches"] = values.get("batches", 0) + 1
            values["coalesced_batches"] = values.get("coalesced_batches", 0) + (event.callers > 1)
            values["tokens"] = values.get("tokens", 0) + event.tokens
            values["padded_tokens"] = values.get("padded_tokens", 0) + event.padded_tokens
            values["queue_wait_seconds_total"] = values.get("queue_wait_seconds_total", 0.0) + sum(event.queue_waits)
            values["forward_seconds_total"] = values.get("forward_seconds_total", 0.0) + event.forward_seconds
            self._wait_max = max(self._wait_max, *event.queue_waits, 0.0)
            self._batch_sizes[event.size] += 1
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - an observer must not stop the model worker
                logger.exception("jina-local: a batch listener failed")

    def add_listener(self, listener: Callable[[BatchEvent], None]) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def snapshot(self, pending_items: int) -> EngineStats:
        with self._lock:
            values = dict(self._values)
            sizes = dict(sorted(self._batch_sizes.items()))
            wait_max = self._wait_max
        ints = {
            "items_submitted",
            "items_done",
            "items_failed",
            "items_cancelled",
            "batches",
            "coalesced_batches",
            "tokens",
            "padded_tokens",
            "task_switches",
            "oom_splits",
        }
        counters: dict[str, Any] = {k: int(v) if k in ints else float(v) for k, v in values.items()}
        return EngineStats(
            **counters,
            pending_items=pending_items,
            batch_sizes=sizes,
            queue_wait_seconds_max=wait_max,
        )
