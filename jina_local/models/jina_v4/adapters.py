"""jina-embeddings-v4 task adapters: one peft LoRA per task, read from the published adapter file.

The file holds every task as ``lora_A.<task>`` / ``lora_B.<task>`` on the seven LM projections of
every layer and on the multi-vector projector (``shared/reference/jina_v4.md`` §2). Each task becomes
one named peft adapter; :class:`TaskSwitcher` makes every LoRA layer compute the active one, as
merged weights when memory allows (``docs/jina_v4.md``, "Task adapters").
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import torch
import torch.nn.functional as F
from peft import LoraConfig, inject_adapter_in_model
from peft.tuners.lora import Linear as LoraLinear
from peft.tuners.tuners_utils import BaseTunerLayer
from safetensors import safe_open
from torch import nn

from ...errors import CheckpointError, TaskError
from ...runtime import available_memory_bytes

__all__ = ["ADAPTER_PREFIX", "MERGE_ENV", "TaskSwitcher", "attach_adapters", "merge_policy", "read_adapter"]

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
        raise CheckpointError(f"{weights_path} has no LoRA weights for task(s) {missing}; it holds {sorted(found)}.")
    return adapter_config, tensors


def attach_adapters(model: nn.Module, adapter_dir: Path, tasks: Sequence[str], dtype: torch.dtype) -> None:
    """Inject one peft LoRA adapter per task and load the published tensors into it, strictly."""
    raw_config, tensors = read_adapter(adapter_dir, tasks)
    lora_config = LoraConfig(
        r=int(raw_config["r"]),
        lora_alpha=float(raw_config["lora_alpha"]),  # type: ignore[arg-type]  # peft annotates int; scaling is lora_alpha / r, any real works
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
        state[key[len(ADAPTER_PREFIX) :]] = value
    own = {name for name in model.state_dict() if ".lora_" in name}
    unexpected = sorted(set(state) - own)
    missing = sorted(own - set(state))
    if unexpected or missing:
        raise CheckpointError(
            f"LoRA adapters in {adapter_dir} do not match the model: {len(missing)} missing "
            f"(e.g. {missing[:3]}), {len(unexpected)} unexpected (e.g. {unexpected[:3]})."
        )
    model.load_state_dict(state, strict=False, assign=False)
    # Cast the LoRA weights only: ``model.to(dtype)`` would also cast the rotary ``inv_freq`` buffers,
    # which transformers keeps in float32; in bf16 they put the angle of position p off by up to
    # p * 2**-9 radians, which is what made bf16 token vectors drift (worst cosine 0.47 vs fp32).
    for name, param in model.named_parameters():
        if ".lora_" in name:
            param.data = param.data.to(dtype)


MERGE_ENV = "JINA_LOCAL_MERGE_ADAPTERS"
"""Environment variable: ``auto`` (default), ``always`` (or ``1``) or ``never`` (or ``0``)."""

_POLICIES = {"auto": "auto", "always": "always", "1": "always", "true": "always",
             "never": "never", "0": "never", "false": "never"}  # fmt: skip
_RESERVE_BYTES = 1 << 30
"""Free memory ``auto`` keeps for activations on top of the merge buffers (or a quarter of them)."""


def merge_policy(value: str | None = None) -> str:
    """``auto`` / ``always`` / ``never`` from ``value`` or the :data:`MERGE_ENV` environment variable."""
    raw = (value if value is not None else os.environ.get(MERGE_ENV, "auto")).strip().lower()
    if raw not in _POLICIES:
        raise TaskError(f"{MERGE_ENV}={raw!r} is not valid; use 'auto', 'always' or 'never'.")
    return _POLICIES[raw]


class TaskSwitcher:
    """Makes every LoRA layer of a model compute one task, merged into its weights when memory allows.

    A window of the engine runs one task, so the fastest forward uses ``W_t = W + scaling_t * B_t @ A_t``
    as plain weights (no LoRA matmuls). The loaded base weights ``W`` stay untouched (parameters and
    ``state_dict`` keep them): ``W_t`` is built into a second buffer per layer on every task change,
    always from ``W``, so switching never
    accumulates rounding drift (the weights after any sequence of switches are bit-identical to a fresh
    merge). Policy ``auto`` merges when the buffers (one more copy of every adapted weight) plus a
    reserve fit in free memory, and otherwise falls back to peft's unmerged LoRA; ``always`` merges
    without checking; ``never`` stays unmerged.

    Not thread-safe on its own: the backend calls it from ``forward``, inside the per-model critical section.
    """

    def __init__(self, model: nn.Module, tasks: Sequence[str], *, merge: str | None = None) -> None:
        self.tasks = tuple(tasks)
        # attach_adapters injects LoRA on linear projections only: every tuner layer is a peft lora.Linear
        self._layers = cast("list[LoraLinear]", [m for m in model.modules() if isinstance(m, BaseTunerLayer)])
        self._pristine = [_linear(layer.get_base_layer()).weight.data for layer in self._layers]
        self._buffers: list[torch.Tensor] | None = None
        self.policy = merge_policy(merge)
        self.active: str | None = None
        self.merged = False
        """Whether the active task runs as merged weights."""
        self.fallback_reason: str | None = None
        """Why ``auto`` fell back to unmerged adapters (None while it has not)."""
        self.last_switch_seconds: float | None = None
        """Wall time of the last merge (building ``W_t`` for every layer)."""

    @property
    def merge_bytes(self) -> int:
        """Extra memory the merge buffers take: one copy of every LoRA-adapted base weight."""
        return sum(w.numel() * w.element_size() for w in self._pristine)

    def pristine_weight(self, layer: nn.Module) -> torch.Tensor:
        """The loaded base weight of ``layer`` (a LoRA layer of the model); merges never write to it."""
        return self._pristine[self._index(layer)]

    def merged_weight(self, layer: nn.Module) -> torch.Tensor | None:
        """``W + scaling * B @ A`` of the active task that ``layer`` computes with, or None when unmerged."""
        return self._buffers[self._index(layer)] if self.merged and self._buffers is not None else None

    def _index(self, layer: nn.Module) -> int:
        for index, own in enumerate(self._layers):
            if own is layer:
                return index
        raise KeyError(f"{type(layer).__name__} is not a LoRA layer of this model")

    def configure(self, merge: str) -> None:
        """Change the policy; the next :meth:`set_task` applies it (the base weights are restored now)."""
        self.policy = merge_policy(merge)
        self._restore_base()
        self.fallback_reason = None
        if self.policy == "never":
            self._buffers = None

    def set_task(self, task: str) -> None:
        if task not in self.tasks:
            raise TaskError(f"task={task!r} is not one of {list(self.tasks)}")
        if task == self.active:
            return
        if self._can_merge():
            self._merge(task)
        else:
            self._restore_base()
            for layer in self._layers:
                layer.set_adapter(task, inference_mode=True)
        self.active = task

    @contextlib.contextmanager
    def mixed(self, row_tasks: Sequence[str]) -> Iterator[None]:
        """Run one forward whose rows use different tasks: the loaded weights plus each row's LoRA.

        peft's per-row adapter routing (``adapter_names``) is given to every LoRA layer for the duration;
        merged forwards, if any, step aside and come back unchanged afterwards (their buffers are not
        touched, so the active task needs no new merge).
        """
        unknown = sorted(set(row_tasks) - set(self.tasks))
        if unknown:
            raise TaskError(f"task(s) {unknown} are not among {list(self.tasks)}")
        names = list(row_tasks)
        parked = [(layer, layer.__dict__.pop("forward")) for layer in self._layers if "forward" in layer.__dict__]

        def route_rows(_module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            return args, {**kwargs, "adapter_names": names}

        hooks = [layer.register_forward_pre_hook(route_rows, with_kwargs=True) for layer in self._layers]
        try:
            yield
        finally:
            for hook in hooks:
                hook.remove()
            for layer, forward in parked:
                layer.forward = forward  # type: ignore[method-assign]  # puts back the merged forward parked above

    def _restore_base(self) -> None:
        for layer in self._layers:
            layer.__dict__.pop("forward", None)  # back to peft's own (unmerged) forward
        self.merged = False
        self.active = None

    def _can_merge(self) -> bool:
        if self.policy == "never" or self.fallback_reason is not None:
            return False
        if self._buffers is None:
            self._buffers = self._allocate()
        return self._buffers is not None

    def _allocate(self) -> list[torch.Tensor] | None:
        need = self.merge_bytes
        device = self._pristine[0].device if self._pristine else torch.device("cpu")
        if self.policy == "auto":
            free = available_memory_bytes(device)
            reserve = max(_RESERVE_BYTES, need // 4)
            if free is not None and need + reserve > free:
                self._fall_back(
                    f"merging the task adapters needs {need / 2**20:.0f} MiB more on {device}, plus a "
                    f"{reserve / 2**20:.0f} MiB reserve, but only {free / 2**20:.0f} MiB are free"
                )
                return None
        try:
            with torch.inference_mode(False):
                return [torch.empty_like(w) for w in self._pristine]
        except (torch.OutOfMemoryError, RuntimeError) as exc:  # the CPU allocator raises RuntimeError
            if self.policy == "always":
                raise
            self._fall_back(f"allocating {need / 2**20:.0f} MiB of merge buffers on {device} failed ({exc})")
            return None

    def _fall_back(self, reason: str) -> None:
        self.fallback_reason = reason
        warnings.warn(
            f"jina-embeddings-v4 runs its task adapters unmerged (about 15 % slower): {reason}. "
            f"Set {MERGE_ENV}=never to silence this, or free memory.",
            RuntimeWarning,
            stacklevel=4,
        )

    def _merge(self, task: str) -> None:
        start = time.perf_counter()
        assert self._buffers is not None
        with torch.inference_mode(False), torch.no_grad():
            for layer, base, buffer in zip(self._layers, self._pristine, self._buffers):
                a = _linear(layer.lora_A[task]).weight  # (r, in)
                b = _linear(layer.lora_B[task]).weight  # (out, r)
                scaling = float(layer.scaling[task])
                if base.dtype == torch.float32:
                    torch.addmm(base, b, a, alpha=scaling, out=buffer)  # (out, in), one rounding
                else:  # bf16 / fp16: add in fp32, round once
                    buffer.copy_(torch.addmm(base.float(), b.float(), a.float(), alpha=scaling))
                # The layer computes with the buffer; its parameters (and state_dict) keep the loaded weights.
                layer.forward = _MergedLinear(  # type: ignore[method-assign]  # on purpose: shadows peft's forward; _restore_base pops it
                    buffer, _linear(layer.get_base_layer()).bias
                )
        self.merged = True
        self.last_switch_seconds = time.perf_counter() - start


def _linear(module: nn.Module) -> nn.Linear:
    """A LoRA base layer or factor as the ``nn.Linear`` it is (``Module.__getattr__`` types it loosely)."""
    return cast(nn.Linear, module)


class _MergedLinear:
    """The forward of a LoRA layer while its task is merged: one plain linear with ``W_t``."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
        self.weight = weight  # (out, in)
        self.bias = bias  # (out,) or None

    def __call__(self, x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias)
