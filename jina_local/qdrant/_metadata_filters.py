"""LlamaIndex ``MetadataFilters`` -> the LangChain-style filter dict jina-local reads, with no framework import.

The core never imports llama-index: a ``MetadataFilters`` / ``MetadataFilter`` is recognised by its
class (a class of that name defined in a ``llama_index`` module, subclasses included) and read
through its attributes only -- ``filters`` and ``condition`` on the group, ``key``, ``value`` and
``operator`` on one filter -- with operators and conditions taken by their string values
(``"=="``, ``"text_match"``, ``"and"``...), which is what LlamaIndex's ``str`` enums hold.

Every operator LlamaIndex defines that Qdrant can express is translated: ``==``, ``!=``, ``>``,
``>=``, ``<``, ``<=``, ``in``, ``nin``, ``any`` (array holds any of), ``all`` (array holds all of),
``contains`` (array holds the value), ``text_match`` and ``text_match_insensitive`` (both Qdrant's
``MatchText``, as llama-index's own Qdrant store maps them; see ``docs/llamaindex.md`` for what it
matches) and ``is_empty``, under the conditions ``and``, ``or`` and ``not`` (none of the filters
match), nested to any depth. Anything else is a :class:`~jina_local.errors.FilterError` naming the
field and the supported operators.
"""

from __future__ import annotations

from typing import Any

from ..errors import FilterError

__all__ = ["is_metadata_filter", "metadata_filters_to_dict"]

_OPS: dict[str, str] = {
    "==": "$eq",
    "!=": "$ne",
    ">": "$gt",
    ">=": "$gte",
    "<": "$lt",
    "<=": "$lte",
    "in": "$in",
    "nin": "$nin",
    "any": "$in",  # an array field holding any of the values: Qdrant's match-any reads arrays so
    "all": "$all",
    "contains": "$contains",
    "text_match": "$text",
    "text_match_insensitive": "$text",  # MatchText; case folding as measured in docs/llamaindex.md
}
_IS_EMPTY = "is_empty"
_GROUP, _ONE = "MetadataFilters", "MetadataFilter"


def _llama_class(obj: Any) -> str | None:
    """``"MetadataFilters"`` / ``"MetadataFilter"`` when ``obj`` is (a subclass of) LlamaIndex's class, else None."""
    for cls in type(obj).__mro__:
        if cls.__name__ in (_GROUP, _ONE) and str(cls.__module__).split(".", 1)[0] == "llama_index":
            return cls.__name__
    return None


def is_metadata_filter(obj: Any) -> bool:
    """Whether ``obj`` is a LlamaIndex ``MetadataFilters`` or ``MetadataFilter`` (checked without importing it)."""
    return _llama_class(obj) is not None


def _value(enum_or_str: Any) -> str:
    return str(getattr(enum_or_str, "value", enum_or_str))


def _one(f: Any) -> dict[str, Any]:
    key, op = getattr(f, "key", None), _value(getattr(f, "operator", "=="))
    if not isinstance(key, str) or not key:
        raise FilterError(f"MetadataFilter has no field name (key={key!r}); give each filter the metadata key.")
    if op == _IS_EMPTY:
        return {key: {"$exists": False}}
    if op not in _OPS:
        supported = ", ".join(sorted({*_OPS, _IS_EMPTY}))
        raise FilterError(
            f"MetadataFilter on {key!r}: operator {op!r} cannot be expressed as a Qdrant filter; "
            f"supported operators: {supported}."
        )
    return {key: {_OPS[op]: getattr(f, "value", None)}}


def metadata_filters_to_dict(filters: Any) -> dict[str, Any] | None:
    """The LangChain-style filter dict equal to a ``MetadataFilters`` (or one ``MetadataFilter``).

    ``None`` for a ``MetadataFilters`` without filters (no filter). Field names stay as given; the
    caller resolves them (``lang`` -> ``metadata.lang``, see :mod:`jina_local.qdrant.filters`).
    """
    kind = _llama_class(filters)
    if kind == _ONE:
        return _one(filters)
    if kind != _GROUP:
        raise FilterError(f"expected a LlamaIndex MetadataFilters or MetadataFilter, got {type(filters).__name__}.")
    parts = []
    for f in getattr(filters, "filters", None) or []:
        inner = _llama_class(f)
        if inner == _GROUP:
            sub = metadata_filters_to_dict(f)
            if sub is not None:
                parts.append(sub)
        elif inner == _ONE:
            parts.append(_one(f))
        else:
            raise FilterError(
                f"MetadataFilters holds a {type(f).__name__}; expected MetadataFilter or MetadataFilters."
            )
    if not parts:
        return None
    condition = _value(getattr(filters, "condition", None) or "and").lower()
    if condition == "and":
        return {"$and": parts}
    if condition == "or":
        return {"$or": parts}
    if condition == "not":
        return {"$not": {"$or": parts}}  # NOT: none of the filters match (LlamaIndex's own reading)
    raise FilterError(f"MetadataFilters condition {condition!r} is not supported; use 'and', 'or' or 'not'.")
