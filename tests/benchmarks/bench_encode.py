"""Encoding benchmark for jina-embeddings-v4 (a script that prints a markdown table, not a test).

Runs on a mid-size random checkpoint written in the published layout (real head_dim and M-RoPE
split, fewer and narrower layers) and measures:

(a) pipeline overhead: wall time of ``Embedder.encode`` divided by the summed wall time of the bare
    backbone forwards on the identical batches (target <= 1.10);
(b) throughput on a skewed mixed-length corpus (8 to 512 tokens) against fixed-size batches taken in
    input order (target >= 1.5x);
(c) achieved GFLOP/s (FLOPs counted by torch's FlopCounterMode) as a fraction of ``torch.matmul``
    GFLOP/s measured in the same run.

Then the jina-clip-v2 rows (text and image throughput, overhead vs the bare towers) from
``bench_encode_clip.py`` (skip them with ``--no-clip``).

Usage: ``python tests/benchmarks/bench_encode.py [--items 160] [--threads 2] [--repeats 3] [--no-clip]``
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
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fixture_v4 import write_v4_checkpoint  # noqa: E402

import jina_local  # noqa: E402

WORDS = (
    "the model encodes text and images into one space while retrieval systems index documents "
    "charts screenshots code and scanned pages so that a question finds the passage it needs "
    "quarterly revenue grew sharply cats sleep most of the day rust borrows python imports"
).split()


def skewed_corpus(n: int, seed: int = 0) -> list[str]:
    """Texts of 8 to 512 tokens, most short, a long tail (log-uniform lengths), in random order."""
    rng = np.random.default_rng(seed)
    lengths = np.exp(rng.uniform(np.log(6), np.log(500), size=n)).astype(int)
    return [" ".join(rng.choice(WORDS, size=int(k))) for k in lengths]


def matmul_gflops(size: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.matmul(a, b)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.matmul(a, b)
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times) / 1e9


def record_batches(model: jina_local.Embedder, items: list[str], **kwargs) -> list[dict[str, torch.Tensor]]:
    """The exact collated batches ``encode`` runs, captured by wrapping the backend's collate."""
    processor = model.backend.processor
    captured: list[dict[str, torch.Tensor]] = []
    original = processor.collate

    def spy(batch, device, dtype):
        inputs = original(batch, device, dtype)
        captured.append(inputs)
        return inputs

    processor.collate = spy  # type: ignore[method-assign]
    try:
        model.encode(items, progress=False, **kwargs)
    finally:
        processor.collate = original  # type: ignore[method-assign]
    return captured


def bare_forward_seconds(model: jina_local.Embedder, batches: list[dict[str, torch.Tensor]], task: str) -> float:
    backend = model.backend
    backend.set_task(task)
    total = 0.0
    with torch.inference_mode():
        for inputs in batches:
            start = time.perf_counter()
            backend.model.model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], use_cache=False)
            total += time.perf_counter() - start
    return total


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=160)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fixed-batch", type=int, default=16, help="batch size of the input-order baseline")
    parser.add_argument("--no-clip", action="store_true", help="skip the jina-clip-v2 rows")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = write_v4_checkpoint(Path(tmp) / "mid", "mid", seed=0)
        model = jina_local.load(model_dir, device="cpu", dtype="float32")
    corpus = skewed_corpus(args.items)
    backend = model.backend
    tokens = [
        len(
            backend.prepare(
                jina_local.inputs.TextInput(t), role="document", task="retrieval", max_length=None, max_pixels=None
            ).data["ids"]
        )
        for t in corpus
    ]

    rows: list[tuple[str, str, str]] = []
    peak = matmul_gflops()

    # (a) overhead of the pipeline over bare forwards on identical batches
    # Interleaved (encode, bare) pairs so that machine noise hits both sides alike.
    batches = record_batches(model, corpus, output="both")
    encode_times, bare_times = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        model.encode(corpus, output="both", progress=False)
        encode_times.append(time.perf_counter() - start)
        bare_times.append(bare_forward_seconds(model, batches, "retrieval"))
    encode_s, bare_s = statistics.median(encode_times), statistics.median(bare_times)
    ratio = statistics.median(e / b for e, b in zip(encode_times, bare_times))
    rows.append(("(a) encode wall time / summed bare forwards (s)", f"{encode_s:.2f} / {bare_s:.2f}", ""))
    rows.append(("(a) encode / bare forwards, same batches", f"{ratio:.3f}", "<= 1.10"))

    # (b) length-sorted token-budget batches vs fixed-size batches in input order
    def input_order() -> None:
        for start in range(0, len(corpus), args.fixed_batch):
            chunk = corpus[start : start + args.fixed_batch]
            prepared = [
                backend.prepare(
                    jina_local.inputs.TextInput(t), role="document", task="retrieval", max_length=None, max_pixels=None
                )
                for t in chunk
            ]
            with torch.inference_mode():
                backend.forward(prepared, task="retrieval", dense=True, multi=True)

    naive_s = timed(input_order, args.repeats)
    rows.append(("(b) items/s, jina-local encode", f"{len(corpus) / encode_s:.1f}", ""))
    rows.append(
        (f"(b) items/s, fixed batches of {args.fixed_batch} in input order", f"{len(corpus) / naive_s:.1f}", "")
    )
    rows.append(("(b) speed-up over input order", f"{naive_s / encode_s:.2f}x", ">= 1.5x"))

    # (c) achieved FLOP rate vs matmul
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model.encode(corpus, output="both", progress=False)
    flops = counter.get_total_flops()
    achieved = flops / encode_s / 1e9
    rows.append(("(c) GFLOP executed per encode", f"{flops / 1e9:.1f}", ""))
    rows.append(("(c) achieved GFLOP/s", f"{achieved:.1f}", ""))
    rows.append(("(c) torch.matmul 2048² fp32 GFLOP/s", f"{peak:.1f}", ""))
    rows.append(("(c) fraction of matmul", f"{achieved / peak:.2f}", ""))

    print(
        f"jina-embeddings-v4 'mid' random config, CPU fp32, {args.threads} threads, {len(corpus)} texts, "
        f"{sum(tokens)} tokens (min {min(tokens)}, median {int(np.median(tokens))}, max {max(tokens)}), "
        f"{len(batches)} batches, median of {args.repeats}\n"
    )
    print("| measure | value | target |\n|---|---|---|")
    for name, value, target in rows:
        print(f"| {name} | {value} | {target} |")

    if not args.no_clip:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import bench_encode_clip

        print()
        bench_encode_clip.main(["--repeats", str(args.repeats)])


if __name__ == "__main__":
    main()
