"""Filters: a ``qdrant_client.models.Filter``, a Qdrant-shaped or LangChain-style dict, or ``MetadataFilters``.

Every entry point (the collection, the retrievers, both framework stores) goes through
:func:`check_filter`, which returns one ``models.Filter`` or raises :class:`FilterError` naming the
field and what is supported. Accepted:

* ``models.Filter``, and a dict in Qdrant's shape such as
  ``{"must": [{"key": "kind", "match": {"value": "code"}}]}``;
* LlamaIndex ``MetadataFilters`` (and one ``MetadataFilter``), recognised without importing
  llama-index and translated by :mod:`jina_local.qdrant._metadata_filters`;
* a LangChain-style dict on *metadata* fields: ``{"lang": "py"}`` (equality), ``{"lang": ["py",
  "rs"]}`` (any of), ``{"year": {"$gte": 2020, "$lt": 2024}}``, ``{"draft": None}`` (is null),
  operators ``$eq $ne $gt $gte $lt $lte $in $nin $all $contains $text $exists``, and ``$and`` /
  ``$or`` / ``$not`` around lists / dicts of those.

In every form a field name resolves to ``metadata.<name>`` (where layout 2 keeps the caller's
metadata, see ``docs/qdrant.md``), except
  jina-local's own fields (``kind``, ``task``, ``source``, ``text``, ``image``, ``item_id``) and
  LlamaIndex's ``doc_id`` / ``ref_doc_id`` / ``document_id``, and names already starting with
  ``metadata.``. With ``legacy=True`` (collections that may hold points of the flat layout 1) a
  metadata name matches ``metadata.<name>`` or the top-level ``<name>``.

The qdrant-client backends take the filter as is. The embedded engine (qdrant-edge-py) has its own,
structurally identical filter classes; :func:`to_edge_filter` translates between the two. Supported:
``must`` / ``should`` / ``must_not`` / ``min_should``, nested ``Filter``; ``FieldCondition`` with
``match`` (value, any, except, text, text_any, phrase, prefix, substring), ``range`` (numbers and
datetimes), ``values_count``, ``geo_bounding_box``, ``geo_radius``, ``geo_polygon``, ``is_empty``,
``is_null``; ``IsEmptyCondition``, ``IsNullCondition``, ``HasIdCondition``, ``HasVectorCondition`` and
``NestedCondition``. Anything else raises :class:`FilterError` naming the part that is not supported.

Also here: :func:`and_filters` (AND two filters) and :func:`tasks_in_filter` (which task values a
filter pins, so a search only encodes the query for those tasks).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from qdrant_client import models

from ..errors import FilterError

__all__ = [
    "FilterError",
    "and_filters",
    "check_filter",
    "field_equals",
    "payload_key",
    "tasks_in_filter",
    "to_edge_filter",
]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def field_equals(key: str, value: str | int | bool) -> models.FieldCondition:
    """``FieldCondition(key, match=MatchValue(value))``."""
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))


def and_filters(*filters: models.Filter | models.FieldCondition | None) -> models.Filter | None:
    """AND together filters / conditions; ``None`` entries are skipped; ``None`` if nothing is left."""
    parts: list[models.Condition] = [f for f in filters if f is not None]
    if not parts:
        return None
    if len(parts) == 1 and isinstance(parts[0], models.Filter):
        return parts[0]
    return models.Filter(must=parts)


def check_filter(filter: Any, *, legacy: bool = False) -> models.Filter | None:
    """``None``, a ``models.Filter``, a dict (Qdrant's shape or LangChain-style) or ``MetadataFilters`` -> ``models.Filter``.

    Field names are resolved with :func:`payload_key` in every form (``lang`` -> ``metadata.lang``).

    >>> check_filter({"lang": "py"}).must[0].key
    'metadata.lang'
    >>> check_filter({"kind": "code", "year": {"$gte": 2020}}).must[1].range.gte
    2020.0
    """
    if filter is None:
        return None
    if isinstance(filter, models.Filter):
        return _resolve(filter, legacy)
    if isinstance(filter, dict):
        if not filter:
            return None
        if set(filter) & _QDRANT_SHAPE:
            return _resolve(_qdrant_shaped(filter), legacy)
        from ._filter_dicts import from_dict

        return _resolve(from_dict(filter, "filter"), legacy)
    from ._metadata_filters import is_metadata_filter, metadata_filters_to_dict

    if is_metadata_filter(filter):  # LlamaIndex's, read by attribute: the core imports no framework
        return check_filter(metadata_filters_to_dict(filter), legacy=legacy)
    raise FilterError(
        f"filter must be a qdrant_client.models.Filter, a dict or LlamaIndex MetadataFilters, got "
        f"{type(filter).__name__}. Examples: {{'lang': 'py'}} (metadata equality), {{'year': {{'$gte': 2020}}}}, "
        "or models.Filter(must=[models.FieldCondition(key='kind', match=models.MatchValue(value='code'))])."
    )


_QDRANT_SHAPE = frozenset({"must", "should", "must_not", "min_should"})
_TOP_LEVEL = frozenset(
    {
        "kind",
        "task",
        "source",
        "text",
        "image",
        "item_id",
        "doc_id",
        "ref_doc_id",
        "document_id",
        "metadata",
        "page_content",
    }
)


def _qdrant_shaped(filter: dict[str, Any]) -> models.Filter:
    extra = sorted(set(filter) - _QDRANT_SHAPE)
    if extra:
        raise FilterError(
            f"filter mixes Qdrant's filter shape (must / should / must_not / min_should) with field names {extra}; "
            "put those fields inside 'must' as conditions, or use the LangChain-style dict alone."
        )
    try:
        return models.Filter.model_validate(filter)
    except Exception as exc:  # pydantic's ValidationError names the location in the dict
        raise FilterError(f"filter looks like a Qdrant filter but is not a valid one: {exc}") from exc


def payload_key(name: str) -> str:
    """Where a filter field name lives in the stored payload.

    >>> payload_key("lang"), payload_key("kind"), payload_key("metadata.lang"), payload_key("a.b")
    ('metadata.lang', 'kind', 'metadata.lang', 'metadata.a.b')
    """
    head = name.split(".", 1)[0].split("[", 1)[0]
    if head in _TOP_LEVEL:
        return name
    return f"metadata.{name}"


# ---------------------------------------------------------------------------- key resolution


def _keys(name: str, legacy: bool) -> list[str]:
    key = payload_key(name)
    if legacy and key.startswith("metadata."):  # layout-1 points keep the same field at the top level
        return [key, key.removeprefix("metadata.")]
    return [key]


def _resolve_condition(cond: Any, legacy: bool) -> Any:
    """One condition with its field name(s) resolved; two keys (legacy) become an OR / AND as their meaning asks."""
    if isinstance(cond, models.Filter):
        return _resolve(cond, legacy)
    if isinstance(cond, models.FieldCondition):
        parts: list[models.Condition] = [cond.model_copy(update={"key": k}) for k in _keys(cond.key, legacy)]
        return parts[0] if len(parts) == 1 else models.Filter(should=parts)
    if isinstance(cond, models.IsEmptyCondition):  # empty = empty (or absent) under every key
        parts = [models.IsEmptyCondition(is_empty=models.PayloadField(key=k)) for k in _keys(cond.is_empty.key, legacy)]
        return parts[0] if len(parts) == 1 else models.Filter(must=parts)
    if isinstance(cond, models.IsNullCondition):
        parts = [models.IsNullCondition(is_null=models.PayloadField(key=k)) for k in _keys(cond.is_null.key, legacy)]
        return parts[0] if len(parts) == 1 else models.Filter(should=parts)
    if isinstance(cond, models.NestedCondition):  # the inner filter is relative to the array's elements
        parts = [
            models.NestedCondition(nested=models.Nested(key=k, filter=cond.nested.filter))
            for k in _keys(cond.nested.key, legacy)
        ]
        return parts[0] if len(parts) == 1 else models.Filter(should=parts)
    return cond  # HasId / HasVector name no field


def _resolve(filter: models.Filter, legacy: bool) -> models.Filter:
    def each(value: Any) -> Any:
        if value is None:
            return None
        return [_resolve_condition(c, legacy) for c in _as_list(value)]

    min_should = filter.min_should
    if min_should is not None:
        min_should = models.MinShould(conditions=each(min_should.conditions), min_count=min_should.min_count)
    return models.Filter(
        must=each(filter.must), should=each(filter.should), must_not=each(filter.must_not), min_should=min_should
    )


def tasks_in_filter(filter: models.Filter | None, key: str = "task") -> set[str] | None:
    """The task values a filter pins through top-level ``must`` conditions on ``key``, else ``None``.

    ``None`` means "not constrained" (search every task present). Only ``MatchValue`` / ``MatchAny``
    conditions directly in ``must`` (or in nested ``must`` filters) are read; anything else leaves
    the filter to Qdrant, which stays correct, just not as cheap.
    """
    if filter is None:
        return None
    allowed: set[str] | None = None
    for cond in _as_list(filter.must):
        found: set[str] | None = None
        if isinstance(cond, models.FieldCondition) and cond.key == key and cond.match is not None:
            if isinstance(cond.match, models.MatchValue):
                found = {str(cond.match.value)}
            elif isinstance(cond.match, models.MatchAny):
                found = {str(v) for v in cond.match.any}
        elif isinstance(cond, models.Filter):
            found = tasks_in_filter(cond, key)
        if found is not None:
            allowed = found if allowed is None else allowed & found
    return allowed


# ---------------------------------------------------------------------------- edge translation


def _unsupported(what: str) -> FilterError:
    return FilterError(
        f"the embedded engine (qdrant-edge-py) cannot translate {what}. Use a supported condition "
        "(see jina_local.qdrant.filters), or open the collection with backend='client' "
        "(qdrant-client local mode) or on a Qdrant server, which take every qdrant_client filter."
    )


def _dt_str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day).isoformat()
    return str(value)


def _edge_match(match: Any) -> Any:
    import qdrant_edge as qe

    if isinstance(match, models.MatchValue):
        return qe.MatchValue(match.value)
    if isinstance(match, models.MatchAny):
        return qe.MatchAny(match.any.copy())
    if isinstance(match, models.MatchExcept):
        return qe.MatchExcept(match.except_.copy())
    if isinstance(match, models.MatchText):
        return qe.MatchText(match.text)
    if isinstance(match, models.MatchTextAny):
        return qe.MatchTextAny(match.text_any)
    if isinstance(match, models.MatchPhrase):
        return qe.MatchPhrase(match.phrase)
    if isinstance(match, models.MatchPrefix):
        return qe.MatchPrefix(match.prefix)
    if isinstance(match, models.MatchSubstring):
        return qe.MatchSubstring(match.substring)
    raise _unsupported(f"match {type(match).__name__}")


def _edge_geo_point(p: models.GeoPoint) -> Any:
    import qdrant_edge as qe

    return qe.GeoPoint(lon=p.lon, lat=p.lat)


def _edge_field(cond: models.FieldCondition) -> Any:
    import qdrant_edge as qe

    kwargs: dict[str, Any] = {}
    if cond.match is not None:
        kwargs["match"] = _edge_match(cond.match)
    if cond.range is not None:
        r = cond.range
        if isinstance(r, models.DatetimeRange):
            kwargs["range"] = qe.RangeDateTime(
                gte=_dt_str(r.gte), gt=_dt_str(r.gt), lte=_dt_str(r.lte), lt=_dt_str(r.lt)
            )
        else:
            kwargs["range"] = qe.RangeFloat(gte=r.gte, gt=r.gt, lte=r.lte, lt=r.lt)
    if cond.values_count is not None:
        v = cond.values_count
        kwargs["values_count"] = qe.ValuesCount(lt=v.lt, gt=v.gt, gte=v.gte, lte=v.lte)
    if cond.geo_bounding_box is not None:
        g = cond.geo_bounding_box
        kwargs["geo_bounding_box"] = qe.GeoBoundingBox(_edge_geo_point(g.top_left), _edge_geo_point(g.bottom_right))
    if cond.geo_radius is not None:
        kwargs["geo_radius"] = qe.GeoRadius(_edge_geo_point(cond.geo_radius.center), cond.geo_radius.radius)
    if cond.geo_polygon is not None:
        poly = cond.geo_polygon
        interiors = [[_edge_geo_point(p) for p in ring.points] for ring in (poly.interiors or [])] or None
        kwargs["geo_polygon"] = qe.GeoPolygon([_edge_geo_point(p) for p in poly.exterior.points], interiors)
    if cond.is_empty is not None:
        kwargs["is_empty"] = cond.is_empty
    if cond.is_null is not None:
        kwargs["is_null"] = cond.is_null
    if not kwargs:
        raise _unsupported(f"an empty FieldCondition on {cond.key!r}")
    return qe.FieldCondition(cond.key, **kwargs)


def _edge_condition(cond: Any) -> Any:
    import qdrant_edge as qe

    if isinstance(cond, models.Filter):
        return to_edge_filter(cond)
    if isinstance(cond, models.FieldCondition):
        return _edge_field(cond)
    if isinstance(cond, models.IsEmptyCondition):
        return qe.IsEmptyCondition(cond.is_empty.key)
    if isinstance(cond, models.IsNullCondition):
        return qe.IsNullCondition(cond.is_null.key)
    if isinstance(cond, models.HasIdCondition):
        return qe.HasIdCondition({_edge_id(i) for i in cond.has_id})
    if isinstance(cond, models.HasVectorCondition):
        return qe.HasVectorCondition(cond.has_vector)
    if isinstance(cond, models.NestedCondition):
        return qe.NestedCondition(cond.nested.key, to_edge_filter(cond.nested.filter))
    raise _unsupported(f"condition {type(cond).__name__}")


def _edge_id(point_id: Any) -> Any:
    import uuid

    if isinstance(point_id, str):
        try:
            return uuid.UUID(point_id)
        except ValueError as exc:
            raise FilterError(f"point id {point_id!r} is neither an unsigned integer nor a UUID.") from exc
    return point_id


def to_edge_filter(filter: models.Filter | None) -> Any:
    """Translate a ``qdrant_client.models.Filter`` into the equivalent ``qdrant_edge.Filter``."""
    import qdrant_edge as qe

    if filter is None:
        return None
    if not isinstance(filter, models.Filter):
        raise FilterError(f"to_edge_filter() takes a resolved models.Filter, got {type(filter).__name__}.")
    min_should = None
    if filter.min_should is not None:
        min_should = qe.MinShould(
            [_edge_condition(c) for c in _as_list(filter.min_should.conditions)], filter.min_should.min_count
        )
    must = [_edge_condition(c) for c in _as_list(filter.must)] or None
    should = [_edge_condition(c) for c in _as_list(filter.should)] or None
    must_not = [_edge_condition(c) for c in _as_list(filter.must_not)] or None
    return qe.Filter(must=must, should=should, must_not=must_not, min_should=min_should)
