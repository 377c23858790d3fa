"""jina-clip-v2's text tower: Jina-XLM-RoBERTa as transformers' :class:`~transformers.JinaEmbeddingsV3Model`.

Post-LN blocks with NeoX RoPE (base 20000), built on the meta device from the checkpoint's shapes; the
weights are filled by :mod:`.loading`. Features are the mean over ``ids != <pad>`` (``<s>``/``</s>``
included) of the last hidden state (``reference/jina_clip_v2.md`` §2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from ...errors import CheckpointError, UnsupportedModelError
from ...pooling import masked_mean
from .._checkpoint import SafetensorsReader

if TYPE_CHECKING:
    from transformers import JinaEmbeddingsV3Model

__all__ = [
    "TEXT_DEFAULTS",
    "TEXT_PREFIX",
    "TEXT_ROPE_THETA",
    "TextShape",
    "build_text_model",
    "materialise_text_buffers",
    "pad_id",
    "rope_theta",
    "text_features",
    "text_inv_freq",
    "text_shape",
    "token_states",
]

TEXT_ROPE_THETA = 20000.0
"""RoPE base of the text tower. [I] in the reference (§2, §8): clip-v2's config does not set it, the value
comes from ``jinaai/jina-embeddings-v3``'s config, and transformers' native port fixes it at 20000. When the
checkpoint stores ``rotary_emb.inv_freq`` tables, the loader checks them against this base."""

# Jina-XLM-RoBERTa facts that live in jinaai/jina-embeddings-v3's config.json, not in clip-v2's (§2).
# ``text_config.hf_model_config_kwargs`` overrides them, as it does in the original code.
TEXT_DEFAULTS: dict[str, Any] = {
    "num_attention_heads": 16,
    "layer_norm_eps": 1e-5,
    "hidden_act": "gelu",
    "max_position_embeddings": 8194,
    "pad_token_id": 1,
    "rotary_emb_base": TEXT_ROPE_THETA,
}

TEXT_PREFIX = "text_model.transformer.roberta."


@dataclass(frozen=True)
class TextShape:
    vocab: int
    hidden: int
    layers: int
    intermediate: int
    type_vocab: int


def text_shape(reader: SafetensorsReader) -> TextShape:
    def weight_shape(base: str) -> tuple[int, ...]:
        for key in (f"{TEXT_PREFIX}{base}.parametrizations.weight.original", f"{TEXT_PREFIX}{base}.weight"):
            if key in reader.keys():  # noqa: SIM118
                return reader.shape(key)
        raise CheckpointError(
            f"the checkpoint has no text tower weight '{TEXT_PREFIX}{base}'; is it jinaai/jina-clip-v2?"
        )

    layer_re = re.compile(rf"^{re.escape(TEXT_PREFIX)}encoder\.layers\.(\d+)\.")
    layer_ids = {int(m.group(1)) for k in reader.keys() if (m := layer_re.match(k))}  # noqa: SIM118
    vocab, hidden = weight_shape("embeddings.word_embeddings")
    return TextShape(
        vocab=vocab,
        hidden=hidden,
        layers=max(layer_ids) + 1 if layer_ids else 0,
        intermediate=weight_shape("encoder.layers.0.mlp.fc1")[0],
        type_vocab=weight_shape("embeddings.token_type_embeddings")[0],
    )


def build_text_model(shape: TextShape, overrides: dict[str, Any]) -> JinaEmbeddingsV3Model:
    try:
        from transformers import JinaEmbeddingsV3Config, JinaEmbeddingsV3Model
    except ImportError as exc:  # the native port arrived in transformers 5.x (2026-03); 5.23 is tested
        raise UnsupportedModelError(
            "jina-clip-v2's text tower needs transformers' JinaEmbeddingsV3Model, which this transformers "
            f"version lacks ({exc}); upgrade with `pip install -U 'transformers>=5.23,<6'`."
        ) from exc

    settings = {**TEXT_DEFAULTS, **{k: v for k, v in overrides.items() if k in TEXT_DEFAULTS}}
    heads = int(settings["num_attention_heads"])
    if heads < 1 or shape.hidden % heads:
        raise CheckpointError(f"text hidden size {shape.hidden} is not divisible by num_attention_heads={heads}.")
    cfg = JinaEmbeddingsV3Config(
        vocab_size=shape.vocab,
        hidden_size=shape.hidden,
        num_hidden_layers=shape.layers,
        num_attention_heads=heads,
        intermediate_size=shape.intermediate,
        hidden_act=str(settings["hidden_act"]),
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        max_position_embeddings=int(settings["max_position_embeddings"]),
        type_vocab_size=shape.type_vocab,
        layer_norm_eps=float(settings["layer_norm_eps"]),
        pad_token_id=int(settings["pad_token_id"]),
        rope_parameters={"rope_type": "default", "rope_theta": float(settings["rotary_emb_base"])},
    )
    cfg._attn_implementation = "sdpa"  # bf16 + SDPA on CUDA, SDPA's fused CPU kernels otherwise
    with torch.device("meta"):
        model = JinaEmbeddingsV3Model(cfg, add_pooling_layer=False)
    return model.eval()


def rope_theta(model: JinaEmbeddingsV3Model) -> float:
    theta = (model.config.rope_parameters or {}).get("rope_theta")
    return TEXT_ROPE_THETA if theta is None else float(theta)


def pad_id(model: JinaEmbeddingsV3Model) -> int:
    pad = model.config.pad_token_id
    return int(TEXT_DEFAULTS["pad_token_id"] if pad is None else pad)


def text_inv_freq(model: JinaEmbeddingsV3Model) -> torch.Tensor:
    inv_freq, _ = type(model.rotary_emb).compute_default_rope_parameters(model.config)
    return inv_freq  # (head_dim/2,) float32


def materialise_text_buffers(model: JinaEmbeddingsV3Model, device: torch.device) -> None:
    positions = model.config.max_position_embeddings
    embeddings, rotary = model.embeddings, model.rotary_emb
    embeddings.register_buffer("position_ids", torch.arange(positions, device=device)[None], persistent=False)
    embeddings.register_buffer("token_type_ids", torch.zeros((1, positions), dtype=torch.long, device=device), False)
    inv_freq = text_inv_freq(model).to(device)
    rotary.register_buffer("inv_freq", inv_freq, persistent=False)
    rotary.register_buffer("original_inv_freq", inv_freq.clone(), persistent=False)


def text_features(model: JinaEmbeddingsV3Model, ids: torch.Tensor, pad: int) -> torch.Tensor:
    """Unnormalised mean-pooled features ``(b, D)`` float32 for right-padded ``ids`` ``(b, L)``."""
    mask = ids != pad  # (b, L); the original pools and attends over ids != <pad>
    attention = None if bool(mask.all()) else mask.long()
    hidden = model(input_ids=ids, attention_mask=attention).last_hidden_state  # (b, L, D)
    return masked_mean(hidden, mask)  # (b, D) fp32


def token_states(model: JinaEmbeddingsV3Model, ids: torch.Tensor, pad: int) -> torch.Tensor:
    """Last hidden state ``(b, L, D)`` for right-padded ``ids`` ``(b, L)``, attending over ``ids != <pad>``."""
    mask = ids != pad  # (b, L)
    attention = None if bool(mask.all()) else mask.long()
    return model(input_ids=ids, attention_mask=attention).last_hidden_state
