"""jina-embeddings-v4 task adapters as merged weights: same vectors, no drift, a working fallback."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import jina_local
from jina_local.errors import TaskError
from jina_local.models.jina_v4 import adapters as adapters_module
from jina_local.runtime import available_memory_bytes

TASKS = ("retrieval", "text-matching", "code")
TEXTS = ["Cats sleep up to sixteen hours a day.", "def add(a, b):\n    return a + b", "Quarterly revenue grew."]
IMAGE = Image.fromarray(np.random.default_rng(3).integers(0, 256, (56, 84, 3), dtype=np.uint8))


def _load(model_dir: Path) -> jina_local.Embedder:
    return jina_local.load(model_dir, device="cpu", dtype="float32")


def _encode(model: jina_local.Embedder, task: str) -> tuple[np.ndarray, list[np.ndarray]]:
    text = model.encode(TEXTS, task=task, output="both")
    image = model.encode([IMAGE], task=task, output="both")
    return np.concatenate([text.dense, image.dense]), [*text.multi, *image.multi]


def _lora_layers(model: jina_local.Embedder) -> list[torch.nn.Module]:
    return [m for m in model.backend.model.modules() if hasattr(m, "lora_A")]


def _merged_weights(model: jina_local.Embedder) -> list[torch.Tensor]:
    switcher = model.backend.adapters
    return [switcher.merged_weight(layer) for layer in _lora_layers(model)]


@pytest.fixture(scope="module")
def own_model(tiny_v4_dir: Path) -> jina_local.Embedder:
    return _load(tiny_v4_dir)  # not the shared session model: these tests change its adapter mode


@pytest.mark.parametrize("task", TASKS)
def test_merged_output_equals_unmerged(own_model: jina_local.Embedder, task: str) -> None:
    switcher = own_model.backend.adapters
    switcher.configure("always")
    merged_dense, merged_multi = _encode(own_model, task)
    assert switcher.merged and switcher.active == task
    switcher.configure("never")
    plain_dense, plain_multi = _encode(own_model, task)
    assert not switcher.merged
    assert np.abs(merged_dense - plain_dense).max() <= 1e-5
    for a, b in zip(merged_multi, plain_multi):  # the projector's LoRA is merged too
        assert a.shape == b.shape and np.abs(a - b).max() <= 1e-5
    switcher.configure("auto")


def test_tasks_still_differ_when_merged(own_model: jina_local.Embedder) -> None:
    own_model.backend.adapters.configure("always")
    vectors = [_encode(own_model, task)[0] for task in TASKS]
    assert np.abs(vectors[0] - vectors[1]).max() > 1e-3 and np.abs(vectors[0] - vectors[2]).max() > 1e-3


def test_twenty_switches_leave_weights_bit_identical_to_a_fresh_merge(tiny_v4_dir: Path) -> None:
    busy, fresh = _load(tiny_v4_dir), _load(tiny_v4_dir)
    busy.backend.adapters.configure("always")
    fresh.backend.adapters.configure("always")
    loaded = [layer.get_base_layer().weight.detach().clone() for layer in _lora_layers(busy)]
    for step in range(20):
        busy.backend.set_task(TASKS[step % 3])
    busy.backend.set_task("code")
    fresh.backend.set_task("code")
    merged, once = _merged_weights(busy), _merged_weights(fresh)
    assert len(merged) == len(loaded) > 0
    for after, expected in zip(merged, once):
        assert after is not None and expected is not None and torch.equal(after, expected)
    switcher = busy.backend.adapters
    for layer, before in zip(_lora_layers(busy), loaded):  # the loaded weights were never written to
        assert torch.equal(switcher.pristine_weight(layer), before)
        assert torch.equal(layer.get_base_layer().weight, before)
    state = busy.backend.model.state_dict()  # and the state dict shows the checkpoint, not a merge
    first = _lora_layers(busy)[0]
    name = next(n for n, m in busy.backend.model.named_modules() if m is first)
    assert torch.equal(state[f"{name}.base_layer.weight"], loaded[0])
    switcher.configure("never")
    assert all(w is None for w in _merged_weights(busy))


def test_fallback_to_unmerged_when_memory_is_short(tiny_v4_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reference = _load(tiny_v4_dir)
    reference.backend.adapters.configure("never")
    expected = _encode(reference, "code")

    monkeypatch.setattr(adapters_module, "available_memory_bytes", lambda device: 64 << 20)  # 64 MiB free
    short = _load(tiny_v4_dir)
    with pytest.warns(RuntimeWarning, match="unmerged.*MiB"):
        got = _encode(short, "code")
    switcher = short.backend.adapters
    assert not switcher.merged and "only 64 MiB are free" in (switcher.fallback_reason or "")
    np.testing.assert_array_equal(got[0], expected[0])  # the same unmerged path, bit for bit
    for a, b in zip(got[1], expected[1]):
        np.testing.assert_array_equal(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # it warns once, then stays unmerged quietly
        short.encode(TEXTS, task="retrieval")
    assert not switcher.merged


def test_fallback_when_allocation_fails(tiny_v4_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _load(tiny_v4_dir)

    def no_memory(*args: object, **kwargs: object) -> torch.Tensor:
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory (simulated)")

    monkeypatch.setattr(adapters_module.torch, "empty_like", no_memory)
    with pytest.warns(RuntimeWarning, match="simulated"):
        model.backend.set_task("retrieval")
    assert not model.backend.adapters.merged and model.backend.adapters.active == "retrieval"


def test_policy_from_the_environment(tiny_v4_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(adapters_module.MERGE_ENV, "never")
    model = _load(tiny_v4_dir)
    model.encode(TEXTS[:1])
    assert model.backend.adapters.policy == "never" and not model.backend.adapters.merged
    monkeypatch.setenv(adapters_module.MERGE_ENV, "sometimes")
    with pytest.raises(TaskError, match="JINA_LOCAL_MERGE_ADAPTERS='sometimes'.*'auto', 'always' or 'never'"):
        _load(tiny_v4_dir)


def test_default_merges_and_reports_its_cost(tiny_v4_dir: Path) -> None:
    model = _load(tiny_v4_dir)
    switcher = model.backend.adapters
    assert switcher.policy == "auto"
    model.encode(TEXTS[:1])
    assert switcher.merged and switcher.last_switch_seconds is not None
    adapted = sum(layer.get_base_layer().weight.numel() * 4 for layer in _lora_layers(model))
    assert switcher.merge_bytes == adapted  # one fp32 copy of every adapted weight
    assert (available_memory_bytes(torch.device("cpu")) or 0) > 0
