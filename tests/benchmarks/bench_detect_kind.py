"""Accuracy and speed of :func:`jina_local.kinds.detect_text_kind` on the labelled set.

Run ``python tests/benchmarks/bench_detect_kind.py [--split dev|heldout|fresh|all] [--errors]``; prints
markdown tables: accuracy overall and per category, the confusion counts, and microseconds per
item (mean / p50 / p99, best of a few passes so a busy machine does not skew it).

The labelled set lives in ``tests/data/kinds/*.txt``: each item starts with a header line
``=== <label> <category>`` (label ``code`` or ``text``) followed by the item's lines verbatim.
The file name prefix is the split: ``dev_`` files were used while writing the classifier;
``heldout_`` files were written afterwards and measured blind once (then used for a round of
fixes); ``fresh_`` files were written after that round and measured blind once more.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from jina_local.kinds import MAX_CHARS, code_score, detect_text_kind

__all__ = ["LabelledItem", "load_labelled", "main"]

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "kinds"


@dataclass(frozen=True)
class LabelledItem:
    """One labelled text: ``label`` is ``"code"`` or ``"text"``; ``split`` is the file name prefix."""

    text: str
    label: str
    category: str
    split: str
    source: str


def load_labelled(split: str = "all", data_dir: Path = DATA_DIR) -> list[LabelledItem]:
    """Parse the ``*.txt`` files of the labelled set (``split``: a file name prefix, or ``all``)."""
    items: list[LabelledItem] = []
    for path in sorted(data_dir.glob("*.txt")):
        file_split = path.name.split("_", 1)[0]
        if split != "all" and file_split != split:
            continue
        header: tuple[str, str] | None = None
        body: list[str] = []

        def flush() -> None:
            if header is not None:
                text = "\n".join(body).strip("\n")
                items.append(LabelledItem(text, header[0], header[1], file_split, path.name))

        for line in path.read_text(encoding="utf-8").split("\n"):
            if line.startswith("=== "):
                flush()
                parts = line[4:].split()
                if len(parts) != 2 or parts[0] not in ("code", "text"):
                    raise ValueError(f"{path.name}: bad header {line!r}")
                header = (parts[0], parts[1])
                body = []
            else:
                body.append(line)
        flush()
    return items


def _timings(items: list[LabelledItem], passes: int = 5) -> list[float]:
    best = [float("inf")] * len(items)
    for _ in range(passes):
        for i, item in enumerate(items):
            t0 = time.perf_counter_ns()
            detect_text_kind(item.text)
            best[i] = min(best[i], (time.perf_counter_ns() - t0) / 1000.0)
    return best


def _time_one(text: str, repeat: int = 50) -> float:
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(repeat):
            detect_text_kind(text)
        best = min(best, (time.perf_counter() - t0) / repeat * 1e6)
    return best


def main(argv: list[str] | None = None) -> None:
    """Print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="all", choices=["dev", "heldout", "fresh", "all"])
    parser.add_argument("--errors", action="store_true", help="also list the misclassified items")
    args = parser.parse_args(argv)
    items = load_labelled(args.split)
    preds = [detect_text_kind(it.text) for it in items]

    per_cat: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_split: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    labels: dict[str, str] = {}
    confusion: Counter[tuple[str, str]] = Counter()
    for item, pred in zip(items, preds):
        ok = int(pred == item.label)
        per_cat[item.category][0] += ok
        per_cat[item.category][1] += 1
        per_split[item.split][0] += ok
        per_split[item.split][1] += 1
        labels[item.category] = item.label
        confusion[(item.label, pred)] += 1

    correct = sum(v[0] for v in per_cat.values())
    print(f"## detect_kind accuracy ({args.split}: {len(items)} items)\n")
    print("| split | items | correct | accuracy |\n|---|---:|---:|---:|")
    for name, (ok, n) in sorted(per_split.items()):
        print(f"| {name} | {n} | {ok} | {ok / n:.3f} |")
    print(f"| **all** | {len(items)} | {correct} | **{correct / len(items):.3f}** |\n")

    print("| category | label | items | accuracy |\n|---|---|---:|---:|")
    for cat in sorted(per_cat, key=lambda c: (labels[c], c)):
        ok, n = per_cat[cat]
        print(f"| {cat} | {labels[cat]} | {n} | {ok / n:.3f} |")

    print("\n| true \\ predicted | code | text |\n|---|---:|---:|")
    for true in ("code", "text"):
        print(f"| {true} | {confusion[(true, 'code')]} | {confusion[(true, 'text')]} |")

    times = _timings(items)
    chars = [len(it.text) for it in items]
    q = statistics.quantiles(times, n=100)
    print(
        "\n| items | mean chars | max chars | mean µs | p50 µs | p99 µs | max µs |\n|---:|---:|---:|---:|---:|---:|---:|"
    )
    print(
        f"| {len(items)} | {statistics.fmean(chars):.0f} | {max(chars)} | {statistics.fmean(times):.1f} | "
        f"{statistics.median(times):.1f} | {q[98]:.1f} | {max(times):.1f} |"
    )
    print("\n| input | chars | µs per call |\n|---|---:|---:|")
    for name, label in (("2 KB of code", "code"), ("2 KB of prose", "text")):
        pool = [it.text for it in items if it.label == label and len(it.text) > 150]
        blob = "\n\n".join(pool)[:2048] if pool else ""
        print(f"| {name} | {len(blob)} | {_time_one(blob):.0f} |")
    long_text = "\n".join(it.text for it in items)[:20000]
    print(
        f"| 20 KB mixed (only the first {MAX_CHARS} chars are read) | {len(long_text)} | {_time_one(long_text):.0f} |"
    )

    if args.errors:
        print("\n## Misclassified\n")
        for item, pred in zip(items, preds):
            if pred != item.label:
                snippet = item.text[:160].replace("\n", "⏎")
                print(f"- [{item.category}] {item.label}->{pred} score={code_score(item.text):.3f}: {snippet}")


if __name__ == "__main__":
    main()
