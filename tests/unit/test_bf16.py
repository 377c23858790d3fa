"""bf16 on the CPU: the rotary frequencies stay fp32, token vectors stay close to fp32, and the default."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import jina_local
from jina_local import runtime

LONG = " ".join(f"word{i % 97} and more text" for i in range(120))  # ~600 tokens: late positions matter


@pytest.fixture(scope="module")
def bf16_model(tiny_v4_dir: Path) -> jina_local.Embedder:
    return jina_local.load(tiny_v4_dir, device="cpu", dtype="bfloat16")


def test_rotary_frequencies_stay_float32(bf16_model: jina_local.Embedder) -> None:
    model = bf16_model.backend.model
    buffers = {name: b for name, b in model.named_buffers() if "inv_freq" in name}
    assert buffers and all(b.dtype == torch.float32 for b in buffers.values()), {n: b.dtype for n, b in buffers.items()}
    assert model.model.language_model.layers[0].mlp.up_proj.base_layer.weight.dtype == torch.bfloat16
    lora = [p for name, p in model.named_parameters() if ".lora_" in name and "multi_vector_projector" not in name]
    assert lora and all(p.dtype == torch.bfloat16 for p in lora)
    projector = [p for name, p in model.named_parameters() if name.startswith("multi_vector_projector.")]
    assert len(projector) == 2 + 2 * 3 and all(p.dtype == torch.float32 for p in projector)  # fp32 on the CPU


def test_rotary_angles_are_exact_at_late_positions(bf16_model: jina_local.Embedder) -> None:
    rotary = bf16_model.backend.model.model.language_model.rotary_emb
    positions = torch.arange(4096).view(1, 1, -1).expand(3, 1, -1)  # (3, b, L) M-RoPE, text: all equal
    x = torch.zeros(1, 1, dtype=torch.bfloat16)
    cos, sin = rotary(x, positions)  # (b, L, head_dim), in bf16
    head_dim = cos.shape[-1]
    theta = float(bf16_model.backend.model.config.text_config.rope_parameters["rope_theta"])
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    angles = torch.arange(4096, dtype=torch.float64)[:, None] * inv_freq[None, :]  # (L, head_dim / 2)
    expected = torch.cat([angles, angles], dim=-1).cos()
    # bf16 output rounding is ~4e-3; a bf16 inv_freq would put late angles off by radians.
    assert float((cos[0].double() - expected).abs().max()) < 1e-2
    assert sin.dtype == torch.bfloat16


def test_late_tokens_stay_close_to_float32(bf16_model: jina_local.Embedder, tiny_v4: jina_local.Embedder) -> None:
    a = bf16_model.encode([LONG], output="both")
    b = tiny_v4.encode([LONG], output="both")
    assert a.multi[0].shape[0] > 500
    token_cos = np.sum(a.multi[0] * b.multi[0], axis=1)
    assert token_cos.min() > 0.99, (token_cos.min(), int(token_cos.argmin()))
    assert float(np.sum(a.dense * b.dense)) > 0.999


def test_auto_dtype_is_bf16_only_on_native_bf16_cpus_for_validated_families(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = torch.device("cpu")
    monkeypatch.setattr(runtime, "cpu_has_fast_bf16", lambda: True)
    assert runtime.resolve_dtype("auto", cpu, cpu_bf16=True) == torch.bfloat16
    assert runtime.resolve_dtype("auto", cpu) == torch.float32  # a family that has not been validated
    assert runtime.resolve_dtype("float32", cpu, cpu_bf16=True) == torch.float32  # asked for explicitly
    monkeypatch.setattr(runtime, "cpu_has_fast_bf16", lambda: False)
    assert runtime.resolve_dtype("auto", cpu, cpu_bf16=True) == torch.float32


def test_cpu_flags_are_read_from_cpuinfo() -> None:
    assert runtime.cpu_has_fast_bf16("processor : 0\nflags\t\t: fpu sse avx512f amx_bf16 amx_tile\n")
    assert runtime.cpu_has_fast_bf16("Features\t: fp asimd bf16 i8mm\n")  # aarch64
    assert not runtime.cpu_has_fast_bf16("flags\t\t: fpu sse avx2 avx512f avx512bw\n")
    assert not runtime.cpu_has_fast_bf16("")
