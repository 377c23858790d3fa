"""Fusing the per-task hit lists of one query ("queries follow the documents").

A collection can hold points embedded with different task adapters (code with the ``code`` adapter,
prose with ``retrieval``). A query is encoded once per task and searched against that task's points
only, so each list's scores come from a different query encoding and are not on one scale. Ways to
merge them:

* ``"rrf"``: reciprocal-rank fusion, ``sum 1 / (k + rank)``; ignores scores entirely.
* ``"zscore"``: each list's scores standardised by that list's own mean and standard deviation
  (over its top ``depth`` hits), then merged by the standardised score. A list shorter than
  ``MIN_ZSCORE_HITS`` cannot estimate its own scale (two hits always standardise to -1 and +1), so
  it is standardised with the statistics of all lists pooled instead.
* ``"raw"``: merge by the raw scores (only right when the adapters' score scales agree).

The default is chosen by the synthetic experiment in ``tests/benchmarks/bench_search.py
--fusion`` (results in ``docs/qdrant.md``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np

from ..errors import OptionError
from ._base import RawHit

__all__ = ["DEFAULT_FUSION", "FUSION_DEPTH", "MIN_ZSCORE_HITS", "Fusion", "fuse", "fuse_ranked"]

Fusion = Literal["rrf", "zscore", "raw"]
DEFAULT_FUSION: Fusion = "zscore"
FUSION_DEPTH = 50
"""Hits fetched per task list when fusing, so z-score statistics rest on more than ``limit`` scores."""
RRF_K = 60
MIN_ZSCORE_HITS = 10
"""Below this many hits a list is standardised with the pooled statistics of all lists."""


def _standardise(arr: np.ndarray, mean: float, std: float) -> np.ndarray:
    return (arr - mean) / std if std > 1e-12 else np.zeros_like(arr)


def fuse_ranked(lists: Sequence[Sequence[float]], method: Fusion, k: int = RRF_K) -> list[tuple[int, int, float]]:
    """Fuse score lists (each sorted best first); returns ``(list_index, rank, fused_score)`` best first.

    Items are assumed distinct across lists (each point has exactly one task), so no de-duplication.

    >>> fuse_ranked([[0.9, 0.5], [0.3]], "raw")
    [(0, 0, 0.9), (0, 1, 0.5), (1, 0, 0.3)]
    >>> [(i, r) for i, r, _ in fuse_ranked([[0.9, 0.5], [0.3]], "rrf")]
    [(0, 0), (1, 0), (0, 1)]
    >>> [(i, r) for i, r, _ in fuse_ranked([[0.9, 0.5], [0.95, 0.2]], "zscore")]  # short lists: pooled scale
    [(1, 0), (0, 0), (0, 1), (1, 1)]
    """
    if method not in ("rrf", "zscore", "raw"):
        raise OptionError(f"fusion={method!r} is not valid; use 'zscore', 'rrf' or 'raw'.")
    arrays = [np.asarray(scores, dtype=np.float64) for scores in lists]
    pooled = np.concatenate(arrays) if arrays else np.zeros(0)
    pooled_mean = float(pooled.mean()) if pooled.size else 0.0
    pooled_std = float(pooled.std()) if pooled.size else 0.0
    out: list[tuple[int, int, float]] = []
    for li, arr in enumerate(arrays):
        fused: np.ndarray
        if method == "raw":
            fused = arr
        elif method == "rrf":
            fused = 1.0 / (k + 1.0 + np.arange(len(arr)))
        elif len(arr) >= MIN_ZSCORE_HITS:
            fused = _standardise(arr, float(arr.mean()), float(arr.std()))
        else:
            fused = _standardise(arr, pooled_mean, pooled_std)
        out.extend((li, r, float(s)) for r, s in enumerate(fused))
    out.sort(key=lambda t: (-t[2], t[1], t[0]))
    return out


def fuse(per_task: Mapping[str, Sequence[RawHit]], method: Fusion, limit: int) -> list[tuple[RawHit, float]]:
    """Merge per-task hit lists into one list of ``(hit, fused_score)``, best first, ``limit`` long."""
    tasks = list(per_task)
    if len(tasks) == 1:
        return [(h, h.score) for h in list(per_task[tasks[0]])[:limit]]
    ranked = fuse_ranked([[h.score for h in per_task[t]] for t in tasks], method)
    return [(per_task[tasks[li]][r], s) for li, r, s in ranked[:limit]]
