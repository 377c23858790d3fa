"""``MultiVectorCollection.index_files``: keep a collection equal to a set of files and folders.

How a run decides, per file found by the walk (:func:`jina_local.documents.walk`):

* Every chunk's metadata (``payload["metadata"]``, payload layout 2) holds ``path`` (resolved),
  ``file_hash`` (SHA-256 of the file's bytes), ``chunking`` (a short key of the options that shape the
  chunks: sizes, late chunking, ``pdf_text``) and ``file_chunks`` (how many chunks that version of the
  file has). Point ids are ``uuid5(path, file_hash, chunking, chunk index)``.
* **Done** means: the points stored for ``(path, file_hash, chunking)`` number ``file_chunks``. There is no
  separate marker; a file whose chunks are all stored is done, whatever run stored them.
* Done and unchanged -> **unchanged** (nothing is encoded). Otherwise the file is read and chunked, and its
  missing chunks are encoded and stored; chunks of older versions of the file are deleted only once the
  new version is complete, so an interrupted or failing run never leaves a file with fewer chunks than
  before. A chunk that fails to encode is reported and the file stays not done, so the next run retries it.
* A file that cannot be indexed (binary, empty, too large, encrypted or corrupt PDF) is **skipped** with
  the reason, and chunks stored for it earlier are deleted. A file that cannot be read (I/O error) has
  **failed**; its stored chunks are kept.
* ``prune=True``: chunks of files under the given folders that the walk did not find (deleted, now
  hidden or ignored) are deleted. Roots that do not exist are reported as failed and never pruned.

All new chunks of a run go to ONE ``add()`` call (late chunking: ``encode_spans`` + ``add_embeddings``),
so the encoder's length sorting sees the whole corpus.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm.auto import tqdm

from ..documents import (
    DEFAULT_CHUNK_TOKENS,
    DEFAULT_MAX_FILE_BYTES,
    check_chunk_sizes,
    file_type_of,
    read_file,
    walk,
)
from ..errors import DocumentError, OptionError, UnreadableDocumentError
from ..options import check_positive_int
from ._chunk_records import chunk_id, chunking_key
from ._index_store import FilePlan, store_chunks
from ._index_summary import FileIssue, IndexSummary

if TYPE_CHECKING:
    from ..embedder import Embedder
    from .collection import MultiVectorCollection

__all__ = ["FileIssue", "IndexSummary", "index_files"]

_STATE_KEYS = ("path", "file_hash", "chunking", "file_chunks")
_DELETE_BATCH = 1000
_SCAN_PAGE = 1024
_FILTERED_SCAN_MAX_FILES = 256  # up to this many files, stored state is read per path (indexed), else one scan


def _get(payload: dict[str, Any], key: str) -> Any:
    """Read one of index_files' fields from a stored payload (the one place that knows the layout).

    index_files' fields are item metadata: nested under ``metadata`` in payload layout 2.
    """
    metadata = payload.get("metadata")
    return metadata.get(key) if isinstance(metadata, dict) else None


def _key(name: str) -> str:
    """Payload key of one of index_files' fields, for filters, payload selectors and indexes."""
    return f"metadata.{name}"


def _stored_state(
    store: Any, paths: list[str], full_scan: bool
) -> dict[str, dict[tuple[str, str], tuple[int, set[str]]]]:
    """path -> {(file_hash, chunking): (declared chunk count, stored ids)}."""
    from qdrant_client import models

    def scan(flt: Any) -> Iterator[tuple[str, dict[str, Any]]]:
        offset: Any = None
        while True:
            page, offset = store.scroll(flt, _SCAN_PAGE, offset, False, payload_keys=[_key(k) for k in _STATE_KEYS])
            yield from ((str(p["id"]), p["payload"]) for p in page)
            if offset is None or not page:
                return

    if full_scan:
        records: Iterable[tuple[str, dict[str, Any]]] = scan(None)
    else:
        records = (
            r
            for p in paths
            for r in scan(
                models.Filter(must=[models.FieldCondition(key=_key("path"), match=models.MatchValue(value=p))])
            )
        )
    state: dict[str, dict[tuple[str, str], tuple[int, set[str]]]] = {}
    for pid, payload in records:
        path, digest, chunking = _get(payload, "path"), _get(payload, "file_hash"), _get(payload, "chunking")
        if not (isinstance(path, str) and isinstance(digest, str) and isinstance(chunking, str)):
            continue  # not written by index_files
        versions = state.setdefault(path, {})
        count, ids = versions.get((digest, chunking), (int(_get(payload, "file_chunks") or 0), set()))
        ids.add(pid)
        versions[(digest, chunking)] = (count, ids)
    return state


def _all_ids(versions: dict[tuple[str, str], tuple[int, set[str]]]) -> set[str]:
    return {pid for _, ids in versions.values() for pid in ids}


