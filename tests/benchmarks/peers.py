"""Build the two Qwen2.5-VL multi-vector peers from the weights of a loaded jina-embeddings-v4.

Used by ``bench_peers.py``. Both peers get the *same* weights as jina-local, with one task's LoRA
merged by hand (``W + scaling * B @ A``, for the LM projections and the multi-vector projector):

* colpali-engine ``ColQwen2_5`` + ``ColQwen2_5_Processor``: backbone keys ``language_model.*`` /
  ``visual.*`` plus ``custom_text_proj``. colpali-engine needs torchvision, which does not load with the
  CPU torch here, so it is installed with ``--no-deps`` into a folder (``setup_peers.sh``) and its
  sub-modules are imported without running the package ``__init__`` files; its processor gets
  transformers' PIL image processor (``Qwen2VLImageProcessorPil``), the one jina-local uses.
* transformers ``ColQwen2ForRetrieval`` with a Qwen2.5-VL ``vlm_config`` + ``ColQwen2Processor``: the
  backbone under ``vlm.`` plus ``embedding_proj_layer``; no extra package.

Two measured pitfalls are handled here: a peer built from this config gets bf16 parameters, so it is
cast to float32 *before* the fp32 weights are loaded (loading first would round them silently); and
``ColQwen2ForRetrieval`` calls its backbone with ``inputs_embeds`` and no ``input_ids``, so images
would get 1-D positions: :func:`transformers_image_inputs` adds the M-RoPE ``position_ids``.
"""

from __future__ import annotations

import copy
import os
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import torch
from peft.tuners.tuners_utils import BaseTunerLayer

DEFAULT_PEERS_DIR = Path(__file__).resolve().parent / ".peers"


def peers_dir() -> Path:
    return Path(os.environ.get("JINA_LOCAL_PEERS_DIR", DEFAULT_PEERS_DIR))


def merged_state_dict(backend: Any, task: str) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """``(backbone, projector)`` float32 tensors with ``task``'s LoRA merged, in Qwen2_5_VLModel names.

    Merged by hand in float64 from the loaded base weights (``TaskSwitcher.pristine_weight``, whatever
    jina-local's own adapter mode). ``backbone`` keys are ``language_model.*`` / ``visual.*``;
    ``projector`` has ``weight`` / ``bias``.
    """
    jina_model = backend.model
    merged: dict[str, torch.Tensor] = {}
    lora_prefixes: list[str] = []
    for name, module in jina_model.named_modules():
        if isinstance(module, BaseTunerLayer):
            base = module.get_base_layer()
            a = module.lora_A[task].weight.double()  # (r, in)
            b = module.lora_B[task].weight.double()  # (out, r)
            pristine = backend.adapters.pristine_weight(module).double()  # (out, in)
            weight = pristine + module.scaling[task] * (b @ a)  # (out, in)
            merged[f"{name}.weight"] = weight.float()
            if base.bias is not None:
                merged[f"{name}.bias"] = base.bias.float()
            lora_prefixes.append(f"{name}.")
    for key, value in jina_model.state_dict().items():
        if any(key.startswith(p) for p in lora_prefixes):
            continue  # base_layer / lora_A / lora_B of a merged layer
        merged[key] = value.float()
    backbone = {k[len("model.") :]: v for k, v in merged.items() if k.startswith("model.")}
    projector = {k.rsplit(".", 1)[1]: v for k, v in merged.items() if k.startswith("multi_vector_projector.")}
    return backbone, projector


def _load_exact(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    model.to(torch.float32)  # first: the config says bf16, and loading fp32 into bf16 rounds silently
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("lm_head.weight")]
    if missing or result.unexpected_keys:
        raise RuntimeError(f"peer weights do not match: missing {missing[:5]}, unexpected {result.unexpected_keys[:5]}")
    model.eval().requires_grad_(False)


# -- colpali-engine --------------------------------------------------------------------------------
def import_colpali(target: Path | None = None) -> tuple[type, type]:
    """``(ColQwen2_5, processor class)`` from a ``--no-deps`` install, without the package ``__init__``."""
    root = (target or peers_dir()) / "colpali"
    package = root / "colpali_engine"
    if not package.is_dir():
        raise SystemExit(f"colpali-engine is not installed in {root}; run tests/benchmarks/setup_peers.sh first.")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    for name in (
        "colpali_engine",
        "colpali_engine.models",
        "colpali_engine.models.qwen2_5",
        "colpali_engine.models.qwen2_5.colqwen2_5",
        "colpali_engine.utils",
    ):
        if name not in sys.modules:
            stub = types.ModuleType(name)
            stub.__path__ = [str(root / name.replace(".", "/"))]  # type: ignore[attr-defined]
            sys.modules[name] = stub
    # The processor imports smart_resize from transformers' torchvision-backed module; the PIL twin has it.
    from transformers.models.qwen2_vl import image_processing_pil_qwen2_vl as pil_module

    torchvision_name = "transformers.models.qwen2_vl.image_processing_qwen2_vl"
    if torchvision_name not in sys.modules:
        shim = types.ModuleType(torchvision_name)
        shim.smart_resize = pil_module.smart_resize  # type: ignore[attr-defined]
        sys.modules[torchvision_name] = shim
    from colpali_engine.models.qwen2_5.colqwen2_5.modeling_colqwen2_5 import ColQwen2_5
    from colpali_engine.models.qwen2_5.colqwen2_5.processing_colqwen2_5 import ColQwen2_5_Processor

    class PilColQwen2_5_Processor(ColQwen2_5_Processor):  # noqa: N801
        """Accepts ``video_processor=None`` (video processors need torchvision)."""

        def check_argument_for_proper_class(self, argument_name: str, argument: Any) -> Any:
            if argument_name == "video_processor" and argument is None:
                return None
            return super().check_argument_for_proper_class(argument_name, argument)

    return ColQwen2_5, PilColQwen2_5_Processor


