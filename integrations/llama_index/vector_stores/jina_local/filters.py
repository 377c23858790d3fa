"""LlamaIndex ``MetadataFilters`` for jina-local: a thin front over the core's translation.

The translation lives in the core (``jina_local.qdrant.metadata_filters_to_dict``, framework-free:
it reads the filters' attributes), so the collection, both stores and both retrievers take
``MetadataFilters`` alike. Every operator LlamaIndex defines that Qdrant can express is translated:
``==``, ``!=``, ``>``, ``>=``, ``<``, ``<=``, ``in``, ``nin``, ``any``, ``all``, ``contains``,
``text_match`` and ``text_match_insensitive`` (Qdrant's ``MatchText``: whole words, any order; see
``docs/llamaindex.md``) and ``is_empty``, under ``and``, ``or`` and ``not``, nested to any depth.
"""

from __future__ import annotations

from typing import Any

try:
    from llama_index.core.vector_stores.types import MetadataFilter, MetadataFilters
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "llama_index.vector_stores.jina_local needs llama-index-core, which is not installed. "
        'Install the extra: pip install "jina-local[llamaindex]"'
    ) from exc

from qdrant_client import models

from jina_local.qdrant import check_filter, metadata_filters_to_dict

__all__ = ["metadata_filters_to_dict", "to_filter"]


def to_filter(filter: Any) -> dict[str, Any] | models.Filter | None:
    """``MetadataFilters``, a filter dict or a ``qdrant_client.models.Filter`` -> what the collection takes.

    The result is checked now (a :class:`~jina_local.errors.FilterError` names the field) and left
    for the collection to resolve: ``lang`` -> ``metadata.lang`` (also the flat ``lang`` of older
    collections); ``ref_doc_id``, ``doc_id``, ``kind``, ``task``, ``source`` are top-level fields.
    """
    if isinstance(filter, (MetadataFilters, MetadataFilter)):
        filter = metadata_filters_to_dict(filter)
    check_filter(filter)
    return filter
