"""The family-neutral streaming engine: windows, preparation workers, one model worker, coalescing.

:class:`Engine` belongs to one loaded model. ``stream`` runs any iterable through preparation threads
(:mod:`.stream`) and the model worker (:mod:`.scheduler`), which batches the queued items of every
caller together; :mod:`.stats` counts what happened. The embedder builds the per-item preparation
(typing, routing, the family's processor); nothing here knows a model family.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..models.base import ModelBackend
from ..types import Encoded
from .scheduler import Job, Scheduler
from .stats import BatchEvent, EngineStats, StatsRecorder
from .stream import PreparedItem, StreamSettings, WindowLimits, run_stream

__all__ = [
    "BatchEvent",
    "Engine",
    "EngineStats",
    "Job",
    "PreparedItem",
    "StreamSettings",
    "WindowLimits",
    "default_prepare_threads",
]


def default_prepare_threads() -> int:
    """Preparation threads: PIL, tokenizers and numpy release the GIL, so a few threads overlap well."""
    return max(2, min(8, os.cpu_count() or 2))


class Engine:
    """The streaming engine of one model: a preparation pool, a scheduler and its counters."""

    def __init__(self, backend: ModelBackend, *, prepare_threads: int | None = None) -> None:
        self.backend = backend
        self.prepare_threads = prepare_threads or default_prepare_threads()
        self.recorder = StatsRecorder()
        self.scheduler = Scheduler(backend, self.recorder)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    @property
    def pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.prepare_threads, thread_name_prefix="jina-local-prepare")
            return self._pool

    def default_window(self, items: int | None = None, tokens: int | None = None) -> WindowLimits:
        """Windows that fill the token budget several times over, with a cap on their pixel bytes."""
        return WindowLimits(
            items=items or 1024,
            tokens=tokens or 8 * self.backend.token_budget,
            nbytes=self.backend.window_nbytes,
            prefetch=2 * self.prepare_threads,
        )

    def stream(
        self, items: Iterable[Any], prepare: Callable[[Any, int], PreparedItem], settings: StreamSettings
    ) -> Generator[Encoded, None, None]:
        return run_stream(items, prepare, settings, scheduler=self.scheduler, pool=self.pool, stats=self.recorder)

    def stats(self) -> EngineStats:
        return self.recorder.snapshot(self.scheduler.pending)

    def add_batch_listener(self, listener: Callable[[BatchEvent], None]) -> Callable[[], None]:
        return self.recorder.add_listener(listener)
