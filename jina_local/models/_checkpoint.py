"""Reading safetensors checkpoints lazily, and the checks every loader makes."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import KeysView
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open

from ..errors import CheckpointError

__all__ = ["SafetensorsReader", "dominant_dtype", "fail_on_mismatch", "no_meta"]


class SafetensorsReader:
    """Lazy access to the tensors of ``model.safetensors`` (or a sharded ``model.safetensors.index.json``)."""

    def __init__(self, model_dir: Path) -> None:
        single, index = model_dir / "model.safetensors", model_dir / "model.safetensors.index.json"
        if single.is_file():
            files = [single]
        elif index.is_file():
            weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map", {})
            files = [model_dir / name for name in sorted(set(weight_map.values()))]
        else:
            raise CheckpointError(
                f"{model_dir} has no model.safetensors: jina-clip-v2 loads only safetensors weights. "
                "Download model.safetensors from jinaai/jina-clip-v2 into this folder."
            )
        self._where: dict[str, Any] = {}
        self._handles = []
        for path in files:
            handle = safe_open(str(path), framework="pt", device="cpu")
            self._handles.append(handle)
            for key in handle.keys():
                self._where[key] = handle

    def keys(self) -> KeysView[str]:
        return self._where.keys()

    def shape(self, key: str) -> tuple[int, ...]:
        return tuple(self._where[key].get_slice(key).get_shape())

    def dtype(self, key: str) -> str:
        return str(self._where[key].get_slice(key).get_dtype())

    def get(self, key: str) -> torch.Tensor:
        return self._where[key].get_tensor(key)


def fail_on_mismatch(missing: list[str], unexpected: list[str], where: Path) -> None:
    """Raise :class:`CheckpointError` listing missing and unexpected weights, if there are any."""
    if not missing and not unexpected:
        return

    def listing(names: list[str]) -> str:
        shown = ", ".join(sorted(names)[:20])
        return f"{len(names)} ({shown}{', ...' if len(names) > 20 else ''})"

    raise CheckpointError(
        f"{where} does not match the jina-clip-v2 layout: missing weights {listing(missing)}; "
        f"unexpected weights {listing(unexpected)}. The file is incomplete or belongs to another model; "
        "re-download jinaai/jina-clip-v2's model.safetensors."
    )


def no_meta(module: torch.nn.Module, what: str) -> None:
    """Refuse a module that still holds tensors on the meta device after loading."""
    left = [n for n, t in (*module.named_parameters(), *module.named_buffers()) if t.is_meta]
    if left:
        raise CheckpointError(f"{what}: {len(left)} tensors were not materialised ({', '.join(left[:5])}).")


def dominant_dtype(reader: SafetensorsReader) -> str:
    """The dtype most tensors are stored in (``"float16"``, ``"bfloat16"``, ...)."""
    counts = Counter(reader.dtype(k) for k in reader.keys())
    names = {"F16": "float16", "BF16": "bfloat16", "F32": "float32", "F64": "float64"}
    top = counts.most_common(1)[0][0] if counts else "unknown"
    return names.get(top, top.lower())
