"""File listings -> chunk rows, through the documents layer (:mod:`jina_local.documents`), in the encoder actor.

A file listing is a batch with a ``path`` column and no item column (``ray.data.read_binary_files(...,
include_paths=True)`` adds the file's ``bytes``; ``from_items([{"path": ...}])`` does not, and the file
is then read where the actor runs), or an item column of ``pathlib.Path`` objects. Chunking needs the
model's tokens, so it runs in the encoder actor, which has the model.

Each file becomes what :meth:`MultiVectorCollection.index_files` makes of it: markdown, text and code
cut in the model's tokens, an image file as itself, every PDF page rendered to the model's pixel budget
(``pdf_text=True``: its text layer too). Every row carries the chunk's location (``path``, ``chunk``,
``page``, ``lines``, ``chars``, ...), ``source`` (the path), ``chunking``, ``file_chunks`` and the point
``id`` that ``index_files`` gives the chunk, so both write the same points. A file that is not indexed
(binary, empty, encrypted PDF, too large) or cannot be read gives one row with ``error`` set.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..documents import (
    DEFAULT_CHUNK_TOKENS,
    DEFAULT_MAX_FILE_BYTES,
    PdfRenderer,
    check_chunk_sizes,
    page_pixels,
    read_file,
)
from ..errors import DocumentError
from ..qdrant._chunk_records import chunk_fields, chunk_id, chunking_key

if TYPE_CHECKING:
    from ..embedder import Embedder

__all__ = ["FileRows", "file_chunks", "listing_paths"]


@dataclass
class FileRows:
    """The rows of one file, and for late chunking its text documents: ``(text, [(row, chars), ...])``."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    late: list[tuple[str, list[tuple[int, tuple[int, int]]]]] = field(default_factory=list)


def _error_row(path: str, reason: str) -> dict[str, Any]:
    return {"item": None, "path": path, "chunk": 0, "source": path, "error": f"{path}: {reason}"}


def _png(image: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")  # lossless: the encoder sees the rendered pixels exactly
    return buf.getvalue()


def file_chunks(
    path: str,
    data: bytes | None,
    model: Embedder,
    *,
    late_chunking: bool = False,
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
    overlap_tokens: int | None = None,
    pdf_text: bool = False,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> FileRows:
    """Rows for one file (see the module doc). ``data``: its bytes when the listing carries them.

    Text rows hold the chunk text in ``item``; image files and PDF pages hold PNG/file bytes. With
    ``late_chunking`` the text chunks are listed in :attr:`FileRows.late` (encoded per document) and
    their ``item`` is the chunk text too.
    """
    if late_chunking and overlap_tokens is None:
        overlap_tokens = 0
    chunk_tokens, overlap_tokens = check_chunk_sizes(chunk_tokens, overlap_tokens)
    local = "://" not in path
    try:
        chunks = read_file(
            path if local else Path(path.split("://", 1)[1]),
            model,
            chunk_tokens=chunk_tokens,
            overlap_tokens=overlap_tokens,
            pdf_text=pdf_text,
            max_file_bytes=max_file_bytes,
            data=data,
        )
    except DocumentError as exc:
        return FileRows([_error_row(path, str(exc))])
    except OSError as exc:
        return FileRows([_error_row(path, f"could not be read: {exc}")])
    name = chunks.path if local else path
    if not chunks.chunks:
        return FileRows([_error_row(name, "no chunks: nothing to embed")])
    file_type = chunks.file_type
    key = chunking_key(
        file_type if file_type in ("image", "pdf") else "text", chunk_tokens, overlap_tokens, late_chunking, pdf_text
    )
    out = FileRows()
    renderer = PdfRenderer() if file_type == "pdf" else None
    max_pixels = page_pixels(model.info)
    late_docs: dict[int | None, tuple[str, list[tuple[int, tuple[int, int]]]]] = {}
    try:
        for chunk in chunks.chunks:
            row: dict[str, Any] = {
                **chunk_fields(chunk, name, key, len(chunks.chunks), late=False),  # late_chunking set below
                "path": name,
                "error": None,
                "id": chunk_id(name, chunks.file_hash, key, chunk.chunk),
            }
            if chunk.content == "text":
                row["item"] = chunk.text
                if late_chunking:
                    if chunk.chars is None:  # the chunker gives every text chunk its span
                        row["item"], row["error"] = None, f"{name}: chunk {chunk.chunk} has no character span"
                    else:
                        row["late_chunking"] = True
                        text = chunks.text if file_type != "pdf" else _page_text(chunks, chunk.page)
                        late_docs.setdefault(chunk.page, (text or "", []))[1].append((len(out.rows), chunk.chars))
            elif chunk.page is None:
                row["item"] = data if data is not None else Path(chunks.path).read_bytes()
            else:
                try:
                    if renderer is None:  # page images come from PDFs only
                        raise DocumentError(f"{file_type} files have no pages")
                    row["item"] = _png(
                        renderer.render(data if data is not None else Path(chunks.path), chunk.page, max_pixels)
                    )
                except Exception as exc:  # noqa: BLE001 - one bad page loses only itself
                    row["item"], row["error"] = None, f"{name}: page {chunk.page} could not be rendered: {exc}"
            out.rows.append(row)
    except OSError as exc:
        return FileRows([_error_row(name, f"could not be read: {exc}")])
    finally:
        if renderer is not None:
            renderer.close()
    out.late = list(late_docs.values())
    return out


def _page_text(chunks: Any, page: int | None) -> str:
    for c in chunks.chunks:
        if c.content == "image" and c.page == page:
            return c.page_text or ""
    return ""


def listing_paths(row: dict[str, Any], column: str) -> tuple[str | None, bytes | None]:
    """``(path, bytes)`` of one file-listing row (an item column of ``pathlib.Path``, or ``path``/``bytes``)."""
    value = row.get(column)
    if isinstance(value, os.PathLike):
        return os.fspath(value), None
    raw = row.get("path")
    return (None if raw is None else str(raw)), row.get("bytes")
