"""What an item is: ``"text"`` (prose), ``"code"`` (source, markup, config) or ``"image"``.

:func:`detect_kind` is what routing uses to pick a task adapter when the user leaves ``task``
unset. Images are recognised by type (``PIL.Image.Image``), by magic number (``bytes``), by
extension or magic number (``pathlib.Path``) and by the ``data:image/...`` URI scheme. Plain
strings that merely *name* an image (a file path, an http(s) URL) are text unless the caller
opts in with ``images="auto"``: a sentence that happens to end in ``.png`` must not turn into a
network request or a file read behind the user's back.

Code versus prose is decided by :func:`~jina_local._code_score.code_score`, a hand-written line
classifier (pure Python and ``re``; no model, no download); a score above 0.5 means code. See
``docs/detect_kind.md``.

Decisions: stack traces and log lines are **text** (they are program output, not source);
markdown is **text** even with inline code spans or fenced blocks, as long as it has prose
outside the fences; a lone fenced block is judged by its content.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from ._code_lexicon import CODE_EXTENSIONS, CODE_FILENAMES, IMAGE_EXTENSIONS, TEXT_EXTENSIONS
from ._code_score import MAX_CHARS, MAX_LINES, code_score
from .errors import InputError, OptionError
from .types import Kind

__all__ = [
    "MAX_CHARS",
    "MAX_LINES",
    "ImageMode",
    "code_score",
    "detect_kind",
    "detect_text_kind",
    "is_code",
    "looks_like_image_reference",
    "names_image_file",
    "sniff_image_format",
]

ImageMode = Literal["off", "auto"]
"""``"off"``: only unambiguous image forms are images; ``"auto"``: also path / URL strings."""

_PATH_SNIFF_BYTES = 4096

# ----------------------------------------------------------------------------------------------
# Images
# ----------------------------------------------------------------------------------------------

_FTYP_BRANDS = {
    b"avif": "avif",
    b"avis": "avif",
    b"heic": "heic",
    b"heix": "heic",
    b"hevc": "heic",
    b"heim": "heic",
    b"heis": "heic",
    b"mif1": "heif",
    b"msf1": "heif",
}
_BMP_DIB_SIZES = {12, 40, 52, 56, 64, 108, 124}


def sniff_image_format(data: bytes | bytearray | memoryview) -> str | None:
    """Name of the image format the bytes start with (``"png"``, ``"jpeg"``, ...), or ``None``.

    >>> sniff_image_format(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(8))
    'png'
    >>> sniff_image_format(b"hello") is None
    True
    """
    head = bytes(data[:32])
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[:2] == b"BM" and len(head) >= 18 and int.from_bytes(head[14:18], "little") in _BMP_DIB_SIZES:
        return "bmp"
    if head[:4] in (b"\x00\x00\x01\x00", b"\x00\x00\x02\x00") and len(head) >= 6 and head[4:6] != b"\x00\x00":
        return "ico"
    if head[4:8] == b"ftyp" and head[8:12] in _FTYP_BRANDS:
        return _FTYP_BRANDS[head[8:12]]
    if head.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n") or head.startswith(b"\xff\x4f\xff\x51"):
        return "jpeg2000"
    if head[:4] == b"8BPS":
        return "psd"
    if head[:4] == b"qoif":
        return "qoi"
    if head[:4] == b"icns":
        return "icns"
    if head[:4] == b"DDS ":
        return "dds"
    if len(head) >= 3 and head[0:1] == b"P" and head[1:2] in b"123456" and head[2:3] in b" \t\r\n":
        return "pnm"
    return None


def _check_mode(images: object) -> None:
    if images not in ("off", "auto"):
        raise OptionError(f"images={images!r} is not a valid mode; use 'off' (the default) or 'auto'.")


def _is_pil_image(item: object) -> bool:
    # PIL is only imported by whoever created the image, so an item cannot be one if it isn't loaded.
    pil = sys.modules.get("PIL.Image")
    return pil is not None and isinstance(item, pil.Image)


def looks_like_image_reference(s: str, images: ImageMode = "off") -> bool:
    """Whether the string ``s`` stands for an image rather than being text itself.

    Always true for ``data:image/...`` URIs. With ``images="auto"`` also for an http(s) URL
    whose path ends in an image extension (not fetched here) and for the path of an existing
    file with an image extension (``~`` is expanded). With ``images="off"`` (the default) any
    other string is text.

    >>> looks_like_image_reference("data:image/png;base64,iVBORw0KGgo=")
    True
    >>> looks_like_image_reference("https://example.com/cat.jpg")
    False
    >>> looks_like_image_reference("https://example.com/cat.jpg?w=200", images="auto")
    True
    """
    _check_mode(images)
    head = s[:16].lstrip().lower()
    if head.startswith("data:image/"):
        return True
    if images == "off":
        return False
    ref = s.strip()
    if not ref or len(ref) > 4096 or "\n" in ref:
        return False
    if head.startswith(("http://", "https://")):
        try:
            path = urlsplit(ref).path
        except ValueError:
            return False
        return os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS
    if head.startswith("file://"):
        ref = urlsplit(ref).path
    if os.path.splitext(ref)[1].lower() not in IMAGE_EXTENSIONS:
        return False
    try:
        return os.path.isfile(os.path.expanduser(ref))
    except (OSError, ValueError):
        return False


_PATH_PREFIXES = ("/", "./", "../", "~/", "~\\", ".\\", "..\\", "\\\\", "file://")


def names_image_file(s: str) -> bool:
    """Whether ``s`` reads as the path of an image file, whether or not that file exists.

    True for a single line with an image extension that either has no whitespace (``cat.png``),
    starts like a path (``/``, ``./``, ``~/``, ``C:\\``, ``file://``) or contains a path separator
    (``photos/cat 1.png``). ``images="auto"`` uses it to refuse a missing image path instead of
    embedding the path as text. URLs and ``data:`` URIs are not paths.

    >>> names_image_file("photos/cat 1.png"), names_image_file("cat.JPG"), names_image_file("I like cat.png")
    (True, True, False)
    >>> names_image_file("https://example.com/cat.png")
    False
    """
    ref = s.strip()
    if not ref or len(ref) > 4096 or "\n" in ref or "\r" in ref:
        return False
    head = ref[:16].lower()
    if head.startswith(("http://", "https://", "data:")):
        return False
    if head.startswith("file://"):
        ref = urlsplit(ref).path
    if os.path.splitext(ref)[1].lower() not in IMAGE_EXTENSIONS:
        return False
    drive = len(ref) > 2 and ref[0].isalpha() and ref[1] == ":" and ref[2] in "/\\"
    return not any(c.isspace() for c in ref) or drive or head.startswith(_PATH_PREFIXES) or "/" in ref or "\\" in ref


def _path_kind(path: Path) -> Kind:
    suffix = path.suffix.lower()
    if suffix in IMAGE_EXTENSIONS:
        return "image"
    if not path.is_file():
        raise InputError(f"the path '{path}' is not an existing file, so its kind cannot be detected.")
    try:
        with path.open("rb") as fh:
            head = fh.read(_PATH_SNIFF_BYTES)
    except OSError as exc:
        raise InputError(f"the file '{path}' could not be read: {exc}.") from exc
    if sniff_image_format(head) is not None:
        return "image"
    if suffix in CODE_EXTENSIONS or path.name.lower() in CODE_FILENAMES:
        return "code"
    if suffix in TEXT_EXTENSIONS:
        return "text"
    if b"\x00" in head:
        raise InputError(f"the file '{path}' is binary and not a known image format; it is neither text nor code.")
    return detect_text_kind(head.decode("utf-8", errors="replace"))


def detect_kind(item: Any, *, images: ImageMode = "off") -> Kind:
    """``"image"``, ``"code"`` or ``"text"`` for one user item.

    * ``PIL.Image.Image`` -> image; ``bytes``/``bytearray``/``memoryview`` -> image when they start
      with a known image magic number (PNG, JPEG, GIF, WebP, BMP, TIFF, ICO, AVIF/HEIC, ...), else
      :class:`~jina_local.errors.InputError` (decode text to ``str`` first).
    * ``os.PathLike`` -> image by extension or magic number; code for source/config extensions and
      build files (``Dockerfile``, ``Makefile``); text for ``.txt``/``.md``/``.rst``/...; otherwise
      the first 4 KB are classified. A missing file raises ``InputError``.
    * ``str`` -> image for ``data:image/...`` URIs, and with ``images="auto"`` for existing image
      file paths and http(s) URLs ending in an image extension; otherwise code or text by
      :func:`is_code`.

    Any other type raises ``InputError`` naming the type.
    """
    _check_mode(images)
    if isinstance(item, str):
        if looks_like_image_reference(item, images):
            return "image"
        return detect_text_kind(item)
    if _is_pil_image(item):
        return "image"
    if isinstance(item, (bytes, bytearray, memoryview)):
        if sniff_image_format(item) is not None:
            return "image"
        raise InputError(
            f"got {type(item).__name__} that is not a known image format (starts with {bytes(item[:8])!r}); "
            "pass image files as bytes, and text as str."
        )
    if isinstance(item, os.PathLike):
        return _path_kind(Path(os.fspath(item)))
    raise InputError(
        f"cannot detect the kind of an item of type {type(item).__name__}: pass str (text or code), "
        "PIL.Image.Image, pathlib.Path, or image file bytes."
    )


def detect_text_kind(text: str) -> Literal["text", "code"]:
    """``"code"`` when :func:`is_code` says so, else ``"text"``."""
    return "code" if is_code(text) else "text"


def is_code(text: str) -> bool:
    """Whether ``text`` is source code / markup / configuration rather than prose.

    >>> is_code("x = foo(bar)")
    True
    >>> is_code("Call get_user_by_id() then pass the result to UserService.save.")
    False
    """
    return code_score(text) > 0.5
