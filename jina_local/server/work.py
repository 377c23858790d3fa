"""Running requests on the model from worker threads, with cancellation and the in-flight item count.

Every request's items go to the model from a thread of one pool, so many requests are inside the
model at once. The model's engine coalesces concurrent callers' items into shared forwards and gives
each caller its own rows (dynamic batching); the server adds no batching of its own.

ENGINE: what depends on the streaming engine (``Embedder.stream``, thread-safe ``encode``):

* With the engine (detected by ``Embedder.stream``), calls go straight in, and a cancelled request
  closes its ``stream`` generator, which drops its queued items.
* Without it (``encode`` is not safe across mixed adapters from several threads), calls are
  serialised by one lock here, and a cancelled request that has not reached the model is skipped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

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
                    status=503, code="queue_full", headers={"Retry-After": str(self.retry_after_s)},
                )
            self._in_flight += items

    def release(self, items: int) -> None:
        """Mark ``items`` as finished."""
        with self._lock:
            self._in_flight -= items


class ModelRunner:
    """Runs functions that use the model in a pool of threads; see the module docstring."""

    def __init__(self, model: Any, threads: int) -> None:
        self.model = model
        self.engine = hasattr(model, "stream")  # ENGINE: thread-safe, coalescing Embedder
        self._serial = None if self.engine else threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="jina-local-model")

    @contextmanager
    def model_access(self) -> Iterator[None]:
        """Hold this around any use of the model (a no-op with the engine, one lock without it)."""
        if self._serial is None:
            yield
            return
        with self._serial:
            yield

    async def run(self, fn: Callable[..., T], *args: Any, on_done: Callable[[], None] | None = None) -> T:
        """Run ``fn(*args)`` in the pool; ``on_done`` runs when the thread finishes, even if the caller left."""
        future: Future[T] = self._pool.submit(fn, *args)
        if on_done is not None:
            future.add_done_callback(lambda _f: on_done())
        return await asyncio.wrap_future(future)

    def encode_items(self, items: list[Any], cancel: threading.Event, kwargs: dict[str, Any],
                     on_start: Callable[[], None] | None = None) -> dict[str, Any]:
        """Encode ``items`` (called in a pool thread). Returns ``dense`` (n, d) | None and ``multi`` list | None.

        Raises :class:`Cancelled` when ``cancel`` is set before the items reach the model, and
        :class:`RequestError` naming the item when one cannot be encoded.
        """
        if self.engine and not kwargs.get("late_chunking"):
            return self._stream(items, cancel, kwargs, on_start)
        with self.model_access():
            if cancel.is_set():
                raise Cancelled()
            if on_start is not None:
                on_start()
            result = self.model.encode(items, progress=False, **kwargs)
        return {"dense": result.dense, "multi": result.multi}

    def _stream(self, items: list[Any], cancel: threading.Event, kwargs: dict[str, Any],
                on_start: Callable[[], None] | None) -> dict[str, Any]:
        import numpy as np

        def feed() -> Iterator[Any]:
            for item in items:
                if cancel.is_set():
                    return
                yield item

        if cancel.is_set():
            raise Cancelled()
        if on_start is not None:
            on_start()
        dense: list[Any] = [None] * len(items)
        multi: list[Any] = [None] * len(items)
        stream = self.model.stream(feed(), progress=False, errors="skip", **kwargs)
        try:
            for encoded in stream:
                if encoded.error is not None:
                    raise RequestError(f"input[{encoded.index}] could not be embedded: {encoded.error}",
                                       field=f"input[{encoded.index}]", item=encoded.index)
                dense[encoded.index] = encoded.dense
                multi[encoded.index] = encoded.multi
                if cancel.is_set():
                    raise Cancelled()
        finally:
            stream.close()  # ENGINE: closing the generator drops this request's queued items
        if cancel.is_set() or any(d is None and m is None for d, m in zip(dense, multi)):
            raise Cancelled()
        want_dense = kwargs.get("output", "dense") in ("dense", "both")
        return {
            "dense": np.stack(dense).astype(np.float32, copy=False) if want_dense else None,
            "multi": multi if kwargs.get("output") in ("multi", "both") else None,
        }

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` (which uses the model) under :meth:`model_access`; for pool threads."""
        with self.model_access():
            return fn()

    def stats(self) -> dict[str, Any] | None:
        """ENGINE: the engine's counters (``Embedder.stats()``) when it has them."""
        stats = getattr(self.model, "stats", None)
        if stats is None:
            return None
        try:
            snapshot = stats()
            values = dataclasses.asdict(snapshot) if dataclasses.is_dataclass(snapshot) else dict(snapshot)
            for name in ("mean_batch_size", "padding_fraction"):  # derived properties of EngineStats
                if hasattr(snapshot, name):
                    values[name] = getattr(snapshot, name)
            return values
        except Exception:  # noqa: BLE001 - metrics must never fail a scrape
            return None

    def shutdown(self) -> None:
        """Let running work finish; start nothing new."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def apply_token_budget(model: Any, tokens: int) -> None:
    """``--max-batch-tokens``: the padded-token budget of one forward.

    ENGINE: uses ``Embedder.set_token_budget`` when the engine provides it; until then the
    backend's ``token_budget`` (a read-only property of the family class) is overridden on this
    one backend instance.
    """
    setter = getattr(model, "set_token_budget", None)
    if callable(setter):
        setter(tokens)
        return
    backend = model.backend
    cls = type(backend)
    backend.__class__ = type(cls.__name__, (cls,), {"token_budget": property(lambda self: tokens)})


def now() -> float:
    """Monotonic seconds (one clock for queue waits and latencies)."""
    return time.perf_counter()