def build_colpali(backend: Any, model_dir: Path, task: str) -> tuple[torch.nn.Module, Any]:
    from transformers import AutoTokenizer

    model_cls, processor_cls = import_colpali()
    backbone, projector = merged_state_dict(backend, task)
    config = copy.deepcopy(backend.model.config)
    model = model_cls._from_config(config, attn_implementation="sdpa", dtype=torch.float32)
    state = dict(backbone)
    state.update({f"custom_text_proj.{k}": v for k, v in projector.items()})
    _load_exact(model, state)
    processor = processor_cls(
        image_processor=copy.deepcopy(backend.image_processor), tokenizer=AutoTokenizer.from_pretrained(model_dir)
    )
    return model, processor


def colpali_texts(model: torch.nn.Module, processor: Any, texts: list[str]) -> list[np.ndarray]:
    """The documented text path: ``process_texts`` (left padding, longest) then the model."""
    inputs = processor.process_texts(texts)
    embeddings = model(**inputs)  # (b, L, 128)
    return _unpad(embeddings, inputs["attention_mask"])


def colpali_images(model: torch.nn.Module, processor: Any, images: list[Any]) -> list[np.ndarray]:
    inputs = processor.process_images(images)  # pixel_values zero-padded to (b, max_patches, 1176)
    embeddings = model(**inputs)
    return _unpad(embeddings, inputs["attention_mask"])


# -- transformers ColQwen2ForRetrieval ---------------------------------------------------------------
def build_transformers(backend: Any, model_dir: Path, task: str, prefix: str) -> tuple[torch.nn.Module, Any]:
    from transformers import AutoTokenizer, ColQwen2Config, ColQwen2ForRetrieval, ColQwen2Processor

    backbone, projector = merged_state_dict(backend, task)
    config = ColQwen2Config(vlm_config=copy.deepcopy(backend.model.config).to_dict(), embedding_dim=128)
    model = ColQwen2ForRetrieval._from_config(config, attn_implementation="sdpa", dtype=torch.float32)
    state = {f"vlm.{k}": v for k, v in backbone.items()}
    state.update({f"embedding_proj_layer.{k}": v for k, v in projector.items()})
    _load_exact(model, state)
    processor = ColQwen2Processor(
        image_processor=copy.deepcopy(backend.image_processor),
        tokenizer=AutoTokenizer.from_pretrained(model_dir),
        query_prefix=prefix,
    )
    return model, processor


def transformers_texts(model: torch.nn.Module, processor: Any, texts: list[str]) -> list[np.ndarray]:
    """``process_queries`` with the document prefix and no augmentation suffix (it appends a newline)."""
    inputs = processor.process_queries(texts, suffix="")
    embeddings = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]).embeddings
    return _unpad(embeddings, inputs["attention_mask"])


def transformers_image_inputs(model: torch.nn.Module, processor: Any, images: list[Any]) -> dict[str, torch.Tensor]:
    inputs = processor.process_images(images)
    input_ids, mask = inputs["input_ids"], inputs["attention_mask"]
    image_token = int(model.config.vlm_config.image_token_id)
    position_ids, _ = model.vlm.get_rope_index(
        input_ids,
        mm_token_type_ids=(input_ids == image_token).to(torch.int),
        image_grid_thw=inputs["image_grid_thw"],
        attention_mask=mask,
    )  # (3, b, L): without them the backbone would use 1-D positions for the image tokens
    return {
        "input_ids": input_ids,
        "attention_mask": mask,
        "pixel_values": inputs["pixel_values"],
        "image_grid_thw": inputs["image_grid_thw"],
        "position_ids": position_ids,
    }


def transformers_images(model: torch.nn.Module, processor: Any, images: list[Any]) -> list[np.ndarray]:
    inputs = transformers_image_inputs(model, processor, images)
    return _unpad(model(**inputs).embeddings, inputs["attention_mask"])


def _unpad(embeddings: torch.Tensor, mask: torch.Tensor) -> list[np.ndarray]:
    """One ``(n_i, 128)`` float32 array per row: the attended positions, in order (either padding side)."""
    keep = mask.bool()
    return [embeddings[row][keep[row]].float().numpy() for row in range(embeddings.shape[0])]
