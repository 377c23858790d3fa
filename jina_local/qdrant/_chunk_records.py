"""How a file's chunk is recorded in a collection: its chunking key, point id and payload fields.

``index_files`` and the Ray file listing (:mod:`jina_local.ray._files`) both write chunks of files; they
build ids and payloads here, so the two always agree and a file indexed by one is *unchanged* for the other.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..documents import Chunk
from ._points import point_id

__all__ = ["chunk_fields", "chunk_id", "chunking_key"]


def chunking_key(file_type: str | None, chunk_tokens: int, overlap: int, late: bool, pdf_text: bool) -> str:
    """A short key of the options that shape a file's chunks (images and plain PDF pages ignore sizes)."""
    if file_type == "image":
        options: dict[str, Any] = {"v": 1}
    elif file_type == "pdf" and not pdf_text:
        options = {"v": 1, "pdf_text": False}
    else:
        options = {"v": 1, "tokens": chunk_tokens, "overlap": overlap, "late": late, "pdf_text": pdf_text}
    return hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()[:12]


def chunk_id(path: str, file_hash: str, chunking: str, index: int) -> str:
    """The point id of chunk ``index`` of one version (``file_hash``) of the file at ``path``."""
    return point_id(path, f"{file_hash}\x00{chunking}\x00{index}")


def chunk_fields(chunk: Chunk, path: str, chunking: str, file_chunks: int, late: bool) -> dict[str, Any]:
    """A chunk's payload metadata: its location fields plus what ``index_files`` decides re-indexing by."""
    extra = {"late_chunking": True} if late and chunk.content == "text" else {}
    return {**chunk.payload(), "source": path, "chunking": chunking, "file_chunks": file_chunks, **extra}
