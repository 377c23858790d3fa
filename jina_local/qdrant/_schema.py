"""Checking an existing collection against what was asked for, before any data is touched."""

from __future__ import annotations

from typing import Any, Literal

from ..errors import CollectionConfigError
from ._base import DENSE, MULTI, SCHEMA_VERSION, CollectionSpec

__all__ = ["check_dim_for_model", "open_or_create", "validate_existing"]


def check_dim_for_model(dim: int, info: Any) -> None:
    """Refuse a dense size that is not one of the model's Matryoshka sizes."""
    if info is not None and dim != info.dense_dim and dim not in info.matryoshka_dims:
        valid = ", ".join(str(d) for d in sorted({info.dense_dim, *info.matryoshka_dims}))
        raise CollectionConfigError(f"dense_dim={dim} is not a Matryoshka size of {info.name}; use one of {valid}.")


def validate_existing(
    stored: Any,
    name: str,
    label: str,
    info: Any,
    dense_dim: int | None,
    multi: bool,
    multi_dtype: str | None,
    pool_factor: int | None,
) -> dict[str, Any]:
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
            diffs.append(
                f"model: collection was built with other weights ({meta.get('model')!r}, fingerprint "
                f"{stored_print}) than this model ({info.name!r}, fingerprint {own_print})"
            )
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
            f"collection {name!r} at {label} does not match what was asked:\n  - "
            + "\n  - ".join(diffs)
            + "\nHow to fix: "
            + "; ".join(
                fixes
                + [("or " if fixes else "") + "choose another collection name, or delete this collection and re-index"]
            )
            + ". Nothing was changed."
        )
    meta.setdefault("schema", SCHEMA_VERSION)
    meta.setdefault("tasks", [])
    meta.setdefault("kinds", [])
    meta["dense_dim"] = int(dense["size"]) if dense else None
    meta["multi"] = mv is not None
    return meta


def open_or_create(store: Any, name: str, info: Any, *, dense_dim: int | None, multi: bool | None, on_disk: bool,
                   multi_dtype: Literal["float32", "float16"] | None, pool_factor: int | None, dense_quantization: Any,
                   hnsw_m: int, hnsw_ef_construct: int, shard_number: int | None, replication_factor: int | None,
                   create: bool, write_consistency_factor: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Create collection ``name`` in ``store`` (with jina-local's record) or validate the stored one; its record."""
    from ._points import PAYLOAD_LAYOUT

    stored = store.read()
    if multi is None:
        multi = stored is None or MULTI in stored.vectors
    if stored is not None:
        return validate_existing(stored, name, store.label, info, dense_dim, multi, multi_dtype, pool_factor)
    if not create:
        raise CollectionConfigError(
            f"collection {name!r} does not exist at {store.label}; pass create=True to create it."
        )
    dim = dense_dim or (info.dense_dim if info is not None else None)
    if dim is None:
        raise CollectionConfigError(
            f"collection {name!r} does not exist yet and no model was given: pass model=... or dense_dim=... "
            "so the dense vector size is known."
        )
    check_dim_for_model(dim, info)
    meta: dict[str, Any] = {
        "schema": SCHEMA_VERSION, "model": info.name if info else None,
        "model_fingerprint": getattr(info, "fingerprint", None), "dense_dim": int(dim),
        "multi": bool(multi), "multi_dim": 128 if multi else None,
        "pool_factor": pool_factor if pool_factor and pool_factor > 1 else None, "tasks": [], "kinds": [],
        "payload_layout": PAYLOAD_LAYOUT,
    }  # fmt: skip
    spec = CollectionSpec(
        dense_dim=int(dim), multi=bool(multi), multi_dtype=multi_dtype or "float32",
        on_disk=on_disk, hnsw_m=hnsw_m, hnsw_ef_construct=hnsw_ef_construct, dense_quantization=dense_quantization,
        shard_number=shard_number, replication_factor=replication_factor,
        write_consistency_factor=write_consistency_factor,
    )  # fmt: skip
    store.create(spec, meta)
    return meta
