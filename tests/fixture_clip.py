"""A tiny random jina-clip-v2 checkpoint in the published on-disk layout.

Same file names, config fields and weight key names as ``jinaai/jina-clip-v2`` (reference
``jina_clip_v2.md`` §1): ``text_model.transformer.roberta.*`` with the ``retrieval.query`` LoRA stored as
torch parametrizations (``parametrizations.weight.original`` + ``...weight.0.lora_A`` / ``lora_B``), a
fused ``mixer.Wqkv``, ``vision_model.*`` EVA02 keys with ``q_bias``/``v_bias``, a scalar ``logit_scale``,
all stored as float16 (the Hub's reported dtype, while config.json declares bfloat16, as published).
The tokenizer is a small Unigram model trained with ``tokenizers`` in the XLM-R shape: ``<s>``=0,
``<pad>``=1, ``</s>``=2, ``<unk>``=3, ``<mask>`` last; Metaspace pre-tokenizer; ``<s> $A </s>`` template.

Use ``from fixture_clip import tiny_clip_dir  # noqa: F401`` in a test module. :func:`write_clip_checkpoint`
builds other sizes (the benchmark uses a mid-size one).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file

__all__ = ["CORPUS", "tiny_clip_dir", "write_clip_checkpoint"]

CORPUS = [
    "Represent the query for retrieving evidence documents: ",
    "beautiful sunset over the beach",
    "A cat sleeps sixteen hours a day on the warm windowsill.",
    "Der Hund läuft schnell über die grüne Wiese.",
    "Le chat dort sur le canapé pendant que la pluie tombe.",
    "海滩上美丽的日落",
    "浜辺の美しい夕日",
    "해변 위의 아름다운 일몰",
    "غروب جميل على الشاطئ",
    "Quarterly revenue grew by twelve percent in the third quarter.",
    "def add(a, b): return a + b",
    "The quick brown fox jumps over the lazy dog.",
]

_PROMPT = "Represent the query for retrieving evidence documents: "


def _train_tokenizer(vocab_size: int) -> Any:
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tokenizer = Tokenizer(models.Unigram())
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
        unk_token="<unk>",
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS * 20, trainer)
    tokenizer.add_special_tokens(["<mask>"])
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 0), ("</s>", 2)],
    )
    ids = {tok: tokenizer.token_to_id(tok) for tok in ("<s>", "<pad>", "</s>", "<unk>")}
    if ids != {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}:
        raise RuntimeError(f"fixture tokenizer has wrong special ids {ids}")
    if tokenizer.token_to_id("<mask>") != tokenizer.get_vocab_size() - 1:
        raise RuntimeError("fixture tokenizer: <mask> is not the last id")
    return tokenizer


def _config(
    *, hidden: int, width: int, vision_layers: int, head_width: int, image_size: int, dims: list[int]
) -> dict[str, Any]:
    return {
        "_name_or_path": "jinaai/jina-clip-v2",
        "add_projections": False,
        "architectures": ["JinaCLIPModel"],
        "auto_map": {
            "AutoConfig": "jinaai/jina-clip-implementation--configuration_clip.JinaCLIPConfig",
            "AutoModel": "jinaai/jina-clip-implementation--modeling_clip.JinaCLIPModel",
        },
        "initializer_factor": 1.0,
        "logit_scale_init_value": 2.6592,
        "matryoshka_dimensions": dims,
        "model_type": "jina_clip",
        "projection_dim": hidden,
        "text_config": {
            "default_instruction_task": None,
            "default_lora_task": "retrieval.query",
            "embed_dim": hidden,
            "hf_model_config_kwargs": {
                "load_trained_adapters": False,
                "lora_adaptations": ["retrieval.query"],
                "lora_alpha": 4,
                "lora_dropout_p": 0.0,
                "lora_main_params_trainable": False,
                "lora_rank": 4,
                "task_instructions": {"retrieval.query": _PROMPT},
                "use_flash_attn": True,
            },
            "hf_model_name_or_path": "jinaai/jina-embeddings-v3",
            "model_type": "jina_clip_text",
            "pooler_type": "mean_pooler",
            "proj_bias": False,
            "proj_type": None,
        },
        "torch_dtype": "bfloat16",
        "transformers_version": "4.46.3",
        "truncate_dim": None,
        "use_text_flash_attn": None,
        "use_vision_xformers": None,
        "vision_config": {
            "embed_dim": width,
            "fused_layer_norm": False,
            "head_width": head_width,
            "image_size": image_size,
            "intp_freq": True,
            "layers": vision_layers,
            "ls_init_value": None,
            "mlp_ratio": 2.6667,
            "model_type": "jina_clip_vision",
            "naive_swiglu": True,
            "patch_dropout": 0.1,
            "patch_size": 14,
            "post_norm": False,
            "proj_type": None,
            "pt_hw_seq_len": 16,
            "qkv_bias": True,
            "rope_embeddings": True,
            "subln": True,
            "width": width,
            "x_attention": True,
        },
    }


def _weights(
    gen: torch.Generator,
    *,
    vocab: int,
    hidden: int,
    text_layers: int,
    intermediate: int,
    width: int,
    vision_layers: int,
    image_size: int,
    rank: int = 4,
) -> dict[str, torch.Tensor]:
    def rnd(*shape: int, std: float = 0.1) -> torch.Tensor:
        return torch.randn(*shape, generator=gen) * std

    def norm(prefix: str, dim: int) -> dict[str, torch.Tensor]:
        return {f"{prefix}.weight": 1.0 + rnd(dim), f"{prefix}.bias": rnd(dim)}

    out: dict[str, torch.Tensor] = {}
    text = "text_model.transformer.roberta."

    def lora_linear(prefix: str, out_f: int, in_f: int) -> None:
        p = f"{text}{prefix}.parametrizations.weight"
        out[f"{p}.original"] = rnd(out_f, in_f, std=in_f**-0.5)
        out[f"{p}.0.lora_A"] = rnd(1, rank, in_f, std=0.3)
        out[f"{p}.0.lora_B"] = rnd(1, out_f, rank, std=0.3 * in_f**-0.5)
        out[f"{text}{prefix}.bias"] = rnd(out_f)

    def lora_embedding(prefix: str, num: int, dim: int) -> None:
        p = f"{text}{prefix}.parametrizations.weight"
        # Small, realistic scales (std ~0.05): LayerNorm eps then matters, so a wrong eps shows in tests.
        out[f"{p}.original"] = rnd(num, dim, std=0.05)
        out[f"{p}.0.lora_A"] = rnd(1, num, rank, std=0.1)
        out[f"{p}.0.lora_B"] = rnd(1, rank, dim, std=0.1)

    lora_embedding("embeddings.word_embeddings", vocab, hidden)
    lora_embedding("embeddings.token_type_embeddings", 1, hidden)
    out.update({text + k: v for k, v in norm("emb_ln", hidden).items()})
    for i in range(text_layers):
        layer = f"encoder.layers.{i}"
        lora_linear(f"{layer}.mixer.Wqkv", 3 * hidden, hidden)
        lora_linear(f"{layer}.mixer.out_proj", hidden, hidden)
        lora_linear(f"{layer}.mlp.fc1", intermediate, hidden)
        lora_linear(f"{layer}.mlp.fc2", hidden, intermediate)
        out.update({text + k: v for k, v in norm(f"{layer}.norm1", hidden).items()})
        out.update({text + k: v for k, v in norm(f"{layer}.norm2", hidden).items()})

    vis = "vision_model."
    grid = image_size // 14
    mlp = int(width * 2.6667)
    out[f"{vis}cls_token"] = rnd(1, 1, width, std=0.5)
    out[f"{vis}pos_embed"] = rnd(1, grid * grid + 1, width, std=0.5)
    out[f"{vis}patch_embed.proj.weight"] = rnd(width, 3, 14, 14, std=(3 * 14 * 14) ** -0.5)
    out[f"{vis}patch_embed.proj.bias"] = rnd(width)
    for i in range(vision_layers):
        b = f"{vis}blocks.{i}."
        for name in ("q_proj", "k_proj"):
            out[f"{b}attn.{name}.weight"] = rnd(width, width, std=width**-0.5)
        # Small values into the sub-LN (inner_attn_ln), so its eps (1e-6) is visible in tests.
        out[f"{b}attn.v_proj.weight"] = rnd(width, width, std=0.05 * width**-0.5)
        out[f"{b}attn.q_bias"] = rnd(width)
        out[f"{b}attn.v_bias"] = rnd(width, std=0.02)
        out.update({b + k: v for k, v in norm("attn.inner_attn_ln", width).items()})
        out[f"{b}attn.proj.weight"] = rnd(width, width, std=width**-0.5)
        out[f"{b}attn.proj.bias"] = rnd(width)
        out.update({b + k: v for k, v in norm("norm1", width).items()})
        out.update({b + k: v for k, v in norm("norm2", width).items()})
        for name, (o, i_) in {"w1": (mlp, width), "w2": (mlp, width), "w3": (width, mlp)}.items():
            out[f"{b}mlp.{name}.weight"] = rnd(o, i_, std=i_**-0.5)
            out[f"{b}mlp.{name}.bias"] = rnd(o)
        out.update({b + k: v for k, v in norm("mlp.ffn_ln", mlp).items()})
    out.update({vis + k: v for k, v in norm("norm", width).items()})
    out["logit_scale"] = torch.tensor(4.6052)
    return out


def write_clip_checkpoint(
    path: Path,
    *,
    hidden: int = 64,
    text_layers: int = 2,
    intermediate: int = 128,
    width: int = 64,
    vision_layers: int = 2,
    head_width: int = 16,
    image_size: int = 64,
    vocab_size: int = 300,
    dims: list[int] | None = None,
    seed: int = 0,
) -> Path:
    """Write a random jina-clip-v2 checkpoint in the published layout into ``path``; returns ``path``.

    The text tower keeps the published 16 heads (from jina-embeddings-v3's config), so ``hidden`` must
    be a multiple of 16. Weights are stored as float16.
    """
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = _train_tokenizer(vocab_size)
    tokenizer.save(str(path / "tokenizer.json"))
    vocab = tokenizer.get_vocab_size()
    dims = dims or [d for d in (8, 16, 32, 64, 128, 256, 512, 768, 1024) if d <= hidden]
    config = _config(
        hidden=hidden, width=width, vision_layers=vision_layers, head_width=head_width, image_size=image_size, dims=dims
    )
    (path / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    weights = _weights(
        torch.Generator().manual_seed(seed),
        vocab=vocab,
        hidden=hidden,
        text_layers=text_layers,
        intermediate=intermediate,
        width=width,
        vision_layers=vision_layers,
        image_size=image_size,
    )
    save_file({k: v.to(torch.float16).contiguous() for k, v in weights.items()}, str(path / "model.safetensors"))
    special = {
        "bos_token": "<s>",
        "cls_token": "<s>",
        "eos_token": "</s>",
        "mask_token": "<mask>",
        "pad_token": "<pad>",
        "sep_token": "</s>",
        "unk_token": "<unk>",
    }
    (path / "special_tokens_map.json").write_text(json.dumps(special, indent=2), encoding="utf-8")
    tok_config = {
        **special,
        "clean_up_tokenization_spaces": True,
        "model_max_length": 8194,
        "tokenizer_class": "XLMRobertaTokenizer",
    }
    (path / "tokenizer_config.json").write_text(json.dumps(tok_config, indent=2), encoding="utf-8")
    preprocessor = {
        "auto_map": {
            "AutoImageProcessor": "jinaai/jina-clip-implementation--processing_clip.JinaCLIPImageProcessor",
            "AutoProcessor": "jinaai/jina-clip-implementation--processing_clip.JinaCLIPProcessor",
        },
        "fill_color": 0,
        "image_processor_type": "JinaCLIPImageProcessor",
        "interpolation": "bicubic",
        "mean": [0.48145466, 0.4578275, 0.40821073],
        "processor_class": "JinaCLIPProcessor",
        "resize_mode": "shortest",
        "size": image_size,
        "std": [0.26862954, 0.26130258, 0.27577711],
    }
    (path / "preprocessor_config.json").write_text(json.dumps(preprocessor, indent=2), encoding="utf-8")
    st_config = {"prompts": {"retrieval.query": _PROMPT}, "default_prompt_name": None, "similarity_fn_name": "cosine"}
    (path / "config_sentence_transformers.json").write_text(json.dumps(st_config, indent=2), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny jina-clip-v2 folder: text 64-d x 2 layers (16 heads), vision 64-d x 2 blocks at 64 px."""
    return write_clip_checkpoint(tmp_path_factory.mktemp("jina-clip-v2-tiny"))
