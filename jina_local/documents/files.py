"""One file -> its chunks with locations. No model math: the model is asked for token spans only.

=============  =====================================================  ==================================
file type      what becomes a chunk                                   location
=============  =====================================================  ==================================
``markdown``   token-sized pieces, at headings / paragraphs first     ``lines``, ``chars``, ``section``
``text``       token-sized pieces, at paragraphs / sentences first    ``lines``, ``chars``
``code``       token-sized pieces, at definitions / blank lines       ``lines``, ``chars``, ``language``
``image``      the image file itself                                  (the path)
``pdf``        every page, rendered to the model's pixel budget;      ``page`` (from 1); page text chunks:
               with ``pdf_text=True`` also its text layer, chunked    ``page``, ``chars`` in that text
=============  =====================================================  ==================================

Every chunk carries the resolved absolute ``path``, its ``chunk`` index in the file, and the file's
``file_hash`` (SHA-256 of its bytes). A file that is not text (binary, undecodable), empty, too large, or
an encrypted or corrupt PDF raises :class:`~jina_local.errors.DocumentError` with the reason.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .._code_lexicon import (
    CODE_EXTENSIONS,
    CODE_FILENAMES,
    IMAGE_EXTENSIONS,
    TEXT_EXTENSIONS,
)
from ..errors import DocumentError
from ..kinds import detect_text_kind, sniff_image_format
from .code import chunk_code, language_of, line_range, line_starts
from .encoding import decode_text
from .pdf import read_pdf
from .text import (
    DEFAULT_CHUNK_TOKENS,
    TextSpan,
    TokenCounter,
    check_chunk_sizes,
    chunk_text,
    markdown_headings,
    section_at,
)

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "MARKDOWN_EXTENSIONS",
    "Chunk",
    "FileChunks",
    "FileType",
    "file_type_of",
    "read_file",
]

FileType = Literal["markdown", "text", "code", "image", "pdf"]
DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024
"""Files larger than this are skipped (``max_file_bytes=`` changes it)."""
MARKDOWN_EXTENSIONS = frozenset({".md", ".markdown", ".mdx"})
_PDF_MAGIC = b"%PDF-"


@dataclass(frozen=True)
class Chunk:
    """One thing to embed from a file, with where it came from.

    ``content`` is ``"text"`` (``text`` holds it) or ``"image"`` (an image file, or a PDF page to render).
    ``lines`` are 1-based and inclusive; ``chars`` are ``[start, end)`` offsets into the decoded file (or
    into the page's text layer for PDF text chunks); ``page`` counts from 1.
    """

    path: str
    chunk: int
    file_type: FileType
    content: Literal["text", "image"]
    file_hash: str
    text: str | None = None
    page: int | None = None
    lines: tuple[int, int] | None = None
    chars: tuple[int, int] | None = None
    language: str | None = None
    section: str | None = None
    page_text: str | None = None

    @property
    def location(self) -> str:
        """Human-readable location: ``/a/b.py:12-40``, ``/a/r.pdf#page=3``, ``/a/chart.png``."""
        if self.page is not None:
            return f"{self.path}#page={self.page}"
        if self.lines is not None:
            first, last = self.lines
            return f"{self.path}:{first}" if first == last else f"{self.path}:{first}-{last}"
        return self.path

    def payload(self) -> dict[str, Any]:
        """The chunk's location fields as a JSON-ready dict (``None`` fields left out)."""
        out: dict[str, Any] = {
            "path": self.path,
            "chunk": self.chunk,
            "file_type": self.file_type,
            "file_hash": self.file_hash,
        }
        for key in ("page", "language", "section", "page_text"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.lines is not None:
            out["lines"] = list(self.lines)
        if self.chars is not None:
            out["chars"] = list(self.chars)
        return out


@dataclass
class FileChunks:
    """A file read into chunks: ``text`` is the decoded text of text files (``None`` for images and PDFs),
    ``warnings`` lists what was lost inside the file (e.g. one unreadable PDF page)."""

    path: str
    file_type: FileType
    file_hash: str
    size: int
    chunks: list[Chunk] = field(default_factory=list)
    encoding: str | None = None
    text: str | None = None
    warnings: list[str] = field(default_factory=list)


def file_type_of(path: Path, head: bytes = b"") -> FileType | None:
    """The file type by extension and magic number; ``None`` when only the content can tell (text or code)."""
    suffix = path.suffix.lower()
    if suffix == ".pdf" or head.startswith(_PDF_MAGIC):
        return "pdf"
    if suffix in IMAGE_EXTENSIONS or sniff_image_format(head[:64]) is not None:
        return "image"
    if suffix in MARKDOWN_EXTENSIONS:
        return "markdown"
    if suffix in CODE_EXTENSIONS or path.name.lower() in CODE_FILENAMES:
        return "code"
    if suffix in TEXT_EXTENSIONS:
        return "text"
    return None


def _text_chunks(
    path: str,
    digest: str,
    text: str,
    file_type: FileType,
    counter: TokenCounter,
    chunk_tokens: int,
    overlap_tokens: int,
    language: str | None,
) -> list[Chunk]:
    if file_type == "code":
        spans: list[TextSpan] = chunk_code(
            text, counter, language=language, chunk_tokens=chunk_tokens, overlap_tokens=overlap_tokens
        )
    else:
        spans = chunk_text(
            text, counter, chunk_tokens=chunk_tokens, overlap_tokens=overlap_tokens, markdown=file_type == "markdown"
        )
    starts = line_starts(text)
    headings = markdown_headings(text) if file_type == "markdown" else []
    return [
        Chunk(
            path,
            i,
            file_type,
            "text",
            digest,
            text=text[s.start : s.end],
            lines=line_range(starts, s.start, s.end),
            chars=(s.start, s.end),
            language=language,
            section=section_at(headings, s.start) if headings else None,
        )
        for i, s in enumerate(spans)
    ]


def _pdf_chunks(
    path: str, digest: str, data: bytes, counter: TokenCounter, chunk_tokens: int, overlap_tokens: int, pdf_text: bool
) -> tuple[list[Chunk], list[str]]:
    info = read_pdf(data)
    chunks: list[Chunk] = []
    for page in info.pages:
        chunks.append(Chunk(path, len(chunks), "pdf", "image", digest, page=page.page, page_text=page.text))
        if pdf_text and page.text.strip():
            for span in chunk_text(page.text, counter, chunk_tokens=chunk_tokens, overlap_tokens=overlap_tokens):
                chunks.append(
                    Chunk(
                        path,
                        len(chunks),
                        "pdf",
                        "text",
                        digest,
                        text=page.text[span.start : span.end],
                        page=page.page,
                        chars=(span.start, span.end),
                    )
                )
    return chunks, [reason for _, reason in info.page_errors]


def read_file(
    path: str | Path,
    counter: TokenCounter,
    *,
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
    overlap_tokens: int | None = None,
    pdf_text: bool = False,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    data: bytes | None = None,
) -> FileChunks:
    """Read one file into chunks. ``counter`` is the model (``tokenize`` / ``count_tokens``).

    ``data``: the file's bytes when already read (they are hashed as they are). Raises
    :class:`~jina_local.errors.DocumentError` for files that are not indexed (with the reason) and
    ``OSError`` when the file cannot be read.
    """
    chunk_tokens, overlap_tokens = check_chunk_sizes(chunk_tokens, overlap_tokens)
    resolved = Path(path).expanduser().resolve()
    if data is None:
        size = resolved.stat().st_size
        if size > max_file_bytes:
            raise DocumentError(
                f"larger than {max_file_bytes // (1024 * 1024)} MiB ({size / 2**20:.1f} MiB); "
                "raise max_file_bytes to index it"
            )
        data = resolved.read_bytes()
    if len(data) > max_file_bytes:
        raise DocumentError(f"larger than {max_file_bytes // (1024 * 1024)} MiB; raise max_file_bytes to index it")
    digest = hashlib.sha256(data).hexdigest()
    name = str(resolved)
    kind = file_type_of(resolved, data[:1024])
    if kind == "image":
        return FileChunks(name, "image", digest, len(data), [Chunk(name, 0, "image", "image", digest)])
    if kind == "pdf":
        chunks, warnings = _pdf_chunks(name, digest, data, counter, chunk_tokens, overlap_tokens, pdf_text)
        return FileChunks(name, "pdf", digest, len(data), chunks, warnings=warnings)
    decoded = decode_text(data)
    if not decoded.text.strip():
        raise DocumentError("empty: no text to embed")
    if kind is None:
        kind = detect_text_kind(decoded.text)
    language = language_of(resolved.suffix) if kind == "code" else None
    chunks = _text_chunks(name, digest, decoded.text, kind, counter, chunk_tokens, overlap_tokens, language)
    return FileChunks(name, kind, digest, len(data), chunks, encoding=decoded.encoding, text=decoded.text)
