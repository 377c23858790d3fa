"""``jina-local index PATH... --ray [auto|ADDRESS]``: the indexing job as a Ray Data pipeline.

Local paths are walked on the driver (``jina_local.documents.walk``: ``.gitignore`` honoured, hidden
files skipped, as ``index_files`` does) and read where the encoder actors run, so on several nodes they must be on a shared file system; ``s3://``,
``gs://`` and other URIs are listed and read by Ray (``read_binary_files``). Progress is Ray Data's
own (its progress bars and dashboard).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ray

from ..errors import JinaLocalError, OptionError

__all__ = ["index_on_ray", "list_files", "start_ray"]


def start_ray(address: str) -> None:
    """Connect to the cluster at ``address``; ``"auto"``: the one ``RAY_ADDRESS`` or ``ray start`` left, else a local one."""
    if ray.is_initialized():
        return
    if address == "auto":
        ray.init(address=os.environ.get("RAY_ADDRESS"), log_to_driver=False)
    else:
        ray.init(address=address, log_to_driver=False)


def list_files(paths: Sequence[str]) -> list[str]:
    """The files ``index_files`` would look at under local ``paths`` (``.gitignore`` honoured, hidden skipped)."""
    from ..documents import walk

    found = walk(list(paths))
    if found.missing:
        raise JinaLocalError(f"not found: {', '.join(found.missing)} (no such file or folder).")
    return [str(f.path) for f in found.files]


def _listing(paths: Sequence[str]) -> ray.data.Dataset:
    remote = [p for p in paths if "://" in p]
    local = [p for p in paths if "://" not in p]
    parts: list[ray.data.Dataset] = []
    if local:
        files = list_files(local)
        if not files:
            raise JinaLocalError(f"no files to index under {', '.join(local)}.")
        parts.append(ray.data.from_items([{"path": f} for f in files]))
    if remote:
        parts.append(ray.data.read_binary_files(remote, include_paths=True))
    return parts[0] if len(parts) == 1 else parts[0].union(*parts[1:])


def index_on_ray(args: Any) -> int:
    """Run ``jina-local index`` on Ray with the CLI's parsed arguments; returns the exit code (0, or 2: some failed)."""
    from ..cli import DEFAULT_MODEL
    from ._embed import embed_dataset
    from ._sink import write_collection

    model = getattr(args, "model", None) or os.environ.get("JINA_LOCAL_MODEL") or DEFAULT_MODEL
    if "://" not in str(model) and Path(model).expanduser().exists():
        model = str(Path(model).expanduser().resolve())  # actors may run in another working directory
    index = str(args.index)
    if "://" not in index:
        index = str(Path(index).expanduser().resolve())
    batch_size = getattr(args, "batch_size", None)
    if batch_size is not None and (isinstance(batch_size, bool) or batch_size < 1):
        raise OptionError(f"--batch-size {batch_size} must be a positive integer.")
    start_ray(args.ray)
    listing = _listing(list(args.paths))
    embedded = embed_dataset(
        listing,
        model,
        output="auto",
        dim=getattr(args, "dim", None),
        max_batch_size=batch_size,
        device=getattr(args, "device", "auto"),
        dtype=getattr(args, "dtype", "auto"),
        late_chunking=bool(getattr(args, "late_chunking", False)),
        chunk_tokens=getattr(args, "chunk_tokens", None),
        overlap_tokens=getattr(args, "overlap_tokens", None),
        pdf_text=bool(getattr(args, "pdf_text", False)),
    )
    summary = write_collection(
        embedded,
        index,
        args.collection,
        dense_dim=getattr(args, "dim", None),
        pool_factor=getattr(args, "pool_factor", None),
    )
    for failure in summary.failures:
        print(f"failed {failure.source}: {failure.error}", file=sys.stderr)
    if summary.failed > len(summary.failures):
        print(f"... and {summary.failed - len(summary.failures)} more failures", file=sys.stderr)
    print(
        f"indexed {summary.written} chunk(s) into {index} [{args.collection}] on Ray"
        + (f"; {summary.failed} failed" if summary.failed else "")
    )
    return 0 if summary.ok else 2
