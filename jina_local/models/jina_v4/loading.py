"""Loading jina-embeddings-v4 from the published layout: legacy key names, strict checks, adapters."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import torch
from transformers import AutoTokenizer, Qwen2_5_VLConfig
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
    Qwen2VLImageProcessorPil,
)

from ...errors import CheckpointError
from ...pooling import weights_fingerprint
from ...types import ModelInfo
from .._checkpoint import read_json, reading, require_safetensors
from ..registry import ModelSpec, quiet_transformers_progress
from .adapters import attach_adapters
from .backend import JinaV4Backend
from .modeling import JinaV4Model, use_fp32_residual_stream
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


_REPO = "jinaai/jina-embeddings-v4"
_REDOWNLOAD = f"Restore the unmodified file from {_REPO} (e.g. `hf download {_REPO}`)."
_TOKENIZER_FILES = (("tokenizer.json",), ("vocab.json", "merges.txt"))
_SPECIAL_TOKENS = ("image_token_id", "vision_start_token_id", "vision_end_token_id")


def _image_processor(model_dir: Path) -> Qwen2VLImageProcessorPil:
    processor_path = model_dir / "preprocessor_config.json"
    if not processor_path.is_file():
        raise CheckpointError(f"{processor_path} is missing; it sets how images are resized. {_REDOWNLOAD}")
    processor_config = read_json(processor_path, "the image preprocessing config", _REDOWNLOAD)
    with reading(processor_path, "the image preprocessing config", _REDOWNLOAD):
        return Qwen2VLImageProcessorPil(**{k: v for k, v in processor_config.items() if k in _PROCESSOR_KEYS})


def _tokenizer(model_dir: Path, config: Qwen2_5_VLConfig) -> Any:
    """The Qwen tokenizer of the folder; refuses a folder without one, or one that lacks the image tokens."""
    if not any(all((model_dir / name).is_file() for name in names) for names in _TOKENIZER_FILES):
        raise CheckpointError(
            f"{model_dir} has no tokenizer (tokenizer.json, or vocab.json + merges.txt). {_REDOWNLOAD}"
        )
    with reading(model_dir, "the tokenizer files", _REDOWNLOAD):
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
    vocab = tokenizer.get_vocab()
    for field in _SPECIAL_TOKENS:
        wanted = int(getattr(config, field))
        if wanted not in vocab.values():
            raise CheckpointError(
                f"{model_dir}'s tokenizer has no token with id {wanted} ({field} in config.json), so images "
                f"cannot be prompted; the tokenizer belongs to another model. {_REDOWNLOAD}"
            )
    tokenizer.padding_side = "right"
    return tokenizer


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
    with reading(model_dir / "config.json", "the model config", _REDOWNLOAD):
        config = Qwen2_5_VLConfig.from_pretrained(model_dir)
    weight_files = require_safetensors(model_dir, _REPO)
    tasks = tuple(config_dict.get("task_names") or ("retrieval", "text-matching", "code"))
    dims = tuple(int(d) for d in config_dict.get("matryoshka_dims") or ())
    if getattr(config, "multi_vector_projector_dim", None) is None:
        config.multi_vector_projector_dim = 128
    hidden = int(_text_config(config).hidden_size)
    dims = dims or (hidden,)

    with quiet_transformers_progress(), reading(weight_files[0].parent, "the safetensors weights", _REDOWNLOAD):
        loaded = JinaV4Model.from_pretrained(
            model_dir,
            config=config,
            key_mapping=LEGACY_KEY_MAPPING,
            dtype=dtype,
            attn_implementation="sdpa",
            output_loading_info=True,
            use_safetensors=True,
        )
    # transformers annotates the model alone; output_loading_info=True returns (model, loading info)
    model, loading_info = cast("tuple[JinaV4Model, dict[str, Any]]", loaded)
    problems = {k: sorted(v) for k, v in loading_info.items() if k != "error_msgs" and v}
    if problems or loading_info.get("error_msgs"):
        details = "; ".join(f"{k}: {len(v)} (e.g. {v[:3]})" for k, v in problems.items())
        raise CheckpointError(
            f"{model_dir} does not match the jina-embeddings-v4 layout ({details or loading_info['error_msgs']}). "
            "Use the unmodified files of jinaai/jina-embeddings-v4."
        )
    with reading(model_dir / "adapters", "the task LoRA adapters", _REDOWNLOAD):
        attach_adapters(model, model_dir / "adapters", tasks, dtype)
    model.eval().requires_grad_(False).to(device)
    if dtype != torch.float32 and device.type == "cpu":
        use_fp32_residual_stream(model)  # bf16 on the CPU: keep the token vectors within 0.99 of fp32

    processor = JinaV4Processor(_tokenizer(model_dir, config), _image_processor(model_dir), config)

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
            cast(torch.nn.Linear, model.multi_vector_projector.base_layer).bias,  # (128,): the LoRA layer's base
            model.model.language_model.norm.weight,  # (hidden,)
        ),
    )
    return JinaV4Backend(model, processor, info)
