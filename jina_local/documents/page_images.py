"""Page images of PDF hits: a page rendered once to a PNG file in a cache folder, then reused.

A search hit on a PDF page should show the page, not name the PDF. :func:`page_image` renders the page the
way indexing did (:class:`~jina_local.documents.PdfRenderer` at the model's pixel budget,
:func:`~jina_local.documents.page_pixels`) and keeps the PNG:

* **Where:** ``<cache>/pages/``, where ``<cache>`` is ``$JINA_LOCAL_CACHE`` if set, else
  ``$XDG_CACHE_HOME/jina-local``, else ``~/.cache/jina-local`` (see :func:`page_cache_dir`); ``cache_dir=``
  names another folder.
* **Names:** ``<sha256 of the PDF's bytes>-p<page>-<max_pixels>px.png``. A render is reused while the PDF's
  bytes are unchanged; an edited PDF gets new renders, whatever its path.
* **Writes are atomic:** the PNG is written to a temporary file in the same folder and renamed, so a reader
  (another thread or process) sees a whole file or none.
* **Cleaning:** nothing references the folder. Delete it, or any file in it, at any time; a missing render is
  made again on demand. Renders are not removed on their own (a page render at v4's budget is 10-300 KB).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import DocumentError, OptionError
from .pdf import DEFAULT_PAGE_PIXELS, PdfRenderer

__all__ = ["CACHE_ENV", "hit_page_image", "page_cache_dir", "page_image", "pdf_page"]

CACHE_ENV = "JINA_LOCAL_CACHE"
"""Environment variable naming jina-local's cache folder (page renders go to its ``pages`` subfolder)."""
_HASHES: OrderedDict[tuple[str, int, int], str] = OrderedDict()  # (path, size, mtime_ns) -> SHA-256
_HASHES_MAX = 4096
_HASH_LOCK = threading.Lock()


def page_cache_dir() -> Path:
    """The folder page renders go to by default: ``$JINA_LOCAL_CACHE/pages``, else
    ``$XDG_CACHE_HOME/jina-local/pages``, else ``~/.cache/jina-local/pages`` (not created here)."""
    root = os.environ.get(CACHE_ENV)
    if root:
        return Path(root).expanduser() / "pages"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "jina-local" / "pages"


def pdf_page(fields: Mapping[str, Any]) -> tuple[str, int] | None:
    """``(path, page)`` when a hit's location fields name a page of a PDF, else ``None``.

    ``fields`` is the metadata ``index_files`` stores (``path``, ``file_type``, ``page``). A PDF page's own
    text chunks (``pdf_text=True``) carry the same fields: call this for image hits only.

    >>> pdf_page({"path": "/docs/r.pdf", "file_type": "pdf", "page": 3})
    ('/docs/r.pdf', 3)
    >>> pdf_page({"path": "/docs/chart.png", "file_type": "image"}) is None
    True
    """
    path, page = fields.get("path"), fields.get("page")
    if fields.get("file_type") != "pdf" or not isinstance(path, str) or not path:
        return None
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        return None
    return path, page


def hit_page_image(fields: Mapping[str, Any], model_info: Any = None) -> str | None:
    """The cached render of a PDF-page hit (:func:`page_image` at the pixel budget ``model_info``'s model
    indexed pages at), or ``None`` for other hits. The integrations show page hits with it.

    A page that cannot be rendered any more (the PDF was moved, deleted or broken since it was indexed)
    gives ``None`` and a ``RuntimeWarning`` saying why, so one stale hit does not fail a search.
    """
    from .pdf import page_pixels

    where = pdf_page(fields)
    if where is None:
        return None
    try:
        return str(page_image(*where, max_pixels=page_pixels(model_info)))
    except DocumentError as exc:
        warnings.warn(f"no page image for {where[0]}#page={where[1]}: {exc}", RuntimeWarning, stacklevel=3)
        return None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DocumentError(f"{path}: no such file; it was moved or deleted since it was indexed.") from None
    except OSError as exc:
        raise DocumentError(f"{path} cannot be read: {exc}") from exc


def _digest(path: Path) -> tuple[str, bytes | None]:
    """SHA-256 of the file, and its bytes when they had to be read (memoised by path, size and mtime)."""
    try:
        stat = path.stat()
    except OSError:
        stat = None
    key = (str(path), stat.st_size, stat.st_mtime_ns) if stat is not None else None
    with _HASH_LOCK:
        known = _HASHES.get(key) if key is not None else None
        if key is not None and known is not None:
            _HASHES.move_to_end(key)
            return known, None
    data = _read(path)
    digest = hashlib.sha256(data).hexdigest()
    if key is None:
        return digest, data
    with _HASH_LOCK:
        _HASHES[key] = digest
        while len(_HASHES) > _HASHES_MAX:
            _HASHES.popitem(last=False)
    return digest, data


def page_image(
    path: str | os.PathLike[str],
    page: int,
    *,
    max_pixels: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """The PNG of page ``page`` (from 1) of the PDF at ``path``, rendered at ``max_pixels`` and cached.

    ``max_pixels``: the pixel budget (``None``: :data:`DEFAULT_PAGE_PIXELS`); pass
    ``page_pixels(model.info)`` for the render indexing made. ``cache_dir``: the folder of renders
    (default :func:`page_cache_dir`; created when missing). An existing render is returned without
    rendering. Raises :class:`~jina_local.errors.DocumentError` for a missing, encrypted or corrupt PDF, a
    page it does not have, or a cache folder that cannot be written.

    >>> page_image("report.pdf", 2)                          # doctest: +SKIP
    PosixPath('/home/me/.cache/jina-local/pages/3f9c...-p2-602112px.png')
    """
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise OptionError(f"page={page!r} must be a page number from 1.")
    if max_pixels is None:
        max_pixels = DEFAULT_PAGE_PIXELS
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1:
        raise OptionError(f"max_pixels={max_pixels!r} must be a positive integer (pixels).")
    source = Path(path).expanduser().resolve()
    digest, data = _digest(source)
    folder = Path(cache_dir).expanduser() if cache_dir is not None else page_cache_dir()
    target = folder / f"{digest}-p{page}-{max_pixels}px.png"
    if target.is_file():
        return target
    if data is None:
        data = _read(source)
        if hashlib.sha256(data).hexdigest() != digest:  # changed under the same size and mtime: hash again
            with _HASH_LOCK:
                _HASHES.clear()
            return page_image(source, page, max_pixels=max_pixels, cache_dir=cache_dir)
    try:
        with PdfRenderer() as renderer:
            image = renderer.render(data, page, max_pixels)
    except DocumentError as exc:
        raise DocumentError(f"{source}: {exc}") from exc
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{target.stem}-", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                image.save(out, format="PNG")
            os.chmod(temporary, 0o644)  # mkstemp's 0600 -> what a plain file would get
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise DocumentError(
            f"cannot write the render of {source} page {page} to {folder}: {exc}. Pass cache_dir= or set "
            f"${CACHE_ENV} to a writable folder."
        ) from exc
    return target
