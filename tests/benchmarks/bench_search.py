"""Search benchmark for jina_local.qdrant: insert rate, latency per mode, storage, recall, scale.

Synthetic clustered token vectors (``--tokens`` per document, 128-d, unit norm): documents belong to
topics, tokens scatter around a per-document centre near the topic centre; the dense vector is a
noisy projection of the mean token. Queries take tokens of a random document plus noise.

    python tests/benchmarks/bench_search.py --sizes 10000,50000            # main tables
    python tests/benchmarks/bench_search.py --sizes 10000 --storage        # bytes/doc f32 / f16 / pool 2
    python tests/benchmarks/bench_search.py --large 500000 --large-budget-s 900  # on-disk scale run
    python tests/benchmarks/bench_search.py --fusion                       # fusion experiment

Prints markdown tables. Encoding is excluded everywhere (vectors are precomputed).
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from jina_local.qdrant import MultiVectorCollection

DENSE_DIM = 128
MULTI_DIM = 128


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


class Synthetic:
    """Deterministic clustered corpus, generated in batches (``docs(start, stop)``)."""

    def __init__(self, tokens: int, seed: int = 0, topics: int = 500) -> None:
        rng = np.random.default_rng(seed)
        self.tokens = tokens
        self.seed = seed
        self.topics = _unit(rng.standard_normal((topics, MULTI_DIM)))
        self.proj = (rng.standard_normal((MULTI_DIM, DENSE_DIM)) / np.sqrt(MULTI_DIM)).astype(np.float32)

    BLOCK = 256

    def _block(self, b: int) -> tuple[np.ndarray, np.ndarray]:
        if getattr(self, "_cached", (None,))[0] == b:
            return self._cached[1]
        rng = np.random.default_rng([self.seed, b])
        n = self.BLOCK
        topic = rng.integers(0, len(self.topics), n)
        centre = _unit(self.topics[topic] + 0.09 * rng.standard_normal((n, MULTI_DIM)).astype(np.float32))
        toks = _unit(centre[:, None, :] + 0.11 * rng.standard_normal((n, self.tokens, MULTI_DIM)).astype(np.float32))
        dense = _unit(toks.mean(1) @ self.proj + 0.02 * rng.standard_normal((n, DENSE_DIM)).astype(np.float32))
        self._cached = (b, (dense, toks))
        return dense, toks

    def docs(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """(dense (n, D), tokens (n, T, 128)) for documents ``start .. stop - 1`` (independent of batching)."""
        dense_parts, tok_parts = [], []
        pos = start
        while pos < stop:
            b, off = divmod(pos, self.BLOCK)
            take = min(stop - pos, self.BLOCK - off)
            dense, toks = self._block(b)
            dense_parts.append(dense[off : off + take])
            tok_parts.append(toks[off : off + take])
            pos += take
        return np.concatenate(dense_parts), np.concatenate(tok_parts)

    def queries(self, n_docs: int, n: int, q_tokens: int = 20) -> list[tuple[np.ndarray, np.ndarray]]:
        rng = np.random.default_rng([self.seed, 10**9])
        out = []
        for _ in range(n):
            d = int(rng.integers(0, n_docs))
            _, toks = self.docs(d, d + 1)
            pick = toks[0, rng.choice(self.tokens, q_tokens, replace=False)]
            q = _unit(pick + 0.05 * rng.standard_normal(pick.shape).astype(np.float32))
            dense = _unit(q.mean(0) @ self.proj)
            out.append((dense, q))
        return out


def _pct(values: list[float]) -> tuple[float, float]:
    arr = np.asarray(values) * 1000
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 95))


def _dir_bytes(path: Path, sub: str | None = None) -> int:
    root = path / sub if sub else path
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file())


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------ bare engine
class BareEdge:
    """qdrant-edge-py queried directly, same schema as the collection (the comparison baseline)."""

    def __init__(self, path: Path, f16: bool = False, on_disk: bool = False) -> None:
        import qdrant_edge as qe

        self.qe = qe
        cfg = qe.EdgeConfig(
            vectors={
                "dense": qe.EdgeVectorParams(
                    size=DENSE_DIM,
                    distance=qe.Distance.Cosine,
                    hnsw_config=qe.HnswIndexConfig(m=16, ef_construct=100, full_scan_threshold=10_000),
                ),
                "multi": qe.EdgeVectorParams(
                    size=MULTI_DIM,
                    distance=qe.Distance.Cosine,
                    multivector_config=qe.MultiVectorConfig(qe.MultiVectorComparator.MaxSim),
                    hnsw_config=qe.HnswIndexConfig(m=0, ef_construct=100, full_scan_threshold=10_000),
                    datatype=qe.VectorStorageDatatype.Float16 if f16 else None,
                    on_disk=True if on_disk else None,
                ),
            }
        )
        self.shard = qe.EdgeShard.create(str(path), cfg)
        for key in ("task", "kind", "source"):  # the collection indexes these too
            self.shard.update(qe.UpdateOperation.create_field_index(key, qe.PayloadSchemaType.Keyword))

    def upsert(self, start: int, dense: np.ndarray, toks: np.ndarray) -> None:
        qe = self.qe
        # the payload the collection stores for the same point (user "n" + kind, task, source)
        pts = [
            qe.Point(
                uuid.UUID(int=start + i),
                {"dense": dense[i], "multi": toks[i]},
                {"n": start + i, "kind": "text", "task": "retrieval", "source": f"doc-{start + i}"},
            )
            for i in range(len(dense))
        ]
        self.shard.update(qe.UpdateOperation.upsert_points(pts))

    def query(self, mode: str, dense: np.ndarray, multi: np.ndarray, limit: int = 10, prefetch: int = 100) -> list[Any]:
        """Same request as the collection sends: list vectors, payload, no filter, same limit / prefetch."""
        qe = self.qe
        if mode == "dense":
            req = qe.QueryRequest(limit=limit, query=qe.Query.Nearest(dense.tolist(), using="dense"), with_payload=True)
        elif mode == "multi":
            req = qe.QueryRequest(limit=limit, query=qe.Query.Nearest(multi.tolist(), using="multi"), with_payload=True)
        else:
            req = qe.QueryRequest(
                limit=limit,
                query=qe.Query.Nearest(multi.tolist(), using="multi"),
                with_payload=True,
                prefetches=[qe.Prefetch(limit=prefetch, query=qe.Query.Nearest(dense.tolist(), using="dense"))],
            )
        return self.shard.query(req)


# ------------------------------------------------------------------ main run
def _fill_collection(store: MultiVectorCollection, data: Synthetic, n: int, batch: int) -> float:
    t = 0.0
    for start in range(0, n, batch):
        dense, toks = data.docs(start, min(n, start + batch))
        t0 = time.perf_counter()
        store.add_embeddings(
            dense,
            list(toks),
            payloads=[{"n": start + i} for i in range(len(dense))],
            sources=[f"doc-{start + i}" for i in range(len(dense))],
            tasks="retrieval",
            progress=False,
            batch_size=batch,
        )
        t += time.perf_counter() - t0
    return t


def _fill_bare(bare: BareEdge, data: Synthetic, n: int, batch: int) -> float:
    t = 0.0
    for start in range(0, n, batch):
        dense, toks = data.docs(start, min(n, start + batch))
        t0 = time.perf_counter()
        bare.upsert(start, dense, toks)
        t += time.perf_counter() - t0
    return t


def _exact_topk(
    data: Synthetic, n: int, queries: list[tuple[np.ndarray, np.ndarray]], k: int = 10
) -> list[tuple[np.ndarray, np.ndarray]]:
    scores = np.zeros((len(queries), n), dtype=np.float32)
    qm = np.stack([q for _, q in queries])  # (Q, t, 128)
    for start in range(0, n, 500):
        _, toks = data.docs(start, min(n, start + 500))
        sim = np.einsum("qtd,nkd->qntk", qm, toks, optimize=True)
        scores[:, start : start + len(toks)] = sim.max(axis=3).sum(axis=2)
    out = []
    for row in scores:
        top = np.argsort(-row, kind="stable")[:k]
        out.append((top, row[top]))
    return out


def _measure(run: Any, to_index: Any, queries: list, exact: list, nq: int) -> tuple[list[float], list[float], int]:
    lat, overlap, identical = [], [], 0
    for qi, (d, m) in enumerate(queries[:nq]):
        t0 = time.perf_counter()
        ids = run(d, m)
        lat.append(time.perf_counter() - t0)
        got = to_index(ids)
        truth = exact[qi][0].tolist()
        overlap.append(len(set(got) & set(truth)) / 10)
        identical += int(got == truth)
    return lat, overlap, identical


def run_sizes(args: argparse.Namespace) -> None:
    """Collection (edge folder) and bare engine are built side by side and queried interleaved.

    Inserts alternate batch by batch (collection, then bare); each query goes to both, the order
    flipping every query, so drift on a shared machine hits both sides alike.
    """
    data = Synthetic(args.tokens)
    rows_insert, rows_lat, rows_quality, rows_ratio = [], [], [], []
    coll_name, bare_name, client_name = (
        "collection: edge (folder)",
        "bare qdrant-edge-py",
        "collection: qdrant-client :memory:",
    )
    for n in args.sizes:
        queries = data.queries(n, args.queries)
        exact = _exact_topk(data, n, queries)
        tmp = Path(tempfile.mkdtemp(prefix="bench_"))
        try:
            store = MultiVectorCollection.open(tmp / "coll", "bench", dense_dim=DENSE_DIM)
            bare = BareEdge(tmp / "bare")
            t_c = t_b = 0.0
            for start in range(0, n, args.batch):
                dense, toks = data.docs(start, min(n, start + args.batch))
                t0 = time.perf_counter()
                store.add_embeddings(
                    dense,
                    list(toks),
                    payloads=[{"n": start + i} for i in range(len(dense))],
                    sources=[f"doc-{start + i}" for i in range(len(dense))],
                    tasks="retrieval",
                    progress=False,
                    batch_size=args.batch,
                )
                t1 = time.perf_counter()
                bare.upsert(start, dense, toks)
                t_c += t1 - t0
                t_b += time.perf_counter() - t1
            t0 = time.perf_counter()
            store.optimize()
            o_c = time.perf_counter() - t0
            t0 = time.perf_counter()
            bare.shard.optimize()
            o_b = time.perf_counter() - t0
            rows_insert.append(f"| {n:,} | {coll_name} | {n / t_c:,.0f} | {t_c:.1f} | {o_c:.1f} |")
            rows_insert.append(f"| {n:,} | {bare_name} | {n / t_b:,.0f} | {t_b:.1f} | {o_b:.1f} |")
            rows_ratio.append(f"| {n:,} | insert docs/s | {n / t_c:,.0f} | {n / t_b:,.0f} | {t_b / t_c:.2f}x |")
            sides = {
                coll_name: (
                    lambda mode, d, m: [
                        h.payload["n"]
                        for h in store.search_embeddings(  # noqa: E731
                            d, m, limit=10, mode=mode, prefetch_limit=args.prefetch
                        )
                    ],
                    lambda ids: ids,
                ),
                bare_name: (
                    lambda mode, d, m: [str(p.id) for p in bare.query(mode, d, m, prefetch=args.prefetch)],  # noqa: E731
                    lambda ids: [uuid.UUID(i).int for i in ids],
                ),
            }
            for mode in ("two_stage", "multi", "dense"):
                nq = len(queries) if mode != "multi" else min(len(queries), args.multi_queries)
                for d, m in queries[:3]:
                    for run, _ in sides.values():
                        run(mode, d, m)  # warm-up
                # Pass 1 is cold: right after optimize the new segments' pages are not resident yet
                # (page faults, some from disk). Pass 2 repeats the queries on a warm cache; the
                # tables report it, the comparison table shows both. Exhaustive MaxSim reads every
                # page anyway, so it gets one pass.
                passes = 1 if mode == "multi" else 2
                cold: dict[str, list[float]] = {}
                for pass_no in range(passes):
                    res = {name: ([], [], 0) for name in sides}
                    for qi in range(nq):
                        order = list(sides) if qi % 2 == 0 else list(sides)[::-1]
                        for name in order:
                            run, to_index = sides[name]
                            lat, ov, ident = _measure(
                                lambda d, m: run(mode, d, m), to_index, queries[qi : qi + 1], exact[qi : qi + 1], 1
                            )
                            L, O, I = res[name]
                            res[name] = (L + lat, O + ov, I + ident)
                    if pass_no == 0:
                        cold = {name: r[0] for name, r in res.items()}
                for name, (lat, ov, ident) in res.items():
                    p50, p95 = _pct(lat)
                    rows_lat.append(f"| {n:,} | {name} | {mode} | {p50:.2f} | {p95:.2f} |")
                    rows_quality.append(f"| {n:,} | {name} | {mode} | {np.mean(ov):.3f} | {ident}/{nq} |")
                (c50, c95), (b50, b95) = _pct(res[coll_name][0]), _pct(res[bare_name][0])
                label = "warm" if passes > 1 else "single pass"
                rows_ratio.append(
                    f"| {n:,} | {mode} p50 / p95 ms ({label}) | {c50:.2f} / {c95:.2f} | {b50:.2f} / {b95:.2f} | "
                    f"{c50 / b50:.2f}x / {c95 / b95:.2f}x |"
                )
                if passes > 1:
                    (c50, c95), (b50, b95) = _pct(cold[coll_name]), _pct(cold[bare_name])
                    rows_ratio.append(
                        f"| {n:,} | {mode} p50 / p95 ms (cold, first pass) | {c50:.2f} / {c95:.2f} | "
                        f"{b50:.2f} / {b95:.2f} | {c50 / b50:.2f}x / {c95 / b95:.2f}x |"
                    )
            store.close()
            bare.shard.close()
            del store, bare, sides
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            gc.collect()
        if n <= args.client_cap:
            store = MultiVectorCollection.open(":memory:", "bench", dense_dim=DENSE_DIM)
            t_ins = _fill_collection(store, data, n, args.batch)
            rows_insert.append(f"| {n:,} | {client_name} | {n / t_ins:,.0f} | {t_ins:.1f} | 0.0 |")
            for mode in ("two_stage", "multi", "dense"):
                if mode == "multi" and n > args.client_multi_cap:
                    rows_lat.append(
                        f"| {n:,} | {client_name} | {mode} | skipped (>{args.client_multi_cap:,} docs: brute-force numpy) | |"
                    )
                    continue
                nq = len(queries) if mode == "dense" else min(len(queries), args.multi_queries)
                run = lambda d, m: [
                    h.payload["n"]
                    for h in store.search_embeddings(  # noqa: E731
                        d, m, limit=10, mode=mode, prefetch_limit=args.prefetch
                    )
                ]
                run(*queries[0])  # warm-up
                lat, ov, ident = _measure(run, lambda ids: ids, queries, exact, nq)
                p50, p95 = _pct(lat)
                rows_lat.append(f"| {n:,} | {client_name} | {mode} | {p50:.2f} | {p95:.2f} |")
                rows_quality.append(f"| {n:,} | {client_name} | {mode} | {np.mean(ov):.3f} | {ident}/{nq} |")
            store.close()
            del store
            gc.collect()
    print(f"\n### Insert (vectors precomputed, {args.tokens} tokens/doc, batch {args.batch})\n")
    print("| docs | backend | docs/s | insert s | optimize s |\n|---|---|---|---|---|")
    print("\n".join(rows_insert))
    print(
        f"\n### Query latency (ms; {args.queries} queries of 20 tokens, limit 10, prefetch {args.prefetch}; "
        f"multi on {args.multi_queries}; edge rows: warm second pass)\n"
    )
    print("| docs | backend | mode | p50 | p95 |\n|---|---|---|---|---|")
    print("\n".join(rows_lat))
    print("\n### Collection vs bare engine (interleaved, same requests)\n")
    print("| docs | measure | collection | bare engine | ratio |\n|---|---|---|---|---|")
    print("\n".join(rows_ratio))
    print("\n### Overlap of top-10 with exact numpy MaxSim top-10\n")
    print("| docs | backend | mode | mean overlap@10 | identical top-10 lists |\n|---|---|---|---|---|")
    print("\n".join(rows_quality))


def run_storage(args: argparse.Namespace) -> None:
    data = Synthetic(args.tokens)
    n = args.sizes[0]
    print(
        f"\n### Storage per document ({n:,} docs, {args.tokens} tokens, dense {DENSE_DIM}-d; embedded engine, after optimize+flush)\n"
    )
    print(
        "| variant | segments bytes/doc | whole folder bytes/doc (incl. WAL) | vectors/doc | insert docs/s |\n|---|---|---|---|---|"
    )
    for label, kwargs in (
        ("float32", {}),
        ("float16", {"multi_dtype": "float16"}),
        ("float32 + pool_factor 2", {"pool_factor": 2}),
        ("float16 + pool_factor 2", {"multi_dtype": "float16", "pool_factor": 2}),
    ):
        tmp = Path(tempfile.mkdtemp(prefix="bench_"))
        try:
            store = MultiVectorCollection.open(tmp, "s", dense_dim=DENSE_DIM, **kwargs)
            t = _fill_collection(store, data, n, args.batch)
            store.optimize()
            store.close()
            seg = _dir_bytes(tmp / "s" / "shard", "segments")
            total = _dir_bytes(tmp / "s")
            vec = args.tokens // (kwargs.get("pool_factor") or 1)
            print(f"| {label} | {seg / n:,.0f} | {total / n:,.0f} | {vec} | {n / t:,.0f} |")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def run_large(args: argparse.Namespace) -> None:
    """Scale run: float16 multi-vectors on disk (memory-mapped), dense HNSW in RAM.

    Inserts up to ``--large`` documents but stops early once ``--large-budget-s`` seconds of
    inserting have passed, so the size reached is what fits the time; it is printed with the rest.
    """
    data = Synthetic(args.tokens)
    target = args.large
    tmp = Path(args.large_dir or tempfile.mkdtemp(prefix="bench_large_"))
    try:
        store = MultiVectorCollection.open(tmp, "large", dense_dim=DENSE_DIM, on_disk=True, multi_dtype="float16")
        t_ins, n, next_report = 0.0, 0, 25_000
        while n < target and (not args.large_budget_s or t_ins < args.large_budget_s):
            stop = min(target, n + args.batch)
            dense, toks = data.docs(n, stop)
            t0 = time.perf_counter()
            store.add_embeddings(
                dense,
                list(toks),
                payloads=[{"n": n + i} for i in range(len(dense))],
                sources=[f"doc-{n + i}" for i in range(len(dense))],
                tasks="retrieval",
                progress=False,
                batch_size=args.batch,
            )
            t_ins += time.perf_counter() - t0
            n = stop
            if n >= next_report:
                print(
                    f"  inserted {n:,} docs in {t_ins:.0f} s ({n / t_ins:,.0f} docs/s), RSS peak {_rss_mb():,.0f} MiB",
                    flush=True,
                )
                next_report += 25_000
        rss_insert = _rss_mb()
        t0 = time.perf_counter()
        store.optimize()
        t_opt = time.perf_counter() - t0
        rss_opt = _rss_mb()
        print(f"  optimize {t_opt:.0f} s, RSS peak {rss_opt:,.0f} MiB", flush=True)
        queries = data.queries(n, args.queries)
        res = {}
        for mode in ("two_stage", "dense", "multi"):
            nq = len(queries) if mode != "multi" else min(args.large_multi, len(queries))
            if nq == 0:
                continue
            store.search_embeddings(*queries[-1], limit=10, mode=mode, prefetch_limit=args.prefetch)  # warm-up
            lat = []
            for d, m in queries[:nq]:
                t0 = time.perf_counter()
                store.search_embeddings(d, m, limit=10, mode=mode, prefetch_limit=args.prefetch)
                lat.append(time.perf_counter() - t0)
            res[mode] = (_pct(lat), nq)
        size = _dir_bytes(tmp / "large")
        segs = _dir_bytes(tmp / "large" / "shard", "segments")
        store.close()
        stopped = (
            "" if n >= target else f" (stopped at the {args.large_budget_s:.0f} s insert budget; asked {target:,})"
        )
        print(f"\n### Scale run: {n:,} docs{stopped}, multi-vectors on disk, float16 ({args.tokens} tokens/doc)\n")
        print(
            f"insert {n / t_ins:,.0f} docs/s ({t_ins:.0f} s), optimize {t_opt:.0f} s, folder {size / 2**30:.1f} GiB "
            f"(segments {segs / 2**30:.1f} GiB), peak RSS (ru_maxrss) after insert {rss_insert:,.0f} MiB, "
            f"after optimize {rss_opt:,.0f} MiB, after queries {_rss_mb():,.0f} MiB\n"
        )
        print("| mode | queries | p50 ms | p95 ms |\n|---|---|---|---|")
        for mode, ((p50, p95), nq) in res.items():
            print(f"| {mode} | {nq} | {p50:.2f} | {p95:.2f} |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_fusion(args: argparse.Namespace) -> None:
    """Per-task lists with different score scales; which fusion recovers the relevant documents?"""
    from jina_local.qdrant.fusion import fuse_ranked

    rng = np.random.default_rng(7)
    depth, k = 50, 10
    scenarios = {
        "same scale": ((20.0, 1.0), (20.0, 1.0)),
        "shifted scale (code +3)": ((20.0, 1.0), (23.0, 1.0)),
        "different spread": ((20.0, 0.5), (22.0, 2.0)),
    }
    splits = {"relevant in one task": 1.0, "relevant split 70/30": 0.7, "relevant split 50/50": 0.5}
    print("\n### Fusion of per-task lists (synthetic, 2 tasks x 500 docs, 10 relevant, nDCG@10 over 300 queries)\n")
    print("| score scales | where relevant docs are | raw | rrf | zscore |\n|---|---|---|---|---|")
    for sname, scales in scenarios.items():
        for split_name, frac in splits.items():
            res = {"raw": [], "rrf": [], "zscore": []}
            for _ in range(300):
                lists, rel = [], []
                main = int(rng.integers(0, 2))
                n_rel = [0, 0]
                n_rel[main] = int(round(10 * frac))
                n_rel[1 - main] = 10 - n_rel[main]
                for t, (mu, sd) in enumerate(scales):
                    s = rng.normal(mu, sd, 500)
                    s[: n_rel[t]] += rng.normal(3.0 * sd, 0.8 * sd, n_rel[t])  # relevant docs score higher
                    order = np.argsort(-s)[:depth]
                    lists.append(s[order].tolist())
                    rel.append((order < n_rel[t]).tolist())
                gains = 1.0 / np.log2(np.arange(2, k + 2))
                ideal = gains[: min(10, sum(n_rel))].sum()
                for method in res:
                    fused = fuse_ranked(lists, method)[:k]  # type: ignore[arg-type]
                    res[method].append(sum(gains[i] for i, (li, r, _) in enumerate(fused) if rel[li][r]) / ideal)
            print(
                f"| {sname} | {split_name} | "
                + " | ".join(f"{np.mean(res[m]):.3f}" for m in ("raw", "rrf", "zscore"))
                + " |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,50000", help="comma-separated corpus sizes")
    parser.add_argument("--tokens", type=int, default=100)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--prefetch", type=int, default=100)
    parser.add_argument("--multi-queries", type=int, default=10, help="queries timed for exhaustive MaxSim (slow)")
    parser.add_argument("--client-cap", type=int, default=10000, help="largest size run on qdrant-client :memory:")
    parser.add_argument("--client-multi-cap", type=int, default=10000, help="largest size for exhaustive MaxSim there")
    parser.add_argument("--storage", action="store_true", help="bytes per document (first size)")
    parser.add_argument("--large", type=int, default=0, help="docs for the on-disk scale run")
    parser.add_argument("--large-dir", default=None)
    parser.add_argument(
        "--large-budget-s", type=float, default=0, help="stop inserting after this many seconds (0: no limit)"
    )
    parser.add_argument(
        "--large-multi", type=int, default=3, help="queries timed for exhaustive MaxSim in the scale run"
    )
    parser.add_argument("--fusion", action="store_true")
    parser.add_argument("--skip-main", action="store_true")
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    print(f"machine: {os.cpu_count()} CPUs; numpy {np.__version__}")
    if args.fusion:
        run_fusion(args)
    if args.storage:
        run_storage(args)
    if not args.skip_main and not args.storage and not args.fusion and not args.large:
        run_sizes(args)
    if args.large:
        run_large(args)


if __name__ == "__main__":
    main()
