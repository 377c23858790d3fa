"""Early reduction of JPEGs (``Image.draft``): does the model's input stay the same, and what does it save?

For generated photo-like JPEGs (gradients, sensor noise, hard edges, fine text strokes, fine
gratings) this decodes each image (a) fully and (b) with ``draft()`` asking for ``margin x`` the
final size, then resizes both to the final size with BICUBIC (what the Qwen2-VL PIL processor and
jina-clip-v2's preprocessing do) and compares the two final images on the 0-255 scale. For scale,
the row "full, torch" is the same full decode resized by torch's bicubic with antialias (what the
*fast* Qwen2-VL processor does), compared with PIL's: two accepted implementations of one
processor differ by that much. Decode time
(median of interleaved rounds) and the peak memory of decode + resize (VmHWM of a fresh
subprocess, reset before the decode) are reported per path.

    python tests/benchmarks/bench_images.py            # default: 3 rounds
    python tests/benchmarks/bench_images.py --rounds 5 --no-memory
"""

from __future__ import annotations

import argparse
import io
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

MARGINS = (1.0, 2.0, 3.0)


def photo(width: int, height: int, style: str, seed: int) -> Image.Image:
    """A synthetic photo: smooth light, blobs, sensor noise and, per style, text strokes or gratings."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 90 + 80 * (x / width) + 40 * np.sin(y / height * 3.1 + seed)
    img = np.stack([base, base * 0.9 + 20, base * 0.7 + 40], axis=-1)
    for _ in range(12):  # soft blobs
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(0.05, 0.25) * width
        blob = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))[..., None]
        img += blob * rng.uniform(-60, 60, size=3)
    for _ in range(25):  # hard-edged rectangles
        x0, y0 = int(rng.uniform(0, width)), int(rng.uniform(0, height))
        x1, y1 = x0 + int(rng.uniform(20, width / 5)), y0 + int(rng.uniform(20, height / 5))
        img[y0:y1, x0:x1] = rng.uniform(0, 255, size=3)
    if style == "document":  # dark strokes about 3 px wide in text-like lines
        img[:] = 245
        line_height = max(height // 90, 12)
        for top in range(line_height * 2, height - line_height * 2, line_height * 2):
            left = int(width * 0.08)
            while left < width * 0.9:
                w = int(rng.uniform(line_height * 0.5, line_height * 4))
                for s in range(int(rng.integers(2, 6))):
                    sx = left + int(rng.uniform(0, w))
                    img[top : top + line_height, sx : sx + 3] = 20
                img[top + line_height - 3 : top + line_height, left : left + w] = 30
                left += w + line_height
    elif style == "texture":  # fine gratings, periods of 3-9 px (the aliasing worst case)
        for i in range(6):
            period = 3 + i
            y0 = i * height // 6
            stripe = 60 * np.sin(2 * np.pi * x[y0 : y0 + height // 6] / period)[..., None]
            img[y0 : y0 + height // 6] += stripe
    img += rng.normal(0, 6, size=img.shape)  # sensor noise
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def v4_target(width: int, height: int, max_pixels: int = 602_112, factor: int = 28) -> tuple[int, int]:
    """Qwen2-VL ``smart_resize`` (sides multiples of 28, area within max_pixels)."""
    h_bar, w_bar = round(height / factor) * factor, round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h_bar = math.floor(height / beta / factor) * factor
        w_bar = math.floor(width / beta / factor) * factor
    return w_bar, h_bar


def clip_target(width: int, height: int, size: int = 512) -> tuple[int, int]:
    """jina-clip-v2: short side to 512 (the centre crop that follows does not change the comparison)."""
    short, long = min(width, height), max(width, height)
    other = int(size * long / short)
    return (other, size) if width >= height else (size, other)


def decode(data: bytes, request: tuple[int, int] | None) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    if request is not None:
        image.draft(None, request)
    image.load()
    return image.convert("RGB")


def torch_resize(image: Image.Image, target: tuple[int, int]) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    pixels = torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)[None].float()  # (1, 3, H, W)
    out = F.interpolate(pixels, size=(target[1], target[0]), mode="bicubic", antialias=True, align_corners=False)
    return out.round().clamp(0, 255).to(torch.int16)[0].permute(1, 2, 0).numpy()


def final(data: bytes, target: tuple[int, int], margin: float | None) -> tuple[Image.Image, tuple[int, int]]:
    request = None if margin is None else (math.ceil(target[0] * margin), math.ceil(target[1] * margin))
    image = decode(data, request)
    return image.resize(target, Image.Resampling.BICUBIC), image.size


_MEMORY_CHILD = r"""
import io, math, sys
from PIL import Image
data = open(sys.argv[1], "rb").read()
tw, th, margin = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1])
open("/proc/self/clear_refs", "w").write("5")
before = hwm()
image = Image.open(io.BytesIO(data))
if margin > 0:
    image.draft(None, (math.ceil(tw * margin), math.ceil(th * margin)))
