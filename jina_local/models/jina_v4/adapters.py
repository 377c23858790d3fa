"""jina-embeddings-v4 task adapters: one peft LoRA per task, read from the published adapter file.

The file holds every task as ``lora_A.<task>`` / ``lora_B.<task>`` on the seven LM projections of
every layer and on the multi-vector projector (``shared/reference/jina_v4.md`` §2). Each task becomes
one named peft adapter; :class:`TaskSwitcher` routes every LoRA layer to the active one.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, inject_adapter_in_model
from peft.tuners.tuners_utils import BaseTunerLayer
from safetensors import safe_open
from torch import nn

from ...errors import CheckpointError, TaskError

__all__ = ["ADAPTER_PREFIX", "TaskSwitcher", "attach_adapters", "read_adapter"]

ADAPTER_PREFIX = "base_model.model."


def read_adapter(adapter_dir: Path, tasks: Sequence[str]) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """``adapter_config.json`` and every tensor of ``adapter_model.safetensors``; checks every task is there."""
    config_path = adapter_dir / "adapter_config.json"
    weights_path = adapter_dir / "adapter_model.safetensors"
    for path in (config_path, weights_path):
        if not path.is_file():
            raise CheckpointError(
                f"{path} is missing: jina-embeddings-v4 keeps its task LoRA adapters in "
                f"'{adapter_dir.name}/'. Download the whole repository (including adapters/*)."
            )
    adapter_config = json.loads(config_path.read_text(encoding="utf-8"))
    if adapter_config.get("peft_type", "LORA") != "LORA":
        raise CheckpointError(f"{config_path}: peft_type {adapter_config.get('peft_type')!r} is not LORA.")
    tensors: dict[str, torch.Tensor] = {}
    with safe_open(str(weights_path), framework="pt") as handle:
        for key in handle.keys():  # noqa: SIM118 - safe_open has no __iter__
            tensors[key] = handle.get_tensor(key)
    found = {m.group(1) for key in tensors if (m := re.search(r"\.lora_[AB]\.([^.]+)\.weight$", key))}
    missing = [t for t in tasks if t not in found]
    if missing:
        raise CheckpointError(
            f"{weights_path} has no LoRA weights for task(s) {missing}; it holds {sorted(found)}."
        )
    return adapter_config, tensors


def attach_adapters(model: nn.Module, adapter_dir: Path, tasks: Sequence[str], dtype: torch.dtype) -> None:
    """Inject one peft LoRA adapter per task and load the published tensors into it, strictly."""
    raw_config, tensors = read_adapter(adapter_dir, tasks)
    lora_config = LoraConfig(
        r=int(raw_config["r"]),
        lora_alpha=float(raw_config["lora_alpha"]),
        target_modules=raw_config["target_modules"],
        exclude_modules=raw_config.get("exclude_modules"),
        lora_dropout=0.0,
        bias="none",
        use_rslora=bool(raw_config.get("use_rslora", False)),
        use_dora=bool(raw_config.get("use_dora", False)),
        init_lora_weights=False,
    )
    with warnings.catch_warnings():
        # peft warns when a second adapter is injected; several named adapters are the point here.
        warnings.filterwarnings("ignore", message="Already found a `peft_config`", category=UserWarning)
        for task in tasks:
            inject_adapter_in_model(lora_config, model, adapter_name=task)
    state: dict[str, torch.Tensor] = {}
    for key, value in tensors.items():
        if not key.startswith(ADAPTER_PREFIX):
            raise CheckpointError(f"adapter key {key!r} does not start with {ADAPTER_PREFIX!r}")
        state[key[len(ADAPTER_PREFIX):]] = value
    own = {name for name in model.state_dict() if ".lora_" in name}
    unexpected = sorted(set(state) - own)
    missing = sorted(own - set(state))
    if unexpected or missing:
        raise CheckpointError(
            f"LoRA adapters in {adapter_dir} do not match the model: {len(missing)} missing "
            f"(e.g. {missing[:3]}), {len(unexpected)} unexpected (e.g. {unexpected[:3]})."
        )
    model.load_state_dict(state, strict=False, assign=False)
    model.to(dtype)


class TaskSwitcher:
    """Routes every LoRA layer of a model to one task's adapter (base weights stay as loaded).

    Not thread-safe on its own: the engine calls it inside the per-model critical section.
    """

    def __init__(self, model: nn.Module, tasks: Sequence[str]) -> None:
        self.tasks = tuple(tasks)
        self._layers = [m for m in model.modules() if isinstance(m, BaseTunerLayer)]
        self.active: str | None = None

    def set_task(self, task: str) -> None:
        if task not in self.tasks:
            raise TaskError(f"task={task!r} is not one of {list(self.tasks)}")
        if task != self.active:
            for layer in self._layers:
                layer.set_adapter(task)
            self.active = task
