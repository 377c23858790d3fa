"""LangChain-style filter dicts -> ``qdrant_client.models.Filter`` (field names still unresolved).

``{"lang": "py"}`` is equality; a list is "any of"; ``None`` is "is null"; a dict of operators
``$eq $ne $gt $gte $lt $lte $in $nin $all $contains $text $exists`` constrains one field (several
operators: all of them); ``$and`` / ``$or`` take lists of such dicts and ``$not`` one. Errors name
the field and list what is supported. :func:`jina_local.qdrant.filters.check_filter` resolves the
field names afterwards.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from qdrant_client import models

from .filters import FilterError

__all__ = ["OPERATORS", "from_dict"]

OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$all", "$contains", "$text", "$exists")
_OPERATORS = OPERATORS


def _scalar(value: Any, field: str, op: str) -> Any:
    if isinstance(value, (str, int, bool)):
        return value
    raise FilterError(
        f"filter field {field!r}: {op} takes a string, integer or boolean, got {type(value).__name__} ({value!r}); "
        "use {'$gte': x, '$lte': x} for a float, and lists with '$in'."
    )


def _range_bound(value: Any, field: str, op: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, _dt.date)):
        raise FilterError(f"filter field {field!r}: {op} takes a number or a date/datetime, got {value!r}.")
    if isinstance(value, str):
        try:
            _dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise FilterError(f"filter field {field!r}: {op} {value!r} is neither a number nor an ISO date.") from exc
    return value


def _range(field: str, bounds: dict[str, Any]) -> models.FieldCondition:
    names = {"$gt": "gt", "$gte": "gte", "$lt": "lt", "$lte": "lte"}
    kwargs = {names[op]: v for op, v in bounds.items()}
    if any(isinstance(v, (str, _dt.date)) for v in kwargs.values()):
        return models.FieldCondition(key=field, range=models.DatetimeRange(**kwargs))
    return models.FieldCondition(key=field, range=models.Range(**kwargs))


def _list(value: Any, field: str, op: str) -> list[Any]:
    if not isinstance(value, (list, tuple, set, frozenset)) or not value:
        raise FilterError(f"filter field {field!r}: {op} takes a non-empty list, got {value!r}.")
    return [_scalar(v, field, op) for v in value]


def _equals(field: str, value: Any) -> Any:
    if value is None:
        return models.IsNullCondition(is_null=models.PayloadField(key=field))
    if isinstance(value, float):
        return models.FieldCondition(key=field, range=models.Range(gte=value, lte=value))
    if isinstance(value, (list, tuple, set, frozenset)):
        return models.FieldCondition(key=field, match=models.MatchAny(any=_list(value, field, "a list")))
    return models.FieldCondition(key=field, match=models.MatchValue(value=_scalar(value, field, "equality")))


def _field(field: str, spec: Any) -> list[Any]:
    """The ``must`` parts for one field (negations come wrapped as ``Filter(must_not=...)``)."""
    if not isinstance(field, str) or not field or field.startswith("$"):
        raise FilterError(
            f"filter key {field!r} is not a field name or a supported operator; the operators that combine "
            "filters are $and, $or and $not."
        )
    if not isinstance(spec, dict):
        return [_equals(field, spec)]
    unknown = sorted(op for op in spec if op not in _OPERATORS)
    if unknown or not spec:
        raise FilterError(
            f"filter field {field!r}: operator(s) {unknown or '{}'} are not supported; use {', '.join(_OPERATORS)}."
        )
    parts: list[Any] = []
    bounds = {op: _range_bound(v, field, op) for op, v in spec.items() if op in ("$gt", "$gte", "$lt", "$lte")}
    if bounds:
        parts.append(_range(field, bounds))
    for op, value in spec.items():
        if op == "$eq":
            parts.append(_equals(field, value))
        elif op == "$ne":
            parts.append(models.Filter(must_not=[_equals(field, value)]))
        elif op == "$in":
            parts.append(models.FieldCondition(key=field, match=models.MatchAny(any=_list(value, field, op))))
        elif op == "$nin":
            parts.append(
                models.Filter(
                    must_not=[models.FieldCondition(key=field, match=models.MatchAny(any=_list(value, field, op)))]
                )
            )
        elif op == "$all":
            parts.extend(_equals(field, v) for v in _list(value, field, op))
        elif op == "$contains":
            parts.append(_equals(field, _scalar(value, field, op)))
        elif op == "$text":
            if not isinstance(value, str) or not value:
                raise FilterError(f"filter field {field!r}: $text takes a non-empty string, got {value!r}.")
            parts.append(models.FieldCondition(key=field, match=models.MatchText(text=value)))
        elif op == "$exists":
            if not isinstance(value, bool):
                raise FilterError(f"filter field {field!r}: $exists takes True or False, got {value!r}.")
            empty = models.IsEmptyCondition(is_empty=models.PayloadField(key=field))
            parts.append(models.Filter(must_not=[empty]) if value else empty)
    return parts


def from_dict(spec: Any, where: str) -> models.Filter:
    if not isinstance(spec, dict) or not spec:
        raise FilterError(f"{where} must be a non-empty dict of field conditions, got {spec!r}.")
    must: list[Any] = []
    for key, value in spec.items():
        if key in ("$and", "$or"):
            if not isinstance(value, (list, tuple)) or not value:
                raise FilterError(f"{where}: {key} takes a non-empty list of filter dicts, got {value!r}.")
            subs: list[models.Condition] = [from_dict(v, f"{where} {key}[{i}]") for i, v in enumerate(value)]
            must.append(models.Filter(must=subs) if key == "$and" else models.Filter(should=subs))
        elif key == "$not":
            must.append(models.Filter(must_not=[from_dict(value, f"{where} $not")]))
        else:
            must.extend(_field(key, value))
    return models.Filter(must=must)
