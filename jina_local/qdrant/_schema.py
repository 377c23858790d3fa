"""Checking an existing collection against what was asked for, before any data is touched."""

from __future__ import annotations

from typing import Any

from ..errors import CollectionConfigError
from ._base import DENSE, MULTI, SCHEMA_VERSION

__all__ = ["check_dim_for_model", "validate_existing"]


def check_dim_for_model(dim: int, info: Any) -> None:
    """Refuse a dense size that is not one of the model's Matryoshka sizes."""
    if info is not None and dim != info.dense_dim and dim not in info.matryoshka_dims:
        valid = ", ".join(str(d) for d in sorted({info.dense_dim, *info.matryoshka_dims}))
        raise CollectionConfigError(f"dense_dim={dim} is not a Matryoshka size of {info.name}; use one of {valid}.")


def validate_existing(stored: Any, name: str, label: str, info: Any, dense_dim: int | None, multi: bool,
                      multi_dtype: str | None, pool_factor: int | None) -> dict[str, Any]:
    """Compare a stored collection with the request and the model; raise listing every difference.

    Returns the collection's metadata (normalised) when everything matches. Never writes.
    """
    vectors, meta = stored.vectors, dict(stored.metadata)
    diffs: list[str] = []
    fixes: list[str] = []
    dense = vectors.get(DENSE)
    if dense is None:
        from ._foreign import foreign_advice

        raise CollectionConfigError(foreign_advice(stored, name, label))
    else:
        if dense_dim is not None and dense["size"] != dense_dim:
            diffs.append(f"dense vector size: collection has {dense['size']}, asked dense_dim={dense_dim}")
            fixes.append(f"open with dense_dim={dense['size']} (or leave dense_dim out)")
        if dense["distance"] != "cosine":
            diffs.append(f"dense distance: collection uses {dense['distance']}, jina-local needs cosine")
    mv = vectors.get(MULTI)
    if multi and mv is None:
        diffs.append(f"it has no multi-vector {MULTI!r}, but multi=True was asked")
        fixes.append("open with multi=False to use it dense-only")
    if not multi and mv is not None:
        diffs.append(f"it stores multi-vectors ({MULTI!r}), but multi=False was asked")
        fixes.append("open with multi=True")
    if mv is not None:
        if mv["size"] != 128:
            diffs.append(f"multi-vector size: collection has {mv['size']}, jina-local writes 128")
        if mv["comparator"] != "max_sim":
            diffs.append(f"multi-vector comparator: collection has {mv['comparator']}, jina-local needs max_sim")
        stored_dtype = mv["datatype"] or "float32"
        if multi_dtype is not None and stored_dtype != multi_dtype:
            diffs.append(f"multi-vector datatype: collection has {stored_dtype}, asked multi_dtype={multi_dtype!r}")
            fixes.append(f"open with multi_dtype={stored_dtype!r} (or leave it out)")
    if info is not None and dense is not None:
        stored_print, own_print = meta.get("model_fingerprint"), getattr(info, "fingerprint", None)
        same_weights = stored_print is not None and own_print is not None and stored_print == own_print
        if stored_print is not None and own_print is not None and not same_weights:
            diffs.append(f"model: collection was built with other weights ({meta.get('model')!r}, fingerprint "
                         f"{stored_print}) than this model ({info.name!r}, fingerprint {own_print})")
            fixes.append(f"load {meta.get('model')!r} to search it")
        elif not same_weights and meta.get("model") not in (None, info.name):
            diffs.append(f"model: collection was built with {meta['model']!r}, this model is {info.name!r}")
            fixes.append(f"load {meta['model']!r} to search it")
        elif dense["size"] != info.dense_dim and dense["size"] not in info.matryoshka_dims:
            diffs.append(f"dense vector size {dense['size']} is not a Matryoshka size of {info.name}")
    stored_pool = meta.get("pool_factor") or 1
    if pool_factor is not None and (pool_factor or 1) != stored_pool:
        diffs.append(f"pool_factor: collection was filled with {stored_pool}, asked {pool_factor}")
        fixes.append(f"open with pool_factor={stored_pool} (or leave it out)")
    if diffs:
        raise CollectionConfigError(
            f"collection {name!r} at {label} does not match what was asked:\n  - " + "\n  - ".join(diffs)
            + "\nHow to fix: " + "; ".join(fixes + [
                ("or " if fixes else "") + "choose another collection name, or delete this collection and re-index"
            ]) + ". Nothing was changed."
        )
    meta.setdefault("schema", SCHEMA_VERSION)
    meta.setdefault("tasks", [])
    meta.setdefault("kinds", [])
    meta["dense_dim"] = int(dense["size"]) if dense else None
    meta["multi"] = mv is not None
    return meta
