"""jina-embeddings-v4 modelling: the Qwen2.5-VL backbone, the multi-vector projector and pooling.

Dense = masked mean of the last hidden state (text: all attended tokens; image: ``<|vision_start|>``
.. ``<|vision_end|>`` inclusive), L2-normalised. Multi = task-adapted projector per token,
L2-normalised, pad rows dropped (``shared/reference/jina_v4.md`` §3.3-3.5).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, cast

import torch
from torch import nn
from transformers import Qwen2_5_VLConfig
from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import (
    Qwen2_5_VLModel,
    Qwen2_5_VLPreTrainedModel,
)

from ...pooling import l2_normalize, masked_mean

if TYPE_CHECKING:
    from peft.tuners.lora import Linear as LoraLinear
    from transformers import PreTrainedConfig


def use_fp32_residual_stream(model: JinaV4Model) -> None:
    """Keep the language model's residual stream in fp32 while its weights and matmuls stay bf16.

    The token embeddings come out in fp32, so the residual adds, RMSNorms, rotary angles and the
    final hidden state stay fp32; under :func:`mixed_precision` every matmul (linear, attention)
    still runs in the weights' low precision. The small multi-vector projector runs in fp32. On the mid-size benchmark model this lifts the worst
    bf16 token cosine against fp32 from 0.986 to 0.990 (``docs/jina_v4.md``, "bf16 on the CPU").
    """
    model.multi_vector_projector.float()  # 2048 x 128 (+ its LoRA): fp32 costs nothing
    embeddings = model.model.language_model.embed_tokens
    if not getattr(embeddings, "_jina_fp32_output", False):
        embeddings.register_forward_hook(lambda module, args, output: output.float())
        embeddings._jina_fp32_output = True


def mixed_precision(model: JinaV4Model) -> torch.autocast | contextlib.nullcontext[None]:
    """On the CPU with bf16 weights: autocast to bf16 (matmuls in bf16, fp32 activations cast to it).

    Elsewhere (fp32, or accelerators, which run plain bf16) nothing.
    """
    device = next(model.parameters()).device
    if model.dtype == torch.float32 or device.type != "cpu":
        return contextlib.nullcontext()
    return torch.autocast(device_type="cpu", dtype=model.dtype)


__all__ = [
    "JinaV4Model",
    "embed",
    "hidden_states",
    "mixed_precision",
    "pool_mask",
    "project_tokens",
    "use_fp32_residual_stream",
]


class JinaV4Model(Qwen2_5_VLPreTrainedModel):
    """Qwen2.5-VL backbone (no LM head) plus the multi-vector projector, named as on disk after remapping."""

    def __init__(self, config: Qwen2_5_VLConfig) -> None:
        super().__init__(config)
        self.model = Qwen2_5_VLModel(config)
        # Qwen2_5_VLConfig.__post_init__ always makes text_config a config object (annotated as its input union)
        hidden = cast("PreTrainedConfig", config.text_config).hidden_size
        self.multi_vector_projector = nn.Linear(hidden, int(config.multi_vector_projector_dim))
        self.post_init()


def hidden_states(model: JinaV4Model, inputs: dict[str, torch.Tensor], image_token_id: int) -> torch.Tensor:
    """Last hidden state after the final RMSNorm, (b, L, hidden); no LM head, no cache."""
    backbone = model.model
    input_ids, attention_mask = inputs["input_ids"], inputs["attention_mask"]
    if "pixel_values" not in inputs:
        # Right padding: positions 0..n-1 of every row equal those of the unpadded text.
        return backbone(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).last_hidden_state
    mm_token_type_ids = (input_ids == image_token_id).to(torch.int)  # (b, L): 1 = image
    position_ids, _ = backbone.get_rope_index(
        input_ids,
        mm_token_type_ids=mm_token_type_ids,
        image_grid_thw=inputs["image_grid_thw"],
        attention_mask=attention_mask,
    )  # (3, b, L) M-RoPE positions; without them transformers falls back to 1-D positions
    out = backbone(
        input_ids=input_ids,
        attention_mask=attention_mask,
        position_ids=position_ids,
        pixel_values=inputs["pixel_values"],
        image_grid_thw=inputs["image_grid_thw"],
        use_cache=False,
    )
    return out.last_hidden_state


def pool_mask(
    input_ids: torch.Tensor, attention_mask: torch.Tensor, *, images: bool, vision_start_id: int, vision_end_id: int
) -> torch.Tensor:
    """Positions averaged into the dense vector, (b, L): attended tokens, or the vision span."""
    if not images:
        return attention_mask
    started = (input_ids == vision_start_id).cumsum(dim=1) > 0  # (b, L) at/after vision_start
    is_end = input_ids == vision_end_id
    ended = (is_end.cumsum(dim=1) - is_end.long()) > 0  # (b, L) strictly after vision_end
    return (started & ~ended & attention_mask.bool()).long()


def embed(
    model: JinaV4Model,
    hidden: torch.Tensor,
    attention_mask: torch.Tensor,
    dense_mask: torch.Tensor | None,
    *,
    multi: bool,
) -> tuple[torch.Tensor | None, list[torch.Tensor] | None]:
    """Dense ``(b, hidden)`` fp32 from ``dense_mask`` (None: skip) and multi rows per item (``multi``)."""
    dense_out = None if dense_mask is None else l2_normalize(masked_mean(hidden, dense_mask))  # (b, hidden)
    multi_out = None
    if multi:
        tokens = project_tokens(model, hidden).cpu()  # (b, L, 128) fp32; one device-to-host copy per batch
        lengths = attention_mask.sum(dim=1).tolist()
        multi_out = [tokens[row, :n] for row, n in enumerate(lengths)]  # right padding: prefix rows
    return dense_out, multi_out


def project_tokens(model: JinaV4Model, hidden: torch.Tensor) -> torch.Tensor:
    """Multi-vector rows of every position: task-adapted projector, L2-normalised, (b, L, 128) fp32.

    A bf16 model on the CPU keeps its projector in fp32 (:func:`use_fp32_residual_stream`), outside autocast.
    """
    projector = cast("LoraLinear", model.multi_vector_projector)  # attach_adapters wrapped it in a peft LoRA layer
    no_autocast = torch.autocast("cpu", enabled=False) if hidden.device.type == "cpu" else contextlib.nullcontext()
    with no_autocast:
        base = cast(nn.Linear, projector.get_base_layer())
        tokens = projector(hidden.to(base.weight.dtype))  # (b, L, 128), task LoRA applied
    return l2_normalize(tokens)
