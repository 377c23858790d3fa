"""Image references as LangChain passes them (strings) -> items the jina-local core reads.

Only transport lives here: which string means which source. Decoding, resizing and prompts are the
core's job. An ``http(s)://`` URL is fetched by the core's own downloader (timeouts, size cap).
"""

from __future__ import annotations

from typing import Any

from jina_local.errors import InputError
from jina_local.inputs import image_reference

__all__ = ["check_all_images", "image_item"]


def image_item(ref: Any, index: int) -> Any:
    """Map one image reference (path, URL, data URI, bytes, file-like, PIL) to an image item."""
    return image_reference(ref, index)


def check_all_images(kinds: list[str], method: str) -> None:
    """Refuse a result in which the core read some "image" as text (e.g. an unreadable data URI)."""
    bad = [i for i, k in enumerate(kinds) if k != "image"]
    if bad:
        raise InputError(f"{method}: item(s) {bad} were not read as images; pass image paths, URLs, bytes or PIL images.")
