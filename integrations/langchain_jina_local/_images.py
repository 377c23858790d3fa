"""Image references as LangChain passes them (strings) -> items the jina-local core reads.

Only transport lives here: which string means which source. Decoding, resizing and prompts are the
core's job. An ``http(s)://`` URL is fetched by the core's own downloader (timeouts, size cap).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jina_local.errors import InputError

__all__ = ["check_all_images", "image_item"]


def image_item(ref: Any, index: int) -> Any:
    """Map one image reference to an item ``Embedder.encode`` reads as an image.

    ``str``: a local path (``~`` and ``file://`` allowed), an ``http(s)://`` URL or a
    ``data:image/...;base64,`` URI. File-like objects (``BytesIO``) become their bytes. ``bytes``,
    ``pathlib.Path`` and ``PIL.Image.Image`` pass through unchanged.
    """
    if isinstance(ref, str):
        text = ref.strip()
        head = text[:16].lower()
        if head.startswith("data:"):
            if not head.startswith("data:image/"):
                raise InputError(f"image {index} is a data URI that is not an image ({text[:32]!r}...).")
            return text
        if head.startswith(("http://", "https://")):
            try:
                from jina_local.inputs import fetch_url
            except ImportError as exc:  # pragma: no cover - older core without a downloader
                raise InputError(
                    f"image {index} is a URL ({text}), and this jina-local cannot download; "
                    "fetch it yourself and pass the bytes."
                ) from exc
            return fetch_url(text, index)
        if head.startswith("file://"):
            text = text[len("file://"):]
        return Path(text).expanduser()
    if hasattr(ref, "getvalue"):  # io.BytesIO (e.g. LlamaIndex's ImageNode.resolve_image())
        return ref.getvalue()
    if hasattr(ref, "read"):
        return ref.read()
    return ref


def check_all_images(kinds: list[str], method: str) -> None:
    """Refuse a result in which the core read some "image" as text (e.g. an unreadable data URI)."""
    bad = [i for i, k in enumerate(kinds) if k != "image"]
    if bad:
        raise InputError(f"{method}: item(s) {bad} were not read as images; pass image paths, URLs, bytes or PIL images.")
