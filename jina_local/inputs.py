"""Turn the items users pass to ``encode`` into typed inputs: text or a decoded RGB image.

Accepted items: ``str`` (text), ``PIL.Image.Image``, ``pathlib.Path`` to an image file, the raw
bytes of an image file (``bytes``, ``bytearray``, ``memoryview``), and ``data:image/...;base64,``
URIs. With ``images="auto"``, strings that are paths of existing image files or http(s) URLs ending
in an image extension are loaded as images too (URLs under a :class:`~jina_local.FetchPolicy`), and
a string naming an image file that does not exist is an error rather than text. Images are decoded
by :func:`jina_local.images.open_image` (pixel limit, EXIF orientation, RGB conversion).

Anything else raises :class:`~jina_local.errors.InputError` naming the position of the item.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from .errors import InputError
from .fetch import FetchPolicy
from .fetch import fetch as _fetch  # the name `fetch` is the policy argument below
from .images import DEFAULT_MAX_IMAGE_PIXELS, MinSize, open_image
from .kinds import ImageMode, looks_like_image_reference, names_image_file

__all__ = [
    "MAX_DOWNLOAD_BYTES",
    "ImageInput",
    "Item",
    "TextInput",
    "TypedInput",
    "as_item_list",
    "check_text",
    "image_reference",
    "iter_items",
    "load_item",
    "refuse_container",
]

MAX_DOWNLOAD_BYTES = FetchPolicy().max_bytes
"""Largest image fetched from a URL by default (``FetchPolicy.max_bytes``); bigger downloads are refused."""

Item = str | Image.Image | Path | bytes | bytearray | memoryview
"""What ``encode`` accepts per item."""

_SINGLE_ITEMS = (str, bytes, bytearray, memoryview, os.PathLike, Image.Image)


@dataclass(frozen=True)
class TextInput:
    """A piece of text (prose or code); ``kind`` is filled in by routing."""

    text: str


@dataclass(frozen=True)
class ImageInput:
    """A decoded RGB image; ``source`` names where it came from, for messages and payloads."""

    image: Image.Image
    source: str | None = None


TypedInput = TextInput | ImageInput


def refuse_container(items: Any, what: str = "encode()") -> None:
    """Refuse item collections whose order or meaning is ambiguous: a mapping (its keys would be embedded),
    a set (no order: results, payloads and ids would pair up arbitrarily), an open file, a numeric array."""
    name = type(items).__name__
    if isinstance(items, Mapping):
        raise InputError(
            f"{what} got a {name} (a mapping); its keys would be embedded. Pass a list of items, "
            "e.g. list(d.values()) for the values."
        )
    if isinstance(items, (set, frozenset)):  # dict views are ordered and welcome
        raise InputError(f"{what} got a {name}, which has no order; pass a list (e.g. sorted(items)).")
    if isinstance(items, io.IOBase) or (hasattr(items, "read") and hasattr(items, "__iter__")):
        raise InputError(
            f"{what} got an open file ({name}); pass its bytes (f.read()) for an image, "
            "its text for text, or a list of items."
        )
    dtype = getattr(items, "dtype", None)
    if dtype is not None and getattr(dtype, "kind", "O") not in ("U", "S", "O"):
        raise InputError(
            f"{what} got a numeric array ({name} of {dtype}); pass PIL.Image.fromarray(array) for an "
            "image, or a list of strings / images."
        )


def is_single_item(items: Any) -> bool:
    """Whether ``items`` is one item (a text, an image, a path, image bytes) rather than a collection of them."""
    return isinstance(items, _SINGLE_ITEMS)


def iter_items(items: Any, what: str = "encode()") -> Iterator[Any]:
    """Like :func:`as_item_list` without building the list (for generators of unknown length)."""
    if items is None:
        raise InputError(
            f"{what} got None instead of items: pass a string, an image, a path, image bytes, or a list of them."
        )
    if isinstance(items, _SINGLE_ITEMS):
        return iter((items,))
    refuse_container(items, what)
    if isinstance(items, Iterable):
        return iter(items)
    return iter((items,))  # load_item names the unsupported type with its index


def as_item_list(items: Any, what: str = "encode()") -> list[Any]:
    """Accept one item or an ordered collection of items; always return a list.

    A ``dict`` (its keys would be embedded), a ``set`` (no order), an open file and a numeric array
    raise :class:`~jina_local.errors.InputError`.

    >>> as_item_list("one text")
    ['one text']
    >>> as_item_list(["a", "b"])
    ['a', 'b']
    >>> as_item_list({"alpha": 1})
    Traceback (most recent call last):
    ...
    jina_local.errors.InputError: encode() got a dict (a mapping); its keys would be embedded. Pass a list of items, e.g. list(d.values()) for the values.
    """
    return list(iter_items(items, what))


def check_text(text: str, index: int) -> str:
    """Return ``text`` if it is valid Unicode; a lone surrogate raises ``InputError`` with its position.

    >>> check_text("a\\ud800b", 3)
    Traceback (most recent call last):
    ...
    jina_local.errors.InputError: item 3 contains a lone surrogate (U+D800) at character 1, which is not valid Unicode. Decode the source with errors='replace' (or 'surrogateescape' handled first), or remove it.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(text[exc.start])
        raise InputError(
            f"item {index} contains a lone surrogate (U+{code:04X}) at character {exc.start}, which is not "
            "valid Unicode. Decode the source with errors='replace' (or 'surrogateescape' handled first), "
            "or remove it."
        ) from None
    return text


