"""PDF page hits as images: the path of a cached render of the page, for ``ImageNode.image_path``.

``index_files`` stores a PDF page as an image chunk whose location fields are ``path`` (the PDF), ``page``
and ``file_type="pdf"``. A search result should carry an image, so the page is rendered once, at the
pixel budget indexing used, into jina-local's page cache (``jina_local.documents.page_image``: see
``docs/documents.md`` for where it lives and how to clean it) and the node points at that PNG.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jina_local.documents import hit_page_image, pdf_page
from jina_local.qdrant import MultiVectorCollection

__all__ = ["page_render", "show_page"]


def page_render(fields: Mapping[str, Any], collection: MultiVectorCollection | None) -> str | None:
    """The cached PNG of a PDF-page hit (``jina_local.documents.hit_page_image``), or ``None``."""
    model = collection.model if collection is not None else None
    return hit_page_image(fields, getattr(model, "info", None))


def show_page(node: Any, collection: MultiVectorCollection | None) -> None:
    """Point an ``ImageNode`` of a PDF page at the page's render (``image_path``; ``None`` when it failed)."""
    if pdf_page(node.metadata) is not None and not node.image_url and not node.image:
        node.image_path = page_render(node.metadata, collection)
