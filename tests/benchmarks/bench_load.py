"""Loading cost of jina-embeddings-v4 (a script that prints a markdown table, not a test).

1. The full-size published config (Qwen2.5-VL-3B + projector + three rank-32 task adapters) is built
   on the meta device: parameter counts and the bytes the weights take in bf16 / fp32.
2. Checkpoints in the published layout are really loaded, in a fresh process per dtype: peak RSS
   above the process's baseline (torch + transformers imported) against the bytes of the loaded
   weights. The tiny checkpoint measures the fixed cost (tokenizer, modules); for the larger one,
   (peak - fixed) / weights of about 1.0x means one copy of the weights: no random
   initialisation, no second copy.

Usage: ``python tests/benchmarks/bench_load.py [--preset large]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))

_CHILD = r"""
import json, sys, threading, time
import torch, transformers, peft  # baseline: libraries imported
import jina_local
from jina_local.models import jina_v4
def status_mb(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0
# Anonymous memory only: safetensors maps the files, and mapped file pages are reclaimable cache.
peak = {"anon": 0.0, "rss": 0.0}
done = threading.Event()
def sample():
    while not done.is_set():
        peak["anon"] = max(peak["anon"], status_mb("RssAnon"))
        peak["rss"] = max(peak["rss"], status_mb("VmRSS"))
        time.sleep(0.002)
base_anon, base_rss = status_mb("RssAnon"), status_mb("VmRSS")
sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
start = time.perf_counter()
model = jina_local.load(sys.argv[1], device="cpu", dtype=sys.argv[2])
seconds = time.perf_counter() - start
done.set(); sampler.join()
weights = sum(p.numel() * p.element_size() for p in model.backend.model.parameters()) / 2**20
print(json.dumps({"anon": peak["anon"] - base_anon, "rss": peak["rss"] - base_rss, "weights": weights,
                  "seconds": seconds}))
"""


def full_size_on_meta() -> dict[str, float]:
    import torch
    from fixture_v4 import PRESETS, config_json
    from transformers import Qwen2_5_VLConfig

    from jina_local.models.jina_v4 import JinaV4Model

    preset = dict(PRESETS["tiny"])
    preset.update(
        hidden=2048,
        intermediate=11008,
        layers=36,
        heads=16,
        kv_heads=2,
        mrope=[16, 24, 24],
        v_depth=32,
        v_hidden=1280,
        v_intermediate=3420,
        v_heads=16,
        v_fullatt=[7, 15, 23, 31],
        dims=[128, 256, 512, 1024, 2048],
    )
    with torch.device("meta"):
        model = JinaV4Model(Qwen2_5_VLConfig(**config_json(preset)))
    lm = sum(p.numel() for n, p in model.named_parameters() if n.startswith("model.language_model."))
    vision = sum(p.numel() for n, p in model.named_parameters() if n.startswith("model.visual."))
    proj = sum(p.numel() for n, p in model.named_parameters() if n.startswith("multi_vector_projector"))
    # Seven LM projections per layer at rank 32, plus the projector, per task.
    per_layer = 32 * (2048 + 2048) * 2 + 32 * (2048 + 256) * 2 + 32 * (2048 + 11008) * 2 + 32 * (11008 + 2048)
    lora_per_task = 36 * per_layer + 32 * (2048 + 128)
    total = lm + vision + proj
    return {"lm": lm, "vision": vision, "projector": proj, "lora_per_task": lora_per_task, "total": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="large", choices=["mid", "large"])
    args = parser.parse_args()

    meta = full_size_on_meta()
    print("Full-size jina-embeddings-v4 built on the meta device (no memory used):\n")
    print("| part | parameters | bf16 | fp32 |\n|---|---:|---:|---:|")
    for key in ("lm", "vision", "projector", "lora_per_task", "total"):
        n = meta[key]
        print(f"| {key} | {n / 1e6:,.1f} M | {2 * n / 2**30:.2f} GiB | {4 * n / 2**30:.2f} GiB |")

    from fixture_v4 import PRESETS, write_v4_checkpoint

    # ~0.45 B parameters: large enough that the weights dominate the fixed cost.
    PRESETS["large"] = dict(
        PRESETS["mid"], hidden=1024, intermediate=4096, layers=16, heads=8, kv_heads=2, dims=[128, 256, 512, 1024]
    )
    print("\nReal loading (stored bf16, published layout), a fresh process each:\n")
    print(
        "| checkpoint | dtype | weights in memory | peak anonymous memory above baseline | (peak - fixed) / weights "
        "| peak RSS incl. mapped files | load time |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        fixed = 0.0
        for preset in ("tiny", args.preset):
            folder = write_v4_checkpoint(Path(tmp) / preset, preset)
            for dtype in ("float32", "bfloat16"):
                out = subprocess.run(
                    [sys.executable, "-c", _CHILD, str(folder), dtype], capture_output=True, text=True, check=True
                )
                r = json.loads(out.stdout.strip().splitlines()[-1])
                if preset == "tiny":
                    fixed = max(fixed, r["anon"] - r["weights"])
                    ratio = "(fixed cost)"
                else:
                    ratio = f"{(r['anon'] - fixed) / r['weights']:.2f}x"
                print(
                    f"| {preset} | {dtype} | {r['weights']:.0f} MiB | {r['anon']:.0f} MiB | {ratio} "
                    f"| {r['rss']:.0f} MiB | {r['seconds']:.1f} s |"
                )


if __name__ == "__main__":
    main()
