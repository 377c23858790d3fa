"""Turn the items users pass to ``encode`` into typed inputs: text or a decoded RGB image.

Accepted items: ``str`` (text), ``PIL.Image.Image``, ``pathlib.Path`` to an image file, the raw
``bytes`` of an image file, and ``data:image/...;base64,`` URIs. With ``images="auto"``, strings
that are paths of existing image files or http(s) URLs ending in an image extension are loaded as
images too (URLs through httpx, with timeouts and a size cap). Anything else raises
:class:`~jina_local.errors.InputError` naming the position of the item and its type.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from PIL import Image, UnidentifiedImageError

from .errors import InputError
from .kinds import ImageMode, looks_like_image_reference

__all__ = [
    "MAX_DOWNLOAD_BYTES",
    "ImageInput",
    "Item",
    "TextInput",
    "TypedInput",
    "as_item_list",
    "fetch_url",
    "image_reference",
    "load_item",
]

MAX_DOWNLOAD_BYTES = 32 * 1024 * 1024
"""Largest image fetched from a URL; bigger downloads are refused."""
_HTTP_TIMEOUT = (10.0, 30.0)  # (connect, read) seconds

Item = Union[str, Image.Image, Path, bytes]
"""What ``encode`` accepts per item."""


@dataclass(frozen=True)
class TextInput:
    """A piece of text (prose or code); ``kind`` is filled in by routing."""

    text: str


@dataclass(frozen=True)
class ImageInput:
    """A decoded RGB image; ``source`` names where it came from, for messages and payloads."""

    image: Image.Image
    source: str | None = None


TypedInput = Union[TextInput, ImageInput]


def as_item_list(items: Any) -> list[Any]:
    """Accept one item or a sequence of items; always return a list.

    >>> as_item_list("one text")
    ['one text']
    >>> as_item_list(["a", "b"])
    ['a', 'b']
    """
    if isinstance(items, (str, bytes, bytearray, Path, Image.Image)):
        return [items]
    if items is None:
        raise InputError(
            "encode() got None instead of items: pass a string, an image, a path, image bytes, or a list of them."
        )
    if isinstance(items, Sequence) or hasattr(items, "__iter__"):
        return list(items)
    return [items]


def _open_image(data: Image.Image | bytes | Path, index: int, source: str | None) -> ImageInput:
    try:
        if isinstance(data, Image.Image):
            image = data
            image.load()
        elif isinstance(data, (bytes, bytearray)):
            image = Image.open(io.BytesIO(bytes(data)))
            image.load()
        else:
            with Image.open(data) as opened:
                opened.load()
                image = opened.copy()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        where = f" ({source})" if source else ""
        raise InputError(
            f"item {index}{where} could not be read as an image: {exc}. "
            "Pass a readable PNG/JPEG/WebP/... file, its bytes, or a PIL image."
        ) from exc
    if image.mode != "RGB":
        image = image.convert("RGB")
    return ImageInput(image=image, source=source)


def fetch_url(url: str, index: int = 0, *, max_bytes: int = MAX_DOWNLOAD_BYTES) -> bytes:
    """Download an image URL with timeouts and a size cap; errors name the item and the URL."""
    import httpx

    connect, read = _HTTP_TIMEOUT
    timeout = httpx.Timeout(read, connect=connect)
    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
            response.raise_for_status()
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise InputError(
                        f"item {index} ({url}) is larger than {max_bytes // (1024 * 1024)} MiB; "
                        "download it yourself and pass the bytes or a PIL image."
                    )
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise InputError(f"item {index} ({url}) could not be downloaded: {exc}") from exc
    return b"".join(chunks)


def image_reference(ref: Any, index: int = 0) -> Any:
    """Turn a reference that *must* be an image into an item :func:`load_item` reads as an image.

    For callers that know they hold an image (e.g. a framework's ``embed_image(uris)``), whatever the
    extension: a ``str`` is a local path (``~`` and ``file://`` allowed), an ``http(s)://`` URL
    (downloaded here, with timeouts and a size cap) or a ``data:image/...;base64,`` URI; a
    file-like object (``BytesIO``) gives its bytes; ``bytes``, ``Path`` and PIL images pass through.
    """
    if isinstance(ref, str):
        text = ref.strip()
        head = text[:16].lower()
        if head.startswith("data:"):
            if not head.startswith("data:image/"):
                raise InputError(f"image {index} is a data URI that is not an image ({text[:32]!r}...).")
            return text
        if head.startswith(("http://", "https://")):
            return fetch_url(text, index)
        return Path(text.removeprefix("file://")).expanduser()
    if hasattr(ref, "getvalue"):  # io.BytesIO
        return ref.getvalue()
    if hasattr(ref, "read"):
        return ref.read()
    return ref


def _decode_data_uri(uri: str, index: int) -> bytes:
    header, sep, payload = uri.partition(",")
    if not sep or not header.lower().endswith(";base64"):
        raise InputError(f"item {index} is a data URI without a ';base64,' payload; only base64 data URIs are read.")
    try:
        return base64.b64decode(payload.strip(), validate=False)
    except (binascii.Error, ValueError) as exc:
        raise InputError(f"item {index} is a data URI whose base64 payload is invalid: {exc}") from exc


def load_item(item: Any, index: int = 0, *, images: ImageMode = "off") -> TypedInput:
    """Type one user item; ``index`` is its position, used in error messages.

    ``images="auto"`` also reads strings naming an image (existing file path, http(s) URL with an
    image extension) as images; by default such strings are text. ``data:image/`` URIs are always images.
    """
    if isinstance(item, str):
        if not looks_like_image_reference(item, images):
            return TextInput(item)
        ref = item.strip()
        if ref[:11].lower() == "data:image/":
            return _open_image(_decode_data_uri(ref, index), index, "data URI")
        if ref.lower().startswith(("http://", "https://")):
            return _open_image(fetch_url(ref, index), index, ref)
        path = Path(ref.removeprefix("file://")).expanduser()
        return _open_image(path, index, str(path))
    if isinstance(item, Image.Image):
        return _open_image(item, index, None)
    if isinstance(item, os.PathLike):
        path = Path(item)
        if not path.is_file():
            raise InputError(f"item {index} is a path to '{path}', which is not an existing file.")
        return _open_image(path, index, str(path))
    if isinstance(item, (bytes, bytearray)):
        return _open_image(bytes(item), index, None)
    raise InputError(
        f"item {index} has unsupported type {type(item).__name__}: pass str (text), PIL.Image.Image, "
        "pathlib.Path to an image file, or image file bytes."
    )