image.load()
image.convert("RGB").resize((tw, th), Image.Resampling.BICUBIC)
print(hwm() - before)
"""


def peak_mib(path: Path, target: tuple[int, int], margin: float | None) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_CHILD, str(path), str(target[0]), str(target[1]), str(margin or 0)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip()) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-memory", action="store_true")
    args = parser.parse_args()

    cases = [
        (4000, 3000, "photo", 1),
        (4000, 3000, "document", 2),
        (4000, 3000, "texture", 3),
        (2000, 1500, "photo", 4),
        (3024, 4032, "photo", 5),
    ]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for width, height, style, seed in cases:
            buf = io.BytesIO()
            photo(width, height, style, seed).save(buf, "JPEG", quality=90)
            data = buf.getvalue()
            path = Path(tmp) / f"{style}-{seed}.jpg"
            path.write_bytes(data)
            for model, target in (("v4", v4_target(width, height)), ("clip", clip_target(width, height))):
                reference, _ = final(data, target, None)
                ref = np.asarray(reference, dtype=np.int16)
                diff = np.abs(torch_resize(decode(data, None), target) - ref)
                rows.append(
                    (
                        f"{width}x{height} {style}",
                        model,
                        f"{target[0]}x{target[1]}",
                        "full, torch",
                        f"{width}x{height}",
                        int(diff.max()),
                        float(diff.mean()),
                        float(np.percentile(diff, 99)),
                        float("nan"),
                        float("nan"),
                    )
                )
                paths: list[float | None] = [None, *MARGINS]
                times: dict[float | None, list[float]] = {m: [] for m in paths}
                for _ in range(args.rounds):  # interleaved
                    for margin in paths:
                        start = time.perf_counter()
                        final(data, target, margin)
                        times[margin].append(time.perf_counter() - start)
                for margin in paths:
                    out, decoded = final(data, target, margin)
                    diff = np.abs(np.asarray(out, dtype=np.int16) - ref)
                    mem = float("nan") if args.no_memory else peak_mib(path, target, margin)
                    rows.append(
                        (
                            f"{width}x{height} {style}",
                            model,
                            f"{target[0]}x{target[1]}",
                            "full" if margin is None else f"draft {margin:g}x",
                            f"{decoded[0]}x{decoded[1]}",
                            int(diff.max()),
                            float(diff.mean()),
                            float(np.percentile(diff, 99)),
                            1000 * statistics.median(times[margin]),
                            mem,
                        )
                    )
    header = ("image", "model", "final", "decode", "decoded", "max|d|", "mean|d|", "p99|d|", "ms", "peak MiB")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        ms, mem = ("-" if math.isnan(v) else f"{v:.0f}" for v in (r[8], r[9]))
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]} | {r[5]} | {r[6]:.2f} | {r[7]:.0f} | {ms} | {mem} |")


if __name__ == "__main__":
    main()
