"""``stream``: any iterable in, :class:`~jina_local.types.Encoded` results out, in input order.

The generator pulls items one at a time and hands each to a pool of preparation threads (read, decode,
resize, tokenise: :meth:`Engine.prepare` does it, early reduction included), so preprocessing runs
ahead of the forwards. Prepared items collect into a *window*, closed at a number of items, of tokens
or of bytes; a closed window is submitted to the model worker as one group, so its items are
length-sorted together. At most ``in_flight`` windows wait at the worker and one more is being
prepared, whatever the input length: memory stays bounded. Results are yielded as soon as every
earlier item is done; closing the generator cancels its queued items.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tqdm.auto import tqdm

from ..errors import InputError, JinaLocalError
from ..models.base import Prepared
from ..types import Encoded
from .scheduler import Job, Scheduler
from .stats import StatsRecorder

__all__ = ["PreparedItem", "StreamSettings", "WindowLimits", "run_stream"]

_CALLERS = itertools.count(1)


@dataclass(frozen=True)
class PreparedItem:
    """What preparation returns for one item: its kind, its task and the backend's prepared form."""

    kind: str
    task: str
    prepared: Prepared


@dataclass(frozen=True)
class WindowLimits:
    """When a window closes: at ``items`` items, ``tokens`` summed costs, or ``nbytes`` prepared bytes."""

    items: int
    tokens: int
    nbytes: int
    in_flight: int = 2
    prefetch: int = 8


@dataclass(frozen=True)
class StreamSettings:
    """Per-call options the worker needs for every job of one stream."""

    dense: bool
    multi: bool
    dim: int | None
    max_batch_size: int
    errors: str
    window: WindowLimits
    progress: bool
    total: int | None = None
    cancel: threading.Event | None = None
    """Set from any thread to end the stream early (queued items are dropped)."""


@dataclass(eq=False)
class _Slot:
    index: int
    window: _Window
    future: Future[PreparedItem] | None = None
    job: Job | None = None
    kind: str | None = None
    task: str | None = None
    error: JinaLocalError | None = None
    yielded: bool = False

    @property
    def ready(self) -> bool:
        return self.yielded or self.error is not None or (self.job is not None and self.job.done)


@dataclass(eq=False)
class _Window:
    slots: list[_Slot] = field(default_factory=list)
    cost: int = 0
    nbytes: int = 0
    unprepared: int = 0

    def full(self, limits: WindowLimits) -> bool:
        return len(self.slots) >= limits.items or self.cost >= limits.tokens or self.nbytes >= limits.nbytes

    def finished(self) -> bool:
        return all(slot.ready for slot in self.slots)


