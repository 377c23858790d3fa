"""``jina_local.load``: find the files, tell the family, build the backend."""

from __future__ import annotations

import os

import torch

from .embedder import Embedder
from .models.registry import MODEL_SPECS, detect_family, family_loader, read_config, resolve_model_dir
from .runtime import resolve_device, resolve_dtype

__all__ = ["load"]


def load(
    name_or_path: str | os.PathLike[str],
    *,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype = "auto",
    revision: str | None = None,
    local_files_only: bool | None = None,
) -> Embedder:
    """Load jina-embeddings-v4 or jina-clip-v2 from a folder or a Hugging Face id.

    ``device="auto"`` uses CUDA when present, else the CPU; ``dtype="auto"`` is bfloat16 on CUDA, and
    on the CPU bfloat16 for jina-embeddings-v4 when the CPU has native bf16 (AVX512-BF16 / AMX),
    float32 otherwise. An id is looked up in the local Hugging Face cache first and downloaded only
    when it is missing there and downloading is allowed (``local_files_only`` not True, and
    ``HF_HUB_OFFLINE`` unset). No remote code is ever run.
    """
    model_dir = resolve_model_dir(name_or_path, revision=revision, local_files_only=local_files_only)
    config = read_config(model_dir)
    family = detect_family(config, model_dir)
    torch_device = resolve_device(device)
    # bf16 on CPUs with native bf16 only where the family's bf16 outputs were validated (docs/jina_v4.md).
    torch_dtype = resolve_dtype(dtype, torch_device, cpu_bf16=family == "jina_v4")
    backend = family_loader(family)(
        model_dir,
        config,
        device=torch_device,
        dtype=torch_dtype,
        spec=MODEL_SPECS[family],
        name=str(name_or_path),
        revision=revision,
    )
    return Embedder(backend)
