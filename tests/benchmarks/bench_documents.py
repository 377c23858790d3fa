"""Documents benchmark (a script that prints markdown tables, not a test).

(a) PDF pages per second rendered by pypdfium2 at jina-embeddings-v4's ``max_pixels`` (602,112), and the
    text layer extraction rate, on generated pages (text and filled shapes, US Letter);
(b) chunks per second of the token-aware chunker for markdown and for Python code, with the real Qwen
    tokenizer (the one jina-embeddings-v4 ships), at the default 480 / 60 tokens;
(c) late chunking against independent chunk encoding of the same documents on the mid-size v4 checkpoint
    (random weights, published layout): wall time of each (interleaved rounds) and how far apart the
    vectors are (cosine between a chunk's late and independent dense vectors; MaxSim of its multi-vectors).

Usage: ``python tests/benchmarks/bench_documents.py [--pages 40] [--docs 6] [--rounds 3] [--threads 2]``
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

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from fixture_docs import sample_docs_module
from fixture_v4 import write_v4_checkpoint

import jina_local
from jina_local.documents import PdfRenderer, chunk_code, chunk_text, read_pdf
from jina_local.late_chunking import encode_spans

V4_MAX_PIXELS = 602_112


def bench_pdf(folder: Path, n_pages: int) -> list[tuple[str, str]]:
    docs = sample_docs_module()
    lorem = (
        "Quarterly revenue grew by twelve percent while costs fell; the outlook remains positive for the "
        "warehouse robot line and the battery plant. "
    )
    pages = []
    for i in range(n_pages):
        lines = [f"Page {i + 1}"] + [lorem[(k * 7) % 40 :][:90] for k in range(40)]
        bars = "\n".join(f"0.2 0.45 0.75 rg {80 + 60 * b} 60 40 {30 + 13 * ((b + i) % 7)} re f" for b in range(8))
        pages.append(docs.text_ops(lines, size=10, leading=14) + "\n" + bars)
    path = docs.write_pdf(folder / "bench.pdf", pages)
    started = time.perf_counter()
    info = read_pdf(path)
    text_s = time.perf_counter() - started
    with PdfRenderer() as renderer:
        renderer.render(path, 1, V4_MAX_PIXELS)  # warm-up: open the document
        started = time.perf_counter()
        sizes = [renderer.render(path, p.page, V4_MAX_PIXELS).size for p in info.pages]
        render_s = time.perf_counter() - started
    w, h = sizes[0]
    return [
        ("pages rendered / s at max_pixels=602,112", f"{len(sizes) / render_s:.1f} ({w}x{h} = {w * h:,} px)"),
        ("text layers read / s (pages)", f"{len(info.pages) / text_s:.1f}"),
    ]


def bench_chunker(model: jina_local.Embedder) -> list[tuple[str, str]]:
    markdown = "\n\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md")))
    markdown = (markdown + "\n\n") * max(1, 400_000 // max(len(markdown), 1))
    code = "\n\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "jina_local").rglob("*.py")))
    rows = []
    for name, text, run in [
        ("markdown", markdown, lambda t: chunk_text(t, model, markdown=True)),
        ("python code", code, lambda t: chunk_code(t, model, language="python")),
    ]:
        run(text[:20_000])  # warm-up
        started = time.perf_counter()
        spans = run(text)
        seconds = time.perf_counter() - started
        tokens = model.count_tokens(text)
        rate = f"{len(spans) / seconds:.0f} ({tokens / seconds / 1e3:.0f}k tokens/s, {len(text) / 1e6:.2f} MB, "
        rows.append((f"{name}: chunks / s (480 tokens, 60 overlap)", rate + f"{len(spans)} chunks)"))
    return rows


def late_vs_independent(model: jina_local.Embedder, n_docs: int, rounds: int) -> list[tuple[str, str]]:
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md"))][:n_docs]
    documents = [
        (t, [(s.start, s.end) for s in chunk_text(t, model, chunk_tokens=256, overlap_tokens=0)]) for t in texts
    ]
    chunks = [t[a:b] for t, spans in documents for a, b in spans]
    n_tokens = sum(model.count_tokens(t) for t in texts)

    def late() -> list:
        return encode_spans(model, documents, output="both", progress=False)

    def independent():
        return model.encode(chunks, output="both", progress=False)

    late(), independent()  # warm-up
    times: dict[str, list[float]] = {"late": [], "independent": []}
    for _ in range(rounds):  # interleaved: the machine is noisy
        for name, run in (("late", late), ("independent", independent)):
            started = time.perf_counter()
            out = run()
            times[name].append(time.perf_counter() - started)
            if name == "late":
                late_out = out
            else:
                alone = out
    # The same pooling (chunk tokens only, no prompt tokens) on each chunk alone: separates the effect of the
    # document context from the effect of leaving the prompt out of the mean.
    solo = np.concatenate([r.dense for r in encode_spans(model, [(c, [(0, len(c))]) for c in chunks], progress=False)])
    late_dense = np.concatenate([r.dense for r in late_out])
    late_multi = [m for r in late_out for m in r.multi]
    cosines = (late_dense * alone.dense).sum(1)
    maxsim = [float((a @ b.T).max(1).mean()) for a, b in zip(late_multi, alone.multi)]
    t_late, t_alone = statistics.median(times["late"]), statistics.median(times["independent"])
    return [
        ("documents / chunks / tokens", f"{len(texts)} / {len(chunks)} (256 tokens, no overlap) / {n_tokens:,}"),
        ("late chunking: s (median)", f"{t_late:.2f}"),
        ("independent chunks: s (median)", f"{t_alone:.2f}"),
        ("late / independent time", f"{t_late / t_alone:.2f}x"),
        ("dense cosine late vs independent: mean / min", f"{cosines.mean():.3f} / {cosines.min():.3f}"),
        (
            "dense cosine late vs the same pooling on the chunk alone (context effect only): mean / min",
            f"{(late_dense * solo).sum(1).mean():.3f} / {(late_dense * solo).sum(1).min():.3f}",
        ),
        (
            "multi: mean over late tokens of best independent cosine: mean / min",
            f"{np.mean(maxsim):.3f} / {np.min(maxsim):.3f}",
        ),
    ]


def table(title: str, rows: list[tuple[str, str]]) -> str:
    out = [f"### {title}", "", "| measure | value |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--docs", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(table("PDF pages (pypdfium2)", bench_pdf(folder, args.pages)))
        tiny = jina_local.load(write_v4_checkpoint(folder / "tiny", "tiny"), device="cpu", dtype="float32")
        print(table("Chunker (Qwen tokenizer)", bench_chunker(tiny)))
        mid = jina_local.load(write_v4_checkpoint(folder / "mid", "mid"), device="cpu", dtype="float32")
        print(
            table(
                "Late chunking vs independent chunks (mid v4, fp32, CPU)",
                late_vs_independent(mid, args.docs, args.rounds),
            )
        )


if __name__ == "__main__":
    main()