def _open_image(
    data: Any, index: int, source: str | None, max_image_pixels: int | None, min_size: MinSize | None
) -> ImageInput:
    image = open_image(data, index=index, source=source, max_image_pixels=max_image_pixels, min_size=min_size)
    return ImageInput(image=image, source=source)


def image_reference(ref: Any, index: int = 0, *, fetch: FetchPolicy | None = None) -> Any:
    """Turn a reference that *must* be an image into an item :func:`load_item` reads as an image.

    For callers that know they hold an image (e.g. a framework's ``embed_image(uris)``), whatever the
    extension: a ``str`` is a local path (``~`` and ``file://`` allowed), an ``http(s)://`` URL
    (downloaded here under ``fetch``, ``None`` meaning the default :class:`~jina_local.FetchPolicy`)
    or a ``data:image/...;base64,`` URI; a file-like object (``BytesIO``) gives its bytes; ``bytes``,
    ``bytearray``, ``memoryview``, ``Path`` and PIL images pass through.
    """
    if isinstance(ref, str):
        text = ref.strip()
        head = text[:16].lower()
        if head.startswith("data:"):
            if not head.startswith("data:image/"):
                raise InputError(f"image {index} is a data URI that is not an image ({text[:32]!r}...).")
            return text
        if head.startswith(("http://", "https://")):
            return _fetch(text, fetch, index=index)
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


def load_item(
    item: Any,
    index: int = 0,
    *,
    images: ImageMode = "off",
    fetch: FetchPolicy | None = None,
    max_image_pixels: int | None = DEFAULT_MAX_IMAGE_PIXELS,
    min_size: MinSize | None = None,
) -> TypedInput:
    """Type one user item; ``index`` is its position, used in error messages.

    ``images="auto"`` also reads strings naming an image (existing file path, http(s) URL with an
    image extension) as images, and refuses a string naming an image file that does not exist; by
    default such strings are text. ``data:image/`` URIs are always images. ``fetch`` is the
    :class:`~jina_local.FetchPolicy` for URLs (``None``: the default policy); ``max_image_pixels``
    and ``min_size`` go to :func:`jina_local.images.open_image`.
    """
    if isinstance(item, str):
        if not looks_like_image_reference(item, images):
            if images == "auto" and names_image_file(item):
                ref = item.strip()
                what = "is not a file" if Path(ref.removeprefix("file://")).expanduser().exists() else "does not exist"
                raise InputError(
                    f"item {index} names the image file {ref[:200]!r}, which {what}. "
                    "Fix the path, or pass images='off' if the string is meant as text."
                )
            return TextInput(check_text(item, index))
        ref = item.strip()
        if ref[:11].lower() == "data:image/":
            return _open_image(_decode_data_uri(ref, index), index, "data URI", max_image_pixels, min_size)
        if ref[:8].lower().startswith(("http://", "https://")):
            return _open_image(_fetch(ref, fetch, index=index), index, ref, max_image_pixels, min_size)
        path = Path(ref.removeprefix("file://")).expanduser()
        return _open_image(path, index, str(path), max_image_pixels, min_size)
    if isinstance(item, Image.Image):
        return _open_image(item, index, None, max_image_pixels, None)
    if isinstance(item, os.PathLike):
        path = Path(item)
        if not path.is_file():
            raise InputError(f"item {index} is a path to '{path}', which is not an existing file.")
        return _open_image(path, index, str(path), max_image_pixels, min_size)
    if isinstance(item, (bytes, bytearray, memoryview)):
        return _open_image(item, index, None, max_image_pixels, min_size)
    hint = " (for pixel arrays use PIL.Image.fromarray)" if hasattr(item, "__array_interface__") else ""
    raise InputError(
        f"item {index} has unsupported type {type(item).__name__}: pass str (text), PIL.Image.Image, "
        f"pathlib.Path to an image file, or image file bytes{hint}."
    )
