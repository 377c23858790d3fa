"""One filter model for every backend: ``qdrant_client.models.Filter``.

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

from ..errors import JinaLocalError

__all__ = ["FilterError", "and_filters", "field_equals", "tasks_in_filter", "to_edge_filter"]


class FilterError(JinaLocalError, ValueError):
    """A filter is not a ``qdrant_client.models.Filter`` or uses a part the embedded engine lacks."""


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def field_equals(key: str, value: str | int | bool) -> models.FieldCondition:
    """``FieldCondition(key, match=MatchValue(value))``."""
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))


def and_filters(*filters: models.Filter | models.FieldCondition | None) -> models.Filter | None:
    """AND together filters / conditions; ``None`` entries are skipped; ``None`` if nothing is left."""
    parts = [f for f in filters if f is not None]
    if not parts:
        return None
    if len(parts) == 1 and isinstance(parts[0], models.Filter):
        return parts[0]
    return models.Filter(must=parts)  # type: ignore[arg-type]


def check_filter(filter: Any) -> models.Filter | None:
    """Accept ``None`` or a ``qdrant_client.models.Filter``; refuse anything else with a clear message."""
    if filter is None or isinstance(filter, models.Filter):
        return filter
    raise FilterError(
        f"filter must be a qdrant_client.models.Filter, got {type(filter).__name__}. Build one with "
        "`from qdrant_client import models; models.Filter(must=[models.FieldCondition(key='kind', "
        "match=models.MatchValue(value='code'))])`."
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
        return qe.MatchAny(list(match.any))
    if isinstance(match, models.MatchExcept):
        return qe.MatchExcept(list(match.except_))
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
            kwargs["range"] = qe.RangeDateTime(gte=_dt_str(r.gte), gt=_dt_str(r.gt), lte=_dt_str(r.lte), lt=_dt_str(r.lt))
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
    check_filter(filter)
    min_should = None
    if filter.min_should is not None:
        min_should = qe.MinShould(
            [_edge_condition(c) for c in _as_list(filter.min_should.conditions)], filter.min_should.min_count
        )
    must = [_edge_condition(c) for c in _as_list(filter.must)] or None
    should = [_edge_condition(c) for c in _as_list(filter.should)] or None
    must_not = [_edge_condition(c) for c in _as_list(filter.must_not)] or None
    return qe.Filter(must=must, should=should, must_not=must_not, min_should=min_should)
