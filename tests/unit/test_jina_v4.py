"""jina-embeddings-v4 against an independent computation of the same math on the same files.

The reference uses plain ``Qwen2_5_VLForConditionalGeneration`` (transformers' own legacy-key
conversion), merges the task LoRA into its weights by hand from the raw adapter file, builds the
prompts by hand, runs one item at a time without padding, and pools by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

import jina_local

TASKS = ("retrieval", "text-matching", "code")
TEXTS = [
    "Cats sleep up to sixteen hours a day.",
    "def add(a, b):\n    return a + b",
    "Quarterly revenue grew by 12% while costs fell.",
]


def _image(seed: int, size: tuple[int, int]) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


IMAGES = [_image(1, (84, 56)), _image(2, (56, 112))]


class Reference:
    """Independent jina-v4 math on a stock transformers model with LoRA merged by hand."""

    def __init__(self, model_dir: Path) -> None:
        from transformers import AutoTokenizer, Qwen2_5_VLForConditionalGeneration
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

        self.dir = model_dir
        self.model = Qwen2_5_VLForConditionalGeneration.from_pretrained(model_dir, dtype=torch.float32).eval()
        self.base = {k: v.clone() for k, v in self.model.state_dict().items()}
        shards = {}
        for name in ("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"):
            shards.update(load_file(str(model_dir / name)))
        self.proj_w = shards["multi_vector_projector.weight"].float()
        self.proj_b = shards["multi_vector_projector.bias"].float()
        self.lora = {k: v.float() for k, v in load_file(str(model_dir / "adapters/adapter_model.safetensors")).items()}
        cfg = json.loads((model_dir / "adapters/adapter_config.json").read_text())
        self.scaling = cfg["lora_alpha"] / cfg["r"]
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        pp = json.loads((model_dir / "preprocessor_config.json").read_text())
        self.processor = Qwen2VLImageProcessorPil(
            min_pixels=pp["min_pixels"], max_pixels=pp["max_pixels"], patch_size=pp["patch_size"],
            merge_size=pp["merge_size"], temporal_patch_size=pp["temporal_patch_size"],
            image_mean=pp["image_mean"], image_std=pp["image_std"],
        )  # fmt: skip
        self.task: str | None = None

    def use(self, task: str) -> None:
        if task == self.task:
            return
        state = {k: v.clone() for k, v in self.base.items()}
        for key, a in self.lora.items():
            if f".lora_A.{task}." not in key or "multi_vector_projector" in key:
                continue
            b = self.lora[key.replace(".lora_A.", ".lora_B.")]
            module = key.removeprefix("base_model.model.").split(".lora_A.")[0]
            state[module + ".weight"] += self.scaling * (b @ a)
        self.model.load_state_dict(state)
        pa = self.lora[f"base_model.model.multi_vector_projector.lora_A.{task}.weight"]
        pb = self.lora[f"base_model.model.multi_vector_projector.lora_B.{task}.weight"]
        self.task_proj_w = self.proj_w + self.scaling * (pb @ pa)
        self.task = task

    @torch.no_grad()
    def text(self, text: str, task: str, role: str) -> tuple[np.ndarray, np.ndarray]:
        self.use(task)
        prefix = "Query: " if (role == "query" or task == "text-matching") else "Passage: "
        ids = torch.tensor([self.tokenizer(prefix + text)["input_ids"]])
        hidden = self.model(input_ids=ids, output_hidden_states=True).hidden_states[-1][0]  # (L, d)
        return self._pool(hidden, slice(None))

    @torch.no_grad()
    def image(self, image: Image.Image, task: str) -> tuple[np.ndarray, np.ndarray]:
        self.use(task)
        feats = self.processor(images=[image], return_tensors="pt")
        n = int(feats["image_grid_thw"].prod()) // 4
        prompt = (
            "<|im_start|>user\n<|vision_start|>" + "<|image_pad|>" * n
            + "<|vision_end|>Describe the image.<|im_end|>\n"
        )  # fmt: skip
        ids = self.tokenizer(prompt)["input_ids"]
        input_ids = torch.tensor([ids])
        out = self.model(
            input_ids=input_ids,
            pixel_values=feats["pixel_values"],
            image_grid_thw=feats["image_grid_thw"],
            mm_token_type_ids=(input_ids == 151655).int(),
            output_hidden_states=True,
        )
        hidden = out.hidden_states[-1][0]
        start, end = ids.index(151652), ids.index(151653)
        return self._pool(hidden, slice(start, end + 1))

    def _pool(self, hidden: torch.Tensor, span: slice) -> tuple[np.ndarray, np.ndarray]:
        dense = hidden[span].mean(0)
        dense = dense / dense.norm()
        multi = hidden @ self.task_proj_w.T + self.proj_b
        multi = multi / multi.norm(dim=-1, keepdim=True)
        return dense.numpy(), multi.numpy()


@pytest.fixture(scope="module")
def reference(tiny_v4_dir: Path) -> Reference:
    return Reference(tiny_v4_dir)


def _matryoshka(vector: np.ndarray, dim: int | None) -> np.ndarray:
    if dim is None:
        return vector
    cut = vector[:dim]
    return cut / np.linalg.norm(cut)


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("role", ["query", "document"])
def test_text_matches_reference(tiny_v4, reference, task, role):
    result = tiny_v4.encode(TEXTS, role=role, task=task, output="both")  # explicit task beats auto
    assert result.tasks == [task] * len(TEXTS)
    assert result.kinds == ["text", "code", "text"]
    for i, text in enumerate(TEXTS):
        dense, multi = reference.text(text, task, role)
        np.testing.assert_allclose(result.dense[i], dense, atol=2e-5)
        assert result.multi[i].shape == multi.shape
        np.testing.assert_allclose(result.multi[i], multi, atol=2e-5)


@pytest.mark.parametrize("task", TASKS)
def test_images_match_reference(tiny_v4, reference, task):
    result = tiny_v4.encode(IMAGES, task=task, output="both")
    assert result.kinds == ["image", "image"]
    for i, image in enumerate(IMAGES):
        dense, multi = reference.image(image, task)
        np.testing.assert_allclose(result.dense[i], dense, atol=2e-5)
        assert result.multi[i].shape == multi.shape
        np.testing.assert_allclose(result.multi[i], multi, atol=2e-5)


@pytest.mark.parametrize("dim", [8, 16, 32, 64])
@pytest.mark.parametrize("task", TASKS)
def test_matryoshka_dims_match_reference(tiny_v4, reference, dim, task):
    items = [TEXTS[0], IMAGES[0]]
    result = tiny_v4.encode_document(items, task=task, dim=dim)
    assert result.dense.shape == (2, dim)
    assert result.multi is None
    np.testing.assert_allclose(
        result.dense[0], _matryoshka(reference.text(TEXTS[0], task, "document")[0], dim), atol=2e-5
    )
    np.testing.assert_allclose(result.dense[1], _matryoshka(reference.image(IMAGES[0], task)[0], dim), atol=2e-5)
    np.testing.assert_allclose(np.linalg.norm(result.dense, axis=1), 1.0, atol=1e-6)


def test_tasks_give_different_vectors(tiny_v4):
    vectors = [tiny_v4.encode(TEXTS[0], task=t).dense[0] for t in TASKS]
    assert not np.allclose(vectors[0], vectors[1], atol=1e-3)
    assert not np.allclose(vectors[0], vectors[2], atol=1e-3)


def test_query_and_document_prompts_differ_except_text_matching(tiny_v4):
    q = tiny_v4.encode_query(TEXTS[0], task="retrieval").dense
    d = tiny_v4.encode_document(TEXTS[0], task="retrieval").dense
    assert not np.allclose(q, d, atol=1e-3)
    q = tiny_v4.encode_query(TEXTS[0], task="text-matching").dense
    d = tiny_v4.encode_document(TEXTS[0], task="text-matching").dense
    np.testing.assert_allclose(q, d, atol=1e-6)


def test_batched_equals_one_by_one_and_order_survives_sorting(tiny_v4):
    # Very different lengths so that length sorting reorders them, across several batches.
    items = [TEXTS[0] * k for k in (1, 9, 3, 14, 2)] + [IMAGES[1], TEXTS[2], IMAGES[0]]
    batched = tiny_v4.encode(items, output="both", batch_size=2, progress=False)
    assert batched.kinds == ["text"] * 5 + ["image", "text", "image"]
    for i, item in enumerate(items):
        single = tiny_v4.encode(item, output="both")
        np.testing.assert_allclose(batched.dense[i], single.dense[0], atol=2e-5)
        np.testing.assert_allclose(batched.multi[i], single.multi[0], atol=2e-5)


def test_mixed_task_call_equals_per_task_calls(tiny_v4):
    items = [TEXTS[0], TEXTS[1], IMAGES[0], TEXTS[2]]
    tasks = ["retrieval", "code", "text-matching", "code"]
    mixed = tiny_v4.encode(items, task=tasks, output="both")
    assert mixed.tasks == tasks
    for i, (item, task) in enumerate(zip(items, tasks)):
        alone = tiny_v4.encode([item], task=task, output="both")
        np.testing.assert_allclose(mixed.dense[i], alone.dense[0], atol=2e-5)
        np.testing.assert_allclose(mixed.multi[i], alone.multi[0], atol=2e-5)


def test_image_forms_give_the_same_vector(tiny_v4, tmp_path):
    path = tmp_path / "picture.png"
    IMAGES[0].save(path)
    results = tiny_v4.encode([IMAGES[0], path, path.read_bytes()]).dense
    np.testing.assert_allclose(results[0], results[1], atol=1e-6)
    np.testing.assert_allclose(results[0], results[2], atol=1e-6)


def test_max_pixels_limits_image_tokens(tiny_v4):
    big = _image(3, (280, 280))  # 10x10 merged tokens at full size
    full = tiny_v4.encode(big, output="multi").multi[0]
    capped = tiny_v4.encode(big, output="multi", max_pixels=56 * 56).multi[0]
    prompt_tokens = full.shape[0] - 100
    assert capped.shape[0] == prompt_tokens + 4  # 56x56 px -> 2x2 merged tokens


def test_max_length_truncates_text(tiny_v4):
    long_text = "word " * 200
    result = tiny_v4.encode(long_text, output="multi", max_length=16)
    assert result.multi[0].shape == (16, 128)


def test_single_item_and_empty_list(tiny_v4):
    one = tiny_v4.encode("just one", output="both")
    assert len(one) == 1 and one.dense.shape == (1, 64) and len(one.multi) == 1
    empty = tiny_v4.encode([], output="both", dim=16)
    assert empty.dense.shape == (0, 16) and empty.dense.dtype == np.float32
    assert empty.multi == [] and empty.tasks == [] and empty.kinds == []


def test_outputs_are_float32_and_normalised(tiny_v4):
    result = tiny_v4.encode([TEXTS[0], IMAGES[0]], output="both")
    assert result.dense.dtype == np.float32
    assert all(m.dtype == np.float32 and m.shape[1] == 128 for m in result.multi)
    for m in result.multi:
        np.testing.assert_allclose(np.linalg.norm(m, axis=1), 1.0, atol=1e-5)


def test_info_describes_the_model(tiny_v4):
    info = tiny_v4.info
    assert info.family == "jina_v4"
    assert info.dense_dim == 64 and info.multi_dim == 128
    assert info.matryoshka_dims == (8, 16, 32, 64)
    assert info.tasks == TASKS and info.default_task == "retrieval"
    assert info.device == "cpu" and info.dtype == "float32"
    assert "CC BY-NC" in info.license


def test_bfloat16_on_cpu_is_close_to_float32(tiny_v4_dir, tiny_v4):
    bf16 = jina_local.load(tiny_v4_dir, device="cpu", dtype="bfloat16")
    assert bf16.info.dtype == "bfloat16"
    a = bf16.encode(TEXTS, output="both")
    b = tiny_v4.encode(TEXTS, output="both")
    assert a.dense.dtype == np.float32
    cosines = np.sum(a.dense * b.dense, axis=1)
    assert np.all(cosines > 0.98), cosines


@torch.no_grad()
def test_image_positions_are_3d_mrope(tiny_v4, reference):
    """Without mm_token_type_ids transformers 5 falls back to 1-D positions; ours must not."""
    reference.use("retrieval")
    feats = reference.processor(images=[IMAGES[0]], return_tensors="pt")
    n = int(feats["image_grid_thw"].prod()) // 4
    ids = reference.tokenizer(
        "<|im_start|>user\n<|vision_start|>" + "<|image_pad|>" * n + "<|vision_end|>Describe the image.<|im_end|>\n"
    )["input_ids"]
    hidden = reference.model(
        input_ids=torch.tensor([ids]), pixel_values=feats["pixel_values"],
        image_grid_thw=feats["image_grid_thw"], output_hidden_states=True,
    ).hidden_states[-1][0]  # fmt: skip
    one_d, _ = reference._pool(hidden, slice(ids.index(151652), ids.index(151653) + 1))
    ours = tiny_v4.encode(IMAGES[0], task="retrieval").dense[0]
    assert np.abs(ours - one_d).max() > 1e-3
    np.testing.assert_allclose(ours, reference.image(IMAGES[0], "retrieval")[0], atol=2e-5)
