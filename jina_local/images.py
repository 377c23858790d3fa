"""The image policy, in one place: every image item becomes an RGB ``PIL.Image`` here, or an ``InputError``.

* **Pixel limit before decoding.** The size is read from the file header and checked against
  ``max_image_pixels`` (default :data:`DEFAULT_MAX_IMAGE_PIXELS`, PIL's own warning threshold) before
  any pixel is decoded, so a 140 KB PNG claiming 12000x12000 costs nothing. ``max_image_pixels``
  replaces PIL's global ``Image.MAX_IMAGE_PIXELS`` for the header check: the header is read without
  PIL's check (which would warn, or raise ``DecompressionBombError``, before the size can be looked
  at), so neither escapes. The few formats that check frames or tiles again inside PIL (GIF, ICO,
  TIFF tiles, ...) still apply PIL's limit; that error becomes an ``InputError`` too.
* **Degenerate images** (a side of 0 pixels) are refused.
* **EXIF orientation** is applied (``ImageOps.exif_transpose``): phone photos are stored rotated. A
  broken EXIF block leaves the image as stored rather than losing it.
* **Animated images** (GIF, APNG, WebP, multi-page TIFF): the first frame of a file; for a PIL
  image passed in, the frame it is on.
* **Conversion to RGB**, one rule per mode (:func:`to_rgb`).
* **Early reduction** (``min_size``): a JPEG is decoded at 1/2, 1/4 or 1/8 scale by libjpeg's DCT
  scaling (``Image.draft``) only while the reduced image still covers :data:`REDUCE_MARGIN` (2x) the
  size the model resizes to, so the model's bicubic resize still antialiases. Measured in
  ``tests/benchmarks/bench_images.py`` (table in ``docs/security.md``): at 4000x3000 the model input
  then differs from the full decode by 0.2-1.0 grey levels on average (p99 <= 7 of 255, on text-like
  pages), for 3.2x less peak memory and about half the decode time; with a 1x margin the error grows
  to 4-8 levels on text and fine texture, so that is not used. It is not bit-equal to the full path
  (PIL's and torch's bicubic differ by 0.1 on average), so it only happens when the caller passes
  ``min_size``. Other formats are decoded fully (no codec can do less work) and not reduced here.
"""

from __future__ import annotations

import io
import math
import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Union

import numpy as np
from PIL import Image, ImageOps

from .errors import InputError, JinaLocalError, OptionError

__all__ = [
    "DEFAULT_MAX_IMAGE_PIXELS",
    "REDUCE_MARGIN",
    "ImageData",
    "MinSize",
    "check_max_image_pixels",
    "open_image",
    "to_rgb",
]

DEFAULT_MAX_IMAGE_PIXELS = 89_478_485
"""PIL's default ``Image.MAX_IMAGE_PIXELS`` (about 9459x9459, 256 MiB as RGBA)."""

REDUCE_MARGIN = 2.0
"""A JPEG is decoded reduced only while both sides stay at least this many times the target size,
so the model's own resize still averages several source pixels per output pixel (antialiasing)."""

ImageData = Union[Image.Image, bytes, bytearray, memoryview, str, "os.PathLike[str]"]
MinSize = Union[tuple[int, int], Callable[[tuple[int, int]], tuple[int, int]]]  # noqa: UP007 - runtime alias on 3.10
"""``(width, height)`` the decoded image must still cover, or a function of the stored size giving it."""

_ORIENTATION_TAG = 0x0112
_SWAPS_SIDES = (5, 6, 7, 8)  # EXIF orientations that rotate by 90 degrees
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N")
_WITH_ALPHA = ("RGBA", "RGBa", "LA", "La", "PA")


