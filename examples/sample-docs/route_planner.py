"""Route planning for warehouse robots: shortest paths on a grid with blocked cells."""

from __future__ import annotations

import heapq
from collections.abc import Iterator

Cell = tuple[int, int]


def neighbours(cell: Cell, width: int, height: int) -> Iterator[Cell]:
    """The four cells next to ``cell`` that lie on the grid."""
    x, y = cell
    for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        nx, ny = x + dx, y + dy
        if 0 <= nx < width and 0 <= ny < height:
            yield nx, ny


def manhattan(a: Cell, b: Cell) -> int:
    """Grid distance between two cells, the A* heuristic."""
    return abs(a[0] - b[0]) + abs(a[1] - b[1])


def shortest_route(start: Cell, goal: Cell, blocked: set[Cell], width: int, height: int) -> list[Cell] | None:
    """A* search from ``start`` to ``goal``; ``None`` when the goal cannot be reached."""
    frontier = [(manhattan(start, goal), 0, start)]
    came_from: dict[Cell, Cell | None] = {start: None}
    cost = {start: 0}
    while frontier:
        _, steps, cell = heapq.heappop(frontier)
        if cell == goal:
            route = [cell]
            while came_from[route[-1]] is not None:
                route.append(came_from[route[-1]])  # type: ignore[arg-type]
            return route[::-1]
        for nxt in neighbours(cell, width, height):
            if nxt in blocked or cost.get(nxt, 1 << 30) <= steps + 1:
                continue
            cost[nxt] = steps + 1
            came_from[nxt] = cell
            heapq.heappush(frontier, (steps + 1 + manhattan(nxt, goal), steps + 1, nxt))
    return None


class BatteryBudget:
    """Tracks how far a robot can still drive before it must return to a charger."""

    def __init__(self, capacity_cells: int) -> None:
        self.remaining = capacity_cells

    def can_drive(self, route: list[Cell]) -> bool:
        return len(route) - 1 <= self.remaining

    def drive(self, route: list[Cell]) -> None:
        if not self.can_drive(route):
            raise ValueError("not enough battery for this route; plan a stop at a charger")
        self.remaining -= len(route) - 1
