"""Merged against unmerged task adapters (row (g) of issue 8): a script that prints markdown tables.

The mid-size jina-embeddings-v4 checkpoint (published layout) encodes the mixed-length corpus (160
texts, 9-518 tokens) and the 32-image corpus of ``bench_peers.py`` with the ``retrieval`` LoRA merged
into the weights (``TaskSwitcher`` policy ``always``) and unmerged (peft, policy ``never``),
interleaved round by round. Reported: speed-up, max |Δ| of dense and token vectors, the memory the
merge buffers take, and the time of one task switch (a fresh ``W + s * B @ A`` for every adapted
layer), measured at mid size and estimated at full size from the FLOPs of a switch.

Usage: ``python tests/benchmarks/bench_merge.py [--rounds 4] [--texts 160] [--images 32] [--threads 2]``
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

FULL = dict(hidden=2048, intermediate=11008, layers=36, kv=256, rank=32, multi=128)  # jina-embeddings-v4


def switch_flops(hidden: int, intermediate: int, layers: int, kv: int, rank: int, multi: int) -> tuple[float, int]:
    """(FLOPs of one merge, adapted weight elements) for a Qwen2.5 LM with LoRA on 7 projections + projector."""
    per_layer = 2 * hidden * hidden + 2 * hidden * kv + 3 * hidden * intermediate  # q, o, k, v, gate, up, down
    elements = layers * per_layer + hidden * multi
    return 2.0 * rank * elements, elements


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--texts", type=int, default=160)
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--switch-only", action="store_true", help="only the task-switch table")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = write_v4_checkpoint(Path(tmp) / "mid", "mid", seed=0)
        model = jina_local.load(model_dir, device="cpu", dtype=args.dtype)
    switcher = model.backend.adapters
    corpora = (
        {} if args.switch_only else {"mixed texts": skewed_corpus(args.texts), "images": image_corpus(args.images)}
    )

    print(
        f"jina-embeddings-v4 'mid' random config, CPU {args.dtype}, {args.threads} threads, task retrieval, "
        f"median of {args.rounds} interleaved rounds\n"
    )
    print("| input | merged items/s | unmerged items/s | speed-up | max abs diff dense | max abs diff tokens |")
    print("|---|---|---|---|---|---|")
    for name, items in corpora.items():
        times: dict[str, list[float]] = {"always": [], "never": []}
        out = {}
        for _ in range(args.rounds):
            for policy in times:
                switcher.configure(policy)  # the next encode merges (or not) the task first
                start = time.perf_counter()
                out[policy] = model.encode(items, task="retrieval", output="both", progress=False)
                times[policy].append(time.perf_counter() - start)
        speedup = statistics.median(u / m for m, u in zip(times["always"], times["never"]))
        d_dense = float(np.abs(out["always"].dense - out["never"].dense).max())
        d_multi = max(float(np.abs(a - b).max()) for a, b in zip(out["always"].multi, out["never"].multi))
        rate = {k: len(items) / statistics.median(v) for k, v in times.items()}
        print(
            f"| {name} | {rate['always']:.2f} | {rate['never']:.2f} | {speedup:.2f}x | {d_dense:.1e} | {d_multi:.1e} |",
            flush=True,
        )

    switcher.configure("always")
    switch_times = []
    for step in range(12):
        model.backend.set_task(("code", "retrieval")[step % 2])
        switch_times.append(switcher.last_switch_seconds or 0.0)
    mid_seconds = statistics.median(switch_times[2:])
    config = model.backend.model.config.text_config
    mid_flops, mid_elements = switch_flops(
        config.hidden_size,
        config.intermediate_size,
        config.num_hidden_layers,
        config.num_key_value_heads * (config.hidden_size // config.num_attention_heads),
        32,
        128,
    )
    full_flops, full_elements = switch_flops(**FULL)
    rate = mid_flops / mid_seconds
    print("\n| task switch (merge buffers) | mid size (measured) | full size (estimated) |")
    print("|---|---|---|")
    print(f"| adapted weights | {mid_elements / 1e6:.1f} M | {full_elements / 1e6:.0f} M |")
    print(
        f"| extra memory, fp32 / bf16 | {switcher.merge_bytes / 2**20:.0f} MiB / {mid_elements * 2 / 2**20:.0f} MiB | "
        f"{full_elements * 4 / 2**30:.1f} GiB / {full_elements * 2 / 2**30:.1f} GiB |"
    )
    print(f"| GFLOP per switch | {mid_flops / 1e9:.2f} | {full_flops / 1e9:.0f} |")
    print(
        f"| switch time, CPU {args.dtype} | {mid_seconds * 1e3:.0f} ms ({rate / 1e9:.0f} GFLOP/s) | "
        f"~{full_flops / rate:.1f} s at the same rate |"
    )


if __name__ == "__main__":
    main()
