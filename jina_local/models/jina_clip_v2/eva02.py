"""EVA02 vision tower of jina-clip-v2 (EVA02-L/14 at 512 px) on ``scaled_dot_product_attention``.

The module tree mirrors the published ``vision_model.*`` keys one to one, so the checkpoint loads by name
with no renaming: ``cls_token``, ``pos_embed``, ``patch_embed.proj``, ``blocks.N.{norm1, attn, norm2, mlp}``
and the final ``norm``. Per ``reference/jina_clip_v2.md`` §3:

* pre-LN blocks without layer scale; LayerNorm eps 1e-6 everywhere (:data:`EVA_LAYER_NORM_EPS`);
* attention with separate q/k/v projections, biases on q and v only (``q_bias``/``v_bias``), a sub-LN
  (``inner_attn_ln``) between the attention output and ``proj``;
* SwiGLU MLP: ``w3(ffn_ln(silu(w1 x) * w2 x))``;
* 2-D rotary embedding on every token but CLS: language-style frequencies, positions of the fine grid
  rescaled to the pretraining grid (``intp_freq``), row half then column half, pairs rotated interleaved;
* output: final LayerNorm, CLS token, no head.

timm's ``Eva`` computes the same function but imports torchvision; this module needs only torch. The pixels
it takes are prepared in :mod:`.processing`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import CheckpointError, EncodingError

__all__ = [
    "EVA_LAYER_NORM_EPS",
    "EVA_ROPE_THETA",
    "Eva02Config",
    "Eva02VisionTower",
    "apply_rope_interleaved",
    "build_rope_tables",
]

EVA_LAYER_NORM_EPS = 1e-6
"""LayerNorm eps of every norm in the tower (reference §3, [V]); a wrong 1e-5 is invisible on random weights."""

EVA_ROPE_THETA = 10000.0
"""Base of the language-style RoPE frequencies of the vision tower (reference §3, [V])."""


@dataclass(frozen=True)
class Eva02Config:
    """Shape of the tower, from ``config.json``'s ``vision_config``."""

    width: int
    layers: int
    head_width: int
    mlp_hidden: int
    patch_size: int
    image_size: int
    pt_grid: int
    intp_freq: bool = True
    rope_theta: float = EVA_ROPE_THETA
    eps: float = EVA_LAYER_NORM_EPS

    @classmethod
    def from_jina_clip(cls, vision: dict[str, Any]) -> Eva02Config:
        """Read ``config.json``'s ``vision_config``; refuse options this tower does not implement."""
        expected: dict[str, Any] = {
            "rope_embeddings": True,
            "naive_swiglu": True,
            "subln": True,
            "post_norm": False,
            "qkv_bias": True,
            "ls_init_value": None,
            "proj_type": None,
        }
        wrong = [f"{k}={vision[k]!r}" for k, want in expected.items() if k in vision and vision[k] != want]
        width = int(vision.get("width", 1024))
        if int(vision.get("embed_dim", width)) != width:
            wrong.append(f"embed_dim={vision.get('embed_dim')!r} != width={width}")
        if wrong:
            raise CheckpointError(
                f"config.json's vision_config sets {', '.join(wrong)}; jina-local implements the jina-clip-v2 "
                "EVA02 tower only (RoPE, SwiGLU, sub-LN, pre-norm, no layer scale, no projection)."
            )
        return cls(
            width=width,
            layers=int(vision.get("layers", 24)),
            head_width=int(vision.get("head_width", 64)),
            mlp_hidden=int(width * float(vision.get("mlp_ratio", 2.6667))),  # int(1024 * 2.6667) = 2730
            patch_size=int(vision.get("patch_size", 14)),
            image_size=int(vision.get("image_size", 512)),
            pt_grid=int(vision.get("pt_hw_seq_len", 16)),
            intp_freq=bool(vision.get("intp_freq", True)),
        )

    @property
    def num_heads(self) -> int:
        return self.width // self.head_width

    @property
    def grid(self) -> int:
        """Patches per side; the last ``image_size % patch_size`` pixel rows/columns are never seen."""
        return self.image_size // self.patch_size

    @property
    def num_tokens(self) -> int:
        """Patches plus the CLS token."""
        return self.grid * self.grid + 1


