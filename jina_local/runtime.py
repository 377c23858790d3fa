"""Device and dtype choice: bf16 on CUDA and MPS; on the CPU bf16 where it is native and validated, else fp32."""

from __future__ import annotations

import os

import torch

from .errors import OptionError

__all__ = ["available_memory_bytes", "cpu_has_fast_bf16", "resolve_device", "resolve_dtype"]

_DTYPE_NAMES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
    "half": torch.float16,
}


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA when present, then Apple MPS, else the CPU.

    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise OptionError(f"device={device!r} is not a torch device; use 'auto', 'cpu', 'cuda' or 'cuda:N'.") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise OptionError(f"device={device!r} was asked for but CUDA is not available; use device='cpu' or 'auto'.")
    return resolved


_FAST_BF16_FLAGS = {"avx512_bf16", "amx_bf16", "bf16"}  # x86 AVX512-BF16 / AMX, aarch64 BF16 (Linux names)


def cpu_has_fast_bf16(cpuinfo: str | None = None) -> bool:
    """Whether the CPU computes bf16 natively (AVX512-BF16, AMX-BF16, or Arm BF16), from ``/proc/cpuinfo``.

    Without those, torch emulates bf16 matmuls and they are slower than fp32. Unknown (no
    ``/proc/cpuinfo``) counts as no.

    >>> cpu_has_fast_bf16("flags : fpu avx512f avx512_bf16"), cpu_has_fast_bf16("flags : fpu avx2")
    (True, False)
    """
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
                cpuinfo = handle.read()
        except OSError:
            return False
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in {"flags", "features"} and _FAST_BF16_FLAGS & set(value.split()):
            return True
    return False


def resolve_dtype(dtype: str | torch.dtype, device: torch.device, *, cpu_bf16: bool = False) -> torch.dtype:
    """``"auto"``: bfloat16 on CUDA and MPS; on the CPU bfloat16 when ``cpu_bf16`` (the family's bf16
    outputs were validated against fp32) and the CPU has native bf16 (:func:`cpu_has_fast_bf16`),
    float32 otherwise.

    >>> resolve_dtype("auto", torch.device("cpu"))
    torch.float32
    >>> resolve_dtype("bf16", torch.device("cpu"))
    torch.bfloat16
    """
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype == "auto":
        if device.type in {"cuda", "mps"}:
            return torch.bfloat16
        return torch.bfloat16 if device.type == "cpu" and cpu_bf16 and cpu_has_fast_bf16() else torch.float32
    try:
        return _DTYPE_NAMES[str(dtype).lower()]
    except KeyError:
        raise OptionError(
            f"dtype={dtype!r} is not supported; use 'auto', 'float32', 'bfloat16' or 'float16'."
        ) from None


def available_memory_bytes(device: torch.device) -> int | None:
    """Bytes that can still be allocated on ``device`` without swapping, or None when unknown.

    CUDA: the driver's free memory (``torch.cuda.mem_get_info``). CPU: ``MemAvailable`` of
    ``/proc/meminfo`` (Linux), else the free physical pages the OS reports. MPS and others: None.

    >>> (available_memory_bytes(torch.device("cpu")) or 1) > 0
    True
    """
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type != "cpu":
        return None
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the kernel reports kB
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None
