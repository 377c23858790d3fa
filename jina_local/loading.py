"""``jina_local.load``: find the files, tell the family, build the backend; one copy per process.

Every model :func:`load` builds is remembered (weakly) under its folder, device, dtype and revision.
``load(..., shared=True)`` returns that model when it is still alive instead of loading the weights
again, so the framework wrappers (LangChain, LlamaIndex, the Qdrant store) built from the same name
share one copy of the weights. A model nobody holds any more is freed as usual.
"""

from __future__ import annotations

import os
import threading
import weakref
from pathlib import Path
from typing import Any

import torch

from .embedder import Embedder
from .models.registry import (
    MODEL_SPECS,
    detect_family,
    family_loader,
    read_config,
    resolve_model_dir,
)
from .runtime import resolve_device, resolve_dtype

__all__ = ["hf_style_options", "load", "loaded_models"]

_CacheKey = tuple[str, str, str, str | None]
_loaded: weakref.WeakValueDictionary[_CacheKey, Embedder] = weakref.WeakValueDictionary()
_key_locks: dict[_CacheKey, threading.Lock] = {}
_registry_lock = threading.Lock()


def _key(model_dir: Path, device: torch.device, dtype: torch.dtype, revision: str | None) -> _CacheKey:
    return (str(model_dir.resolve()), str(device), str(dtype).removeprefix("torch."), revision)


def load(
    name_or_path: str | os.PathLike[str],
    *,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype = "auto",
    revision: str | None = None,
    local_files_only: bool | None = None,
    shared: bool = False,
) -> Embedder:
    """Load jina-embeddings-v4 or jina-clip-v2 from a folder or a Hugging Face id.

    ``device="auto"`` uses CUDA when present, else the CPU; ``dtype="auto"`` is bfloat16 on CUDA, and
    on the CPU bfloat16 for jina-embeddings-v4 when the CPU has native bf16 (AVX512-BF16 / AMX),
    float32 otherwise. An id is looked up in the local Hugging Face cache first and downloaded only
    when it is missing there and downloading is allowed (``local_files_only`` not True, and
    ``HF_HUB_OFFLINE`` unset). No remote code is ever run.

    ``shared=True`` returns the model already loaded in this process from the same files on the
    same device in the same dtype (by any ``load`` call), and loads it only when there is none;
    concurrent callers wait for one load. ``shared=False`` (default) always builds a new copy.

    A ``device`` or ``dtype`` that cannot be used (CUDA without a CUDA build of torch, ``"int8"``) and
    a name that is not a str or path raise :class:`~jina_local.errors.OptionError` before any file is read.
    """
    torch_device = resolve_device(device)  # bad options fail before any file is looked up or fetched
    if dtype != "auto":
        resolve_dtype(dtype, torch_device)
    model_dir = resolve_model_dir(name_or_path, revision=revision, local_files_only=local_files_only)
    # bf16 on CPUs with native bf16 only where the family's bf16 outputs were validated (docs/jina_v4.md).
    family = detect_family(read_config(model_dir), model_dir)
    torch_dtype = resolve_dtype(dtype, torch_device, cpu_bf16=family == "jina_v4")
    key = _key(model_dir, torch_device, torch_dtype, revision)
    if not shared:
        return _build(model_dir, name_or_path, torch_device, torch_dtype, revision, key)
    with _registry_lock:
        lock = _key_locks.setdefault(key, threading.Lock())
    with lock:  # one load per key at a time; others wait and then find it
        model = _loaded.get(key)
        if model is None:
            model = _build(model_dir, name_or_path, torch_device, torch_dtype, revision, key)
        return model


def _build(
    model_dir: Path, name_or_path: Any, device: torch.device, dtype: torch.dtype, revision: str | None, key: _CacheKey
) -> Embedder:
    config = read_config(model_dir)
    family = detect_family(config, model_dir)
    backend = family_loader(family)(
        model_dir,
        config,
        device=device,
        dtype=dtype,
        spec=MODEL_SPECS[family],
        name=str(name_or_path),
        revision=revision,
    )
    model = Embedder(backend)
    with _registry_lock:
        _loaded.setdefault(key, model)  # the first copy stays the shared one
    return model


