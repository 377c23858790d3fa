"""jina-local against its peers on identical weights (row (e) of issue 8): prints markdown tables.

The peers are colpali-engine's ``ColQwen2_5`` and transformers' ``ColQwen2ForRetrieval`` (Qwen2.5-VL
``vlm_config``), both built from the weights of the mid-size jina-embeddings-v4 checkpoint (written
in the published layout) with the ``retrieval`` LoRA merged (``peers.py``). First the per-token
outputs are compared (same prefixed text, no query augmentation tokens; target max |Δ| <= 1e-4 fp32).
Then each peer's documented pipeline (its processor, ``padding="longest"``, batches of 16 in input
order, outputs unpadded to numpy) is timed against ``jina_local``'s public ``encode(output="multi")``,
interleaved round by round, on three corpora:

* mixed: 160 texts of 9-518 tokens (``bench_encode.skewed_corpus``);
* uniform: 160 texts of ~128 tokens;
* images: 32 images of 176-779 tokens (sizes are multiples of 28, so no resampling decides it).

Setup: ``bash tests/benchmarks/setup_peers.sh`` (colpali-engine with ``--no-deps`` into a folder).
Usage: ``python tests/benchmarks/bench_peers.py [--rounds 6] [--threads 2] [--only mixed,uniform,images]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers  # noqa: E402
from bench_encode import WORDS, skewed_corpus  # noqa: E402
from fixture_v4 import write_v4_checkpoint  # noqa: E402

import jina_local  # noqa: E402

TASK, PREFIX, BATCH = "retrieval", "Passage: ", 16
TARGETS = {"mixed": 2.2, "uniform": 1.0, "images": 1.3}


def uniform_corpus(model: jina_local.Embedder, n: int, tokens: int = 128, seed: int = 1) -> list[str]:
    """Texts whose prompt (``Passage: `` + text) is ``tokens`` tokens, give or take one or two."""
    rng = np.random.default_rng(seed)
    prefix_tokens = model.count_tokens(PREFIX)
    out = []
    for _ in range(n):
        words = list(rng.choice(WORDS, size=tokens))
        while model.count_tokens(" ".join(words)) + prefix_tokens > tokens:
            words.pop()
        out.append(" ".join(words))
    return out


def image_corpus(n: int, seed: int = 2) -> list[Image.Image]:
    """Smooth random RGB images of ~164-767 image tokens (~176-779 with the chat prompt), shuffled."""
    rng = np.random.default_rng(seed)
    grids = [(r, c) for r in range(6, 49) for c in range(6, 49) if r * c <= 767 and max(r, c) <= 3 * min(r, c)]
    images = []
    for target in np.linspace(164, 767, n)[rng.permutation(n)]:
        best = min(abs(r * c - target) for r, c in grids)
        rows, cols = [g for g in grids if abs(g[0] * g[1] - target) == best][int(rng.integers(0, 2)) % 2 - 1]
        small = rng.integers(0, 256, (rows, cols, 3), dtype=np.uint8)
        images.append(Image.fromarray(small).resize((cols * 28, rows * 28), Image.BICUBIC))
    return images


def in_batches(fn: Callable[[list[Any]], list[np.ndarray]], items: list[Any]) -> list[np.ndarray]:
    out: list[np.ndarray] = []
    with torch.inference_mode():
        for start in range(0, len(items), BATCH):
            out.extend(fn(items[start : start + BATCH]))
    return out


def agreement(ref: list[np.ndarray], got: list[np.ndarray], drop_last: bool) -> float:
    """Max |Δ| over the rows both sides share (a peer's last prompt token may differ from ours)."""
    worst = 0.0
    for r, g in zip(ref, got):
        n = len(r) - 1 if drop_last and len(g) <= len(r) else len(r)
        worst = max(worst, float(np.abs(r[:n] - g[:n]).max()))
    return worst


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--texts", type=int, default=160)
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--only", default="mixed,uniform,images")
    parser.add_argument("--dtype", default="float32", help="jina-local's dtype (the peers run float32)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = write_v4_checkpoint(Path(tmp) / "mid", "mid", seed=0)
        model = jina_local.load(model_dir, device="cpu", dtype=args.dtype)
        backend = model.backend
        colpali, colpali_processor = peers.build_colpali(backend, model_dir, TASK)
        hf, hf_processor = peers.build_transformers(backend, model_dir, TASK, PREFIX)

    runners: dict[str, dict[str, Callable[[list[Any]], list[np.ndarray]]]] = {
        "text": {
            "jina-local": lambda xs: model.encode(xs, role="document", task=TASK, output="multi", progress=False).multi,
            "colpali-engine": lambda xs: in_batches(
                lambda b: peers.colpali_texts(colpali, colpali_processor, [PREFIX + t for t in b]), xs
            ),
            "transformers": lambda xs: in_batches(lambda b: peers.transformers_texts(hf, hf_processor, b), xs),
        },
        "image": {
            "jina-local": lambda xs: model.encode(xs, task=TASK, output="multi", progress=False).multi,
            "colpali-engine": lambda xs: in_batches(lambda b: peers.colpali_images(colpali, colpali_processor, b), xs),
            "transformers": lambda xs: in_batches(lambda b: peers.transformers_images(hf, hf_processor, b), xs),
        },
    }
    corpora: dict[str, tuple[str, list[Any]]] = {}
    wanted = args.only.split(",")
    if "mixed" in wanted:
        corpora["mixed"] = ("text", skewed_corpus(args.texts))
    if "uniform" in wanted:
        corpora["uniform"] = ("text", uniform_corpus(model, args.texts))
    if "images" in wanted:
        corpora["images"] = ("image", image_corpus(args.images))

    print(
        f"jina-embeddings-v4 'mid' random config, identical weights ({TASK} LoRA merged into the peers), "
        f"CPU, {args.threads} threads, jina-local {args.dtype}, peers float32\n"
    )
    print("| corpus | items | tokens (min-max) | max abs diff vs colpali-engine | vs transformers |")
    print("|---|---|---|---|---|")
    for name, (kind, items) in corpora.items():
        run = runners[kind]
        probe = items[:: max(1, len(items) // 8)]
        ref = run["jina-local"](probe)
        lengths = [len(m) for m in run["jina-local"](items)]
        d_colpali = agreement(ref, run["colpali-engine"](probe), drop_last=kind == "image")
        d_hf = agreement(ref, run["transformers"](probe), drop_last=True)
        print(f"| {name} | {len(items)} | {min(lengths)}-{max(lengths)} | {d_colpali:.1e} | {d_hf:.1e} |")

    print(
        f"\nthroughput, items/s (median of {args.rounds} interleaved rounds); ratio = peer time / jina-local time, "
        "median of per-round ratios\n"
    )
    print("| corpus | jina-local | colpali-engine | transformers | vs colpali-engine | vs transformers | target |")
    print("|---|---|---|---|---|---|---|")
    for name, (kind, items) in corpora.items():
        run = runners[kind]
        for fn in run.values():  # warm-up
            fn(items[:4])
        times: dict[str, list[float]] = {k: [] for k in run}
        order = list(run)
        for round_index in range(args.rounds):
            for key in order[round_index % 3 :] + order[: round_index % 3]:  # rotate who goes first
                start = time.perf_counter()
                run[key](items)
                times[key].append(time.perf_counter() - start)
        ours = times["jina-local"]
        rate = {k: len(items) / statistics.median(v) for k, v in times.items()}
        ratio = {
            k: statistics.median(p / o for p, o in zip(times[k], ours)) for k in ("colpali-engine", "transformers")
        }
        print(
            f"| {name} | {rate['jina-local']:.2f} | {rate['colpali-engine']:.2f} | {rate['transformers']:.2f} | "
            f"{ratio['colpali-engine']:.2f}x | {ratio['transformers']:.2f}x | >= {TARGETS[name]}x |",
            flush=True,
        )


if __name__ == "__main__":
    main()
