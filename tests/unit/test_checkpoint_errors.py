"""Broken checkpoint folders get one CheckpointError that names the file and the fix, never a raw stack."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import jina_local
from jina_local.errors import CheckpointError


def _truncate(path: Path, keep: int = 1000) -> None:
    path.write_bytes(path.read_bytes()[:keep])


def _only_pickle(folder: Path) -> None:
    for path in folder.glob("*.safetensors"):
        path.unlink()
    for path in folder.glob("*.safetensors.index.json"):
        path.unlink()
    (folder / "pytorch_model.bin").write_bytes(b"PK\x03\x04 pretend pickle")


def _drop(*names: str) -> Callable[[Path], None]:
    def drop(folder: Path) -> None:
        for name in names:
            (folder / name).unlink()

    return drop


def _corrupt_json(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_text("{not json")


def _config_field(field: str, value: object) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / "config.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), field: value}))

    return edit


V4_CASES = {
    "truncated shard": (lambda f: _truncate(f / "model-00001-of-00002.safetensors"), "safetensors weights"),
    "missing shard": (_drop("model-00002-of-00002.safetensors"), "lacks shard"),
    "corrupt shard index": (_corrupt_json("model.safetensors.index.json"), "shard index"),
    "only pickle weights": (_only_pickle, "never loads pickle"),
    "corrupt preprocessor config": (_corrupt_json("preprocessor_config.json"), "image preprocessing config"),
    "missing preprocessor config": (_drop("preprocessor_config.json"), "preprocessor_config.json is missing"),
    "no tokenizer files": (
        _drop("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt"),
        "no tokenizer",
    ),
    "corrupt tokenizer config": (_corrupt_json("tokenizer_config.json"), "tokenizer files"),
    "truncated adapter weights": (
        lambda f: _truncate(f / "adapters" / "adapter_model.safetensors", 2),
        "LoRA adapters",
    ),
    "corrupt adapter config": (_corrupt_json("adapters/adapter_config.json"), "LoRA adapters"),
    "missing adapters": (lambda f: shutil.rmtree(f / "adapters"), "adapters"),
    "config field of the wrong type": (_config_field("hidden_size", "big"), "model config"),
    "image token outside the vocabulary": (_config_field("image_token_id", 10**7), "cannot be prompted"),
}

CLIP_CASES = {
    "truncated weights": (lambda f: _truncate(f / "model.safetensors"), "safetensors weights"),
    "only pickle weights": (_only_pickle, "never loads pickle"),
    "corrupt preprocessor config": (_corrupt_json("preprocessor_config.json"), "image preprocessing config"),
    "corrupt tokenizer": (_corrupt_json("tokenizer.json"), "tokenizer"),
    "corrupt tokenizer config": (_corrupt_json("tokenizer_config.json"), "tokenizer config"),
    "missing tokenizer": (_drop("tokenizer.json"), "tokenizer.json"),
}


def _broken(source: Path, tmp_path: Path, mutate: Callable[[Path], None]) -> Path:
    folder = tmp_path / "broken"
    shutil.copytree(source, folder)
    mutate(folder)
    return folder


@pytest.mark.parametrize("case", sorted(V4_CASES))
def test_broken_v4_folders(tiny_v4_dir: Path, tmp_path: Path, case: str) -> None:
    mutate, message = V4_CASES[case]
    with pytest.raises(CheckpointError, match=message):
        jina_local.load(_broken(tiny_v4_dir, tmp_path, mutate), device="cpu")


@pytest.mark.parametrize("case", sorted(CLIP_CASES))
def test_broken_clip_folders(tiny_clip_dir: Path, tmp_path: Path, case: str) -> None:
    mutate, message = CLIP_CASES[case]
    with pytest.raises(CheckpointError, match=message):
        jina_local.load(_broken(tiny_clip_dir, tmp_path, mutate), device="cpu")
