"""bf16 against fp32 on this CPU (row (h) of issue 8): a script that prints a markdown table.

The mid-size jina-embeddings-v4 checkpoint (published layout) is loaded twice, ``dtype="float32"``
and ``dtype="bfloat16"``, and both encode the benchmark corpus (160 mixed-length texts and 32
images, as in ``bench_peers.py``) with ``output="both"``, interleaved round by round. Reported: the
speed-up, the worst and 1st-percentile per-token cosine of the multi-vectors, and the worst dense
cosine. One more bf16 model reproduces the old loader, which cast the rotary ``inv_freq`` buffers to
bf16 too, to show where the precision went (precision only, not timed).

Usage: ``python tests/benchmarks/bench_bf16.py [--rounds 3] [--texts 160] [--images 32] [--threads 2]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_encode import skewed_corpus  # noqa: E402
from bench_peers import image_corpus  # noqa: E402
from fixture_v4 import write_v4_checkpoint  # noqa: E402

import jina_local  # noqa: E402
from jina_local.runtime import cpu_has_fast_bf16  # noqa: E402


def cosines(ref: jina_local.EncodeResult, got: jina_local.EncodeResult) -> tuple[float, float, float]:
    """(worst token cosine, 1st percentile token cosine, worst dense cosine)."""
    tokens = np.concatenate([np.sum(a * b, axis=1) for a, b in zip(ref.multi, got.multi)])
    dense = np.sum(ref.dense * got.dense, axis=1)
    return float(tokens.min()), float(np.quantile(tokens, 0.01)), float(dense.min())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--texts", type=int, default=160)
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = write_v4_checkpoint(Path(tmp) / "mid", "mid", seed=0)
        models = {dtype: jina_local.load(model_dir, device="cpu", dtype=dtype) for dtype in ("float32", "bfloat16")}
        old = jina_local.load(model_dir, device="cpu", dtype="bfloat16")
    for _name, buffer in old.backend.model.named_buffers():
        if buffer.is_floating_point():
            buffer.data = buffer.data.to(torch.bfloat16)  # what `model.to(bfloat16)` in the old loader did

    corpora = {"text": skewed_corpus(args.texts), "images": image_corpus(args.images)}
    print(
        f"jina-embeddings-v4 'mid' random config, CPU, {args.threads} threads, avx512_bf16/amx: "
        f"{cpu_has_fast_bf16()}, {args.texts} texts / {args.images} images, median of {args.rounds} "
        "interleaved rounds\n"
    )
    print(
        "| input | fp32 items/s | bf16 items/s | speed-up | worst token cos | p1 token cos | worst dense cos "
        "| worst token cos, old loader (inv_freq in bf16) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, items in corpora.items():
        results, times = {}, {dtype: [] for dtype in models}
        for dtype, model in models.items():
            model.encode(items[:2], output="both", progress=False)  # warm-up, adapter merge
        for _ in range(args.rounds):
            for dtype, model in models.items():
                start = time.perf_counter()
                results[dtype] = model.encode(items, output="both", progress=False)
                times[dtype].append(time.perf_counter() - start)
        speedup = statistics.median(a / b for a, b in zip(times["float32"], times["bfloat16"]))
        worst, p1, dense = cosines(results["float32"], results["bfloat16"])
        old_worst, _, _ = cosines(results["float32"], old.encode(items, output="both", progress=False))
        rate = {k: len(items) / statistics.median(v) for k, v in times.items()}
        print(
            f"| {name} | {rate['float32']:.2f} | {rate['bfloat16']:.2f} | {speedup:.2f}x | {worst:.4f} | "
            f"{p1:.4f} | {dense:.5f} | {old_worst:.4f} |",
            flush=True,
        )
    print("\ntargets: speed-up >= 2x, worst token cosine >= 0.99, dense cosine >= 0.999")


if __name__ == "__main__":
    main()