def index_files(
    collection: MultiVectorCollection,
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    prune: bool = False,
    late_chunking: bool = False,
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
    overlap_tokens: int | None = None,
    pdf_text: bool = False,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    batch_size: int | None = None,
    progress: bool | None = None,
) -> IndexSummary:
    """See :meth:`MultiVectorCollection.index_files` and the module doc."""
    model: Embedder = collection._require_model("index_files()")
    if overlap_tokens is None and late_chunking:
        overlap_tokens = 0
    elif late_chunking and overlap_tokens:
        raise OptionError(
            f"overlap_tokens={overlap_tokens} cannot be used with late_chunking=True: late-chunked "
            "chunks see their whole document, so they do not overlap. Leave overlap_tokens unset."
        )
    chunk_tokens, overlap_tokens = check_chunk_sizes(chunk_tokens, overlap_tokens)
    limit = model.info.max_length
    if not late_chunking and chunk_tokens > limit - 16:
        raise OptionError(
            f"chunk_tokens={chunk_tokens} does not fit {model.info.name}'s {limit}-token input with its "
            f"prompt; use chunk_tokens <= {limit - 16}, or late_chunking=True."
        )
    if isinstance(max_file_bytes, bool) or not isinstance(max_file_bytes, int) or max_file_bytes < 1:
        raise OptionError(f"max_file_bytes={max_file_bytes!r} must be a positive integer (bytes).")
    check_positive_int("batch_size", batch_size)
    store = collection._backend
    summary = IndexSummary()
    found = walk(paths)
    summary.hidden_files, summary.ignored_files = found.hidden_files, found.ignored_files
    summary.failed += [FileIssue(p, "not found: no such file or folder") for p in found.missing]
    summary.skipped += [FileIssue(str(p), "symbolic link leaving its root (not followed)") for p in found.outside]
    store.ensure_payload_index(_key("path"))
    file_paths = [str(f.path) for f in found.files]
    state = _stored_state(store, file_paths, full_scan=prune or len(file_paths) > _FILTERED_SCAN_MAX_FILES)

    plans: list[FilePlan] = []
    deletions: set[str] = set()
    show = len(file_paths) > 20 if progress is None else progress
    for walked in tqdm(found.files, desc="reading files", unit="file", disable=not show):
        path = str(walked.path)
        versions = state.get(path, {})
        try:
            data = walked.path.read_bytes() if walked.path.stat().st_size <= max_file_bytes else None
            kind = file_type_of(walked.path, data[:1024] if data else b"")
            key = chunking_key(
                kind if kind in ("image", "pdf") else "text", chunk_tokens, overlap_tokens, late_chunking, pdf_text
            )
            digest = hashlib.sha256(data).hexdigest() if data is not None else None
            current = versions.get((digest, key)) if digest else None
            if current is not None and len(current[1]) == current[0]:
                summary.unchanged.append(path)
                deletions |= _all_ids(versions) - current[1]  # leftovers of an interrupted run
                continue
            chunks = read_file(
                walked.path,
                model,
                chunk_tokens=chunk_tokens,
                overlap_tokens=overlap_tokens,
                pdf_text=pdf_text,
                max_file_bytes=max_file_bytes,
                data=data,
            )
        except DocumentError as exc:
            summary.skipped.append(FileIssue(path, str(exc), isinstance(exc, UnreadableDocumentError)))
            deletions |= _all_ids(versions)  # it changed into something that is not indexed
            continue
        except OSError as exc:
            summary.failed.append(FileIssue(path, f"could not be read: {exc}"))
            continue
        if not chunks.chunks:
            summary.skipped.append(FileIssue(path, "no chunks: nothing to embed"))
            deletions |= _all_ids(versions)
            continue
        summary.warnings += [FileIssue(path, w) for w in chunks.warnings]
        if not late_chunking:
            chunks.text = None  # only late chunking needs the whole text again
        ids = [chunk_id(path, chunks.file_hash, key, c.chunk) for c in chunks.chunks]
        present = versions.get((chunks.file_hash, key), (0, set()))[1]
        plans.append(FilePlan(chunks, key, ids, _all_ids(versions) - set(ids), present, late_chunking))

    chunks_added = store_chunks(collection, model, plans, late_chunking, batch_size, progress)
    for plan in plans:
        if plan.errors:
            first = min(plan.errors)
            summary.failed.append(
                FileIssue(
                    plan.file.path,
                    f"{len(plan.errors)} of {len(plan.ids)} chunk(s) failed, e.g. chunk {first}: {plan.errors[first]}",
                )
            )
        else:
            summary.indexed.append(plan.file.path)
            deletions |= plan.stale
    summary.chunks_added = chunks_added

    if prune and found.roots:
        walked_paths = set(file_paths)
        for path, versions in state.items():
            inside = any(Path(path).is_relative_to(root) for root in found.roots)
            if inside and path not in walked_paths:
                summary.pruned.append(path)
                deletions |= _all_ids(versions)
    ordered = sorted(deletions)
    for start in range(0, len(ordered), _DELETE_BATCH):
        store.delete(ordered[start : start + _DELETE_BATCH])
    summary.chunks_deleted = len(deletions)
    summary.pruned.sort()
    return summary
