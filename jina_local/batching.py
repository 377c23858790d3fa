"""Length-sorted batches under a padded-token budget, so that little compute is spent on padding.

Items are grouped by a key (task, input kind), sorted by cost (tokens), longest first, and cut
into batches whose padded size ``max(cost) * len(batch)`` stays within ``token_budget``.
Each batch lists the original positions of its items, so results can be put back in order.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from .errors import OptionError

__all__ = ["Batch", "plan_batches"]


@dataclass(frozen=True)
class Batch:
    """Positions (into the caller's list) of items that run in one forward, and their shared key."""

    key: Hashable
    indices: tuple[int, ...]


def plan_batches(
    costs: Sequence[int],
    keys: Sequence[Hashable],
    *,
    token_budget: int,
    max_batch_size: int,
) -> list[Batch]:
    """Cut items into batches; every index appears in exactly one batch.

    >>> [b.indices for b in plan_batches([5, 100, 7, 90], ["t"] * 4, token_budget=200, max_batch_size=8)]
    [(1, 3), (2, 0)]
    >>> [b.key for b in plan_batches([3, 3], ["a", "b"], token_budget=100, max_batch_size=8)]
    ['a', 'b']
    """
    if len(costs) != len(keys):
        raise OptionError(f"costs ({len(costs)}) and keys ({len(keys)}) differ in length")
    if token_budget < 1 or max_batch_size < 1:
        raise OptionError("token_budget and max_batch_size must be positive")
    by_key: dict[Hashable, list[int]] = {}
    for index, key in enumerate(keys):
        by_key.setdefault(key, []).append(index)
    batches: list[Batch] = []
    for key, members in by_key.items():
        # Longest first: the first item of a batch fixes its padded length.
        members.sort(key=lambda i: (-costs[i], i))
        current: list[int] = []
        for index in members:
            longest = costs[current[0]] if current else costs[index]
            if current and (len(current) >= max_batch_size or longest * (len(current) + 1) > token_budget):
                batches.append(Batch(key, tuple(current)))
                current = []
            current.append(index)
        if current:
            batches.append(Batch(key, tuple(current)))
    return batches