def loaded_models() -> list[Embedder]:
    """The models alive in this process that ``load(..., shared=True)`` can hand out."""
    with _registry_lock:
        return list(_loaded.values())


# --------------------------------------------------------------------------- framework conventions
_MODEL_KWARGS = {
    "device": "device",
    "torch_dtype": "dtype",
    "dtype": "dtype",
    "revision": "revision",
    "local_files_only": "local_files_only",
}
_ENCODE_KWARGS = {
    "batch_size": "batch_size",
    "show_progress_bar": "show_progress",
    "truncate_dim": "dimensions",
    "max_length": "max_length",
    "max_seq_length": "max_length",
}


def hf_style_options(
    model_kwargs: dict[str, Any] | None = None,
    encode_kwargs: dict[str, Any] | None = None,
    query_encode_kwargs: dict[str, Any] | None = None,
    *,
    owner: str = "this class",
) -> dict[str, Any]:
    """Translate langchain-huggingface / sentence-transformers style options into jina-local fields.

    ``model_kwargs``: ``device``, ``torch_dtype`` / ``dtype``, ``revision``, ``local_files_only``.
    ``encode_kwargs`` / ``query_encode_kwargs``: ``batch_size``, ``show_progress_bar``,
    ``truncate_dim`` (-> ``dimensions``), ``max_length``, ``normalize_embeddings=True`` (vectors are
    always normalised), ``task`` (-> ``document_task`` / ``query_task``). Anything else raises
    :class:`~jina_local.errors.InputError` naming the key and the field to use instead.

    >>> hf_style_options({"device": "cpu"}, {"batch_size": 8, "normalize_embeddings": True})
    {'device': 'cpu', 'batch_size': 8}
    """
    from .errors import InputError

    out: dict[str, Any] = {}
    for key, value in (model_kwargs or {}).items():
        if key == "trust_remote_code":
            if value:
                raise InputError(
                    f"{owner}: model_kwargs['trust_remote_code'] is refused: jina-local never runs "
                    "remote code (the models are implemented natively). Drop the key."
                )
            continue
        if key not in _MODEL_KWARGS:
            raise InputError(
                f"{owner}: model_kwargs[{key!r}] is not supported; jina-local takes device, dtype "
                "(torch_dtype), revision and local_files_only there, or as fields of the same names."
            )
        out[_MODEL_KWARGS[key]] = str(value).removeprefix("torch.") if key in ("torch_dtype", "dtype") else value
    for which, kwargs, task_field in (
        ("encode_kwargs", encode_kwargs, "document_task"),
        ("query_encode_kwargs", query_encode_kwargs, "query_task"),
    ):
        for key, value in (kwargs or {}).items():
            if key == "normalize_embeddings":
                if not value:
                    raise InputError(
                        f"{owner}: {which}['normalize_embeddings']=False is not supported: jina-local "
                        "vectors are always L2-normalised (cosine = dot product)."
                    )
                continue
            if key in ("task", "prompt_name"):
                out[task_field] = value
                continue
            if key in ("prompt", "prompts"):
                raise InputError(
                    f"{owner}: {which}[{key!r}] is not supported: the model's own prompts are applied "
                    f"by task and role; choose the adapter with {task_field}= instead."
                )
            if key not in _ENCODE_KWARGS:
                raise InputError(
                    f"{owner}: {which}[{key!r}] is not supported; use the fields batch_size, "
                    "show_progress, dimensions, max_length, max_pixels, late_chunking, query_task or "
                    "document_task."
                )
            field = _ENCODE_KWARGS[key]
            if which == "query_encode_kwargs" and field in out and out[field] != value:
                raise InputError(
                    f"{owner}: query_encode_kwargs[{key!r}] differs from encode_kwargs; jina-local "
                    f"uses one {field} for queries and documents."
                )
            out[field] = value
    return out
