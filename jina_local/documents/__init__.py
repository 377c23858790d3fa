"""Files in, chunks with locations out: the documents layer of jina-local (no model math here).

>>> from jina_local.documents import read_file, walk               # doctest: +SKIP
>>> found = walk(["~/notes"])                                       # doctest: +SKIP
>>> for f in found.files:                                           # doctest: +SKIP
...     for chunk in read_file(f.path, model).chunks:
...         print(chunk.location, chunk.content)

Text is measured in the model's own tokens (``model.tokenize`` / ``model.count_tokens``); PDFs are
rendered with pypdfium2 to the model's pixel budget (``model.info.max_pixels``); :func:`page_image` keeps a
page's render in a cache folder for search hits. See ``docs/documents.md``.
"""

from __future__ import annotations

from ..errors import DocumentError
from .code import LANGUAGES, chunk_code, language_of, line_range, line_starts
from .encoding import DecodedText, NotTextError, decode_text
from .files import (
    DEFAULT_MAX_FILE_BYTES,
    Chunk,
    FileChunks,
    FileType,
    file_type_of,
    read_file,
)
from .page_images import CACHE_ENV, hit_page_image, page_cache_dir, page_image, pdf_page
from .pdf import DEFAULT_PAGE_PIXELS, PDFIUM_LOCK, PdfInfo, PdfPage, PdfRenderer, page_pixels, read_pdf, render_size
from .text import (
    DEFAULT_CHUNK_TOKENS,
    DEFAULT_OVERLAP_TOKENS,
    TextSpan,
    TokenCounter,
    check_chunk_sizes,
    chunk_text,
    markdown_headings,
    section_at,
)
from .walk import ALWAYS_IGNORED, Walk, WalkedFile, walk

__all__ = [
    "ALWAYS_IGNORED",
    "CACHE_ENV",
    "DEFAULT_CHUNK_TOKENS",
    "DEFAULT_MAX_FILE_BYTES",
    "DEFAULT_OVERLAP_TOKENS",
    "DEFAULT_PAGE_PIXELS",
    "LANGUAGES",
    "PDFIUM_LOCK",
    "Chunk",
    "DecodedText",
    "DocumentError",
    "FileChunks",
    "FileType",
    "NotTextError",
    "PdfInfo",
    "PdfPage",
    "PdfRenderer",
    "TextSpan",
    "TokenCounter",
    "Walk",
    "WalkedFile",
    "check_chunk_sizes",
    "chunk_code",
    "chunk_text",
    "decode_text",
    "file_type_of",
    "language_of",
    "line_range",
    "line_starts",
    "markdown_headings",
    "hit_page_image",
    "page_cache_dir",
    "page_image",
    "page_pixels",
    "pdf_page",
    "read_file",
    "read_pdf",
    "render_size",
    "section_at",
    "walk",
]
