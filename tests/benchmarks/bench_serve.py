"""Loopback load on ``jina-local serve`` (a script that prints a markdown table, not a test).

A random v4 checkpoint in the published layout (``--preset tiny|mid``) is loaded once; the real app
runs on uvicorn in a thread on 127.0.0.1, and an asyncio httpx client in a child process keeps 1, 8
and 64 requests in flight (each 1-4 short texts, Jina schema, no task -> text-matching). Every level sends a fixed
number of requests and also stops at a time cap, so the run ends by itself. Reported per level:
throughput (items/s), p50/p99 latency after the first tenth of requests (warm-up), errors, and the
mean batch fill (items and requests per model forward, and the share of padded positions, from
``Embedder.add_batch_listener``), and the CPU the client itself used (it shares the machine). The
baseline is in-process ``encode`` of the same items in one call, timed just before and just after
each level (interleaved, the machine is noisy); the ratio uses their mean.

Targets at 64 clients: throughput >= 0.8x the one-call ``encode``; zero errors; p99 <= 3x p50.

Usage: ``python tests/benchmarks/bench_serve.py [--preset mid] [--requests 256] [--time-cap 120] [--threads 2]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fixture_v4 import write_v4_checkpoint  # noqa: E402

import jina_local  # noqa: E402

WORDS = (
    "the model encodes text and images into one space while retrieval systems index documents charts "
    "screenshots code and scanned pages so that a question finds the passage it needs"
).split()


def requests_for(n: int, seed: int = 0) -> list[list[str]]:
    """``n`` requests of 1-4 texts of 5-40 words."""
    rng = np.random.default_rng(seed)
    return [
        [" ".join(rng.choice(WORDS, size=int(rng.integers(5, 41)))) for _ in range(int(rng.integers(1, 5)))]
        for _ in range(n)
    ]


class BatchLog:
    """Every forward the engine runs, through the public ``Embedder.add_batch_listener``."""

    def __init__(self, model) -> None:
        self.events: list = []
        self.remove = model.add_batch_listener(self.events.append)

    def summary(self) -> dict:
        events, self.events = self.events, []
        if not events:
            return {"fill": 0.0, "callers": 0.0, "padding": 0.0}
        tokens = sum(e.tokens for e in events)
        padded = sum(e.padded_tokens for e in events)
        return {
            "fill": statistics.mean(e.size for e in events),
            "callers": statistics.mean(e.callers for e in events),
            "padding": 1 - tokens / padded if padded else 0.0,
        }


def start_server(model):
    import uvicorn

    from jina_local.server import ServerConfig, create_app

    app = create_app(ServerConfig(model="bench", log_level="warning"), model)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health").status_code == 200:
                return server, thread, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not become ready")


async def load(url: str, reqs: list[list[str]], clients: int, time_cap: float) -> dict:
    import httpx

    queue = list(enumerate(reqs))
    latencies: list[tuple[int, float]] = []
    errors = 0
    items = 0
    stop_at = time.perf_counter() + time_cap

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors, items
        while queue and time.perf_counter() < stop_at:
            index, texts = queue.pop(0)
            started = time.perf_counter()
            try:
                response = await client.post(f"{url}/v1/embeddings", json={"input": texts})
                ok = response.status_code == 200 and len(response.json()["data"]) == len(texts)
            except httpx.HTTPError:
                ok = False
            latencies.append((index, time.perf_counter() - started))
            if ok:
                items += len(texts)
            else:
                errors += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=300, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        wall = time.perf_counter() - started
    done = sorted(latencies)
    steady = [lat for _, lat in done[len(done) // 10 :]] or [lat for _, lat in done]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "items": items,
        "requests": len(done),
        "wall": wall,
        "errors": errors,
        "client_cpu": usage.ru_utime + usage.ru_stime,
        "p50": statistics.median(steady),
        "p99": float(np.percentile(steady, 99)),
    }


def load_in_child(url: str, n_requests: int, clients: int, time_cap: float) -> dict:
    """Run :func:`load` in a child process, so the client does not share this process's GIL."""
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--load-only",
            url,
            "--requests",
            str(n_requests),
            "--levels",
            str(clients),
            "--time-cap",
            str(time_cap),
        ],
        capture_output=True,
        text=True,
        timeout=time_cap + 120,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def baseline(model, reqs: list[list[str]]) -> float:
    flat = [t for r in reqs for t in r]
    started = time.perf_counter()
    model.encode(flat, role="query", task="text-matching", progress=False)
    return len(flat) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="mid", choices=["tiny", "mid"])
    parser.add_argument(
        "--requests", type=int, default=256, help="requests per concurrency level (at least 8 per client)"
    )
    parser.add_argument("--levels", default="1,8,64")
    parser.add_argument("--time-cap", type=float, default=120.0, help="seconds per level at most")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--load-only", default=None, metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_only:  # the child: send the load, print the result as JSON
        print(
            json.dumps(asyncio.run(load(args.load_only, requests_for(args.requests), int(args.levels), args.time_cap)))
        )
        return
    torch.set_num_threads(args.threads)
    folder = write_v4_checkpoint(Path(tempfile.mkdtemp()), args.preset, seed=0)
    model = jina_local.load(folder, device="cpu", dtype="float32")
    reqs = requests_for(args.requests)
    baseline(model, reqs)  # warm-up (first-call costs)
    server, thread, url = start_server(model)
    rows = []
    for clients in (int(c) for c in args.levels.split(",")):
        n = max(args.requests, 8 * clients)  # enough rounds per client to reach a steady state
        level_reqs = requests_for(n)
        before = baseline(model, level_reqs)  # interleaved: each level between two one-call encodes
        log = BatchLog(model)
        result = load_in_child(url, n, clients, args.time_cap)
        result.update(log.summary())
        log.remove()
        base_log = BatchLog(model)
        after = baseline(model, level_reqs)
        result["base_padding"] = base_log.summary()["padding"]
        base_log.remove()
        result["base"] = (before + after) / 2
        rows.append((clients, result))
    server.should_exit = True
    thread.join(30)
    print(
        f"\npreset={args.preset}, requests of 1-4 texts (5-40 words), torch threads={args.threads}; baseline: "
        f"in-process encode of the same items in one call, timed just before and after each level\n"
    )
    print(
        "| clients | requests | items/s | one-call encode items/s | ratio | p50 ms | p99 ms | p99/p50 | errors | "
        "items per forward | requests per forward | padding (server / one call) | client CPU s / wall s |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for clients, r in rows:
        throughput = r["items"] / r["wall"]
        print(
            f"| {clients} | {r['requests']} | {throughput:.1f} | {r['base']:.1f} | {throughput / r['base']:.2f}x | "
            f"{r['p50'] * 1e3:.1f} | {r['p99'] * 1e3:.1f} | {r['p99'] / r['p50']:.2f} | {r['errors']} | "
            f"{r['fill']:.1f} | {r['callers']:.1f} | {r['padding']:.0%} / {r['base_padding']:.0%} | "
            f"{r['client_cpu']:.1f} / {r['wall']:.1f} |"
        )


if __name__ == "__main__":
    main()
