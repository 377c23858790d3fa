"""Which task adapter each item gets: one table, by input kind and role (see ``docs/routing.md``).

================  ===========================  =======================================
what              ``task="auto"`` (default)    why
================  ===========================  =======================================
document, text    ``retrieval``                prose passages, ``Passage: `` prompt
document, code    ``code``                     source / config, ``Passage: `` prompt
document, image   ``retrieval``                the fixed image prompt
query, any kind   ``retrieval``                a query follows its documents: pass their
                                               task (the Qdrant store does, per task)
symmetric=True    ``text-matching``            similarity between peers, ``Query: `` prompt
================  ===========================  =======================================

An explicit ``task=`` (one name, or one per item) always wins. A model without the routed task
(jina-clip-v2 has no adapters) uses its default task.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from .errors import TaskError
from .inputs import ImageInput, TypedInput
from .kinds import detect_text_kind
from .types import ModelInfo

__all__ = ["AUTO", "ROUTES", "SYMMETRIC_TASK", "input_kind", "paired_document_task", "resolve_tasks", "route"]

AUTO: Final = "auto"

ROUTES: Final[dict[tuple[str, str], str]] = {
    ("document", "text"): "retrieval",
    ("document", "code"): "code",
    ("document", "image"): "retrieval",
    ("query", "text"): "retrieval",
    ("query", "code"): "retrieval",
    ("query", "image"): "retrieval",
}
"""(role, kind) -> task adapter, for ``task="auto"``."""

SYMMETRIC_TASK: Final = "text-matching"


def input_kind(item: TypedInput) -> str:
    """``"image"`` for images; ``"code"`` or ``"text"`` for strings (see :mod:`jina_local.kinds`)."""
    return "image" if isinstance(item, ImageInput) else detect_text_kind(item.text)


def route(kind: str, role: str, info: ModelInfo, *, symmetric: bool = False) -> str:
    """The automatic task for one item of ``kind`` in ``role`` on the model described by ``info``.

    >>> from jina_local.types import ModelInfo
    >>> v4 = ModelInfo("v4", "jina_v4", 2048, (128, 2048), 128, ("retrieval", "text-matching", "code"),
    ...                "retrieval", "cpu", "float32", "", 32768)
    >>> route("code", "document", v4), route("code", "query", v4), route("text", "query", v4, symmetric=True)
    ('code', 'retrieval', 'text-matching')
    """
    task = SYMMETRIC_TASK if symmetric else ROUTES[(role, kind)]
    return task if task in info.tasks else info.default_task


def paired_document_task(query_task: str | None, document_task: str | None) -> str | None:
    """The document task to use when queries use ``query_task`` and documents were left open.

    ``text-matching`` is symmetric, so documents follow it; otherwise ``None`` (automatic routing).

    >>> paired_document_task("text-matching", None), paired_document_task("code", None)
    ('text-matching', None)
    >>> paired_document_task("text-matching", "retrieval")
    'retrieval'
    """
    if document_task is None and query_task == SYMMETRIC_TASK:
        return SYMMETRIC_TASK
    return document_task


def _check_task(task: object, info: ModelInfo, where: str) -> str:
    if not isinstance(task, str) or task not in info.tasks:
        if info.tasks == (info.default_task,):
            raise TaskError(
                f"{where}task={task!r} is not available: {info.name} has no task adapters "
                f"(its only task is '{info.default_task}'); leave task unset."
            )
        valid = ", ".join(repr(t) for t in (*info.tasks, AUTO))
        raise TaskError(f"{where}task={task!r} is not a task of {info.name}; valid tasks: {valid}.")
    return task


def resolve_tasks(
    kinds: Sequence[str],
    task: str | Sequence[str | None] | None,
    info: ModelInfo,
    *,
    role: str = "document",
    symmetric: bool = False,
    where: str = "",
) -> list[str]:
    """One task name per item. ``None`` and ``"auto"`` route by kind and role; names are checked.

    Unknown names raise :class:`~jina_local.errors.TaskError` listing the valid ones (``where``
    prefixes the message, e.g. ``"item 3: "``).
    """

    def one(kind: str, name: str | None, where: str) -> str:
        if name is None or name == AUTO:
            return route(kind, role, info, symmetric=symmetric)
        return _check_task(name, info, where)

    if task is None or isinstance(task, str):
        if task is not None and task != AUTO:
            _check_task(task, info, where)
        return [one(kind, task, where) for kind in kinds]
    per_item = list(task)
    if len(per_item) != len(kinds):
        raise TaskError(
            f"task is a list of {len(per_item)} names but {len(kinds)} items were given; "
            "pass one task per item, or a single task for all."
        )
    return [one(kind, name, f"item {i}: ") for i, (kind, name) in enumerate(zip(kinds, per_item))]