def build_rope_tables(
    grid: int, pt_grid: int, head_dim: int, *, theta: float = EVA_ROPE_THETA, intp_freq: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cos and sin tables ``(grid*grid, head_dim)`` float32 for the patch tokens, row-major over (h, w).

    Each axis gets ``head_dim // 2`` channels: ``head_dim // 4`` frequencies ``1/theta^(2k/(head_dim/2))``,
    each repeated twice (interleaved pairs); the row (h) half comes first, then the column (w) half.
    With ``intp_freq`` the positions ``0..grid-1`` are rescaled onto the pretraining grid (``i*pt_grid/grid``).

    >>> cos, sin = build_rope_tables(2, 2, 8)
    >>> tuple(cos.shape), float(cos[0].sum()), float(sin[0].abs().sum())
    ((4, 8), 8.0, 0.0)
    """
    half = head_dim // 2
    freqs = 1.0 / (theta ** (torch.arange(0, half, 2, dtype=torch.float32)[: half // 2] / half))  # (half/2,)
    scale = pt_grid / grid if intp_freq else 1.0
    positions = torch.arange(grid, dtype=torch.float32) * scale  # (grid,)
    angles = torch.outer(positions, freqs).repeat_interleave(2, dim=-1)  # (grid, half)
    rows = angles[:, None, :].expand(grid, grid, half)  # (grid_h, grid_w, half)
    cols = angles[None, :, :].expand(grid, grid, half)  # (grid_h, grid_w, half)
    table = torch.cat((rows, cols), dim=-1).reshape(grid * grid, 2 * half)  # (n, head_dim)
    return table.cos(), table.sin()


def apply_rope_interleaved(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate interleaved pairs ``(x0, x1) -> (x0 cos - x1 sin, x1 cos + x0 sin)``; math in float32.

    ``x``: ``(..., n, d)``; ``cos``/``sin``: ``(n, d)`` float32. Returns ``x``'s dtype.
    """
    xf = x.float()
    pairs = xf.unflatten(-1, (-1, 2))  # (..., n, d/2, 2)
    rotated = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).flatten(-2)  # (..., n, d)
    return (xf * cos + rotated * sin).to(x.dtype)


class _PatchEmbed(nn.Module):
    def __init__(self, cfg: Eva02Config) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, cfg.width, kernel_size=cfg.patch_size, stride=cfg.patch_size)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.proj(pixels).flatten(2).transpose(1, 2)  # (b, 3, S, S) -> (b, grid*grid, width)


class _Attention(nn.Module):
    def __init__(self, cfg: Eva02Config) -> None:
        super().__init__()
        self.num_heads = cfg.num_heads
        self.head_dim = cfg.head_width
        inner = cfg.num_heads * cfg.head_width
        self.q_proj = nn.Linear(cfg.width, inner, bias=False)
        self.k_proj = nn.Linear(cfg.width, inner, bias=False)
        self.v_proj = nn.Linear(cfg.width, inner, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(inner))
        self.v_bias = nn.Parameter(torch.zeros(inner))
        self.inner_attn_ln = nn.LayerNorm(inner, eps=cfg.eps)
        self.proj = nn.Linear(inner, cfg.width)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        heads = (b, n, self.num_heads, self.head_dim)
        q = F.linear(x, self.q_proj.weight, self.q_bias).view(heads).transpose(1, 2)  # (b, h, n, d)
        k = F.linear(x, self.k_proj.weight).view(heads).transpose(1, 2)  # (b, h, n, d)
        v = F.linear(x, self.v_proj.weight, self.v_bias).view(heads).transpose(1, 2)  # (b, h, n, d)
        # RoPE on the patch tokens only; CLS (token 0) keeps its vector.
        q = torch.cat((q[:, :, :1], apply_rope_interleaved(q[:, :, 1:], cos, sin)), dim=2)  # (b, h, n, d)
        k = torch.cat((k[:, :, :1], apply_rope_interleaved(k[:, :, 1:], cos, sin)), dim=2)  # (b, h, n, d)
        out = F.scaled_dot_product_attention(q, k, v)  # (b, h, n, d), scale 1/sqrt(d)
        out = out.transpose(1, 2).reshape(b, n, -1)  # (b, n, h*d)
        return self.proj(self.inner_attn_ln(out))  # (b, n, width)


