"""Checks of ``encode`` / ``stream`` arguments, made once per call before any item is read.

Every refusal is a typed error that names the argument, the value and what to pass instead. The rule:
an option value out of range or of the wrong kind (``batch_size``, ``max_length``, ``max_pixels``,
``role``, ``errors``, ``images``...) is :class:`~jina_local.errors.OptionError`; ``task``, ``dim`` and
``output`` have their own :class:`TaskError`, :class:`DimensionError` and :class:`OutputError`;
:class:`InputError` is kept for the items themselves (and what pairs with them: payloads, ids).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import DimensionError, OptionError, OutputError, TaskError
from .types import ModelInfo

__all__ = [
    "MAX_POOL_FACTOR",
    "check_call",
    "check_collection_name",
    "check_positive_int",
    "check_task_argument",
]

MAX_POOL_FACTOR = 4
"""Largest store ``pool_factor`` (docs/qdrant.md, Token pooling): 2 stores half the token vectors with
virtually no loss and 3-4 a third / a quarter for a small loss (arXiv 2409.14683); larger factors are not
evaluated here, so they are refused rather than offered."""

_OUTPUTS = ("dense", "multi", "both")
_ROLES = ("query", "document")
_ERRORS = ("raise", "skip")
_IMAGE_MODES = ("off", "auto")


def check_positive_int(name: str, value: Any, *, minimum: int = 1) -> int | None:
    """``None`` or an int >= ``minimum`` (bools are not ints here)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise OptionError(f"{name}={value!r} must be an integer >= {minimum} (or None for the default).")
    return value


def check_task_argument(task: Any) -> None:
    """``task`` is ``None``, a name, or a list/tuple of names (or None) — never a dict or a set."""
    if task is None or isinstance(task, str):
        return
    if isinstance(task, (Mapping, set, frozenset, bytes)) or not isinstance(task, Sequence):
        raise TaskError(
            f"task={task!r} is not valid: pass one task name (e.g. 'retrieval'), 'auto', or a list with one "
            "name per item."
        )
    for i, name in enumerate(task):
        if name is not None and not isinstance(name, str):
            raise TaskError(f"task[{i}]={name!r} is not a task name; use a string such as 'retrieval', or None.")


def check_call(
    info: ModelInfo,
    *,
    role: Any,
    output: Any,
    dim: Any,
    errors: Any,
    images: Any,
    task: Any,
    batch_size: Any,
    window: Any = None,
    window_tokens: Any = None,
) -> None:
    """Refuse arguments no item could be encoded with."""
    if role not in _ROLES:
        raise OptionError(f"role={role!r} is not valid; use 'query' or 'document'.")
    if output not in _OUTPUTS:
        raise OutputError(f"output={output!r} is not valid; use 'dense', 'multi' or 'both'.")
    if output != "dense" and not info.has_multi:
        raise OutputError(
            f"output={output!r} needs per-token vectors, which {info.name} does not produce; use output='dense'."
        )
    if dim is not None and (isinstance(dim, bool) or dim not in info.matryoshka_dims):
        valid = ", ".join(str(d) for d in info.matryoshka_dims)
        raise DimensionError(f"dim={dim!r} is not a Matryoshka dimension of {info.name}; valid: {valid}.")
    if errors not in _ERRORS:
        raise OptionError(f"errors={errors!r} is not valid; use 'raise' (stop at the first bad item) or 'skip'.")
    if images not in _IMAGE_MODES:
        raise OptionError(f"images={images!r} is not valid; use 'off' or 'auto'.")
    check_task_argument(task)
    check_positive_int("batch_size", batch_size)
    check_positive_int("window", window)
    check_positive_int("window_tokens", window_tokens)


_COLLECTION_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}")


def check_collection_name(name: object) -> str:
    """A collection name that stays inside its index folder: letters, digits, ``_ . -``, no leading dot.

    >>> check_collection_name("docs-2026")
    'docs-2026'
    >>> check_collection_name("../x")
    Traceback (most recent call last):
    ...
    jina_local.errors.OptionError: collection name '../x' is not valid: use 1-255 letters, digits, '_', '.' or '-', not starting with '.' or '-' (it names a folder inside the index).
    """
    if not isinstance(name, str) or not _COLLECTION_NAME.fullmatch(name) or ".." in name:
        raise OptionError(
            f"collection name {name!r} is not valid: use 1-255 letters, digits, '_', '.' or '-', not starting "
            "with '.' or '-' (it names a folder inside the index)."
        )
    return name
