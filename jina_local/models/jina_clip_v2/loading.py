"""Loading jina-clip-v2 from the published folder: key renaming, the LoRA merge, strict checks.

``config.json`` (``model_type: jina_clip``), ``model.safetensors``, ``tokenizer.json`` and
``preprocessor_config.json`` are read as plain files; ``auto_map`` is never followed. The one text LoRA
(``retrieval.query``) is always active in the original, so it is merged into the base weights once
with scaling ``lora_alpha / lora_rank``; the fused ``mixer.Wqkv`` is split into q/k/v
(``reference/jina_clip_v2.md`` §2-3).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ...errors import CheckpointError
from ...pooling import weights_fingerprint
from ...types import ModelInfo
from .._checkpoint import SafetensorsReader, dominant_dtype, fail_on_mismatch, no_meta
from ..base import ModelBackend
from .backend import JinaClipV2Backend
from .eva02 import Eva02Config, Eva02VisionTower
from .processing import (
    DEFAULT_MAX_LENGTH,
    QUERY_PROMPT,
    ClipTextProcessor,
    ImageSettings,
    load_tokenizer,
)
from .text_tower import (
    TEXT_PREFIX,
    build_text_model,
    materialise_text_buffers,
    pad_id,
    rope_theta,
    text_inv_freq,
    text_shape,
)

if TYPE_CHECKING:
    from transformers import JinaEmbeddingsV3Model

    from ..registry import ModelSpec

__all__ = ["LoadReport", "load_backend"]

logger = logging.getLogger(__name__)

_VISION_PREFIX = "vision_model."
# Scalars used only for CLIP logits, never for embeddings.
_LOGIT_KEYS = frozenset({"logit_scale", "logit_bias"})

_TEXT_RENAMES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), repl)
    for pattern, repl in (
        (r"^emb_ln\.", "embeddings.LayerNorm."),
        (r"^embeddings\.(word|token_type)_embeddings\.", r"embeddings.\1_embeddings."),
        (r"^encoder\.layers\.(\d+)\.mixer\.Wqkv\.", r"layers.\1.self_attn.Wqkv."),
        (r"^encoder\.layers\.(\d+)\.mixer\.out_proj\.", r"layers.\1.self_attn.o_proj."),
        (r"^encoder\.layers\.(\d+)\.mlp\.(fc1|fc2)\.", r"layers.\1.mlp.\2."),
        (r"^encoder\.layers\.(\d+)\.norm1\.", r"layers.\1.post_attention_layernorm."),
        (r"^encoder\.layers\.(\d+)\.norm2\.", r"layers.\1.post_mlp_layernorm."),
    )
)
_PARAM_RE = re.compile(r"^(?P<base>.+)\.parametrizations\.weight\.(?P<part>original|0\.lora_A|0\.lora_B)$")
_TEXT_ROPE_RE = re.compile(r"^encoder\.layers\.\d+\.mixer\.rotary_emb\.inv_freq$")


@dataclass(frozen=True)
class LoadReport:
    """What loading found: checkpoint keys not used, model weights not filled, keys checked and skipped."""

    missing: tuple[str, ...]
    unexpected: tuple[str, ...]
    ignored: tuple[str, ...]
    checkpoint_dtype: str
    lora_scaling: float
    lora_b_norm: float


def _convert_text(
    reader: SafetensorsReader,
    model: JinaEmbeddingsV3Model,
    lora: dict[str, Any],
    device: torch.device,
    dtype: torch.dtype,
) -> tuple[dict[str, torch.Tensor], list[str], list[str], float, float]:
    """Text weights renamed to the transformers layout with the LoRA merged; (state, unexpected, ignored, ...)."""
    unexpected: list[str] = []
    ignored: list[str] = []
    parts: dict[str, dict[str, str]] = {}  # source module path -> {"original"|"lora_A"|"lora_B": key}
    plain: dict[str, str] = {}  # source name -> key
    for key in reader.keys():  # noqa: SIM118 - a safetensors reader, not a dict
        if not key.startswith(TEXT_PREFIX):
            continue
        name = key[len(TEXT_PREFIX) :]
        if _TEXT_ROPE_RE.match(name):
            stored = reader.get(key).float()
            expected = text_inv_freq(model)
            if stored.shape != expected.shape or not torch.allclose(stored, expected, rtol=2e-3, atol=1e-6):
                raise CheckpointError(
                    f"{key} does not match a RoPE base of {rope_theta(model)}: "
                    "the checkpoint's text tower uses other rotary frequencies; set "
                    "text_config.hf_model_config_kwargs.rotary_emb_base in config.json to its base."
                )
            ignored.append(key)
        elif match := _PARAM_RE.match(name):
            parts.setdefault(match["base"], {})[match["part"].removeprefix("0.")] = key
        else:
            plain[name] = key

    adapter, scaling = lora["index"], lora["scaling"]
    b_norm_sq = 0.0
    weights: dict[str, torch.Tensor] = {}  # source weight name -> tensor in the target dtype
    for base, found in parts.items():
        if "original" not in found or ("lora_A" in found) != ("lora_B" in found):
            unexpected.extend(found.values())
            continue
        weight = reader.get(found["original"]).float()
        if "lora_A" in found:
            if scaling is None:
                raise CheckpointError(
                    "the checkpoint holds LoRA tensors but config.json's text_config.hf_model_config_kwargs has "
                    "no lora_alpha/lora_rank, so the merge scaling is unknown; restore the published config.json."
                )
            a = reader.get(found["lora_A"]).float()[adapter]
            b = reader.get(found["lora_B"]).float()[adapter]
            b_norm_sq += float(b.pow(2).sum())
            # embedding: W (num, dim) += s * A (num, r) @ B (r, dim); linear: W (out, in) += s * B (out, r) @ A (r, in)
            left, right = (a, b) if base.startswith("embeddings.") else (b, a)
            if (left.shape[0], right.shape[-1]) != tuple(weight.shape):
                raise CheckpointError(f"the LoRA of {TEXT_PREFIX}{base} does not fit its weight {tuple(weight.shape)}")
            weight.addmm_(left, right, alpha=scaling)  # in place: no second fp32 copy of the 250k-row embedding
        weights[f"{base}.weight"] = weight.to(device=device, dtype=dtype)
    for name, key in plain.items():
        weights[name] = reader.get(key).to(device=device, dtype=dtype)

    state: dict[str, torch.Tensor] = {}
    for name in list(weights):
        tensor = weights.pop(name)
        rule = next(((p, r) for p, r in _TEXT_RENAMES if p.match(name)), None)
        if rule is None:
            unexpected.append(TEXT_PREFIX + name)
            continue
        target = rule[0].sub(rule[1], name, count=1)
        if ".self_attn.Wqkv." not in target:
            state[target] = tensor
        elif tensor.shape[0] % 3:
            raise CheckpointError(f"{TEXT_PREFIX}{name} has {tensor.shape[0]} rows, not 3 equal parts (q, k, v).")
        else:  # fused rows are ordered q, k, v
            for proj, chunk in zip(("q_proj", "k_proj", "v_proj"), tensor.chunk(3, dim=0), strict=True):
                state[target.replace(".Wqkv.", f".{proj}.")] = chunk.contiguous()
    return state, unexpected, ignored, scaling or 0.0, b_norm_sq**0.5


def _lora_settings(text_config: dict[str, Any]) -> dict[str, Any]:
    kwargs = text_config.get("hf_model_config_kwargs") or {}
    adaptations = list(kwargs.get("lora_adaptations") or ["retrieval.query"])
    task = text_config.get("default_lora_task") or adaptations[0]
    if task not in adaptations:
        raise CheckpointError(
            f"text_config.default_lora_task={task!r} is not in lora_adaptations {adaptations}; fix config.json."
        )
    rank, alpha = kwargs.get("lora_rank"), kwargs.get("lora_alpha")
    scaling = float(alpha) / float(rank) if rank and alpha is not None else None
    return {"index": adaptations.index(task), "scaling": scaling, "rank": rank, "task": task}


def _convert_vision(
    reader: SafetensorsReader, model: Eva02VisionTower, device: torch.device, dtype: torch.dtype
) -> tuple[dict[str, torch.Tensor], list[str], list[str]]:
    """``vision_model.*`` tensors by module name (no renaming needed); (state, unexpected, ignored)."""
    state: dict[str, torch.Tensor] = {}
    unexpected: list[str] = []
    ignored: list[str] = []
    names = set(model.state_dict())
    for key in reader.keys():  # noqa: SIM118 - a safetensors reader, not a dict
        if not key.startswith(_VISION_PREFIX):
            continue
        name = key[len(_VISION_PREFIX) :]
        if name in names:
            state[name] = reader.get(key).to(device=device, dtype=dtype)
        elif model.check_stored_rope(name, reader.get(key)):  # raises when a stored table disagrees
            ignored.append(key)
        else:
            unexpected.append(key)
    return state, unexpected, ignored


def _iter_dims(config: dict[str, Any], dense_dim: int) -> Iterator[int]:
    for value in config.get("matryoshka_dimensions") or [dense_dim]:
        dim = int(value)
        if not 1 <= dim <= dense_dim:
            raise CheckpointError(f"config.json's matryoshka_dimensions holds {dim}, outside 1..{dense_dim}.")
        yield dim


def load_backend(
    model_dir: Path,
    config: dict[str, Any],
    *,
    device: torch.device,
    dtype: torch.dtype,
    spec: ModelSpec,
    name: str,
    revision: str | None,
) -> ModelBackend:
    """Build jina-clip-v2 from a folder in the published layout, weights straight in ``dtype`` on ``device``."""
    model_dir = Path(model_dir)
    text_config, vision_config = config.get("text_config"), config.get("vision_config")
    if not isinstance(text_config, dict) or not isinstance(vision_config, dict):
        raise CheckpointError(f"{model_dir}/config.json has no text_config/vision_config; it is not jina-clip-v2.")
    if config.get("add_projections"):
        raise CheckpointError("config.json sets add_projections=true; jina-clip-v2 has no projection heads.")
    reader = SafetensorsReader(model_dir)
    checkpoint_dtype = dominant_dtype(reader)

    overrides = dict(text_config.get("hf_model_config_kwargs") or {})
    lora = _lora_settings(text_config)
    text_model = build_text_model(text_shape(reader), overrides)
    text_state, unexpected, ignored, scaling, b_norm = _convert_text(reader, text_model, lora, device, dtype)
    missing = [f"text:{k}" for k in text_model.state_dict() if k not in text_state]
    unexpected += [f"{TEXT_PREFIX}{k}" for k in text_state if k not in text_model.state_dict()]

    with torch.device("meta"):
        vision_model = Eva02VisionTower(Eva02Config.from_jina_clip(vision_config)).eval()
    vision_state, vision_unexpected, vision_ignored = _convert_vision(reader, vision_model, device, dtype)
    missing += [f"{_VISION_PREFIX}{k}" for k in vision_model.state_dict() if k not in vision_state]
    unexpected += vision_unexpected
    ignored += vision_ignored
    for key in reader.keys():  # noqa: SIM118 - a safetensors reader, not a dict
        if key in _LOGIT_KEYS:
            ignored.append(key)
        elif not key.startswith((TEXT_PREFIX, _VISION_PREFIX)):
            unexpected.append(key)
    fail_on_mismatch(missing, unexpected, model_dir / "model.safetensors")

    for module, state, what in ((text_model, text_state, "text tower"), (vision_model, vision_state, "vision tower")):
        expected = module.state_dict()
        for key, tensor in state.items():
            if tuple(tensor.shape) != tuple(expected[key].shape):
                raise CheckpointError(
                    f"{what} weight {key} has shape {tuple(tensor.shape)} in the checkpoint but "
                    f"{tuple(expected[key].shape)} from config.json; the config and weights do not belong together."
                )
        module.load_state_dict(state, strict=True, assign=True)
    materialise_text_buffers(text_model, device)
    vision_model.init_buffers(device)
    no_meta(text_model, "text tower")
    no_meta(vision_model, "vision tower")
    logger.info("jina-clip-v2: merged LoRA '%s' (scaling %.3g, |B| = %.4g)", lora["task"], scaling, b_norm)

    tokenizer, max_positions = load_tokenizer(model_dir, pad_id(text_model))
    image = ImageSettings.from_preprocessor_config(model_dir / "preprocessor_config.json", vision_model.cfg.image_size)
    dense_dim = int(config.get("projection_dim") or text_model.config.hidden_size)
    if not dense_dim == text_model.config.hidden_size == vision_model.cfg.width:
        raise CheckpointError(
            f"text width {text_model.config.hidden_size}, vision width {vision_model.cfg.width} and "
            f"projection_dim {dense_dim} differ; jina-clip-v2 has no projection heads to reconcile them."
        )
    instructions = overrides.get("task_instructions") or {}
    info = ModelInfo(
        name=name,
        family="jina_clip_v2",
        dense_dim=dense_dim,
        matryoshka_dims=tuple(sorted(set(_iter_dims(config, dense_dim)))),
        multi_dim=None,
        tasks=("retrieval",),
        default_task="retrieval",
        device=str(device),
        dtype=str(dtype).removeprefix("torch."),
        license=spec.license,
        max_length=min(DEFAULT_MAX_LENGTH, max_positions),
        revision=revision,
        path=str(model_dir),
        fingerprint=weights_fingerprint(
            next(text_model.parameters())[:8], next(vision_model.parameters()).reshape(-1)[:4096]
        ),
    )
    report = LoadReport(
        missing=tuple(missing),
        unexpected=tuple(unexpected),
        ignored=tuple(sorted(ignored)),
        checkpoint_dtype=checkpoint_dtype,
        lora_scaling=scaling,
        lora_b_norm=b_norm,
    )
    text = ClipTextProcessor(
        tokenizer,
        query_prompt=str(instructions.get("retrieval.query", QUERY_PROMPT)),
        max_positions=max_positions,
        default_max_length=info.max_length,
    )
    return JinaClipV2Backend(
        info=info, text_model=text_model, vision_model=vision_model, text=text, image=image, report=report
    )
