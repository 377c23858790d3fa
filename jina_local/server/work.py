"""Running requests on the model from worker threads, with cancellation and the in-flight item count.

Each request's items go to the model from a thread of one pool, so many requests are inside the
model at once. The Embedder's engine coalesces concurrent callers' items into shared forwards and
gives each caller its own rows, in order (dynamic batching); the server adds no batching of its own.

Cancellation: a request whose client left before its thread started never reaches the model; one
already with the model passes its cancel event to ``Embedder.stream``, which drops the request's items
still queued in the engine and wakes the waiting thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

from .errors import RequestError

__all__ = ["Admission", "Cancelled", "ModelRunner", "apply_token_budget"]

T = TypeVar("T")


class Cancelled(Exception):
    """The client went away before its work reached the model."""


class Admission:
    """The bounded queue: items admitted and not yet finished, counted by the server itself."""

    def __init__(self, capacity: int, retry_after_s: int) -> None:
        self.capacity = capacity
        self.retry_after_s = retry_after_s
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        """Items admitted whose work has not finished (queued or in a forward)."""
        return self._in_flight

    def acquire(self, items: int) -> None:
        """Admit ``items`` more, or raise a 503 :class:`RequestError` with ``Retry-After``."""
        with self._lock:
            if self._in_flight + items > self.capacity:
                raise RequestError(
                    f"the server is busy ({self._in_flight} items in flight, queue holds {self.capacity}); "
                    f"retry after {self.retry_after_s} s, or send smaller requests.",
                    status=503,
                    code="queue_full",
                    headers={"Retry-After": str(self.retry_after_s)},
                )
            self._in_flight += items

    def release(self, items: int) -> None:
        """Mark ``items`` as finished."""
        with self._lock:
            self._in_flight -= items


class ModelRunner:
    """Runs the work of requests in a pool of threads, each a caller of the thread-safe Embedder."""

    def __init__(self, model: Any, threads: int) -> None:
        self.model = model
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="jina-local-request")

    async def run(self, fn: Callable[..., T], *args: Any, on_done: Callable[[], None] | None = None) -> T:
        """Run ``fn(*args)`` in the pool; ``on_done`` runs when the thread finishes, even if the caller left."""
        future: Future[T] = self._pool.submit(fn, *args)
        if on_done is not None:
            future.add_done_callback(lambda _f: on_done())
        return await asyncio.wrap_future(future)

    def encode_items(
        self,
        items: list[Any],
        cancel: threading.Event,
        kwargs: dict[str, Any],
        on_start: Callable[[], None] | None = None,
    ) -> dict[str, Any]:
        """Encode ``items`` through ``Embedder.stream`` (called in a pool thread).

        Returns ``dense`` ((n, d) array or None) and ``multi`` (list or None). Raises
        :class:`Cancelled` when ``cancel`` is set before or while the items are with the model (the
        stream is closed, which drops the items still queued), and :class:`RequestError` naming the
        item when one cannot be embedded.
        """
        if cancel.is_set():
            raise Cancelled()
        if on_start is not None:
            on_start()
        if kwargs.get("late_chunking"):  # chunks of one document: one encode call, not a stream
            result = self.model.encode(items, progress=False, **kwargs)
            return {"dense": result.dense, "multi": result.multi}

        def feed() -> Iterator[Any]:
            for item in items:
                if cancel.is_set():
                    return
                yield item

        dense: list[Any] = [None] * len(items)
        multi: list[Any] = [None] * len(items)
        stream = self.model.stream(feed(), progress=False, errors="skip", cancel=cancel, **kwargs)
        try:
            for encoded in stream:
                if encoded.error is not None:
                    raise RequestError(
                        f"input[{encoded.index}] could not be embedded: {encoded.error}",
                        field=f"input[{encoded.index}]",
                        item=encoded.index,
                    )
                dense[encoded.index] = encoded.dense
                multi[encoded.index] = encoded.multi
                if cancel.is_set():
                    raise Cancelled()
        finally:
            stream.close()  # drops this request's items still queued in the engine
        if cancel.is_set() or any(d is None and m is None for d, m in zip(dense, multi)):
            raise Cancelled()
        return {
            "dense": np.stack(dense).astype(np.float32, copy=False) if kwargs.get("output") != "multi" else None,
            "multi": multi if kwargs.get("output") in ("multi", "both") else None,
        }

    def stats(self) -> dict[str, Any] | None:
        """The engine's counters (``Embedder.stats()``) as a flat dict, for ``/metrics``."""
        stats = getattr(self.model, "stats", None)
        if stats is None:
            return None
        try:
            snapshot = stats()
            values = (
                dataclasses.asdict(snapshot)
                if dataclasses.is_dataclass(snapshot) and not isinstance(snapshot, type)
                else dict(snapshot)
            )
            for name in ("mean_batch_size", "padding_fraction"):  # derived properties of EngineStats
                if hasattr(snapshot, name):
                    values[name] = getattr(snapshot, name)
            return values
        except Exception:  # noqa: BLE001 - metrics must never fail a scrape
            return None

    def shutdown(self) -> None:
        """Let running work finish; start nothing new."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def apply_token_budget(model: Any, tokens: int) -> Callable[[], None]:
    """``--max-batch-tokens``: the padded-token budget of one forward (``Embedder.token_budget``).

    Returns a function that puts the previous budget back (a model passed in is left as it was found).
    """
    previous = model.token_budget
    model.token_budget = tokens

    def restore() -> None:
        model.token_budget = previous

    return restore


def now() -> float:
    """Monotonic seconds (one clock for queue waits and latencies)."""
    return time.perf_counter()
