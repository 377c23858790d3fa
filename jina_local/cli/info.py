"""``jina-local info``: what an index holds (``--index``, no model loaded), or a model's facts (``--model``)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..errors import CollectionConfigError
from ._common import add_index_options, cli_lock_message, collection_arg, index_location, load_model, model_reference

__all__ = ["add_info_parser", "run_info"]


def add_info_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "info",
        parents=parents,
        help="what an index holds (--index), or a model's dims and adapters (--model)",
        description="With --index: the collections, their model, dims and point counts per kind and task,\n"
        "read from the index without loading the model. Otherwise: the model's device, dtype, dims\n"
        "and adapters.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_index_options(p, default=None, where="(without it, info describes the model)")
    p.add_argument(
        "--collection", default=None, type=collection_arg, metavar="NAME", help="only this collection (with --index)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON document (with --index)")
    p.set_defaults(func=run_info)
    return p


def run_info(args: argparse.Namespace) -> int:
    if args.index is None:
        return _model_info(args)
    from ..qdrant import MultiVectorCollection, collection_counts, list_collections

    location = index_location(args.index)
    names = list_collections(location)
    if args.collection is not None:
        if args.collection not in names:
            raise CollectionConfigError(
                f"there is no collection {args.collection!r} in {args.index} (it has: {', '.join(names) or 'none'})."
            )
        names = [args.collection]
    collections = []
    for name in names:
        entry: dict[str, Any] = {"name": name}
        try:
            with cli_lock_message(location), MultiVectorCollection.open(location, name, create=False) as store:
                meta = store.metadata
                entry.update(
                    model=meta.get("model"),
                    model_fingerprint=meta.get("model_fingerprint"),
                    dense_dim=store.dense_dim,
                    multi=store.has_multi,
                    multi_dim=meta.get("multi_dim") if store.has_multi else None,
                    pool_factor=store.pool_factor,
                    backend=store.backend_label,
                    **collection_counts(store),
                )
        except CollectionConfigError as exc:  # another tool's collection, or a damaged record: say so, go on
            entry["error"] = " ".join(str(exc).split())
        collections.append(entry)
    if args.json:
        print(json.dumps({"index": location, "collections": collections}, indent=2))
        return 0
    print(f"index {location}: {len(collections)} collection(s)")
    for entry in collections:
        _print_collection(entry)
    return 0


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {n}" for key, n in sorted(counts.items())) or "-"


def _print_collection(entry: dict[str, Any]) -> None:
    print(f"\n{entry['name']}")
    if "error" in entry:
        print(f"  not readable here: {entry['error']}")
        return
    if entry["multi"]:
        pool = f", pooled by {entry['pool_factor']}" if entry["pool_factor"] else ""
        vectors = f"dense {entry['dense_dim']}-d + multi-vector {entry['multi_dim']}-d per token (MaxSim{pool})"
    else:
        vectors = f"dense {entry['dense_dim']}-d only"
    rows = [
        ("model", entry["model"] or "(not recorded)"),
        ("vectors", vectors),
        ("points", str(entry["points"])),
        ("by kind", _counts(entry["kinds"])),
        ("by task", _counts(entry["tasks"])),
        ("kind/task", _counts(entry["kind_task"])),
        ("store", entry["backend"]),
    ]
    for key, value in rows:
        print(f"  {key:<10} {value}")


def _model_info(args: argparse.Namespace) -> int:
    model = load_model(model_reference(args.model), args)
    info = model.info
    rows = [
        ("model", info.name), ("family", info.family), ("path", info.path or ""),
        ("device", info.device), ("dtype", info.dtype), ("dense dim", str(info.dense_dim)),
        ("matryoshka dims", ", ".join(map(str, info.matryoshka_dims))),
        ("multi-vector dim", str(info.multi_dim) if info.multi_dim else "none"),
        ("tasks (adapters)", ", ".join(info.tasks)), ("max length", str(info.max_length)),
        ("license", info.license),
    ]  # fmt: skip
    if args.json:
        print(json.dumps(dict(rows), indent=2))
        return 0
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0
