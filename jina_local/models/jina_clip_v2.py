"""jina-clip-v2, natively: Jina-XLM-RoBERTa text tower + EVA02-L/14 vision tower, no remote code.

Loads the published folder (``config.json`` with ``model_type: jina_clip``, ``model.safetensors``,
``tokenizer.json``, ``preprocessor_config.json``) as plain files; ``auto_map`` is never followed.
Facts and their sources are in ``reference/jina_clip_v2.md``; section numbers below refer to it.

* Text (§2): transformers' :class:`~transformers.JinaEmbeddingsV3Model` (post-LN, NeoX RoPE), fed from the
  ``text_model.transformer.roberta.*`` keys. The one LoRA adapter (``retrieval.query``) is always active in
  the original, so it is merged into the base weights once at load with scaling ``lora_alpha / lora_rank``
  (1.0 for clip-v2). The fused ``mixer.Wqkv`` is split into q/k/v. Mean pooling over ``ids != <pad>``
  (``<s>`` and ``</s>`` included). Queries get the ``retrieval.query`` instruction; documents none.
* Vision (§3): :class:`~jina_local.models.eva02.Eva02VisionTower` on the ``vision_model.*`` keys; pixels
  from :func:`preprocess_image` (shortest side to ``size`` bicubic, centre crop, CLIP mean/std).
* Both towers emit vectors in one shared space; no projection heads; output L2-normalised.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..errors import CheckpointError, OutputError, TaskError, UnsupportedModelError
from ..inputs import ImageInput, TextInput, TypedInput
from ..pooling import l2_normalize, masked_mean, weights_fingerprint
from ..types import ModelInfo, Role
from ._checkpoint import SafetensorsReader as _Reader
from ._checkpoint import dominant_dtype as _dominant_dtype
from ._checkpoint import fail_on_mismatch as _fail_on_mismatch
from ._checkpoint import no_meta as _no_meta
from .base import BatchOutput, ModelBackend, Prepared
from .eva02 import (
    CLIP_MEAN,
    CLIP_STD,
    Eva02Config,
    Eva02VisionTower,
    ImageSettings,
    center_crop_box,
    normalize_pixels,
    preprocess_image,
    resized_size,
)

if TYPE_CHECKING:
    from PIL import Image
    from tokenizers import Tokenizer
    from transformers import JinaEmbeddingsV3Model

    from .registry import ModelSpec

__all__ = [
    "CLIP_MEAN",
    "CLIP_STD",
    "DEFAULT_MAX_LENGTH",
    "QUERY_PROMPT",
    "TEXT_ROPE_THETA",
    "JinaClipV2Backend",
    "LoadReport",
    "center_crop_box",
    "load_backend",
    "normalize_pixels",
    "preprocess_image",
    "resized_size",
]

logger = logging.getLogger(__name__)

TEXT_ROPE_THETA = 20000.0
"""RoPE base of the text tower. [I] in the reference (§2, §8): clip-v2's config does not set it, the value
comes from ``jinaai/jina-embeddings-v3``'s config, and transformers' native port fixes it at 20000. When the
checkpoint stores ``rotary_emb.inv_freq`` tables, the loader checks them against this base."""

# Jina-XLM-RoBERTa facts that live in jinaai/jina-embeddings-v3's config.json, not in clip-v2's (§2).
# ``text_config.hf_model_config_kwargs`` overrides them, as it does in the original code.
_TEXT_DEFAULTS: dict[str, Any] = {
    "num_attention_heads": 16,
    "layer_norm_eps": 1e-5,
    "hidden_act": "gelu",
    "max_position_embeddings": 8194,
    "pad_token_id": 1,
    "rotary_emb_base": TEXT_ROPE_THETA,
}

DEFAULT_MAX_LENGTH = 512
"""Default text truncation in tokens (specials included), as the official ``encode_text``; the tokenizer
allows up to ``model_max_length`` (8194). Override per call with ``encode(..., max_length=N)``."""

QUERY_PROMPT = "Represent the query for retrieving evidence documents: "
"""Instruction for queries (``task_instructions['retrieval.query']``), used when the config has none."""


_TEXT_PREFIX = "text_model.transformer.roberta."
_VISION_PREFIX = "vision_model."
# Scalars used only for CLIP logits, never for embeddings.
_LOGIT_KEYS = frozenset({"logit_scale", "logit_bias"})
_TEXT_GROUP = "text"
_IMAGE_GROUP = "image"
# Image resize/crop runs in background threads from prepare() on (PIL releases the GIL while resampling),
# so it overlaps other items' preparation and earlier forwards instead of adding to them.
_PIXEL_THREADS = max(1, min(8, os.cpu_count() or 1))

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


# ----------------------------------------------------------------------------------------------------------
# Checkpoint reading


@dataclass(frozen=True)
class LoadReport:
    """What loading found: checkpoint keys not used, model weights not filled, keys checked and skipped."""

    missing: tuple[str, ...]
    unexpected: tuple[str, ...]
    ignored: tuple[str, ...]
    checkpoint_dtype: str
    lora_scaling: float
    lora_b_norm: float


# ----------------------------------------------------------------------------------------------------------
# Text tower


@dataclass(frozen=True)
class _TextShape:
    vocab: int
    hidden: int
    layers: int
    intermediate: int
    type_vocab: int


def _text_shape(reader: _Reader) -> _TextShape:
    def weight_shape(base: str) -> tuple[int, ...]:
        for key in (f"{_TEXT_PREFIX}{base}.parametrizations.weight.original", f"{_TEXT_PREFIX}{base}.weight"):
            if key in reader.keys():
                return reader.shape(key)
        raise CheckpointError(
            f"the checkpoint has no text tower weight '{_TEXT_PREFIX}{base}'; is it jinaai/jina-clip-v2?"
        )

    layer_re = re.compile(rf"^{re.escape(_TEXT_PREFIX)}encoder\.layers\.(\d+)\.")
    layer_ids = {int(m.group(1)) for k in reader.keys() if (m := layer_re.match(k))}
    vocab, hidden = weight_shape("embeddings.word_embeddings")
    return _TextShape(
        vocab=vocab,
        hidden=hidden,
        layers=max(layer_ids) + 1 if layer_ids else 0,
        intermediate=weight_shape("encoder.layers.0.mlp.fc1")[0],
        type_vocab=weight_shape("embeddings.token_type_embeddings")[0],
    )


def _build_text_model(shape: _TextShape, overrides: dict[str, Any]) -> JinaEmbeddingsV3Model:
    try:
        from transformers import JinaEmbeddingsV3Config, JinaEmbeddingsV3Model
    except ImportError as exc:  # the native port arrived in transformers 5.x (2026-03); 5.23 is tested
        raise UnsupportedModelError(
            "jina-clip-v2's text tower needs transformers' JinaEmbeddingsV3Model, which this transformers "
            f"version lacks ({exc}); upgrade with `pip install -U 'transformers>=5.23,<6'`."
        ) from exc

    settings = {**_TEXT_DEFAULTS, **{k: v for k, v in overrides.items() if k in _TEXT_DEFAULTS}}
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


def _rope_theta(model: JinaEmbeddingsV3Model) -> float:
    theta = (model.config.rope_parameters or {}).get("rope_theta")
    return TEXT_ROPE_THETA if theta is None else float(theta)


def _pad_id(model: JinaEmbeddingsV3Model) -> int:
    pad = model.config.pad_token_id
    return int(_TEXT_DEFAULTS["pad_token_id"] if pad is None else pad)


def _text_inv_freq(model: JinaEmbeddingsV3Model) -> torch.Tensor:
    inv_freq, _ = type(model.rotary_emb).compute_default_rope_parameters(model.config)
    return inv_freq  # (head_dim/2,) float32


def _convert_text(
    reader: _Reader, model: JinaEmbeddingsV3Model, lora: dict[str, Any], device: torch.device, dtype: torch.dtype
) -> tuple[dict[str, torch.Tensor], list[str], list[str], float, float]:
    """Text weights renamed to the transformers layout with the LoRA merged; (state, unexpected, ignored, ...)."""
    unexpected: list[str] = []
    ignored: list[str] = []
    parts: dict[str, dict[str, str]] = {}  # source module path -> {"original"|"lora_A"|"lora_B": key}
    plain: dict[str, str] = {}  # source name -> key
    for key in reader.keys():
        if not key.startswith(_TEXT_PREFIX):
            continue
        name = key[len(_TEXT_PREFIX):]
        if _TEXT_ROPE_RE.match(name):
            stored = reader.get(key).float()
            expected = _text_inv_freq(model)
            if stored.shape != expected.shape or not torch.allclose(stored, expected, rtol=2e-3, atol=1e-6):
                raise CheckpointError(
                    f"{key} does not match a RoPE base of {_rope_theta(model)}: "
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
                raise CheckpointError(f"the LoRA of {_TEXT_PREFIX}{base} does not fit its weight {tuple(weight.shape)}")
            weight.addmm_(left, right, alpha=scaling)  # in place: no second fp32 copy of the 250k-row embedding
        weights[f"{base}.weight"] = weight.to(device=device, dtype=dtype)
    for name, key in plain.items():
        weights[name] = reader.get(key).to(device=device, dtype=dtype)

    state: dict[str, torch.Tensor] = {}
    for name in list(weights):
        tensor = weights.pop(name)
        rule = next(((p, r) for p, r in _TEXT_RENAMES if p.match(name)), None)
        if rule is None:
            unexpected.append(_TEXT_PREFIX + name)
            continue
        target = rule[0].sub(rule[1], name, count=1)
        if ".self_attn.Wqkv." not in target:
            state[target] = tensor
        elif tensor.shape[0] % 3:
            raise CheckpointError(f"{_TEXT_PREFIX}{name} has {tensor.shape[0]} rows, not 3 equal parts (q, k, v).")
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


def _materialise_text_buffers(model: JinaEmbeddingsV3Model, device: torch.device) -> None:
    positions = model.config.max_position_embeddings
    embeddings, rotary = model.embeddings, model.rotary_emb
    embeddings.register_buffer("position_ids", torch.arange(positions, device=device)[None], persistent=False)
    embeddings.register_buffer("token_type_ids", torch.zeros((1, positions), dtype=torch.long, device=device), False)
    inv_freq = _text_inv_freq(model).to(device)
    rotary.register_buffer("inv_freq", inv_freq, persistent=False)
    rotary.register_buffer("original_inv_freq", inv_freq.clone(), persistent=False)


# ----------------------------------------------------------------------------------------------------------
# Vision tower


def _convert_vision(
    reader: _Reader, model: Eva02VisionTower, device: torch.device, dtype: torch.dtype
) -> tuple[dict[str, torch.Tensor], list[str], list[str]]:
    """``vision_model.*`` tensors by module name (no renaming needed); (state, unexpected, ignored)."""
    state: dict[str, torch.Tensor] = {}
    unexpected: list[str] = []
    ignored: list[str] = []
    names = set(model.state_dict())
    for key in reader.keys():
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


# ----------------------------------------------------------------------------------------------------------
# Tokenizer and preprocessing config


def _load_tokenizer(model_dir: Path, pad_id: int) -> tuple[Tokenizer, int]:
    from tokenizers import Tokenizer

    path = model_dir / "tokenizer.json"
    if not path.is_file():
        raise CheckpointError(
            f"{model_dir} has no tokenizer.json; jina-local reads jina-clip-v2's fast tokenizer file. "
            "Download tokenizer.json from jinaai/jina-clip-v2 into this folder."
        )
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    if tokenizer.token_to_id("<pad>") != pad_id:
        raise CheckpointError(
            f"{path}: '<pad>' has id {tokenizer.token_to_id('<pad>')}, but the text tower pads with id {pad_id}."
        )
    limit = _TEXT_DEFAULTS["max_position_embeddings"]
    tok_config = model_dir / "tokenizer_config.json"
    if tok_config.is_file():
        value = json.loads(tok_config.read_text(encoding="utf-8")).get("model_max_length")
        if isinstance(value, int) and 2 <= value < 10**9:
            limit = value
    return tokenizer, int(limit)


# ----------------------------------------------------------------------------------------------------------
# Backend


class JinaClipV2Backend(ModelBackend):
    """jina-clip-v2 behind the :class:`ModelBackend` contract; build it with :func:`load_backend`.

    Text items cost their token count; images a constant ``grid*grid + 1`` tokens. Text and images run in
    separate forwards (``group``). ``max_pixels`` is ignored: the tower takes a fixed resolution.
    """

    def __init__(
        self,
        *,
        info: ModelInfo,
        text_model: JinaEmbeddingsV3Model,
        vision_model: Eva02VisionTower,
        tokenizer: Tokenizer,
        query_prompt: str,
        max_positions: int,
        image: ImageSettings,
        report: LoadReport,
    ) -> None:
        self.info = info
        self.text_model = text_model
        self.vision_model = vision_model
        self.tokenizer = tokenizer
        self.query_prompt = query_prompt
        self.pad_id = _pad_id(text_model)
        self.max_positions = max_positions
        self.image = image
        self.load_report = report
        self.device = torch.device(info.device)
        self._truncation: int | None = None
        self._tokenizer_lock = threading.Lock()  # truncation is tokenizer state; encode() may run in threads
        self._pixel_pool: ThreadPoolExecutor | None = None

    def _pixels_later(self, image: Image.Image) -> Future[torch.Tensor]:
        if self._pixel_pool is None:
            self._pixel_pool = ThreadPoolExecutor(_PIXEL_THREADS, thread_name_prefix="jina-clip-pixels")
        return self._pixel_pool.submit(preprocess_image, image, self.image.size, interpolation=self.image.interpolation)

    def tokenize(self, text: str, max_length: int | None = None) -> list[int]:
        """Token ids with ``<s>``/``</s>``, truncated to ``max_length`` (default :data:`DEFAULT_MAX_LENGTH`)."""
        limit = self.info.max_length if max_length is None else max_length
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 3:
            raise ValueError(f"max_length={max_length!r} must be an integer >= 3 (it counts <s> and </s>).")
        if limit > self.max_positions:
            raise ValueError(
                f"max_length={max_length} exceeds {self.info.name}'s limit of {self.max_positions} tokens; "
                f"pass max_length<={self.max_positions}."
            )
        with self._tokenizer_lock:
            if self._truncation != limit:
                self.tokenizer.enable_truncation(limit)  # content first, then <s> ... </s> fit in `limit`
                self._truncation = limit
            return list(self.tokenizer.encode(text).ids)

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        with self._tokenizer_lock:  # truncation is tokenizer state
            if self._truncation is not None:
                self.tokenizer.no_truncation()
                self._truncation = None
            encoding = self.tokenizer.encode(text, add_special_tokens=False)
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
        if task not in self.info.tasks:
            raise TaskError(
                f"task={task!r} is not available: {self.info.name} has no task adapters "
                f"(its only task is '{self.info.default_task}'); leave task unset."
            )
        if isinstance(item, TextInput):
            text = self.query_prompt + item.text if role == "query" else item.text
            ids = self.tokenize(text, max_length)
            return Prepared(cost=len(ids), group=_TEXT_GROUP, data=ids)
        if isinstance(item, ImageInput):  # data: a Future of the (3, S, S) uint8 crop
            crop = self._pixels_later(item.image)
            return Prepared(cost=self.vision_model.cfg.num_tokens, group=_IMAGE_GROUP, data=crop)
        raise TypeError(f"jina-clip-v2 cannot embed {type(item).__name__}")

    def collate_text(self, batch: Sequence[Prepared]) -> torch.Tensor:
        """Right-padded ids ``(b, L)`` on the device."""
        longest = max(len(p.data) for p in batch)
        ids = torch.full((len(batch), longest), self.pad_id, dtype=torch.long)  # (b, L)
        for row, p in enumerate(batch):
            ids[row, : len(p.data)] = torch.as_tensor(p.data, dtype=torch.long)
        return ids.to(self.device, non_blocking=True)

    def collate_images(self, batch: Sequence[Prepared]) -> torch.Tensor:
        """Normalised pixels ``(b, 3, S, S)`` float32 on the device."""
        crops = [p.data.result() if isinstance(p.data, Future) else p.data for p in batch]  # (3, S, S) uint8 each
        pixels = torch.stack(crops).to(self.device, non_blocking=True)  # (b, 3, S, S) uint8
        return normalize_pixels(pixels, self.image.mean, self.image.std)

    def embed_text_ids(self, ids: torch.Tensor) -> torch.Tensor:
        """Unnormalised mean-pooled text features ``(b, D)`` float32 for right-padded ``ids`` ``(b, L)``."""
        mask = ids != self.pad_id  # (b, L); the original pools and attends over ids != <pad>
        attention = None if bool(mask.all()) else mask.long()
        hidden = self.text_model(input_ids=ids, attention_mask=attention).last_hidden_state  # (b, L, D)
        return masked_mean(hidden, mask)  # (b, D) fp32

    def embed_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        """Unnormalised CLS features ``(b, D)`` float32 for normalised ``pixels`` ``(b, 3, S, S)``."""
        return self.vision_model(pixels).float()  # (b, D)

    def forward(self, batch: Sequence[Prepared], *, task: str, dense: bool, multi: bool) -> BatchOutput:
        if multi:
            raise OutputError(f"{self.info.name} produces no per-token vectors; use output='dense'.")
        groups = {p.group for p in batch}
        if groups == {_TEXT_GROUP}:
            features = self.embed_text_ids(self.collate_text(batch))
        elif groups == {_IMAGE_GROUP}:
            features = self.embed_pixels(self.collate_images(batch))
        else:
            raise ValueError(f"one forward takes text or images, not a mix of {sorted(map(str, groups))}")
        return BatchOutput(dense=l2_normalize(features), multi=None)


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
    reader = _Reader(model_dir)
    checkpoint_dtype = _dominant_dtype(reader)

    overrides = dict(text_config.get("hf_model_config_kwargs") or {})
    lora = _lora_settings(text_config)
    text_model = _build_text_model(_text_shape(reader), overrides)
    text_state, unexpected, ignored, scaling, b_norm = _convert_text(reader, text_model, lora, device, dtype)
    missing = [f"text:{k}" for k in text_model.state_dict() if k not in text_state]
    unexpected += [f"{_TEXT_PREFIX}{k}" for k in text_state if k not in text_model.state_dict()]

    with torch.device("meta"):
        vision_model = Eva02VisionTower(Eva02Config.from_jina_clip(vision_config)).eval()
    vision_state, vision_unexpected, vision_ignored = _convert_vision(reader, vision_model, device, dtype)
    missing += [f"{_VISION_PREFIX}{k}" for k in vision_model.state_dict() if k not in vision_state]
    unexpected += vision_unexpected
    ignored += vision_ignored
    for key in reader.keys():
        if key in _LOGIT_KEYS:
            ignored.append(key)
        elif not key.startswith((_TEXT_PREFIX, _VISION_PREFIX)):
            unexpected.append(key)
    _fail_on_mismatch(missing, unexpected, model_dir / "model.safetensors")

    for module, state, what in ((text_model, text_state, "text tower"), (vision_model, vision_state, "vision tower")):
        expected = module.state_dict()
        for key, tensor in state.items():
            if tuple(tensor.shape) != tuple(expected[key].shape):
                raise CheckpointError(
                    f"{what} weight {key} has shape {tuple(tensor.shape)} in the checkpoint but "
                    f"{tuple(expected[key].shape)} from config.json; the config and weights do not belong together."
                )
        module.load_state_dict(state, strict=True, assign=True)
    _materialise_text_buffers(text_model, device)
    vision_model.init_buffers(device)
    _no_meta(text_model, "text tower")
    _no_meta(vision_model, "vision tower")
    logger.info("jina-clip-v2: merged LoRA '%s' (scaling %.3g, |B| = %.4g)", lora["task"], scaling, b_norm)

    tokenizer, max_positions = _load_tokenizer(model_dir, _pad_id(text_model))
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
    return JinaClipV2Backend(
        info=info,
        text_model=text_model,
        vision_model=vision_model,
        tokenizer=tokenizer,
        query_prompt=str(instructions.get("retrieval.query", QUERY_PROMPT)),
        max_positions=max_positions,
        image=image,
        report=report,
    )
