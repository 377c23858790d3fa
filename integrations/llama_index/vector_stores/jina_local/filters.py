"""LlamaIndex ``MetadataFilters`` -> the filter dicts jina-local reads (then a ``qdrant_client`` ``Filter``).

Every operator LlamaIndex defines that Qdrant can express is translated: ``==``, ``!=``, ``>``,
``>=``, ``<``, ``<=``, ``in``, ``nin``, ``any`` (array holds any of), ``all`` (array holds all of),
``contains`` (array holds the value), ``text_match`` (full-text / substring match) and ``is_empty``,
under the conditions ``and``, ``or`` and ``not`` (none of the filters match), nested to any depth.
``text_match_insensitive`` has no Qdrant equivalent (case folding depends on a text index's
tokenizer) and is refused by name.
"""

from __future__ import annotations

from typing import Any

try:
    from llama_index.core.vector_stores.types import (
        FilterCondition,
        FilterOperator,
        MetadataFilter,
        MetadataFilters,
    )
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "llama_index.vector_stores.jina_local needs llama-index-core, which is not installed. "
        'Install the extra: pip install "jina-local[llamaindex]"'
    ) from exc

from qdrant_client import models

from jina_local.qdrant import FilterError, check_filter

__all__ = ["metadata_filters_to_dict", "to_filter"]

_OPS = {
    FilterOperator.EQ: "$eq",
    FilterOperator.NE: "$ne",
    FilterOperator.GT: "$gt",
    FilterOperator.GTE: "$gte",
    FilterOperator.LT: "$lt",
    FilterOperator.LTE: "$lte",
    FilterOperator.IN: "$in",
    FilterOperator.NIN: "$nin",
    FilterOperator.ANY: "$in",
    FilterOperator.ALL: "$all",
    FilterOperator.CONTAINS: "$contains",
    FilterOperator.TEXT_MATCH: "$text",
}


def _one(f: MetadataFilter) -> dict[str, Any]:
    op = FilterOperator(f.operator)
    if op == FilterOperator.IS_EMPTY:
        return {f.key: {"$exists": False}}
    if op not in _OPS:
        supported = ", ".join(sorted(o.value for o in (*_OPS, FilterOperator.IS_EMPTY)))
        raise FilterError(
            f"MetadataFilter on {f.key!r}: operator {op.value!r} cannot be expressed as a Qdrant filter "
            f"(case-insensitive matching depends on a text index); supported operators: {supported}."
        )
    return {f.key: {_OPS[op]: f.value}}


def metadata_filters_to_dict(filters: MetadataFilters) -> dict[str, Any]:
    """The LangChain-style filter dict equal to ``filters`` (see :mod:`jina_local.qdrant.filters`)."""
    parts = []
    for f in filters.filters:
        if isinstance(f, MetadataFilters):
            parts.append(metadata_filters_to_dict(f))
        elif isinstance(f, MetadataFilter):
            parts.append(_one(f))
        else:
            raise FilterError(
                f"MetadataFilters holds a {type(f).__name__}; expected MetadataFilter or MetadataFilters."
            )
    if not parts:
        raise FilterError("MetadataFilters has no filters; pass None for no filter.")
    condition = FilterCondition(filters.condition or FilterCondition.AND)
    if condition == FilterCondition.AND:
        return {"$and": parts}
    if condition == FilterCondition.OR:
        return {"$or": parts}
    return {"$not": {"$or": parts}}  # NOT: none of the filters match (LlamaIndex's own reading)


def to_filter(filter: Any) -> dict[str, Any] | models.Filter | None:
    """``MetadataFilters``, a filter dict or a ``qdrant_client.models.Filter`` -> what the collection takes.

    The result is checked now (a :class:`~jina_local.qdrant.FilterError` names the field) and left
    for the collection to resolve: ``lang`` -> ``metadata.lang`` (also the flat ``lang`` of older
    collections); ``ref_doc_id``, ``doc_id``, ``kind``, ``task``, ``source`` are top-level fields.
    """
    if isinstance(filter, MetadataFilters):
        filter = metadata_filters_to_dict(filter) if filter.filters else None
    elif isinstance(filter, MetadataFilter):
        filter = _one(filter)
    check_filter(filter)
    return filter
