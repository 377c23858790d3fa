"""``embed_dataset``: a Ray Data ``map_batches`` stage on an actor pool, one model per actor."""

from __future__ import annotations

import os
import warnings
from typing import Any

import ray

from ..errors import OptionError
from ._encoder import EncodeBatches
from ._rows import prepare_rows

__all__ = ["EncodeBatches", "embed_dataset", "prepare_rows"]

_OUTPUTS = ("dense", "multi", "both", "auto")
_REMOTE_ARGS_DEPRECATED = r"`ray_remote_args` is deprecated"


def _positive(name: str, value: Any, *, allow_none: bool = True) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise OptionError(f"{name}={value!r} must be a positive integer" + (" or None." if allow_none else "."))


def _pool_size(concurrency: int | tuple[int, int] | None, num_gpus: float) -> tuple[int, int]:
    if concurrency is None:
        if num_gpus > 0:
            gpus = ray.cluster_resources().get("GPU", 0) if ray.is_initialized() else 0
            size = max(1, int(gpus // num_gpus))
            return size, size
        return 1, 1
    if isinstance(concurrency, tuple) and len(concurrency) == 2:
        low, high = concurrency
        _positive("concurrency[0]", low, allow_none=False)
        _positive("concurrency[1]", high, allow_none=False)
        if low > high:
            raise OptionError(f"concurrency={concurrency!r}: the minimum is larger than the maximum.")
        return low, high
    _positive("concurrency", concurrency, allow_none=False)
    return int(concurrency), int(concurrency)


def embed_dataset(
    ds: ray.data.Dataset,
    model: str | os.PathLike[str],
    *,
    column: str = "item",
    output: str = "both",
    task: str | None = "auto",
    dim: int | None = None,
    late_chunking: bool = False,
    concurrency: int | tuple[int, int] | None = None,
    num_gpus: float | None = None,
    num_cpus: float = 1,
    batch_size: int = 256,
    max_batch_size: int | None = None,
    device: str = "auto",
    dtype: str = "auto",
    max_restarts: int | None = None,
    chunk_tokens: int | None = None,
    overlap_tokens: int | None = None,
    pdf_text: bool = False,
) -> ray.data.Dataset:
    """Embed the ``column`` of a Ray Dataset on an actor pool; returns the dataset with vector columns added.

    ``model``: a hub id or a folder that every actor can read (each actor loads it once). Items are
    text (``str``) or image file bytes; a file listing (``read_binary_files(..., include_paths=True)``,
    ``from_items([{"path": ...}])`` or ``pathlib.Path`` items) is cut by the documents layer inside the
    actors into the chunks ``index_files`` makes, with their locations and point ``id`` (PDFs become
    pages; see :mod:`jina_local.ray._files`).
    Added columns: ``dense`` (``output`` "dense"/"both"), ``multi`` ("multi"/"both"; ``"auto"``:
    "both" when the model makes token vectors, else "dense"), ``task``,
    ``kind``, ``error`` (null, or why the row failed: a bad row never stops the job).

    ``concurrency``: actors (an int, or ``(min, max)`` to autoscale; default one per GPU with
    ``num_gpus``, else 1). ``num_gpus``: GPUs per actor (default 1 when the cluster has GPUs, else 0).
    ``num_cpus``: CPUs reserved per actor (Ray also sizes the actor's torch threads by it).
    ``batch_size``: rows per actor call, the window the engine length-sorts into forwards of at most
    ``max_batch_size`` items under its token budget (more rows sort better; the engine bounds memory).
    ``late_chunking``: each row (or file) is one document whose chunks are encoded in one forward;
    output rows are its chunks (``chunk`` column).
    ``chunk_tokens`` / ``overlap_tokens`` / ``pdf_text``: how files are cut (as in ``index_files``).
    ``max_restarts``: how often a dead actor is restarted (and its batch retried) before the job fails;
    ``None`` keeps Ray Data's default, which restarts and retries without limit. With a limit, the
    per-block stage before the encoders no longer fuses into the actors (Ray fuses stages with equal
    remote options only) and runs as tasks of one CPU each, so leave a CPU free beside the actors.
    """
    if hasattr(model, "info") and hasattr(model, "encode"):
        raise OptionError(
            "embed_dataset() needs the model's hub id or folder, not a loaded Embedder: each actor loads "
            "its own copy. Pass e.g. model.info.path."
        )
    if not isinstance(model, (str, os.PathLike)):
        raise OptionError(f"model must be a hub id or a folder path, got {type(model).__name__}.")
    if not isinstance(column, str) or not column:
        raise OptionError(f"column={column!r} must name the dataset column that holds the items.")
    if output not in _OUTPUTS:
        raise OptionError(f"output={output!r} is not valid; use 'dense', 'multi', 'both' or 'auto'.")
    _positive("batch_size", batch_size, allow_none=False)
    _positive("max_batch_size", max_batch_size)
    _positive("dim", dim)
    if max_restarts is not None and (
        isinstance(max_restarts, bool) or not isinstance(max_restarts, int) or max_restarts < 0
    ):
        raise OptionError(f"max_restarts={max_restarts!r} must be None or an integer >= 0.")
    if num_gpus is None:
        num_gpus = 1 if ray.is_initialized() and ray.cluster_resources().get("GPU", 0) >= 1 else 0
    if num_gpus < 0 or num_cpus < 0:
        raise OptionError(f"num_gpus={num_gpus!r} and num_cpus={num_cpus!r} must be >= 0.")
    low, high = _pool_size(concurrency, num_gpus)
    _positive("chunk_tokens", chunk_tokens)
    files: dict[str, Any] = {"pdf_text": bool(pdf_text)}
    if chunk_tokens is not None:
        files["chunk_tokens"] = chunk_tokens
    if overlap_tokens is not None:
        files["overlap_tokens"] = overlap_tokens
    restarts: dict[str, Any] = (
        {} if max_restarts is None else {"max_restarts": max_restarts, "max_task_retries": max_restarts}
    )
    prepared = ds.map_batches(
        prepare_rows,  # type: ignore[arg-type]  # ray's stub takes a one-argument fn; fn_kwargs passes the rest
        fn_kwargs={"column": column, "late_chunking": late_chunking},
        batch_format="pyarrow",
        batch_size=None,
    )
    restarts = {} if max_restarts is None else {"max_restarts": max_restarts, "max_task_retries": max_restarts}
    with warnings.catch_warnings():
        if restarts:
            # Ray 2.60 has no named map_batches parameter for actor restarts: they still go through
            # **ray_remote_args, which Ray deprecates (removal announced for Ray 2.64, hence ray<2.64 in
            # the `ray` extra). Without max_restarts nothing goes that way: Ray Data's default restarts
            # dead actors and retries their batches without limit.
            warnings.filterwarnings("ignore", message=_REMOTE_ARGS_DEPRECATED, category=DeprecationWarning)
        return prepared.map_batches(
            EncodeBatches,
            fn_constructor_args=(os.fspath(model),),
            fn_constructor_kwargs={
                "column": column,
                "output": output,
                "task": task,
                "dim": dim,
                "late_chunking": late_chunking,
                "max_batch_size": max_batch_size,
                "device": device,
                "dtype": dtype,
                "files": files,
            },
            batch_format="pyarrow",
            batch_size=batch_size,
            compute=ray.data.ActorPoolStrategy(min_size=low, max_size=high),
            num_gpus=num_gpus,
            num_cpus=num_cpus,
            **restarts,
        )
