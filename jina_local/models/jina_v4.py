"""jina-embeddings-v4 on transformers' Qwen2.5-VL and peft, from the published checkpoint.

Facts (``shared/reference/jina_v4.md``): the shards use the legacy Qwen2.5-VL key names
(``model.layers.*``, ``visual.*``) plus a root ``multi_vector_projector`` (Linear 2048 -> 128); one
PEFT file holds the LoRA of all three tasks as ``lora_A.<task>`` / ``lora_B.<task>``, on the seven
LM projections of every layer and on the projector. Text is prompted ``Query: `` / ``Passage: ``;
every image gets one fixed chat prompt. Dense = masked mean (text: all attended tokens; image:
``<|vision_start|>`` .. ``<|vision_end|>`` inclusive), L2-normalised. Multi = task-adapted projector
per token, L2-normalised, pad rows dropped.
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
from transformers import AutoTokenizer, Qwen2_5_VLConfig
from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import (
    Qwen2_5_VLModel,
    Qwen2_5_VLPreTrainedModel,
)
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
    Qwen2VLImageProcessorPil,
)

from ..errors import CheckpointError, TaskError
from ..inputs import ImageInput, TextInput, TypedInput
from ..pooling import l2_normalize, masked_mean, weights_fingerprint
from ..types import ModelInfo, Role
from .base import BatchOutput, ModelBackend, Prepared
from .registry import ModelSpec, quiet_transformers_progress

__all__ = ["IMAGE_PROMPT", "JinaV4Backend", "JinaV4Model", "load_backend", "text_prompt"]

IMAGE_PROMPT = "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Describe the image.<|im_end|>\n"
"""The one prompt every image gets, whatever the task; ``<|image_pad|>`` is expanded per image."""

DEFAULT_MAX_LENGTH = 32768
"""Text token cap of the official ``encode_text`` (the processor's ``text_max_length``)."""

# On-disk (legacy) names -> in-memory names of transformers 5.x Qwen2.5-VL.
LEGACY_KEY_MAPPING = {
    r"^visual": "model.visual",
    r"^model(?!\.(language_model|visual))": "model.language_model",
}
_ADAPTER_PREFIX = "base_model.model."


def text_prompt(text: str, *, role: Role, task: str) -> str:
    """The prompt of a text: ``Query: `` for queries and always for text-matching, else ``Passage: ``.

    >>> text_prompt("cats", role="document", task="retrieval")
    'Passage: cats'
    >>> text_prompt("cats", role="document", task="text-matching")
    'Query: cats'
    """
    prefix = "Query" if role == "query" or task == "text-matching" else "Passage"
    return f"{prefix}: {text}"


class JinaV4Model(Qwen2_5_VLPreTrainedModel):
    """Qwen2.5-VL backbone (no LM head) plus the multi-vector projector, named as on disk after remapping."""

    def __init__(self, config: Qwen2_5_VLConfig) -> None:
        super().__init__(config)
        self.model = Qwen2_5_VLModel(config)
        hidden = config.text_config.hidden_size
        self.multi_vector_projector = nn.Linear(hidden, int(config.multi_vector_projector_dim))
        self.post_init()


def _read_adapter(adapter_dir: Path, tasks: Sequence[str]) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
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


def _attach_adapters(model: JinaV4Model, adapter_dir: Path, tasks: Sequence[str], dtype: torch.dtype) -> None:
    """Inject one peft LoRA adapter per task and load the published tensors into it, strictly."""
    raw_config, tensors = _read_adapter(adapter_dir, tasks)
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
        if not key.startswith(_ADAPTER_PREFIX):
            raise CheckpointError(f"adapter key {key!r} does not start with {_ADAPTER_PREFIX!r}")
        state[key[len(_ADAPTER_PREFIX):]] = value
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


class JinaV4Backend(ModelBackend):
    """A loaded jina-embeddings-v4: tokenizer, image processor, backbone, projector, task adapters."""

    def __init__(
        self,
        model: JinaV4Model,
        tokenizer: Any,
        image_processor: Qwen2VLImageProcessorPil,
        info: ModelInfo,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.info = info
        config = model.config
        self.image_token_id = int(config.image_token_id)
        self.vision_start_id = int(config.vision_start_token_id)
        self.vision_end_id = int(config.vision_end_token_id)
        self.pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else config.bos_token_id)
        self.merge_size = int(image_processor.merge_size)
        self.default_min_pixels = int(image_processor.size["shortest_edge"])
        self.default_max_pixels = int(image_processor.size["longest_edge"])
        self._lora_layers = [m for m in model.modules() if isinstance(m, BaseTunerLayer)]
        self._active_task: str | None = None
        self.device = next(model.parameters()).device
        self._image_prompt_parts = IMAGE_PROMPT.split("<|image_pad|>")

    # -- preprocessing -------------------------------------------------------------------------
    def token_spans(self, text: str) -> list[tuple[int, int]]:
        encoding = self.tokenizer.backend_tokenizer.encode(text, add_special_tokens=False)
        return [tuple(span) for span in encoding.offsets]

    def prepare(
        self,
        item: TypedInput,
        *,
        role: Role,
        task: str,
        max_length: int | None,
        max_pixels: int | None,
    ) -> Prepared:
        if isinstance(item, TextInput):
            limit = min(max_length or DEFAULT_MAX_LENGTH, DEFAULT_MAX_LENGTH)
            ids = self.tokenizer(
                text_prompt(item.text, role=role, task=task), truncation=True, max_length=limit
            )["input_ids"]
            return Prepared(cost=len(ids), group="text", data={"ids": ids})
        if isinstance(item, ImageInput):
            return self._prepare_image(item, max_pixels)
        raise TypeError(f"unsupported input {type(item).__name__}")  # inputs.load_item guards this

    def _prepare_image(self, item: ImageInput, max_pixels: int | None) -> Prepared:
        ceiling = max_pixels or self.default_max_pixels
        size = {"shortest_edge": min(self.default_min_pixels, ceiling), "longest_edge": ceiling}
        features = self.image_processor(images=[item.image], size=size, return_tensors="pt")
        pixel_values = features["pixel_values"]  # (n_patches, 3 * temporal * patch * patch)
        grid_thw = features["image_grid_thw"]  # (1, 3)
        n_image_tokens = int(grid_thw.prod().item()) // (self.merge_size**2)
        before, after = self._image_prompt_parts
        prompt = before + "<|image_pad|>" * n_image_tokens + after
        ids = self.tokenizer(prompt)["input_ids"]
        return Prepared(
            cost=len(ids),
            group="image",
            data={"ids": ids, "pixel_values": pixel_values, "grid_thw": grid_thw},
        )

    # -- forward ---------------------------------------------------------------------------------
    def set_task(self, task: str) -> None:
        """Route every LoRA layer to ``task``'s adapter (base weights stay as loaded)."""
        if task not in self.info.tasks:
            raise TaskError(f"task={task!r} is not one of {list(self.info.tasks)}")
        if task != self._active_task:
            for layer in self._lora_layers:
                layer.set_adapter(task)
            self._active_task = task

    def collate(self, batch: Sequence[Prepared]) -> dict[str, torch.Tensor]:
        """Right-pad token ids into a batch; concatenate image patches in batch order."""
        longest = max(len(p.data["ids"]) for p in batch)
        input_ids = torch.full((len(batch), longest), self.pad_id, dtype=torch.long)  # (b, L)
        attention_mask = torch.zeros((len(batch), longest), dtype=torch.long)  # (b, L)
        for row, prepared in enumerate(batch):
            ids = prepared.data["ids"]
            input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
            attention_mask[row, : len(ids)] = 1
        inputs = {"input_ids": input_ids.to(self.device), "attention_mask": attention_mask.to(self.device)}
        if "pixel_values" in batch[0].data:
            inputs["pixel_values"] = torch.cat([p.data["pixel_values"] for p in batch]).to(
                self.device, self.model.dtype
            )  # (sum n_patches, patch_dim)
            inputs["image_grid_thw"] = torch.cat([p.data["grid_thw"] for p in batch]).to(self.device)  # (b, 3)
        return inputs

    def hidden_states(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Last hidden state after the final RMSNorm, (b, L, hidden); no LM head, no cache."""
        backbone = self.model.model
        input_ids, attention_mask = inputs["input_ids"], inputs["attention_mask"]
        if "pixel_values" in inputs:
            mm_token_type_ids = (input_ids == self.image_token_id).to(torch.int)  # (b, L): 1 = image
            position_ids, _ = backbone.get_rope_index(
                input_ids,
                mm_token_type_ids=mm_token_type_ids,
                image_grid_thw=inputs["image_grid_thw"],
                attention_mask=attention_mask,
            )  # (3, b, L) M-RoPE positions
            out = backbone(
                input_ids=input_ids,
                attention_mask=attention_mask,
                position_ids=position_ids,
                pixel_values=inputs["pixel_values"],
                image_grid_thw=inputs["image_grid_thw"],
                use_cache=False,
            )
        else:
            # Right padding: positions 0..n-1 of every row equal those of the unpadded text.
            out = backbone(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)
        return out.last_hidden_state

    def pool_mask(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, images: bool) -> torch.Tensor:
        """Positions averaged into the dense vector, (b, L): attended tokens, or the vision span."""
        if not images:
            return attention_mask
        started = (input_ids == self.vision_start_id).cumsum(dim=1) > 0  # (b, L) at/after vision_start
        is_end = input_ids == self.vision_end_id
        ended = (is_end.cumsum(dim=1) - is_end.long()) > 0  # (b, L) strictly after vision_end
        return (started & ~ended & attention_mask.bool()).long()

    def forward(self, batch: Sequence[Prepared], *, task: str, dense: bool, multi: bool) -> BatchOutput:
        self.set_task(task)
        inputs = self.collate(batch)
        hidden = self.hidden_states(inputs)  # (b, L, hidden)
        mask = inputs["attention_mask"]
        dense_out = None
        if dense:
            pooled = masked_mean(hidden, self.pool_mask(inputs["input_ids"], mask, "pixel_values" in inputs))
            dense_out = l2_normalize(pooled)  # (b, hidden) fp32
        multi_out = None
        if multi:
            tokens = self.model.multi_vector_projector(hidden)  # (b, L, 128), task LoRA applied
            tokens = l2_normalize(tokens).cpu()  # fp32; one device-to-host copy per batch, not per item
            lengths = mask.sum(dim=1).tolist()
            multi_out = [tokens[row, :n] for row, n in enumerate(lengths)]  # right padding: prefix rows
        return BatchOutput(dense=dense_out, multi=multi_out)


def _text_config(config: Qwen2_5_VLConfig) -> Any:
    return getattr(config, "text_config", config)


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
    _attach_adapters(model, model_dir / "adapters", tasks, dtype)
    model.eval().requires_grad_(False).to(device)

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    tokenizer.padding_side = "right"
    processor_path = model_dir / "preprocessor_config.json"
    if not processor_path.is_file():
        raise CheckpointError(f"{processor_path} is missing; it sets how images are resized.")
    processor_config = json.loads(processor_path.read_text(encoding="utf-8"))
    allowed = {
        "do_convert_rgb", "do_normalize", "do_rescale", "do_resize", "image_mean", "image_std",
        "max_pixels", "min_pixels", "merge_size", "patch_size", "resample", "rescale_factor",
        "temporal_patch_size", "size",
    }  # fmt: skip
    image_processor = Qwen2VLImageProcessorPil(**{k: v for k, v in processor_config.items() if k in allowed})

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
    return JinaV4Backend(model, tokenizer, image_processor, info)
