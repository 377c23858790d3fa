"""Turn the items users pass to ``encode`` into typed inputs: text or a decoded RGB image.

Accepted items: ``str`` (text), ``PIL.Image.Image``, ``pathlib.Path`` to an image file, and the
raw ``bytes`` of an image file. Anything else raises :class:`~jina_local.errors.InputError`
naming the position of the item and its type.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from PIL import Image, UnidentifiedImageError

from .errors import InputError

__all__ = ["ImageInput", "Item", "TextInput", "TypedInput", "as_item_list", "load_item"]

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


def load_item(item: Any, index: int = 0) -> TypedInput:
    """Type one user item; ``index`` is its position, used in error messages."""
    if isinstance(item, str):
        return TextInput(item)
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
