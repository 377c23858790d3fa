"""PDF pages through pypdfium2 (PDFium; no poppler): page sizes, text layers, renders at a pixel budget.

PDFium is not thread-safe, so every call into it holds :data:`PDFIUM_LOCK` (one lock per process).
A page is rendered at the scale that fills the model's pixel budget without exceeding it: for a page of
``w x h`` points, ``scale = sqrt(max_pixels / (w * h))``, then rounded down so that the bitmap's
``ceil(w * scale) x ceil(h * scale)`` stays within ``max_pixels``. Pages are numbered from 1.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DocumentError, UnreadableDocumentError

if TYPE_CHECKING:
    from PIL import Image
    from typing_extensions import Self

__all__ = [
    "DEFAULT_PAGE_PIXELS",
    "PDFIUM_LOCK",
    "PdfInfo",
    "PdfPage",
    "PdfRenderer",
    "page_pixels",
    "read_pdf",
    "render_size",
]

PDFIUM_LOCK = threading.RLock()
"""Held around every PDFium call in this process."""
DEFAULT_PAGE_PIXELS = 602_112
"""Pixel budget of a page render for a model that states none (jina-embeddings-v4's default)."""


def page_pixels(info: Any) -> int:
    """The pixel budget pages are rendered to for a model (its ``ModelInfo.max_pixels``).

    Indexing renders pages at this budget; the search view renders them again at the same one, so the
    patch grid of the render is the one the stored token vectors belong to.
    """
    return int(getattr(info, "max_pixels", None) or DEFAULT_PAGE_PIXELS)


@dataclass(frozen=True)
class PdfPage:
    """One page: its number (from 1), size in points and its text layer (``"\\n"`` line breaks)."""

    page: int
    width: float
    height: float
    text: str


@dataclass(frozen=True)
class PdfInfo:
    """What :func:`read_pdf` found: the readable pages, and ``(page, reason)`` for pages that failed."""

    pages: list[PdfPage]
    page_errors: list[tuple[int, str]] = field(default_factory=list)


def render_size(width: float, height: float, max_pixels: int) -> tuple[float, tuple[int, int]]:
    """``(scale, (width_px, height_px))`` filling ``max_pixels`` at the page's aspect ratio, never above it.

    >>> scale, (w, h) = render_size(612, 792, 602_112)   # US Letter at jina-embeddings-v4's budget
    >>> (w, h), w * h <= 602_112
    ((682, 882), True)
    """
    if width <= 0 or height <= 0:
        raise DocumentError(f"page size {width}x{height} points is not positive")
    scale = math.sqrt(max_pixels / (width * height))
    w_px, h_px = max(1, math.floor(width * scale)), max(1, math.floor(height * scale))
    while w_px * h_px > max_pixels and (w_px > 1 or h_px > 1):
        w_px, h_px = max(1, w_px - (w_px >= h_px)), max(1, h_px - (h_px > w_px))
    # PDFium sizes the bitmap as ceil(size * scale): stay just under the integer targets.
    exact = min(w_px / width, h_px / height) * (1 - 1e-9)
    return exact, (w_px, h_px)


def _open(source: Path | bytes) -> Any:
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(source if isinstance(source, bytes) else str(source))
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise UnreadableDocumentError(
                "encrypted PDF: it needs a password, which jina-local does not take; decrypt it first "
                "(e.g. `qpdf --decrypt --password=... in.pdf out.pdf`)"
            ) from exc
        raise UnreadableDocumentError(f"corrupt PDF or not a PDF: {exc}") from exc


@contextmanager
def _document(source: Path | bytes) -> Iterator[Any]:
    with PDFIUM_LOCK:
        pdf = _open(source)
        try:
            yield pdf
        finally:
            pdf.close()


def read_pdf(source: Path | bytes) -> PdfInfo:
    """Page sizes and text layers of a PDF; an encrypted or corrupt file raises :class:`DocumentError`.

    A page that PDFium cannot load or read is listed in ``page_errors`` and the others are kept.
    """
    pages: list[PdfPage] = []
    errors: list[tuple[int, str]] = []
    with _document(source) as pdf:
        for index in range(len(pdf)):
            try:
                page = pdf[index]
                try:
                    width, height = page.get_size()
                    textpage = page.get_textpage()
                    try:
                        text = textpage.get_text_bounded().replace("\r\n", "\n").replace("\r", "\n")
                    finally:
                        textpage.close()
                finally:
                    page.close()
            except Exception as exc:  # noqa: BLE001 - PDFium reports bad pages with assorted errors
                errors.append((index + 1, f"page {index + 1} could not be read: {exc}"))
                continue
            pages.append(PdfPage(index + 1, float(width), float(height), text.strip("\x00")))
    if not pages and not errors:
        raise UnreadableDocumentError("PDF has no pages")
    return PdfInfo(pages, errors)


class PdfRenderer:
    """Renders pages, keeping the last opened document open (pages of one file come one after another).

    Thread-safe: every call holds :data:`PDFIUM_LOCK`. Call :meth:`close` when done.
    """

    def __init__(self) -> None:
        self._path: Path | bytes | None = None
        self._pdf: Any = None

    def render(self, path: Path | bytes, page: int, max_pixels: int) -> Image.Image:
        """Page ``page`` (from 1) of ``path`` (or of the file's bytes) as an RGB image of at most ``max_pixels`` pixels."""
        with PDFIUM_LOCK:
            if self._path != path:
                self.close()
                self._pdf = _open(path)
                self._path = path
            if not 1 <= page <= len(self._pdf):
                where = "the PDF" if isinstance(path, bytes) else str(path)  # not the file's bytes in the message
                raise DocumentError(f"{where} has no page {page} (it has {len(self._pdf)})")
            handle = self._pdf[page - 1]
            try:
                width, height = handle.get_size()
                scale, (w_px, h_px) = render_size(width, height, max_pixels)
                bitmap = handle.render(scale=scale, may_draw_forms=True)
                try:
                    image = bitmap.to_pil().convert("RGB")
                finally:
                    bitmap.close()
            finally:
                handle.close()
        if image.width * image.height > max_pixels:  # pragma: no cover - guarded by render_size
            image = image.resize((w_px, h_px))
        return image

    def close(self) -> None:
        with PDFIUM_LOCK:
            if self._pdf is not None:
                self._pdf.close()
            self._pdf = None
            self._path = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
