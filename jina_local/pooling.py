"""Pooling and normalisation shared by the model families. Everything here computes in float32."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["l2_normalize", "masked_mean", "truncate_matryoshka", "weights_fingerprint"]


def l2_normalize(vectors: torch.Tensor) -> torch.Tensor:
    """Scale each row to unit length (rows of zeros stay zero).

    >>> l2_normalize(torch.tensor([[3.0, 4.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929]]
    """
    return F.normalize(vectors.float(), p=2.0, dim=-1, eps=1e-12)


def masked_mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``hidden`` (b, L, d) over positions where ``mask`` (b, L) is non-zero, in fp32 -> (b, d).

    >>> h = torch.tensor([[[1.0], [3.0], [100.0]]])
    >>> masked_mean(h, torch.tensor([[1, 1, 0]])).tolist()
    [[2.0]]
    """
    weights = mask.to(torch.float32).unsqueeze(-1)  # (b, L, 1)
    summed = (hidden.float() * weights).sum(dim=1)  # (b, d)
    counts = weights.sum(dim=1).clamp_min(1.0)  # (b, 1)
    return summed / counts


def truncate_matryoshka(vectors: torch.Tensor, dim: int | None) -> torch.Tensor:
    """Keep the first ``dim`` components of each row and re-normalise (Matryoshka).

    >>> truncate_matryoshka(torch.tensor([[3.0, 4.0, 12.0]]), 2).tolist()
    [[0.6000000238418579, 0.800000011920929]]
    """
    if dim is None or dim >= vectors.shape[-1]:
        return vectors
    return l2_normalize(vectors[..., :dim])


def weights_fingerprint(*tensors: torch.Tensor) -> str:
    """A short hash of some weights that does not depend on the dtype they were loaded in.

    Values are rounded to bfloat16 (the published storage type) before hashing, so a float32 and a
    bfloat16 load of the same checkpoint agree.

    >>> a = weights_fingerprint(torch.ones(3))
    >>> a == weights_fingerprint(torch.ones(3, dtype=torch.bfloat16)), a == weights_fingerprint(torch.zeros(3))
    (True, False)
    """
    import hashlib

    digest = hashlib.sha256()
    for tensor in tensors:
        values = tensor.detach().to("cpu", torch.bfloat16).float().contiguous()
        digest.update(str(tuple(values.shape)).encode())
        digest.update(values.numpy().tobytes())
    return digest.hexdigest()[:16]
