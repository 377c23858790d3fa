"""File listings -> rows to embed: the one place where files become chunks for the Ray pipeline.

A file listing is a dataset with a ``path`` column (``ray.data.read_binary_files(...,
include_paths=True)`` adds the file's ``bytes`` beside it; ``from_items([{"path": ...}])`` does
not, and the file is then read where the task runs), or an item column holding ``pathlib.Path``
objects. Each file becomes one row per chunk: ``item`` (the chunk's text, or the image file's
bytes), ``path``, ``chunk`` (0, 1, ...) and ``source`` (``"{path}#{chunk}"``, which goes into the
point id, as ``jina-local index`` does), plus the listing's other columns. A file that cannot be
read or is not text or an image gives one row with ``item`` null and ``error`` set; the job goes on.

:func:`file_chunks` is the only function that knows how a file is cut. It handles text, code and
image files until ``jina_local.documents`` (PDF pages, token-aware chunks, locations) is on main;
switching to that layer means changing this one function.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._code_lexicon import IMAGE_EXTENSIONS
from ..kinds import sniff_image_format

__all__ = ["FileChunk", "expand_file_rows", "file_chunks"]

MAX_FILE_BYTES = 64 * 1024 * 1024
"""Larger files are reported, not read (a listing of huge binaries must not fill a worker's memory)."""
DEFAULT_CHUNK_CHARS = 2000
_DROPPED = ("bytes",)

FileChunk = dict[str, Any]
"""One row: ``item``, ``path``, ``chunk``, ``source`` and ``error`` (None, or why the file was skipped)."""


def _error_row(path: str, reason: str) -> FileChunk:
    return {"item": None, "path": path, "chunk": 0, "source": f"{path}#0", "error": f"{path}: {reason}"}


def file_chunks(path: str, data: bytes | None = None, *, chunk_chars: int = DEFAULT_CHUNK_CHARS) -> list[FileChunk]:
    """The rows of one file: an image is one row of its bytes; text and code are cut into chunks.

    ``data``: the file's bytes when the listing carries them (``read_binary_files``); otherwise the
    file is read from ``path`` here. Switch point for ``jina_local.documents`` (see the module doc).
    """
    from ..cli import chunk_text  # the CLI's chunker, until jina_local.documents replaces both

    if data is None:
        try:
            if os.path.getsize(path) > MAX_FILE_BYTES:
                return [_error_row(path, f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB; not read")]
            data = Path(path).read_bytes()
        except OSError as exc:
            return [_error_row(path, f"cannot be read ({exc})")]
    elif len(data) > MAX_FILE_BYTES:
        return [_error_row(path, f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB; not embedded")]
    if os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS or sniff_image_format(data[:64]) is not None:
        return [{"item": bytes(data), "path": path, "chunk": 0, "source": f"{path}#0", "error": None}]
    if os.path.splitext(path)[1].lower() == ".pdf" or data[:5] == b"%PDF-":
        return [_error_row(path, "PDF pages need the documents layer (jina_local.documents), which this "
                                 "version does not have; convert the pages to images first")]
    if b"\x00" in data[:4096]:
        return [_error_row(path, "binary and not a known image format; it is neither text nor code")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [_error_row(path, f"not UTF-8 text ({exc.reason} at byte {exc.start}); re-encode it as UTF-8")]
    pieces = chunk_text(text, chunk_chars)
    if not pieces:
        return [_error_row(path, "has no text to embed")]
    return [{"item": piece, "path": path, "chunk": i, "source": f"{path}#{i}", "error": None}
            for i, piece in enumerate(pieces)]


def expand_file_rows(rows: list[Mapping[str, Any]], column: str, *, paths_in_column: bool) -> list[FileChunk]:
    """Rows of a file listing -> chunk rows, the chunk in ``column`` (other columns go onto every chunk).

    ``paths_in_column``: the files are the ``pathlib.Path`` values of ``column``; otherwise they are
    the listing's ``path`` column (with its ``bytes`` when present, which are then dropped).
    """
    out: list[FileChunk] = []
    for row in rows:
        raw = row.get(column) if paths_in_column else row.get("path")
        data = None if paths_in_column else row.get("bytes")
        extra = {k: v for k, v in row.items() if k not in (*_DROPPED, "path", column)}
        if raw is None:
            chunks = [{"item": None, "path": None, "chunk": 0, "source": None,
                       "error": "the file listing has a row without a path"}]
        else:
            chunks = file_chunks(os.fspath(raw), data)
        for chunk in chunks:
            item = chunk.pop("item")
            out.append({**extra, column: item, **chunk})
    return out
