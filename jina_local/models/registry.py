"""Known model families and how an id or a folder resolves to files on disk, offline first."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CheckpointError, ModelNotFoundError, OptionError, UnsupportedModelError

if TYPE_CHECKING:
    from .base import ModelBackend

__all__ = ["MODEL_SPECS", "ModelSpec", "detect_family", "quiet_transformers_progress", "resolve_model_dir"]


@dataclass(frozen=True)
class ModelSpec:
    """Facts about a published model that do not live in its config.json."""

    family: str
    repo_id: str
    license: str
    # Files fetched from the hub for this family (weights, config, tokenizer, preprocessing).
    allow_patterns: tuple[str, ...]
    # The family's package under jina_local.models; it exports ``load_backend``.
    package: str
    # Whether a config.json (and its folder) belongs to this family.
    matches: Callable[[dict[str, Any], Path], bool]
    revision: str | None = None


def _is_jina_v4(config: dict[str, Any], model_dir: Path) -> bool:
    return "JinaEmbeddingsV4Model" in (config.get("architectures") or []) or (
        config.get("model_type") == "qwen2_5_vl" and (model_dir / "adapters" / "adapter_config.json").is_file()
    )


def _is_jina_clip(config: dict[str, Any], model_dir: Path) -> bool:
    return config.get("model_type") == "jina_clip" or "JinaCLIPModel" in (config.get("architectures") or [])


MODEL_SPECS: dict[str, ModelSpec] = {
    "jina_v4": ModelSpec(
        family="jina_v4",
        repo_id="jinaai/jina-embeddings-v4",
        license="CC BY-NC 4.0 (jina-embeddings-v4; Qwen2.5-VL-3B base under the Qwen research license)",
        allow_patterns=(
            "*.json",
            "*.safetensors",
            "adapters/*",
            "merges.txt",
            "vocab.json",
            "*.jinja",
        ),
        package="jina_v4",
        matches=_is_jina_v4,
    ),
    "jina_clip_v2": ModelSpec(
        family="jina_clip_v2",
        repo_id="jinaai/jina-clip-v2",
        license="CC BY-NC 4.0",
        allow_patterns=("*.json", "model.safetensors", "sentencepiece.bpe.model"),
        package="jina_clip_v2",
        matches=_is_jina_clip,
    ),
}


def _fetch_hint(repo_id: str, revision: str | None) -> str:
    rev = f" --revision {revision}" if revision else ""
    return (
        f"Fetch the files on a machine with internet access with `hf download {repo_id}{rev}` "
        "(they land in the Hugging Face cache, which jina-local reads offline), or pass the path "
        "of a folder that holds them."
    )


def _offline_env() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def resolve_model_dir(
    name_or_path: str | os.PathLike[str],
    *,
    revision: str | None = None,
    local_files_only: bool | None = None,
) -> Path:
    """Return the folder that holds a model's files.

    A folder is used as it is. An id is looked up in the local Hugging Face cache first; only when
    it is missing there, ``local_files_only`` is not ``True`` and ``HF_HUB_OFFLINE`` is not set, the
    files are downloaded. ``ModelNotFoundError`` names the id, the revision and how to get the files.
    """
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise OptionError(
            f"the model name {name_or_path!r} is a {type(name_or_path).__name__}: pass a Hugging Face id such "
            "as 'jinaai/jina-embeddings-v4' (a str) or the path of a folder holding config.json."
        )
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(
                f"'{path}' is a folder but holds no config.json: it is not a model checkpoint. "
                "Point load() at the folder that holds config.json and the *.safetensors files."
            )
        return path
    name = str(name_or_path)
    looks_like_id = name.count("/") == 1 and not name.startswith((".", "/", "~"))
    if not looks_like_id:
        raise ModelNotFoundError(
            f"'{name}' is neither an existing folder nor a Hugging Face id like 'jinaai/jina-embeddings-v4'."
        )
    spec = next((s for s in MODEL_SPECS.values() if s.repo_id == name), None)
    patterns = list(spec.allow_patterns) if spec else None
    revision = revision or (spec.revision if spec else None)

    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(name, revision=revision, allow_patterns=patterns, local_files_only=True))
    except Exception as cache_miss:  # noqa: BLE001 - any cache failure means "not in the cache"
        offline = local_files_only is True or (local_files_only is None and _offline_env())
        if offline:
            raise ModelNotFoundError(
                f"Model '{name}' (revision {revision or 'main'}) is not in the local Hugging Face cache "
                f"and downloading is off (local_files_only / HF_HUB_OFFLINE). {_fetch_hint(name, revision)}"
            ) from cache_miss
    try:
        return Path(snapshot_download(name, revision=revision, allow_patterns=patterns))
    except Exception as exc:  # noqa: BLE001 - network, auth, unknown repo: all mean "not available"
        raise ModelNotFoundError(
            f"Model '{name}' (revision {revision or 'main'}) is not in the local Hugging Face cache and "
            f"could not be downloaded ({type(exc).__name__}: {exc}). {_fetch_hint(name, revision)}"
        ) from exc


def read_config(model_dir: Path) -> dict[str, Any]:
    """Read ``config.json`` with an error that names the file."""
    config_path = model_dir / "config.json"
    try:
        config: dict[str, Any] = json.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelNotFoundError(f"{config_path} is missing.") from exc
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{config_path} is not valid JSON: {exc}") from exc
    return config


def detect_family(config: dict[str, Any], model_dir: Path) -> str:
    """Tell the family of a checkpoint from its config (never from remote code)."""
    for family, spec in MODEL_SPECS.items():
        if spec.matches(config, model_dir):
            return family
    architectures = config.get("architectures") or []
    raise UnsupportedModelError(
        f"{model_dir} holds a '{config.get('model_type')}' model ({', '.join(architectures) or 'no architectures'}); "
        "jina-local runs jinaai/jina-embeddings-v4 and jinaai/jina-clip-v2 only."
    )


def family_loader(family: str) -> Callable[..., ModelBackend]:
    """The ``load_backend(model_dir, config, *, device, dtype, spec, name, revision)`` of a family."""
    spec = MODEL_SPECS.get(family)
    if spec is None:
        raise UnsupportedModelError(f"no loader for model family '{family}'")
    module = importlib.import_module(f"{__package__}.{spec.package}")
    loader: Callable[..., ModelBackend] = module.load_backend
    return loader


@contextlib.contextmanager
def quiet_transformers_progress() -> Iterator[None]:
    """Hide transformers' per-tensor loading bar while we load (restored afterwards).

    Loading problems are not hidden: the loaders check missing / unexpected keys themselves.
    """
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()