class _SwiGLU(nn.Module):
    def __init__(self, cfg: Eva02Config) -> None:
        super().__init__()
        self.w1 = nn.Linear(cfg.width, cfg.mlp_hidden)
        self.w2 = nn.Linear(cfg.width, cfg.mlp_hidden)
        self.ffn_ln = nn.LayerNorm(cfg.mlp_hidden, eps=cfg.eps)
        self.w3 = nn.Linear(cfg.mlp_hidden, cfg.width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = F.silu(self.w1(x)) * self.w2(x)  # (b, n, mlp_hidden)
        return self.w3(self.ffn_ln(hidden))  # (b, n, width)


class _Block(nn.Module):
    def __init__(self, cfg: Eva02Config) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.width, eps=cfg.eps)
        self.attn = _Attention(cfg)
        self.norm2 = nn.LayerNorm(cfg.width, eps=cfg.eps)
        self.mlp = _SwiGLU(cfg)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), cos, sin)  # (b, n, width)
        return x + self.mlp(self.norm2(x))  # (b, n, width)


class Eva02VisionTower(nn.Module):
    """EVA02 ViT returning the normalised CLS token ``(b, width)`` for pixels ``(b, 3, S, S)``.

    The RoPE tables are non-persistent buffers (not stored in the checkpoint); after loading weights
    onto a meta-built module call :meth:`init_buffers` to compute them on the target device.
    """

    rope_cos: torch.Tensor
    rope_sin: torch.Tensor

    def __init__(self, cfg: Eva02Config) -> None:
        super().__init__()
        self.cfg = cfg
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.width))
        self.pos_embed = nn.Parameter(torch.zeros(1, cfg.num_tokens, cfg.width))
        self.patch_embed = _PatchEmbed(cfg)
        self.blocks = nn.ModuleList(_Block(cfg) for _ in range(cfg.layers))
        self.norm = nn.LayerNorm(cfg.width, eps=cfg.eps)
        self.register_buffer("rope_cos", torch.empty(0), persistent=False)
        self.register_buffer("rope_sin", torch.empty(0), persistent=False)

    def init_buffers(self, device: torch.device | str) -> None:
        """(Re)compute the float32 RoPE tables on ``device``."""
        cfg = self.cfg
        cos, sin = build_rope_tables(
            cfg.grid, cfg.pt_grid, cfg.head_width, theta=cfg.rope_theta, intp_freq=cfg.intp_freq
        )
        self.rope_cos = cos.to(device)
        self.rope_sin = sin.to(device)

    def check_stored_rope(self, name: str, stored: torch.Tensor) -> bool:
        """Whether ``name`` is a RoPE table some checkpoints store (``rope.freqs_cos/sin``); raise if it differs."""
        which = {"rope.freqs_cos": 0, "rope.freqs_sin": 1}.get(name)
        if which is None:
            return False
        cfg = self.cfg
        expected = build_rope_tables(
            cfg.grid, cfg.pt_grid, cfg.head_width, theta=cfg.rope_theta, intp_freq=cfg.intp_freq
        )[which]
        if tuple(stored.shape) != tuple(expected.shape) or not torch.allclose(stored.float(), expected, atol=2e-3):
            raise CheckpointError(
                f"vision_model.{name} differs from the 2-D RoPE table jina-local computes for a {cfg.grid}x{cfg.grid} "
                f"grid rescaled to {cfg.pt_grid}: check vision_config.image_size / pt_hw_seq_len / intp_freq."
            )
        return True

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        size = self.cfg.image_size
        if pixels.shape[-3:] != (3, size, size):
            raise EncodingError(f"the vision tower takes (b, 3, {size}, {size}) pixels, got {tuple(pixels.shape)}")
        x = self.patch_embed(pixels.to(self.pos_embed.dtype))  # (b, grid*grid, width)
        cls = self.cls_token.expand(x.shape[0], -1, -1)  # (b, 1, width)
        x = torch.cat((cls, x), dim=1) + self.pos_embed  # (b, n, width)
        for block in self.blocks:
            x = block(x, self.rope_cos, self.rope_sin)  # (b, n, width)
        # LayerNorm is per token, so normalising only CLS equals normalising all and taking CLS.
        return self.norm(x[:, 0])  # (b, width)