def check_max_image_pixels(value: Any) -> int | None:
    """Validate a ``max_image_pixels`` option: a positive int, or ``None`` for no limit of ours."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise OptionError(
            f"max_image_pixels={value!r} is not valid: use a positive number of pixels "
            f"(default {DEFAULT_MAX_IMAGE_PIXELS:,}) or None for no limit."
        )
    return int(value)


def _where(index: int, source: str | None) -> str:
    return f"item {index}" + (f" ({source})" if source else "")


def _identify(fp: IO[bytes]) -> Image.Image:
    """``Image.open`` without its decompression-bomb check: the size is judged by our own limit.

    PIL's check warns above ``MAX_IMAGE_PIXELS`` and raises above twice that before the caller can
    look at the size; the warning filters that could silence it are process-wide and not
    thread-safe. This walks PIL's plugin registry the way ``Image.open`` does.
    """
    registry = getattr(Image, "OPEN", None), getattr(Image, "ID", None)
    if not all(isinstance(r, (dict, list)) for r in registry):  # a future PIL: fall back on its open()
        return Image.open(fp)
    prefix = fp.read(16)
    tried: set[str] = set()
    for loader in (Image.preinit, Image.init):
        loader()
        for name in [n for n in Image.ID if n not in tried]:
            tried.add(name)
            factory, accept = Image.OPEN[name]
            verdict = accept(prefix) if accept else True
            if not verdict or isinstance(verdict, str):
                continue
            fp.seek(0)
            try:
                return factory(fp, "")
            except (SyntaxError, IndexError, TypeError, struct.error):
                continue
    raise Image.UnidentifiedImageError("cannot identify the image format")


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(_ORIENTATION_TAG, 1)
        return int(value) if isinstance(value, int) and 1 <= value <= 8 else 1
    except Exception:  # noqa: BLE001 - a broken EXIF block must not lose the image
        return 1


def _target(min_size: MinSize, size: tuple[int, int]) -> tuple[int, int]:
    target = min_size(size) if callable(min_size) else min_size
    try:
        width, height = (int(v) for v in target)
    except (TypeError, ValueError):
        width = height = 0
    if width < 1 or height < 1:
        raise OptionError(f"min_size={target!r} is not valid: use a (width, height) of positive integers.")
    return width, height


def _draft(image: Image.Image, min_size: MinSize, orientation: int) -> None:
    """Ask libjpeg for a 1/2, 1/4 or 1/8 scale decode that still covers ``REDUCE_MARGIN * min_size``."""
    width, height = _target(min_size, image.size if orientation not in _SWAPS_SIDES else image.size[::-1])
    if orientation in _SWAPS_SIDES:  # min_size is in display orientation, the file is stored rotated
        width, height = height, width
    request = (math.ceil(REDUCE_MARGIN * width), math.ceil(REDUCE_MARGIN * height))
    if request[0] * 2 <= image.width and request[1] * 2 <= image.height:
        image.draft(None, request)


def open_image(
    data: ImageData,
    *,
    index: int = 0,
    source: str | None = None,
    max_image_pixels: int | None = DEFAULT_MAX_IMAGE_PIXELS,
    min_size: MinSize | None = None,
) -> Image.Image:
    """Decode ``data`` (PIL image, file bytes / ``bytearray`` / ``memoryview``, or a path) to RGB.

    ``index`` and ``source`` name the item in error messages. ``min_size`` is the smallest
    ``(width, height)`` (display orientation) the result must still cover, typically the size the
    model resizes to: a JPEG may then be decoded at reduced scale (see the module docstring).
    Anything that cannot be read raises :class:`~jina_local.errors.InputError`.

    >>> buf = io.BytesIO(); Image.new("LA", (4, 3)).save(buf, "PNG")
    >>> img = open_image(buf.getvalue()); img.mode, img.size
    ('RGB', (4, 3))
    >>> open_image(b"not an image", index=2)
    Traceback (most recent call last):
    ...
    jina_local.errors.InputError: item 2 could not be read as an image: cannot identify the image format. Pass a readable PNG/JPEG/WebP/GIF/... file, its bytes, or a PIL image.
    """
    limit = check_max_image_pixels(max_image_pixels)
    if min_size is not None and not callable(min_size):
        _target(min_size, (1, 1))  # validate now, whatever the format turns out to be
    where = _where(index, source)
    opened: Any = None
    try:
        if isinstance(data, Image.Image):
            image = data
            _check_size(image.size, limit, where)
            image.load()
            return _finish(image, where, user_image=True)
        if isinstance(data, (bytes, bytearray, memoryview)):
            if len(data) == 0:
                raise InputError(f"{where} is empty (0 bytes), not an image file.")
            opened = io.BytesIO(bytes(data))
        elif isinstance(data, (str, os.PathLike)):
            opened = Path(data).open("rb")  # noqa: SIM115 - closed in the finally below
        else:
            raise InputError(
                f"{where} has unsupported type {type(data).__name__}: pass a PIL image, image file bytes or a path."
            )
        image = _identify(opened)
        _check_size(image.size, limit, where)
        orientation = _orientation(image)
        if min_size is not None and image.format in ("JPEG", "MPO"):
            _draft(image, min_size, orientation)
        image.load()  # the first frame of an animated file
        return _finish(image, where, user_image=False, orientation=orientation)
    except JinaLocalError:  # ours: already names the item / option
        raise
    except FileNotFoundError as exc:
        raise InputError(f"{where} is not an existing file ({exc.strerror}).") from None
    except Image.DecompressionBombError as exc:  # a plugin's own check on a frame or tile
        raise InputError(f"{where} was refused by PIL's decompression-bomb check: {exc}") from None
    except MemoryError:
        raise InputError(f"{where} needs more memory to decode than is available; pass a smaller image.") from None
    except Exception as exc:
        truncated = isinstance(exc, (struct.error, IndexError, EOFError))
        reason = "the file is truncated or corrupt" if truncated else (str(exc) or type(exc).__name__)
        raise InputError(
            f"{where} could not be read as an image: {reason}. "
            "Pass a readable PNG/JPEG/WebP/GIF/... file, its bytes, or a PIL image."
        ) from exc
    finally:
        if opened is not None:
            opened.close()


def _check_size(size: tuple[int, int], limit: int | None, where: str) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise InputError(f"{where} is an empty image ({width}x{height} pixels); pass an image with pixels.")
    if limit is not None and width * height > limit:
        raise InputError(
            f"{where} is {width}x{height} = {width * height:,} pixels, more than max_image_pixels={limit:,}. "
            "Downscale it first, or raise max_image_pixels if you trust the source."
        )


def _finish(image: Image.Image, where: str, *, user_image: bool, orientation: int | None = None) -> Image.Image:
    if orientation is None:
        orientation = _orientation(image)
    if orientation != 1:
        try:
            image = ImageOps.exif_transpose(image)
        except Exception:  # noqa: BLE001, S110 - keep the stored orientation rather than losing the image
            pass
    return to_rgb(image, where=where)


def to_rgb(image: Image.Image, *, where: str = "image") -> Image.Image:
    """Convert any PIL mode to RGB, one documented rule per mode (``image`` itself if already RGB).

    * ``RGB``: unchanged. ``L``, ``1``, ``P`` (no transparency), ``YCbCr``, ``HSV``: PIL's convert.
    * Transparency (``RGBA``, ``LA``, ``PA``, premultiplied ``RGBa``/``La``, and ``P``/``L``/``RGB``
      with a transparent colour): composited on **white**, as a page or a viewer shows it.
    * ``CMYK``: PIL's convert (no ICC colour management; Adobe inverted-CMYK JPEGs are un-inverted by PIL).
    * 16-bit (``I;16``, ``I;16B``, ...): scaled ``v * 255 / 65535`` (full 16-bit range, not clipped).
    * 32-bit int ``I``: values within 0..255 kept, within 0..65535 scaled as 16-bit (how some PIL
      versions open 16-bit PNGs), otherwise stretched linearly from min..max to 0..255.
    * float ``F``: within 0..1 times 255, within 0..255 kept, otherwise min..max stretched; NaN -> 0.
    * Grey results are repeated on the three channels.

    >>> to_rgb(Image.new("I;16", (2, 1), 65535)).getpixel((0, 0))
    (255, 255, 255)
    >>> to_rgb(Image.new("RGBA", (1, 1), (0, 0, 0, 0))).getpixel((0, 0))
    (255, 255, 255)
    """
    mode = image.mode
    if mode == "RGB" and "transparency" not in image.info:
        return image
    if mode in ("I", "F") or mode.startswith("I;"):  # a transparent colour key is ignored here
        return Image.fromarray(_to_uint8(np.asarray(image), mode)).convert("RGB")
    if mode in _WITH_ALPHA or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    try:
        return image.convert("RGB")
    except ValueError as exc:
        raise InputError(f"{where} has the image mode {mode!r}, which cannot be converted to RGB ({exc}).") from None


def _to_uint8(values: np.ndarray, mode: str) -> np.ndarray:
    if mode in _SIXTEEN_BIT:
        wide = values.astype(np.uint32)
        return ((wide * 255 + 32767) // 65535).astype(np.uint8)
    data = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    low, high = (float(data.min()), float(data.max())) if data.size else (0.0, 0.0)
    if mode == "F" and low >= 0.0 and high <= 1.0:
        data = data * 255.0
    elif low >= 0.0 and high <= 255.0:
        pass
    elif mode != "F" and low >= 0.0 and high <= 65535.0:
        data = data * (255.0 / 65535.0)
    else:
        data = (data - low) * (255.0 / (high - low)) if high > low else np.zeros_like(data)
    return np.clip(np.rint(data), 0, 255).astype(np.uint8)
