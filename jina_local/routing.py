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

Jina's API names a task together with its side: ``retrieval.query`` / ``retrieval.passage``,
``code.query`` / ``code.passage`` and ``text-matching``; :func:`parse_task` maps them to
``(task, role)`` so every entry point can accept them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from .errors import TaskError
from .inputs import ImageInput, TypedInput
from .kinds import detect_text_kind
from .types import ModelInfo, Role

__all__ = [
    "AUTO",
    "JINA_TASK_NAMES",
    "ROUTES",
    "SYMMETRIC_TASK",
    "input_kind",
    "paired_document_task",
    "parse_document_task",
    "parse_task",
    "resolve_tasks",
    "route",
]

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

JINA_TASK_NAMES: Final[dict[str, tuple[str, Role | None]]] = {
    "retrieval.query": ("retrieval", "query"),
    "retrieval.passage": ("retrieval", "document"),
    "code.query": ("code", "query"),
    "code.passage": ("code", "document"),
    "text-matching": ("text-matching", None),
}
"""Jina API task name -> (adapter, role); ``None``: either side (text-matching is symmetric)."""


def parse_task(name: str | None) -> tuple[str | None, Role | None]:
    """``(task, role)`` of a task name; Jina's API names carry their role, plain names do not.

    ``None`` and ``"auto"`` pass through (automatic routing). Only the spelling is checked here;
    whether a model has the adapter is checked against the model (:func:`resolve_tasks`).

    >>> parse_task("retrieval.query"), parse_task("code.passage"), parse_task("text-matching")
    (('retrieval', 'query'), ('code', 'document'), ('text-matching', None))
    >>> parse_task("retrieval"), parse_task(None), parse_task("auto")
    (('retrieval', None), (None, None), ('auto', None))
    """
    if name is None:
        return None, None
    if not isinstance(name, str) or not name:
        raise TaskError(f"task={name!r} is not a task name; use e.g. 'retrieval', 'code', 'retrieval.query'.")
    if name in JINA_TASK_NAMES:
        return JINA_TASK_NAMES[name]
    if "." in name:
        valid = ", ".join(repr(n) for n in JINA_TASK_NAMES)
        raise TaskError(f"task={name!r} is not a Jina task name; valid names with a role: {valid}.")
    return name, None


def parse_document_task(name: str | None, info: ModelInfo | None = None, *, what: str = "task") -> str | None:
    """The adapter to store documents with under ``name``; Jina's passage names map to their adapter.

    A query-role name (``retrieval.query``, ``code.query``) is refused: stored points are documents,
    and encoding them in the query role silently hurts retrieval. With ``info`` the adapter must be
    one the model has (``"auto"`` and ``None`` always pass). ``what`` names the option in errors.

    >>> parse_document_task("code.passage"), parse_document_task("retrieval"), parse_document_task(None)
    ('code', 'retrieval', None)
    >>> parse_document_task("retrieval.query")
    Traceback (most recent call last):
    ...
    jina_local.errors.TaskError: task='retrieval.query' is a query-role name, but stored points are documents: use 'retrieval.passage' (or 'retrieval') to store them, and keep 'retrieval.query' for queries.
    """
    task, role = parse_task(name)
    if role == "query":
        raise TaskError(
            f"{what}={name!r} is a query-role name, but stored points are documents: use '{task}.passage' "
            f"(or {task!r}) to store them, and keep {name!r} for queries."
        )
    if info is not None and task not in (None, AUTO) and task not in info.tasks:
        valid = ", ".join(repr(t) for t in (*info.tasks, AUTO))
        raise TaskError(
            f"{what}={name!r} is not a task of {info.name}; valid: {valid} (or Jina's names such as "
            "'retrieval.passage')."
        )
    return task


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


def paired_document_task(query_task: str | None, document_task: str | None, *, per_item: bool = False) -> str | None:
    """The document adapter that matches queries encoded with ``query_task``; ``None`` = route per item.

    An explicit ``document_task`` wins (``"auto"`` asks for per-item routing). Left unset, documents
    take the queries' adapter so both sit in one vector space (``text-matching`` is symmetric, so it
    is always shared) -- unless ``per_item=True``: a store that searches each task's documents with
    a query of that task (jina-local's collection) routes documents per item instead.

    >>> paired_document_task("retrieval", None), paired_document_task("code", None)
    ('retrieval', 'code')
    >>> paired_document_task("retrieval", None, per_item=True), paired_document_task("text-matching", None, per_item=True)
    (None, 'text-matching')
    >>> paired_document_task("text-matching", "retrieval"), paired_document_task("retrieval", "auto")
    ('retrieval', None)
    """
    if document_task == AUTO:
        return None
    if document_task is not None:
        return document_task
    if query_task == SYMMETRIC_TASK:
        return SYMMETRIC_TASK
    if per_item:
        return None
    return ROUTES[("query", "text")] if query_task in (None, AUTO) else query_task


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
