"""Token pooling benchmark (row (f) of issue 8): a script that prints markdown tables, not a test.

Documents are unit 128-d token vectors drawn around a few centres per document (like the multi-vectors
of one page). For 100 / 300 / 768 tokens per document it times, interleaved round by round:

* before: the hand-written numpy Ward (``tests/ward_reference.py``, what ``token_pooling`` used to be);
* after: ``jina_local.token_pooling.pool_tokens`` (scipy's Ward linkage + an exact k-cluster cut);

and checks on every document that both give the same pooled vectors. Then it measures parallelism
of the scipy path: the same documents pooled by 1 thread, 2 threads and 2 worker processes, which
shows whether scipy's linkage releases the GIL.

Usage: ``python tests/benchmarks/bench_pooling.py [--docs 24] [--rounds 3] [--pool-factor 2]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ward_reference import reference_pool_tokens  # noqa: E402

from jina_local.token_pooling import pool_tokens  # noqa: E402

LENGTHS = (100, 300, 768)


def documents(n_docs: int, n_tokens: int, seed: int, dim: int = 128) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    docs = []
    for _ in range(n_docs):
        centres = rng.standard_normal((max(4, n_tokens // 16), dim))
        x = centres[rng.integers(0, len(centres), size=n_tokens)] + 0.5 * rng.standard_normal((n_tokens, dim))
        docs.append((x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32))
    return docs


def docs_per_second(fn: Callable[[np.ndarray], np.ndarray], docs: list[np.ndarray]) -> float:
    start = time.perf_counter()
    for doc in docs:
        fn(doc)
    return len(docs) / (time.perf_counter() - start)


def _pool(args: tuple[np.ndarray, int]) -> np.ndarray:
    return pool_tokens(*args)


def parallel_docs_per_second(executor: Executor | None, docs: list[np.ndarray], pool_factor: int) -> float:
    jobs = [(d, pool_factor) for d in docs]
    start = time.perf_counter()
    if executor is None:
        for job in jobs:
            _pool(job)
    else:
        list(executor.map(_pool, jobs, chunksize=max(1, len(jobs) // 8)))
    return len(docs) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=24, help="documents per length and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pool-factor", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    pf = args.pool_factor

    print(
        f"token pooling, pool_factor {pf}, {args.docs} documents x 128-d per length, "
        f"median of {args.rounds} interleaved rounds\n"
    )
    print("| tokens/doc | before: numpy Ward (docs/s) | after: scipy (docs/s) | speed-up | same vectors |")
    print("|---|---|---|---|---|")
    for n_tokens in LENGTHS:
        docs = documents(args.docs, n_tokens, seed=n_tokens)
        same = all(np.allclose(pool_tokens(d, pf), reference_pool_tokens(d, pf), atol=1e-6) for d in docs)
        before, after = [], []
        for _ in range(args.rounds):
            before.append(docs_per_second(lambda d: reference_pool_tokens(d, pf), docs))
            after.append(docs_per_second(lambda d: pool_tokens(d, pf), docs))
        ratio = statistics.median(a / b for a, b in zip(after, before))
        print(
            f"| {n_tokens} | {statistics.median(before):.0f} | {statistics.median(after):.0f} | "
            f"{ratio:.2f}x | {len(docs)}/{len(docs) if same else 'NO'} |"
        )

    print(
        f"\nparallel pooling with scipy ({args.workers} workers), docs/s, median of {args.rounds} interleaved rounds\n"
    )
    print(
        f"| tokens/doc | 1 thread | {args.workers} threads | {args.workers} processes | threads / 1 | processes / 1 |"
    )
    print("|---|---|---|---|---|---|")
    with ThreadPoolExecutor(args.workers) as threads, ProcessPoolExecutor(args.workers) as processes:
        parallel_docs_per_second(processes, documents(args.workers * 2, 32, seed=1), pf)  # start the workers
        for n_tokens in LENGTHS:
            docs = documents(args.docs * 2, n_tokens, seed=n_tokens + 1)
            one, two_t, two_p = [], [], []
            for _ in range(args.rounds):
                one.append(parallel_docs_per_second(None, docs, pf))
                two_t.append(parallel_docs_per_second(threads, docs, pf))
                two_p.append(parallel_docs_per_second(processes, docs, pf))
            rt = statistics.median(t / o for t, o in zip(two_t, one))
            rp = statistics.median(p / o for p, o in zip(two_p, one))
            print(
                f"| {n_tokens} | {statistics.median(one):.0f} | {statistics.median(two_t):.0f} | "
                f"{statistics.median(two_p):.0f} | {rt:.2f}x | {rp:.2f}x |"
            )


if __name__ == "__main__":
    main()
