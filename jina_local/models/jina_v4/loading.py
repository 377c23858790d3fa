"""Loading jina-embeddings-v4 from the published layout: legacy key names, strict checks, adapters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from transformers import AutoTokenizer, Qwen2_5_VLConfig
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

from ...errors import CheckpointError
from ...pooling import weights_fingerprint
from ...types import ModelInfo
from ..registry import ModelSpec, quiet_transformers_progress
from .adapters import attach_adapters
from .backend import JinaV4Backend
from .modeling import JinaV4Model
from .processing import DEFAULT_MAX_LENGTH, JinaV4Processor

__all__ = ["LEGACY_KEY_MAPPING", "load_backend"]

# On-disk (legacy) names -> in-memory names of transformers 5.x Qwen2.5-VL.
LEGACY_KEY_MAPPING = {
    r"^visual": "model.visual",
    r"^model(?!\.(language_model|visual))": "model.language_model",
}
_PROCESSOR_KEYS = {
    "do_convert_rgb", "do_normalize", "do_rescale", "do_resize", "image_mean", "image_std",
    "max_pixels", "min_pixels", "merge_size", "patch_size", "resample", "rescale_factor",
    "temporal_patch_size", "size",
}  # fmt: skip


def _text_config(config: Qwen2_5_VLConfig) -> Any:
    return getattr(config, "text_config", config)


def _image_processor(model_dir: Path) -> Qwen2VLImageProcessorPil:
    processor_path = model_dir / "preprocessor_config.json"
    if not processor_path.is_file():
        raise CheckpointError(f"{processor_path} is missing; it sets how images are resized.")
    processor_config = json.loads(processor_path.read_text(encoding="utf-8"))
    return Qwen2VLImageProcessorPil(**{k: v for k, v in processor_config.items() if k in _PROCESSOR_KEYS})


def load_backend(
    model_dir: Path,
    config_dict: dict[str, Any],
    *,
    device: torch.device,
    dtype: torch.dtype,
    spec: ModelSpec,
    name: str,
    revision: str | None = None,
) -> JinaV4Backend:
    """Load the published layout of ``model_dir`` onto ``device`` in ``dtype``; refuse any key mismatch."""
    config = Qwen2_5_VLConfig.from_pretrained(model_dir)
    tasks = tuple(config_dict.get("task_names") or ("retrieval", "text-matching", "code"))
    dims = tuple(int(d) for d in config_dict.get("matryoshka_dims") or ())
    if getattr(config, "multi_vector_projector_dim", None) is None:
        config.multi_vector_projector_dim = 128
    hidden = int(_text_config(config).hidden_size)
    dims = dims or (hidden,)

    with quiet_transformers_progress():
        model, loading_info = JinaV4Model.from_pretrained(
            model_dir,
            config=config,
            key_mapping=LEGACY_KEY_MAPPING,
            dtype=dtype,
            attn_implementation="sdpa",
            output_loading_info=True,
            use_safetensors=True,
        )
    problems = {k: sorted(v) for k, v in loading_info.items() if k != "error_msgs" and v}
    if problems or loading_info.get("error_msgs"):
        details = "; ".join(f"{k}: {len(v)} (e.g. {v[:3]})" for k, v in problems.items())
        raise CheckpointError(
            f"{model_dir} does not match the jina-embeddings-v4 layout ({details or loading_info['error_msgs']}). "
            "Use the unmodified files of jinaai/jina-embeddings-v4."
        )
    attach_adapters(model, model_dir / "adapters", tasks, dtype)
    model.eval().requires_grad_(False).to(device)

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    tokenizer.padding_side = "right"
    processor = JinaV4Processor(tokenizer, _image_processor(model_dir), config)

    info = ModelInfo(
        name=name,
        family=spec.family,
        dense_dim=hidden,
        matryoshka_dims=tuple(sorted(set(dims) | {hidden})),
        multi_dim=int(config.multi_vector_projector_dim),
        tasks=tasks,
        default_task="retrieval" if "retrieval" in tasks else tasks[0],
        device=str(device),
        dtype=str(dtype).removeprefix("torch."),
        license=spec.license,
        max_length=DEFAULT_MAX_LENGTH,
        revision=revision,
        path=str(model_dir),
        fingerprint=weights_fingerprint(
            model.model.language_model.embed_tokens.weight[:8],  # (8, hidden)
            model.multi_vector_projector.base_layer.bias,  # (128,)
            model.model.language_model.norm.weight,  # (hidden,)
        ),
    )
    return JinaV4Backend(model, processor, info)
