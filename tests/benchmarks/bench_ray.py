"""Ray Data pipeline against single-process ``stream`` on the same cores: a script that prints a table, not a test.

On the mid-size jina-embeddings-v4 in the published layout, CPU float32, a mixed-length corpus (the one of
``bench_engine.py``: texts of 9-518 tokens). Interleaved rounds, medians:

* ``stream 2N``: ``model.stream(corpus, output="both")`` on 2N texts in this process,
  ``torch.set_num_threads(cores)``;
* ``ray N`` / ``ray 2N``: ``embed_dataset(from_items(corpus), ...)`` consumed on the driver, one actor
  with ``num_cpus=cores`` (Ray sizes its torch threads by that), end to end: planning, actor start,
  model load, every batch, results back in the driver;
* steady-state Ray throughput: ``N / (ray 2N - ray N)``: the start and the first batches' warm-up cancel,
  what is left is the per-item cost, the figure the 0.8x target is about;
* ``ray 1``: the same pipeline on one item: the start cost of a job (actor process, imports, model load);
* optionally (``--write``) ``add()`` into a folder against ``embed_dataset`` + ``write_collection`` into
  a folder (one writer task).

Ray runs with ``num_cpus=cores + 2`` logical CPUs on the same physical cores, so the read and write
tasks get a slot beside the actor. Usage:
``python tests/benchmarks/bench_ray.py [--rounds 3] [--items 160] [--batch-size 256] [--cores 2] [--write]``
"""

from __future__ import annotations

import argparse
import logging
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import mixed_corpus
from fixture_v4 import write_v4_checkpoint

import jina_local
from jina_local.qdrant import MultiVectorCollection


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--items", type=int, default=160)
    parser.add_argument("--batch-size", type=int, default=256, help="rows per actor call (embed_dataset batch_size)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--write", action="store_true", help="also time add() against embed + write_collection")
    args = parser.parse_args()

    import ray

    from jina_local.ray import embed_dataset, write_collection

    torch.set_num_threads(args.cores)
    tmp = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    model_dir = write_v4_checkpoint(tmp / "v4-mid", "mid", seed=0)
    t = time.perf_counter()
    model = jina_local.load(model_dir, device="cpu", dtype="float32")
    load_s = time.perf_counter() - t
    corpus = mixed_corpus(args.items)
    tokens = sum(model.count_tokens(x) for x in corpus)
    list(model.stream(corpus, output="both", progress=False))  # warm-up: every batch shape once

    t = time.perf_counter()
    ray.init(num_cpus=args.cores + 2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    init_s = time.perf_counter() - t
    logging.getLogger("ray").setLevel(logging.ERROR)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False

    @ray.remote(num_cpus=args.cores)
    def torch_threads() -> int:
        import torch

        return torch.get_num_threads()

    actor_threads = ray.get(torch_threads.remote())

    def run_stream(items: list[str]) -> float:
        t = time.perf_counter()
        for _ in model.stream(items, output="both", progress=False):
            pass
        return time.perf_counter() - t

    def run_ray(items: list[str]) -> float:
        t = time.perf_counter()
        ds = embed_dataset(
            ray.data.from_items(items),
            str(model_dir),
            device="cpu",
            dtype="float32",
            batch_size=args.batch_size,
            concurrency=1,
            num_gpus=0,
            num_cpus=args.cores,
        )
        rows = sum(len(b["error"]) for b in ds.iter_batches(batch_format="numpy", batch_size=None))
        assert rows == len(items)
        return time.perf_counter() - t

    def run_add() -> float:
        folder = Path(tempfile.mkdtemp(dir=tmp))
        t = time.perf_counter()
        with MultiVectorCollection.open(folder, "docs", model) as store:
            store.add(corpus, progress=False)
        elapsed = time.perf_counter() - t
        shutil.rmtree(folder)
        return elapsed

    def run_ray_write() -> float:
        folder = Path(tempfile.mkdtemp(dir=tmp))
        t = time.perf_counter()
        ds = embed_dataset(
            ray.data.from_items(corpus),
            str(model_dir),
            device="cpu",
            dtype="float32",
            batch_size=args.batch_size,
            concurrency=1,
            num_gpus=0,
            num_cpus=args.cores,
        )
        summary = write_collection(ds, folder, "docs")
        elapsed = time.perf_counter() - t
        assert summary.written == len(corpus), summary
        shutil.rmtree(folder)
        return elapsed

    double = corpus + mixed_corpus(args.items, seed=1)
    times: dict[str, list[float]] = {
        "stream 2N": [],
        "ray N": [],
        "ray 2N": [],
        "ray 1": [],
        "add": [],
        "ray write": [],
    }
    for r in range(args.rounds):
        times["stream 2N"].append(run_stream(double))
        times["ray N"].append(run_ray(corpus))
        times["ray 2N"].append(run_ray(double))
        times["ray 1"].append(run_ray(corpus[:1]))
        if args.write:
            times["add"].append(run_add())
            times["ray write"].append(run_ray_write())
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items() if v), file=sys.stderr)
    med = {k: statistics.median(v) for k, v in times.items() if v}
    n = len(corpus)
    single = 2 * n / med["stream 2N"]
    extra = statistics.median(b - a for a, b in zip(times["ray N"], times["ray 2N"]))  # per round, then median
    steady = n / max(extra, 1e-9)

    print(
        f"\nmid-size v4, CPU fp32, {n} + {n} texts ({tokens} tokens in the first {n}), {args.cores} cores, "
        f"Ray {ray.__version__}, batch_size={args.batch_size}, medians of {args.rounds} interleaved rounds\n"
    )
    print("| measure | value | target |")
    print("|---|---|---|")
    print(f"| `stream` in this process, 2N = {2 * n} items, items/s | {single:.1f} | |")
    print(f"| Ray pipeline end to end, N = {n} / 2N = {2 * n} items, s | {med['ray N']:.2f} / {med['ray 2N']:.2f} | |")
    print(f"| Ray steady state, items/s: N / median over rounds of (time(2N) - time(N)) | {steady:.1f} | |")
    print(
        f"| **Ray steady state / `stream`** | **{steady / single:.2f}x** | >= 0.8x "
        f"{'✔' if steady / single >= 0.8 else '✘'} |"
    )
    print(f"| Ray end to end / `stream`, 2N items (start included) | {med['stream 2N'] / med['ray 2N']:.2f}x | |")
    print(
        f"| Ray job start: 1 item end to end (actor process, imports, model load, one batch), s | "
        f"{med['ray 1']:.2f} | |"
    )
    print(f"| model load in this process (for comparison), s | {load_s:.2f} | |")
    if args.write:
        print(f"| `add()` of N into a folder, s | {med['add']:.2f} | |")
        print(
            f"| `embed_dataset` + `write_collection` of N into a folder (start included), s | {med['ray write']:.2f} | |"
        )
        wr = statistics.median(w - a for a, w in zip(times["ray N"], times["ray write"]))
        print(f"| write cost over embedding alone (ray write - ray N, median per round), s | {wr:.2f} | |")
    print(f"| `ray.init` (local, {args.cores + 2} logical CPUs), s | {init_s:.2f} | |")
    print(f"| torch threads in a `num_cpus={args.cores}` Ray worker | {actor_threads} | |")
    ray.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
