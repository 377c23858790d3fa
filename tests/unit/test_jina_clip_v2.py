"""jina-clip-v2 against an independent from-spec computation on the raw safetensors of a tiny checkpoint.

The references below re-derive every step from ``reference/jina_clip_v2.md`` without jina_local or
transformers code: LoRA merged by hand (scaling lora_alpha / lora_rank = 4 / 4), fused Wqkv used as is,
NeoX RoPE base 20000, post-LN, mean over all tokens of one unpadded sequence; EVA02 with RoPE applied as
complex rotations, explicit softmax attention, CLS after the final LayerNorm (eps 1e-6).
"""

from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer

if str(Path(__file__).resolve().parents[1]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fixture_clip import tiny_clip_dir  # noqa: E402, F401

import jina_local  # noqa: E402
from jina_local.errors import CheckpointError, DimensionError, OptionError, OutputError, TaskError  # noqa: E402
from jina_local.inputs import TextInput, load_item  # noqa: E402
from jina_local.models.jina_clip_v2 import (  # noqa: E402
    center_crop_box,
    normalize_pixels,
    preprocess_image,
    resized_size,
)

PROMPT = "Represent the query for retrieving evidence documents: "
MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
TP = "text_model.transformer.roberta."
VP = "vision_model."
TEXTS = [
    "beautiful sunset over the beach",
    "A cat sleeps sixteen hours a day on the warm windowsill.",
    "海滩上美丽的日落",
    "  trailing and leading spaces  ",
    "x",
]


# ---------------------------------------------------------------------------------------------- references


class Reference:
    """From-spec jina-clip-v2 on the raw (fp16 -> fp32) tensors of a checkpoint folder."""

    def __init__(self, folder: Path, *, text_theta: float = 20000.0, lora_scaling: float | None = None) -> None:
        self.raw = {k: v.float() for k, v in load_file(str(folder / "model.safetensors")).items()}
        self.config = json.loads((folder / "config.json").read_text())
        kwargs = self.config["text_config"]["hf_model_config_kwargs"]
        self.scaling = kwargs["lora_alpha"] / kwargs["lora_rank"] if lora_scaling is None else lora_scaling
        self.theta = text_theta
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.heads = 16  # jina-embeddings-v3's num_attention_heads

    def merged(self, name: str, embedding: bool) -> torch.Tensor:
        base = f"{TP}{name}.parametrizations.weight"
        w, a, b = self.raw[f"{base}.original"], self.raw[f"{base}.0.lora_A"][0], self.raw[f"{base}.0.lora_B"][0]
        return w + self.scaling * (a @ b if embedding else b @ a)

    def text(self, ids: list[int]) -> torch.Tensor:
        r = self.raw
        word = self.merged("embeddings.word_embeddings", True)
        x = word[ids] + self.merged("embeddings.token_type_embeddings", True)[0]  # (L, D)
        x = F.layer_norm(x, x.shape[-1:], r[f"{TP}emb_ln.weight"], r[f"{TP}emb_ln.bias"], 1e-5)  # (L, D)
        n, d = x.shape
        hd = d // self.heads
        inv = 1.0 / self.theta ** (torch.arange(0, hd, 2).float() / hd)
        ang = torch.arange(n).float()[:, None] * inv[None, :]  # (L, hd/2)
        cos, sin = torch.cat([ang.cos()] * 2, -1), torch.cat([ang.sin()] * 2, -1)

        def rope(t: torch.Tensor) -> torch.Tensor:  # (H, L, hd), rotate halves
            t1, t2 = t[..., : hd // 2], t[..., hd // 2 :]
            return t * cos + torch.cat([-t2, t1], -1) * sin

        layer = 0
        while f"{TP}encoder.layers.{layer}.norm1.weight" in r:
            p = f"encoder.layers.{layer}."
            qkv = x @ self.merged(p + "mixer.Wqkv", False).T + r[f"{TP}{p}mixer.Wqkv.bias"]  # (L, 3D)
            q, k, v = (t.view(n, self.heads, hd).transpose(0, 1) for t in qkv.split(d, -1))
            scores = rope(q) @ rope(k).transpose(-1, -2) / math.sqrt(hd)
            o = (scores.softmax(-1) @ v).transpose(0, 1).reshape(n, d)
            o = o @ self.merged(p + "mixer.out_proj", False).T + r[f"{TP}{p}mixer.out_proj.bias"]
            x = F.layer_norm(x + o, (d,), r[f"{TP}{p}norm1.weight"], r[f"{TP}{p}norm1.bias"], 1e-5)
            h = F.gelu(x @ self.merged(p + "mlp.fc1", False).T + r[f"{TP}{p}mlp.fc1.bias"])
            h = h @ self.merged(p + "mlp.fc2", False).T + r[f"{TP}{p}mlp.fc2.bias"]
            x = F.layer_norm(x + h, (d,), r[f"{TP}{p}norm2.weight"], r[f"{TP}{p}norm2.bias"], 1e-5)
            layer += 1
        return F.normalize(x.mean(0), dim=-1)

    def text_of(self, text: str, *, query: bool) -> torch.Tensor:
        return self.text(self.tokenizer.encode((PROMPT if query else "") + text).ids)

    def image(self, pixels: np.ndarray) -> torch.Tensor:
        """``pixels``: (S, S, 3) uint8 after resize + crop."""
        r, vc = self.raw, self.config["vision_config"]
        x = torch.from_numpy(((pixels.astype(np.float32) / 255.0 - MEAN) / STD).transpose(2, 0, 1).copy())
        patches = F.conv2d(x[None], r[f"{VP}patch_embed.proj.weight"], r[f"{VP}patch_embed.proj.bias"], stride=14)
        grid = patches.shape[-1]
        tokens = torch.cat([r[f"{VP}cls_token"][0], patches[0].flatten(1).T]) + r[f"{VP}pos_embed"][0]  # (N, W)
        width, hd = tokens.shape[-1], vc["head_width"]
        heads = width // hd
        quarter = hd // 4
        freqs = 1.0 / 10000 ** (torch.arange(quarter).float() * 2 / (hd // 2))
        pos = torch.arange(grid).float() * vc["pt_hw_seq_len"] / grid
        rows, cols = torch.meshgrid(pos, pos, indexing="ij")
        angle = torch.cat([rows.reshape(-1, 1) * freqs, cols.reshape(-1, 1) * freqs], -1)  # (grid^2, hd/2)
        rot = torch.polar(torch.ones_like(angle), angle)

        def rope(t: torch.Tensor) -> torch.Tensor:  # (H, N, hd); pairs (2i, 2i+1) are complex numbers
            c = torch.view_as_complex(t[:, 1:].reshape(heads, -1, hd // 2, 2).contiguous()) * rot
            return torch.cat([t[:, :1], torch.view_as_real(c).reshape(heads, -1, hd)], 1)

        def ln(t: torch.Tensor, name: str) -> torch.Tensor:
            return F.layer_norm(t, t.shape[-1:], r[f"{name}.weight"], r[f"{name}.bias"], 1e-6)

        for i in range(vc["layers"]):
            b = f"{VP}blocks.{i}."
            h = ln(tokens, b + "norm1")
            q = (h @ r[b + "attn.q_proj.weight"].T + r[b + "attn.q_bias"]).view(-1, heads, hd).transpose(0, 1)
            k = (h @ r[b + "attn.k_proj.weight"].T).view(-1, heads, hd).transpose(0, 1)
            v = (h @ r[b + "attn.v_proj.weight"].T + r[b + "attn.v_bias"]).view(-1, heads, hd).transpose(0, 1)
            att = (rope(q) @ rope(k).transpose(-1, -2) / math.sqrt(hd)).softmax(-1) @ v
            att = ln(att.transpose(0, 1).reshape(-1, width), b + "attn.inner_attn_ln")
            tokens = tokens + att @ r[b + "attn.proj.weight"].T + r[b + "attn.proj.bias"]
            h = ln(tokens, b + "norm2")
            gate = F.silu(h @ r[b + "mlp.w1.weight"].T + r[b + "mlp.w1.bias"])
            h = ln(gate * (h @ r[b + "mlp.w2.weight"].T + r[b + "mlp.w2.bias"]), b + "mlp.ffn_ln")
            tokens = tokens + h @ r[b + "mlp.w3.weight"].T + r[b + "mlp.w3.bias"]
        return F.normalize(ln(tokens, f"{VP}norm")[0], dim=-1)


def random_image(width: int, height: int, seed: int = 0, mode: str = "RGB") -> Image.Image:
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
    return image.convert(mode) if mode != "RGB" else image


@pytest.fixture(scope="module")
def model(tiny_clip_dir: Path) -> jina_local.Embedder:
    return jina_local.load(tiny_clip_dir, device="cpu", dtype="float32")


@pytest.fixture(scope="module")
def ref(tiny_clip_dir: Path) -> Reference:
    return Reference(tiny_clip_dir)


# ---------------------------------------------------------------------------------------------- loading


def test_load_reports_zero_missing_and_unexpected_and_license(model: jina_local.Embedder) -> None:
    report = model.backend.load_report
    assert report.missing == () and report.unexpected == ()
    assert report.ignored == ("logit_scale",)
    assert report.checkpoint_dtype == "float16"
    assert report.lora_scaling == 1.0 and report.lora_b_norm > 0
    info = model.info
    assert info.license == "CC BY-NC 4.0"
    assert (info.family, info.dense_dim, info.multi_dim) == ("jina_clip_v2", 64, None)
    assert info.matryoshka_dims == (8, 16, 32, 64)
    assert (info.tasks, info.default_task, info.max_length) == (("retrieval",), "retrieval", 512)
    assert (info.device, info.dtype) == ("cpu", "float32")
    assert all(p.dtype == torch.float32 and not p.is_meta for p in model.backend.text_model.parameters())
    assert model.backend.text_model.config._attn_implementation == "sdpa"


def _rewrite(src: Path, dst: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    shutil.copytree(src, dst)
    tensors = load_file(str(dst / "model.safetensors"))
    edit(tensors)
    save_file(tensors, str(dst / "model.safetensors"))
    return dst


def test_missing_and_unexpected_weights_raise_checkpoint_error(tiny_clip_dir: Path, tmp_path: Path) -> None:
    def edit(t: dict[str, torch.Tensor]) -> None:
        del t[f"{VP}blocks.1.mlp.ffn_ln.bias"]
        del t[f"{TP}encoder.layers.0.mixer.Wqkv.parametrizations.weight.original"]
        t[f"{TP}pooler.dense.weight"] = torch.zeros(2, 2, dtype=torch.float16)

    folder = _rewrite(tiny_clip_dir, tmp_path / "broken", edit)
    with pytest.raises(CheckpointError) as err:
        jina_local.load(folder)
    message = str(err.value)
    assert "vision_model.blocks.1.mlp.ffn_ln.bias" in message
    assert "layers.0.self_attn.q_proj.weight" in message  # the Wqkv weight is gone -> q/k/v missing
    assert f"{TP}pooler.dense.weight" in message
    assert f"{TP}encoder.layers.0.mixer.Wqkv.parametrizations.weight.0.lora_A" in message  # orphan LoRA


def test_stored_text_rope_table_is_checked_against_base_20000(tiny_clip_dir: Path, tmp_path: Path) -> None:
    key = f"{TP}encoder.layers.0.mixer.rotary_emb.inv_freq"

    def table(base: float) -> torch.Tensor:
        return 1.0 / base ** (torch.arange(0, 4, 2).float() / 4)  # head_dim 4

    good = _rewrite(tiny_clip_dir, tmp_path / "good", lambda t: t.update({key: table(20000.0)}))
    assert key in jina_local.load(good).backend.load_report.ignored
    bad = _rewrite(tiny_clip_dir, tmp_path / "bad", lambda t: t.update({key: table(10000.0)}))
    with pytest.raises(CheckpointError, match="RoPE base of 20000"):
        jina_local.load(bad)


def test_bfloat16_load_keeps_the_vectors(tiny_clip_dir: Path, model: jina_local.Embedder) -> None:
    half = jina_local.load(tiny_clip_dir, dtype="bfloat16")
    assert half.info.dtype == "bfloat16"
    assert next(half.backend.vision_model.parameters()).dtype == torch.bfloat16
    assert half.info.fingerprint == model.info.fingerprint is not None  # same weights, other dtype
    items = [TEXTS[1], random_image(90, 70)]
    cos = (half.encode(items).dense * model.encode(items).dense).sum(-1)
    assert cos.min() > 0.98


# ---------------------------------------------------------------------------------------------- text


@pytest.mark.parametrize("role", ["document", "query"])
def test_text_matches_independent_reference(model: jina_local.Embedder, ref: Reference, role: str) -> None:
    got = model.encode(TEXTS, role=role).dense
    want = torch.stack([ref.text_of(t, query=role == "query") for t in TEXTS]).numpy()
    assert got.shape == (len(TEXTS), 64) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=2e-5)


def test_reference_is_sensitive_to_lora_scaling_and_rope_base(tiny_clip_dir: Path, model: jina_local.Embedder) -> None:
    got = model.encode(TEXTS[1]).dense[0]
    for wrong in (Reference(tiny_clip_dir, lora_scaling=0.25), Reference(tiny_clip_dir, text_theta=10000.0)):
        assert np.abs(got - wrong.text_of(TEXTS[1], query=False).numpy()).max() > 1e-3


def test_query_prompt_only_for_queries(model: jina_local.Embedder) -> None:
    backend = model.backend
    doc = backend.prepare(TextInput("hello"), role="document", task="retrieval", max_length=None, max_pixels=None)
    query = backend.prepare(TextInput("hello"), role="query", task="retrieval", max_length=None, max_pixels=None)
    tok = Tokenizer.from_file(str(Path(model.info.path) / "tokenizer.json"))
    assert doc.data == tok.encode("hello").ids and doc.data[0] == 0 and doc.data[-1] == 2
    assert query.data == tok.encode(PROMPT + "hello").ids
    assert (doc.group, query.cost) == ("text", len(query.data))
    assert backend.text.query_prompt == PROMPT


def test_truncation_keeps_specials_and_max_length_is_validated(model: jina_local.Embedder, ref: Reference) -> None:
    text = " ".join(["quarterly revenue grew"] * 200)
    ids = ref.tokenizer.encode(text).ids
    assert len(ids) > 512
    assert len(model.backend.tokenize(text)) == 512  # the documented default
    got = model.encode(text, max_length=10).dense[0]
    want = ref.text(ids[:9] + [2]).numpy()  # 8 content tokens + </s>
    np.testing.assert_allclose(got, want, atol=2e-5)
    with pytest.raises(OptionError, match="max_length=9000 exceeds.*8194"):
        model.encode("hi", max_length=9000)
    with pytest.raises(OptionError, match="max_length=1 must be an integer >= 3"):
        model.encode("hi", max_length=1)


# ---------------------------------------------------------------------------------------------- images


def test_image_matches_independent_reference(model: jina_local.Embedder, ref: Reference) -> None:
    # fixture size 64: 100x80 -> short side 80 -> (80, 64), left = round(8.0) = 8
    wide, tall = random_image(100, 80, seed=1), random_image(64, 91, seed=2)
    wide_px = np.asarray(wide.resize((80, 64), Image.Resampling.BICUBIC).crop((8, 0, 72, 64)))
    tall_px = np.asarray(tall.crop((0, 14, 64, 78)))  # 91 - 64 = 27 -> round(13.5) = 14 (half to even)
    got = model.encode([wide, tall]).dense
    want = torch.stack([ref.image(wide_px), ref.image(tall_px)]).numpy()
    np.testing.assert_allclose(got, want, atol=2e-5)
    prepared = model.backend.prepare(
        load_item(wide), role="document", task="retrieval", max_length=None, max_pixels=None
    )
    assert (prepared.group, prepared.cost) == ("image", 4 * 4 + 1)


def test_non_rgb_images_are_converted(model: jina_local.Embedder) -> None:
    rgb = random_image(70, 70, seed=3)
    rgba = rgb.copy()
    rgba.putalpha(255)
    grey = rgb.convert("L")
    dense = model.encode([rgb, rgba, grey, grey.convert("RGB")]).dense
    np.testing.assert_allclose(dense[0], dense[1], atol=1e-6)
    np.testing.assert_allclose(dense[2], dense[3], atol=1e-6)


@pytest.mark.parametrize(
    ("size", "resized", "box"),
    [
        ((513, 700), (512, 698), (0, 93, 512, 605)),
        ((700, 513), (698, 512), (93, 0, 605, 512)),
        ((512, 512), (512, 512), (0, 0, 512, 512)),
        ((40, 900), (512, 11520), (0, 5504, 512, 6016)),
        ((512, 517), (512, 517), (0, 2, 512, 514)),  # round(2.5) = 2: Python rounds half to even
        ((515, 512), (515, 512), (2, 0, 514, 512)),  # round(1.5) = 2, where floor division gives 1
    ],
)
def test_preprocessing_matches_hand_computed_crop(size, resized, box) -> None:  # type: ignore[no-untyped-def]
    assert resized_size(*size, 512) == resized
    assert center_crop_box(*resized, 512) == box
    image = random_image(*size, seed=sum(size))
    step = image if resized == size else image.resize(resized, Image.Resampling.BICUBIC)
    want = np.asarray(step.crop(box)).transpose(2, 0, 1)
    got = preprocess_image(image, 512)
    assert got.dtype == torch.uint8 and tuple(got.shape) == (3, 512, 512)
    np.testing.assert_array_equal(got.numpy(), want)


def test_normalize_pixels_is_totensor_then_normalize() -> None:
    pixels = torch.randint(0, 256, (2, 3, 5, 5), dtype=torch.uint8)
    want = (pixels.numpy().astype(np.float32) / 255.0 - MEAN[None, :, None, None]) / STD[None, :, None, None]
    np.testing.assert_allclose(normalize_pixels(pixels).numpy(), want, atol=1e-6)


# ---------------------------------------------------------------------------------------------- facade


def test_batched_equals_one_by_one_and_order_is_kept(model: jina_local.Embedder) -> None:
    items = [TEXTS[0], random_image(80, 64, seed=4), TEXTS[1], TEXTS[4], random_image(64, 120, seed=5), TEXTS[2]]
    together = model.encode(items, role="query", batch_size=2)
    alone = np.stack([model.encode(item, role="query").dense[0] for item in items])
    np.testing.assert_allclose(together.dense, alone, atol=2e-5)
    assert together.kinds == ["text", "image", "text", "text", "image", "text"]
    assert together.tasks == ["retrieval"] * 6
    np.testing.assert_allclose(np.linalg.norm(together.dense, axis=1), 1.0, atol=1e-5)


def test_matryoshka_slices_then_renormalises(model: jina_local.Embedder) -> None:
    items = [TEXTS[1], random_image(64, 64, seed=6)]
    full = model.encode(items).dense
    for dim in (8, 32):
        cut = model.encode(items, dim=dim).dense
        want = full[:, :dim] / np.linalg.norm(full[:, :dim], axis=1, keepdims=True)
        assert cut.shape == (2, dim)
        np.testing.assert_allclose(cut, want, atol=1e-6)
    with pytest.raises(DimensionError, match="valid: 8, 16, 32, 64"):
        model.encode(items, dim=100)


def test_multi_and_task_errors_are_clear(model: jina_local.Embedder) -> None:
    with pytest.raises(OutputError, match=r"per-token vectors.*use output='dense'"):
        model.encode("hello", output="multi")
    with pytest.raises(OutputError, match="per-token"):
        model.encode("hello", output="both")
    with pytest.raises(TaskError, match=r"no task adapters \(its only task is 'retrieval'\); leave task unset"):
        model.encode("hello", task="code")
    assert model.encode("hello", task="retrieval").tasks == ["retrieval"]


def test_empty_input_gives_empty_result(model: jina_local.Embedder) -> None:
    result = model.encode([])
    assert result.dense.shape == (0, 64)


def test_full_size_config_has_the_published_parameter_count() -> None:
    from jina_local.models.jina_clip_v2 import Eva02Config, Eva02VisionTower
    from jina_local.models.jina_clip_v2.text_tower import TextShape as _TextShape
    from jina_local.models.jina_clip_v2.text_tower import build_text_model as _build_text_model

    published = {
        "width": 1024,
        "layers": 24,
        "head_width": 64,
        "mlp_ratio": 2.6667,
        "patch_size": 14,
        "image_size": 512,
        "pt_hw_seq_len": 16,
    }
    with torch.device("meta"):
        vision = Eva02VisionTower(Eva02Config.from_jina_clip(published))
    text = _build_text_model(_TextShape(vocab=250002, hidden=1024, layers=24, intermediate=4096, type_vocab=1), {})
    # reference §1.3: vision 304,382,912; text 560,895,564 of which 2,581,068 are LoRA (merged away here)
    assert sum(p.numel() for p in vision.parameters()) == 304_382_912
    assert sum(p.numel() for p in text.parameters()) == 560_895_564 - 2_581_068
    assert (vision.cfg.num_tokens, vision.cfg.mlp_hidden, vision.cfg.num_heads) == (1297, 2730, 16)


def test_preprocessor_config_must_agree_with_the_vision_tower(tiny_clip_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mismatch"
    shutil.copytree(tiny_clip_dir, folder)
    path = folder / "preprocessor_config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "size": 512, "resize_mode": "squash"}))
    with pytest.raises(CheckpointError, match=r"size 512 differs from vision_config.image_size 64.*'squash'"):
        jina_local.load(folder)


def test_stored_vision_rope_tables_are_checked(tiny_clip_dir: Path, tmp_path: Path) -> None:
    grid, hd, quarter = 4, 16, 4  # fixture: 64 px / 14 -> 4x4 patches, head_width 16
    freqs = 1.0 / 10000 ** (torch.arange(quarter).float() * 2 / (hd // 2))
    pos = torch.arange(grid).float() * 16 / grid
    rows, cols = torch.meshgrid(pos, pos, indexing="ij")
    angle = torch.cat([rows.reshape(-1, 1) * freqs, cols.reshape(-1, 1) * freqs], -1).repeat_interleave(2, -1)
    tables = {f"{VP}rope.freqs_cos": angle.cos(), f"{VP}rope.freqs_sin": angle.sin()}
    good = _rewrite(tiny_clip_dir, tmp_path / "good", lambda t: t.update(tables))
    assert set(tables) <= set(jina_local.load(good).backend.load_report.ignored)
    swapped = {f"{VP}rope.freqs_cos": angle.sin(), f"{VP}rope.freqs_sin": angle.cos()}
    with pytest.raises(CheckpointError, match="2-D RoPE table"):
        jina_local.load(_rewrite(tiny_clip_dir, tmp_path / "bad", lambda t: t.update(swapped)))


def test_a_tokenizer_without_bos_or_eos_is_a_checkpoint_error():
    # token_to_id gives None for an absent token; the ids used to start with None and fail later, untyped.
    from tokenizers.models import WordLevel

    from jina_local.models.jina_clip_v2.processing import ClipTextProcessor

    tokenizer = Tokenizer(WordLevel({"<unk>": 0, "<pad>": 1, "cat": 2}, unk_token="<unk>"))
    with pytest.raises(CheckpointError, match="no '<s>' or '</s>' token"):
        ClipTextProcessor(tokenizer, query_prompt="", max_positions=16, default_max_length=16)
