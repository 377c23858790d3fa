"""Reading safetensors checkpoints lazily, and the checks every loader makes.

Every file problem a loader meets (missing, truncated, not JSON, pickle instead of safetensors) becomes
one :class:`~jina_local.errors.CheckpointError` that names the file and how to get a good copy.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Iterator, KeysView
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open

from ..errors import CheckpointError, JinaLocalError

__all__ = [
    "SafetensorsReader",
    "dominant_dtype",
    "fail_on_mismatch",
    "no_meta",
    "read_json",
    "reading",
    "require_safetensors",
]


@contextlib.contextmanager
def reading(where: object, what: str, fix: str) -> Iterator[None]:
    """Turn any error while reading ``where`` (a path) into a :class:`CheckpointError` naming it, ``what`` it is and the ``fix``."""
    try:
        yield
    except JinaLocalError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure reading a checkpoint file means a broken file
        raise CheckpointError(f"{where}: {what} could not be read ({type(exc).__name__}: {exc}). {fix}") from exc


def read_json(path: Path, what: str, fix: str) -> dict[str, Any]:
    """A JSON object from ``path``, or a :class:`CheckpointError` that says which file is broken."""
    with reading(path, what, fix):
        value = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(value, dict):
        raise CheckpointError(f"{path}: {what} must be a JSON object, not {type(value).__name__}. {fix}")
    return value


def require_safetensors(model_dir: Path, repo_id: str) -> list[Path]:
    """The weight files of ``model_dir``: ``model.safetensors`` or every shard its index lists.

    Pickle weights (``pytorch_model*.bin``, ``*.pt``) are never loaded: a folder with only those is refused.
    """
    fix = f"Download the *.safetensors files of {repo_id} (e.g. `hf download {repo_id}`) into {model_dir}."
    single, index = model_dir / "model.safetensors", model_dir / "model.safetensors.index.json"
    if single.is_file():
        return [single]
    if index.is_file():
        weight_map = read_json(index, "the shard index", fix).get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise CheckpointError(f"{index} has no weight_map listing the shards. {fix}")
        files = [model_dir / name for name in sorted(set(map(str, weight_map.values())))]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise CheckpointError(f"{model_dir} lacks shard(s) {', '.join(missing)} listed in {index.name}. {fix}")
        return files
    pickles = sorted(p.name for pattern in ("*.bin", "*.pt", "*.pth", "*.ckpt") for p in model_dir.glob(pattern))
    if pickles:
        raise CheckpointError(
            f"{model_dir} holds only pickle weights ({', '.join(pickles[:3])}); jina-local never loads pickle files "
            f"(they can run code). {fix}"
        )
    raise CheckpointError(f"{model_dir} has no model.safetensors and no model.safetensors.index.json. {fix}")


class SafetensorsReader:
    """Lazy access to the tensors of ``model.safetensors`` (or a sharded ``model.safetensors.index.json``)."""

    def __init__(self, model_dir: Path, repo_id: str = "jinaai/jina-clip-v2") -> None:
        self._where: dict[str, Any] = {}
        self._handles = []
        fix = f"The file is damaged or incomplete; download it again from {repo_id}."
        for path in require_safetensors(model_dir, repo_id):
            with reading(path, "the safetensors weights", fix):
                handle = safe_open(str(path), framework="pt", device="cpu")
                self._handles.append(handle)
                for key in handle.keys():  # noqa: SIM118 - safe_open is not iterable
                    self._where[key] = handle
        self._fix = fix

    def keys(self) -> KeysView[str]:
        return self._where.keys()

    def shape(self, key: str) -> tuple[int, ...]:
        return tuple(self._where[key].get_slice(key).get_shape())

    def dtype(self, key: str) -> str:
        return str(self._where[key].get_slice(key).get_dtype())

    def get(self, key: str) -> torch.Tensor:
        with reading(f"tensor {key}", "a tensor of the safetensors weights", self._fix):
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
    counts = Counter(reader.dtype(k) for k in reader.keys())  # noqa: SIM118
    names = {"F16": "float16", "BF16": "bfloat16", "F32": "float32", "F64": "float64"}
    top = counts.most_common(1)[0][0] if counts else "unknown"
    return names.get(top, top.lower())
