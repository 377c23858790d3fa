"""Which task adapter and prompt each item gets.

For now every item without an explicit task uses the model's default task (``retrieval``);
``task`` may be one name for all items or a list with one name per item.
"""

from __future__ import annotations

from collections.abc import Sequence

from .errors import TaskError
from .inputs import ImageInput, TypedInput
from .types import ModelInfo

__all__ = ["input_kind", "resolve_tasks"]


def input_kind(item: TypedInput) -> str:
    """``"image"`` for images, ``"text"`` for any string."""
    return "image" if isinstance(item, ImageInput) else "text"


def _check_task(task: object, info: ModelInfo, where: str) -> str:
    if not isinstance(task, str) or task not in info.tasks:
        if info.tasks == (info.default_task,):
            raise TaskError(
                f"{where}task={task!r} is not available: {info.name} has no task adapters "
                f"(its only task is '{info.default_task}'); leave task unset."
            )
        valid = ", ".join(repr(t) for t in info.tasks)
        raise TaskError(f"{where}task={task!r} is not a task of {info.name}; valid tasks: {valid}.")
    return task


def resolve_tasks(
    items: Sequence[TypedInput], task: str | Sequence[str | None] | None, info: ModelInfo
) -> list[str]:
    """One task name per item; unknown names raise :class:`TaskError` listing the valid ones."""
    if task is None or isinstance(task, str):
        chosen = info.default_task if task is None else _check_task(task, info, "")
        return [chosen] * len(items)
    per_item = list(task)
    if len(per_item) != len(items):
        raise TaskError(
            f"task is a list of {len(per_item)} names but {len(items)} items were given; "
            "pass one task per item, or a single task for all."
        )
    return [
        info.default_task if t is None else _check_task(t, info, f"item {i}: ")
        for i, t in enumerate(per_item)
    ]
