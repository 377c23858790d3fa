"""jina-clip-v2 throughput and facade overhead on a mid-size random checkpoint in the published layout.

Prints a markdown table:

* text and image throughput of ``Embedder.encode`` (items/s, tokens/s);
* overhead = wall time of ``Embedder.encode`` / summed wall time of the bare tower forwards
  (``text_model(ids, mask)`` / ``vision_model(pixels)``) on the identical batches that encode ran
  (the batches are recorded during encode, collated outside the timed region, then replayed).
  Everything the facade adds (typing items, tokenising, image resize/crop, batch planning, padding,
  normalising pixels, pooling, normalisation, order restoring) counts as overhead. Target: <= 1.10.

Run: ``python tests/benchmarks/bench_encode_clip.py [--texts 128] [--images 24] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fixture_clip import CORPUS, write_clip_checkpoint  # noqa: E402

import jina_local  # noqa: E402
from jina_local.models.base import Prepared  # noqa: E402

__all__ = ["main"]

MID_SIZE: dict[str, Any] = {
    "hidden": 512,  # 16 heads x 32
    "text_layers": 6,
    "intermediate": 2048,
    "width": 512,  # 8 heads x 64
    "vision_layers": 6,
    "head_width": 64,
    "image_size": 224,  # 16 x 16 patches + CLS = 257 tokens
}


def _texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    words = " ".join(CORPUS).split()
    return [" ".join(rng.choice(words) for _ in range(rng.randint(3, 40))) for _ in range(n)]


def _images(n: int, seed: int = 0) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    sizes = [(640, 480), (480, 640), (800, 600), (300, 300), (1024, 768)]
    return [
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for w, h in (sizes[i % 5] for i in range(n))
    ]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn: Callable[[], object], device: torch.device) -> float:
    _sync(device)
    start = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - start


def _measure(model: jina_local.Embedder, items: Sequence[Any], repeats: int) -> dict[str, float]:
    backend: Any = model.backend
    device = backend.device
    recorded: list[list[Prepared]] = []
    original = backend.forward

    def recording(batch: Sequence[Prepared], **kwargs: Any) -> Any:
        recorded.append(list(batch))
        return original(batch, **kwargs)

    backend.forward = recording
    try:
        model.encode(list(items), progress=False)  # records the batches; also the warm-up
    finally:
        del backend.forward  # back to the class method
    calls: list[Callable[[], object]] = []
    text_tower, vision_tower = backend.text_model, backend.vision_model
    for batch in recorded:
        if batch[0].group == "text":
            ids = backend.collate_text(batch)
            mask = ids != backend.pad_id
            attention = None if bool(mask.all()) else mask.long()
            calls.append(lambda ids=ids, attention=attention: text_tower(input_ids=ids, attention_mask=attention))
        else:
            pixels = backend.collate_images(batch)
            calls.append(lambda pixels=pixels: vision_tower(pixels))
    # Interleaved, best of ``repeats``: the machine is shared, and the minimum is the least disturbed run.
    encode_times, bare_times = [], []
    for _ in range(repeats):
        encode_times.append(_timed(lambda: model.encode(list(items), progress=False), device))
        with torch.inference_mode():
            bare_times.append(sum(_timed(call, device) for call in calls))
    tokens = sum(p.cost for batch in recorded for p in batch)
    encode_s, bare_s = min(encode_times), min(bare_times)
    return {
        "items": len(items),
        "batches": len(recorded),
        "tokens": tokens,
        "encode_s": encode_s,
        "bare_s": bare_s,
        "items_per_s": len(items) / encode_s,
        "tokens_per_s": tokens / encode_s,
        "overhead": encode_s / bare_s,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=64)
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_clip_checkpoint(Path(tmp) / "jina-clip-v2-mid", **MID_SIZE)
        start = time.perf_counter()
        model = jina_local.load(folder, device=args.device, dtype=args.dtype)
        load_s = time.perf_counter() - start
        rows = [
            ("text (document)", _measure(model, _texts(args.texts), args.repeats)),
            ("image", _measure(model, _images(args.images), args.repeats)),
        ]
    info = model.info
    print(
        f"jina-clip-v2 mid-size random checkpoint (text {MID_SIZE['hidden']}-d x {MID_SIZE['text_layers']} layers, "
        f"vision {MID_SIZE['width']}-d x {MID_SIZE['vision_layers']} blocks at {MID_SIZE['image_size']} px); "
        f"device {info.device}, dtype {info.dtype}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.machine()}; load {load_s:.2f} s; token budget {model.backend.token_budget}, "
        f"max batch {model.backend.max_batch_size}; best of {args.repeats}, interleaved\n"
    )
    print("| input | items | batches | tokens | encode s | bare towers s | items/s | tokens/s | overhead |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, r in rows:
        print(
            f"| {label} | {r['items']} | {r['batches']} | {r['tokens']} | {r['encode_s']:.3f} | {r['bare_s']:.3f} "
            f"| {r['items_per_s']:.1f} | {r['tokens_per_s']:.0f} | {r['overhead']:.3f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