def _as_input_error(index: int, exc: BaseException) -> JinaLocalError:
    if isinstance(exc, JinaLocalError):
        return exc
    error = InputError(f"item {index} could not be read or prepared: {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error


def run_stream(
    items: Iterable[Any],
    prepare: Callable[[Any, int], PreparedItem],
    settings: StreamSettings,
    *,
    scheduler: Scheduler,
    pool: ThreadPoolExecutor,
    stats: StatsRecorder,
) -> Generator[Encoded, None, None]:
    """The generator behind ``Embedder.stream``; see the module docstring."""
    caller = next(_CALLERS)
    limits = settings.window
    wake = threading.Condition()
    iterator = iter(items)
    exhausted = False
    next_index = 0
    ordered: deque[_Slot] = deque()  # not yet yielded, in input order
    unharvested: list[_Slot] = []  # preparation submitted, result not yet collected
    building = _Window()
    waiting: deque[_Window] = deque()  # closed, not yet submitted
    in_flight: deque[_Window] = deque()  # submitted, not all done

    def notify(*_: object) -> None:
        with wake:
            wake.notify_all()

    def timed_prepare(raw: Any, index: int) -> PreparedItem:
        start = time.perf_counter()
        try:
            return prepare(raw, index)
        finally:
            stats.add(prepare_seconds_total=time.perf_counter() - start)

    def harvest() -> None:
        for slot, future in [(s, s.future) for s in unharvested if s.future is not None and s.future.done()]:
            unharvested.remove(slot)
            slot.future = None
            slot.window.unprepared -= 1
            try:
                result = future.result()
            except BaseException as exc:  # noqa: BLE001 - one bad item loses only itself
                slot.error = _as_input_error(slot.index, exc)
                continue
            slot.kind, slot.task = result.kind, result.task
            slot.job = Job(
                index=slot.index, task=result.task, prepared=result.prepared, dense=settings.dense,
                multi=settings.multi, dim=settings.dim, max_batch_size=settings.max_batch_size,
                caller=caller, on_done=notify,
            )  # fmt: skip
            slot.window.cost += result.prepared.cost
            slot.window.nbytes += result.prepared.nbytes

    def close_building() -> None:
        nonlocal building
        if building.slots:
            waiting.append(building)
            building = _Window()

    def submit_ready_windows() -> None:
        while in_flight and in_flight[0].finished():
            in_flight.popleft()
        while waiting and waiting[0].unprepared == 0 and len(in_flight) < limits.in_flight:
            window = waiting.popleft()
            failed = [s.error for s in window.slots if s.error is not None]
            if failed and settings.errors == "raise":
                raise failed[0]  # before the window costs any compute
            scheduler.submit([s.job for s in window.slots if s.job is not None])
            in_flight.append(window)

    def pull() -> None:
        nonlocal exhausted, next_index
        while not exhausted and not waiting and len(unharvested) < limits.prefetch:
            try:
                raw = next(iterator)
            except StopIteration:
                exhausted = True
                break
            slot = _Slot(index=next_index, window=building)
            next_index += 1
            building.slots.append(slot)
            building.unprepared += 1
            ordered.append(slot)
            slot.future = pool.submit(timed_prepare, raw, slot.index)
            unharvested.append(slot)
            slot.future.add_done_callback(notify)
            if len(building.slots) >= limits.items:
                close_building()

    def something_to_do() -> bool:
        if ordered and ordered[0].ready:
            return True
        if any(s.future is not None and s.future.done() for s in unharvested):
            return True
        can_submit = len(in_flight) < limits.in_flight or bool(in_flight and in_flight[0].finished())
        return bool(waiting and waiting[0].unprepared == 0 and can_submit)

    bar = tqdm(total=settings.total, desc="encoding", unit="item", disable=not settings.progress)
    cancel = settings.cancel
    try:
        while True:
            if cancel is not None and cancel.is_set():
                return  # ``finally`` drops what is still queued
            harvest()
            if building.full(limits) or (exhausted and building.unprepared == 0):
                close_building()
            submit_ready_windows()
            pull()
            if exhausted and building.slots and building.unprepared == 0:
                close_building()
                submit_ready_windows()
            while ordered and ordered[0].ready:
                slot = ordered.popleft()
                job = slot.job
                error = slot.error if slot.error is not None else (job.error if job is not None else None)
                if error is not None and settings.errors == "raise":
                    raise error
                bar.update(1)
                yield Encoded(
                    index=slot.index,
                    dense=None if job is None or error is not None else job.dense_out,
                    multi=None if job is None or error is not None else job.multi_out,
                    task=slot.task if error is None else None,
                    kind=slot.kind if error is None else None,
                    error=error,
                )
                slot.job, slot.yielded = None, True  # the result is the caller's now; drop our references
            if exhausted and not ordered:
                return
            with wake:
                if not something_to_do():
                    wake.wait(timeout=1.0 if cancel is None else 0.02)  # a set Event cannot notify us
    finally:
        bar.close()
        scheduler.cancel([s.job for s in ordered if s.job is not None])
        for slot in unharvested:
            if slot.future is not None:
                slot.future.cancel()
