"""The model worker: one thread per model runs every forward, batching whatever callers have queued.

Callers submit prepared items (:class:`Job`) from any thread. The worker repeatedly takes the oldest
queued job, plans length-sorted batches under the token budget among the queued jobs that share its
key ``(task, group)`` — whichever callers they came from — runs the batch that contains the oldest job
(so no job starves), and hands each job its own rows. Items queued while a forward runs are coalesced
into the next one: dynamic batching without timers.

Set-task + forward run while holding the backend's lock, the per-model critical section, so other code
that drives the model directly (late chunking) never interleaves with a batch.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..errors import EncodingError, JinaLocalError
from ..models.base import BatchOutput, ModelBackend, Prepared
from ..pooling import truncate_matryoshka
from .stats import BatchEvent, StatsRecorder

__all__ = ["Job", "Scheduler"]

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class Job:
    """One prepared item waiting for (or back from) a forward."""

    index: int
    task: str
    prepared: Prepared
    dense: bool
    multi: bool
    dim: int | None
    max_batch_size: int
    caller: int
    on_done: Callable[[Job], None]
    seq: int = 0
    enqueued: float = 0.0
    cancelled: bool = False
    done: bool = False
    dense_out: np.ndarray | None = None
    multi_out: np.ndarray | None = None
    error: JinaLocalError | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, Hashable]:
        return self.task, self.prepared.group

    @property
    def cost(self) -> int:
        return self.prepared.cost


def _plan(jobs: list[Job], token_budget: int) -> list[list[Job]]:
    """Longest first, cut where the padded size or the smallest per-caller batch cap would be exceeded."""
    ordered = sorted(jobs, key=lambda j: (-j.cost, j.seq))
    batches: list[list[Job]] = []
    current: list[Job] = []
    cap = 0
    for job in ordered:
        if current:
            new_cap = min(cap, job.max_batch_size)
            if len(current) + 1 > new_cap or current[0].cost * (len(current) + 1) > token_budget:
                batches.append(current)
                current = []
        if not current:
            cap = job.max_batch_size
        current.append(job)
        cap = min(cap, job.max_batch_size)
    if current:
        batches.append(current)
    return batches


class Scheduler:
    """Queue of prepared jobs and the thread that runs them on one model."""

    def __init__(self, backend: ModelBackend, stats: StatsRecorder) -> None:
        self._backend = backend
        self._stats = stats
        self._cond = threading.Condition()
        self._pending: dict[tuple[str, Hashable], list[Job]] = {}
        self._pending_count = 0
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    @property
    def pending(self) -> int:
        """Jobs queued and not yet taken into a forward."""
        return self._pending_count

    def submit(self, jobs: list[Job]) -> None:
        """Queue jobs (from any thread); each job's ``on_done`` is called from the worker when it is done."""
        if not jobs:
            return
        now = time.perf_counter()
        with self._cond:
            for job in jobs:
                job.seq = next(self._seq)
                job.enqueued = now
                self._pending.setdefault(job.key, []).append(job)
            self._pending_count += len(jobs)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="jina-local-model", daemon=True)
                self._thread.start()
            self._cond.notify()
        self._stats.add(items_submitted=len(jobs))

    def cancel(self, jobs: list[Job]) -> None:
        """Drop queued jobs that have not started; running ones finish and are ignored by the caller."""
        dropped = 0
        with self._cond:
            for job in jobs:
                if not job.done and not job.cancelled:
                    job.cancelled = True
                    queue = self._pending.get(job.key)
                    if queue is not None and job in queue:
                        queue.remove(job)
                        dropped += 1
                        if not queue:
                            del self._pending[job.key]
            self._pending_count -= dropped
        if dropped:
            self._stats.add(items_cancelled=dropped)

    # ------------------------------------------------------------------ worker
    def _take_batch(self) -> list[Job]:
        """The next batch (called with the condition held, at least one job pending)."""
        oldest = min((queue[0] for queue in self._pending.values()), key=lambda j: j.seq)
        key = self._affine_key(oldest)
        queue = self._pending[key]
        anchor = oldest if key == oldest.key else queue[0]
        batch = next(b for b in _plan(queue, self._backend.token_budget) if anchor in b)
        if getattr(self._backend, "supports_mixed_tasks", False):
            batch = batch + self._fill_from_other_tasks(batch, key)
        chosen = set(map(id, batch))
        for other in {j.key for j in batch}:
            remaining = [j for j in self._pending[other] if id(j) not in chosen]
            if remaining:
                self._pending[other] = remaining
            else:
                del self._pending[other]
        self._pending_count -= len(batch)
        return batch

    def _fill_from_other_tasks(self, batch: list[Job], key: tuple[str, Hashable]) -> list[Job]:
        """Top up a small batch with queued items of the same input kind but other tasks.

        Many small callers with different tasks (a server, threads) would otherwise each get a forward of a
        few items. Only a batch that is at most half full is topped up, so long single-task streams keep
        their merged-weight forwards; the top-up runs with per-row adapters.
        """
        cap = min(j.max_batch_size for j in batch)
        budget = self._backend.token_budget
        longest = max(j.cost for j in batch)
        if len(batch) * 2 > cap or longest * len(batch) * 2 > budget:
            return []
        others = sorted(
            (j for k, queue in self._pending.items() if k[1] == key[1] and k != key for j in queue),
            key=lambda j: j.seq,
        )
        extra: list[Job] = []
        for job in others:
            size = len(batch) + len(extra) + 1
            if size > min(cap, job.max_batch_size) or max(longest, job.cost) * size > budget:
                continue
            extra.append(job)
            longest = max(longest, job.cost)
            cap = min(cap, job.max_batch_size)
        return extra

    def _affine_key(self, oldest: Job) -> tuple[str, Hashable]:
        """Stay on the active task while the oldest job of another task has waited less than a few switches."""
        active = getattr(self._backend, "active_task", None)
        switch = float(getattr(self._backend, "task_switch_seconds", 0.0))
        if active is None or oldest.task == active or switch <= 0:
            return oldest.key
        if time.perf_counter() - oldest.enqueued > 4 * switch:
            return oldest.key
        same_task = [queue[0] for key, queue in self._pending.items() if key[0] == active]
        return min(same_task, key=lambda j: j.seq).key if same_task else oldest.key

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    self._cond.wait()
                batch = self._take_batch()
            self._execute(batch)  # answers every job, whatever the forward did

    def _execute(self, batch: list[Job]) -> None:
        start = time.perf_counter()
        task = batch[0].task
        backend = self._backend
        mixed = len({j.task for j in batch}) > 1
        switched = not mixed and getattr(backend, "active_task", task) != task
        try:
            with backend.lock, torch.inference_mode():
                results = self._forward_with_backoff(batch, task)
        except BaseException as exc:  # noqa: BLE001 - every job must be answered, whatever happened
            results = [(job, None, self._as_error(job, exc)) for job in batch]
        forward_seconds = time.perf_counter() - start
        failed = 0
        for job, rows, error in results:
            job.dense_out, job.multi_out = rows if rows is not None else (None, None)
            job.error = error
            failed += error is not None
        self._stats.add(items_done=len(batch) - failed, items_failed=failed, task_switches=int(switched))
        self._stats.batch(
            BatchEvent(
                task="+".join(sorted({j.task for j in batch})) if mixed else task,
                group=batch[0].prepared.group,
                size=len(batch),
                tokens=sum(j.cost for j in batch),
                padded_tokens=max(j.cost for j in batch) * len(batch),
                queue_waits=tuple(start - j.enqueued for j in batch),
                forward_seconds=forward_seconds,
                callers=len({j.caller for j in batch}),
            )
        )
        for job in batch:
            job.prepared.data = None  # pixels and ids are not needed any more; free them now
            job.done = True
            try:
                job.on_done(job)
            except Exception:  # noqa: BLE001 - a caller's callback must not stop the worker
                logger.exception("jina-local: a completion callback failed")

    def _forward_with_backoff(
        self, batch: list[Job], task: str
    ) -> list[tuple[Job, tuple[np.ndarray | None, np.ndarray | None] | None, JinaLocalError | None]]:
        """Run one batch; on OOM split it in halves; on another failure retry items alone to isolate it."""
        want_dense = any(j.dense for j in batch)
        want_multi = any(j.multi for j in batch)
        row_tasks = [j.task for j in batch]
        extra = {"tasks": row_tasks} if len(set(row_tasks)) > 1 else {}
        try:
            out = self._backend.forward(
                [j.prepared for j in batch], task=row_tasks[0], dense=want_dense, multi=want_multi, **extra
            )
        except torch.OutOfMemoryError as exc:
            if len(batch) == 1:
                return [(batch[0], None, self._as_error(batch[0], exc))]
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            self._stats.add(oom_splits=1)
            half = len(batch) // 2
            return self._forward_with_backoff(batch[:half], task) + self._forward_with_backoff(batch[half:], task)
        except Exception as exc:  # noqa: BLE001 - isolate the item that fails
            if len(batch) == 1:
                return [(batch[0], None, self._as_error(batch[0], exc))]
            return [r for job in batch for r in self._forward_with_backoff([job], task)]
        return [(job, rows, None) for job, rows in zip(batch, self._split(batch, out), strict=True)]

    @staticmethod
    def _split(batch: list[Job], out: BatchOutput) -> list[tuple[np.ndarray | None, np.ndarray | None]]:
        """Per-job rows: dense truncated to each job's Matryoshka dim, multi as float32 numpy."""
        dense_rows: list[np.ndarray | None] = [None] * len(batch)
        if out.dense is not None:
            for dim in {j.dim for j in batch if j.dense}:
                rows = [i for i, j in enumerate(batch) if j.dense and j.dim == dim]
                vectors = truncate_matryoshka(out.dense[rows].float(), dim).cpu().numpy()  # (r, d)
                for k, i in enumerate(rows):
                    dense_rows[i] = vectors[k]
        multi_rows: list[np.ndarray | None] = [None] * len(batch)
        if out.multi is not None:
            for i, job in enumerate(batch):
                if job.multi:
                    multi_rows[i] = out.multi[i].float().cpu().numpy()  # (n_tokens, multi_dim)
        return list(zip(dense_rows, multi_rows, strict=True))

    @staticmethod
    def _as_error(job: Job, exc: BaseException) -> JinaLocalError:
        if isinstance(exc, JinaLocalError):
            return exc
        if isinstance(exc, torch.OutOfMemoryError):
            message = (
                f"item {job.index} ran out of accelerator memory even alone ({job.cost} tokens); "
                "lower max_length / max_pixels or free memory."
            )
        else:
            message = f"item {job.index} could not be encoded: {type(exc).__name__}: {exc}"
        error = EncodingError(message)
        error.__cause__ = exc
        return error
