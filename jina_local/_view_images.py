"""Images of search hits: thumbnails, and the size the hit's image had when it was indexed.

An image file is read as it is. A PDF page is rendered the way indexing rendered it, once, into the page
cache (:func:`jina_local.documents.page_image` at :func:`jina_local.documents.page_pixels` of the model),
so the patch grid of that render (``Embedder.image_patch_grid``) is the grid of the stored token vectors.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

__all__ = ["THUMBNAIL_PX", "image_path", "open_image", "thumbnail"]

THUMBNAIL_PX = 320
"""Longest side of a thumbnail in pixels."""


def open_image(path: str, page: Any, model: Any = None) -> tuple[Any, tuple[int, int] | None]:
    """The image (reduced while decoding where the format allows) and its ``(width, height)`` as indexed.

    For a PDF, page ``page`` (from 1) rendered at ``model``'s page pixel budget; ``(None, None)`` without
    pypdfium2.
    """
    from PIL import Image

    if path.lower().endswith(".pdf"):
        try:
            import pypdfium2  # noqa: F401 - only to know whether pages can be rendered
        except ImportError:
            return None, None
        from .documents import page_image, page_pixels

        # the page's render in jina-local's page cache: made once, shared with the integrations' page hits
        render = page_image(
            path, int(page) if page is not None else 1, max_pixels=page_pixels(getattr(model, "info", None))
        )
        with Image.open(render) as opened:
            return opened.convert("RGB"), opened.size
    with Image.open(path) as opened:
        size = opened.size
        if opened.format == "JPEG":
            opened.draft("RGB", (THUMBNAIL_PX * 2, THUMBNAIL_PX * 2))
        return opened.convert("RGB"), size


def thumbnail(image: Any) -> str | None:
    """A JPEG of at most :data:`THUMBNAIL_PX` a side, as a ``data:`` URI."""
    if image is None:
        return None
    small = image.copy()
    small.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    buffer = io.BytesIO()
    small.save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def image_path(payload: dict[str, Any], location: dict[str, Any]) -> str | None:
    """Absolute path of the image (or PDF) a hit shows, or ``None`` for text hits and remote images."""
    path = location.get("path")
    if payload.get("kind") == "image":
        candidates = [payload.get("path"), payload.get("image")]
    elif payload.get("image"):
        candidates = [payload.get("image")]
    elif isinstance(path, str) and path.lower().endswith(".pdf") and location.get("page") is not None:
        candidates = [path]
    else:
        return None
    refs = [r for r in candidates if isinstance(r, str) and r and not r.startswith(("http://", "https://", "data:"))]
    for ref in refs:
        for option in (ref, ref.rsplit("#", 1)[0]):  # ``source`` ids look like ``path#chunk``
            candidate = Path(option).expanduser()
            if candidate.is_file():
                return str(candidate.resolve())
    return str(Path(refs[0]).expanduser().resolve()) if refs else None
