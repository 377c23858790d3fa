"""The image policy: pixel limit before decoding, one RGB rule per mode, EXIF orientation, JPEG draft."""

from __future__ import annotations

import io
import struct
import time
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from jina_local.errors import InputError, OptionError
from jina_local.images import (
    DEFAULT_MAX_IMAGE_PIXELS,
    REDUCE_MARGIN,
    check_max_image_pixels,
    open_image,
    to_rgb,
)
from jina_local.inputs import ImageInput, load_item


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_of_zeros(width: int, height: int, *, idat: bool = True) -> bytes:
    """A valid 8-bit grey PNG of zeros, compressed row by row (never held decoded in memory)."""
    out = [b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))]
    if idat:
        packer = zlib.compressobj(9)
        row = bytes(width + 1)
        rows_per_block = max(1, (1 << 20) // len(row))
        body = []
        for top in range(0, height, rows_per_block):
            body.append(packer.compress(row * min(rows_per_block, height - top)))
        body.append(packer.flush())
        out.append(_chunk(b"IDAT", b"".join(body)))
    else:
        out.append(_chunk(b"IDAT", zlib.compress(b"\x00" * 16)))
    out.append(_chunk(b"IEND", b""))
    return b"".join(out)


def encoded(image: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def photo(width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = (x * 200 // width + y * 50 // height)[..., None] + rng.normal(0, 8, (height, width, 3))
    base[height // 3 : height // 2, width // 4 : width // 2] = (20, 200, 90)
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")


# -- pixel limit --------------------------------------------------------------------------------


def test_small_file_with_a_huge_header_is_refused_before_decoding():
    data = png_of_zeros(12000, 12000)
    assert len(data) < 200_000  # about 140 KB on disk, 144 MB (2.4 GB through the old path) decoded
    start = time.perf_counter()
    with pytest.raises(InputError, match=r"item 3 is 12000x12000 = 144,000,000 pixels, more than max_image_pixels"):
        open_image(data, index=3)
    assert time.perf_counter() - start < 0.5


def test_pil_bomb_error_and_warning_never_escape():
    data = png_of_zeros(30000, 30000, idat=False)
    with pytest.raises(Image.DecompressionBombError):  # what PIL itself does with this file
        Image.open(io.BytesIO(data))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a DecompressionBombWarning would raise here
        with pytest.raises(InputError, match="30000x30000 = 900,000,000 pixels"):
            open_image(data, index=0)
        with pytest.raises(InputError, match="more than max_image_pixels"):  # PIL's warning band
            open_image(png_of_zeros(10000, 10000, idat=False))


def test_limit_is_configurable_and_replaces_pils(monkeypatch):
    data = encoded(Image.new("L", (100, 100)))
    with pytest.raises(InputError, match="10,000 pixels, more than max_image_pixels=9,999"):
        open_image(data, max_image_pixels=9_999)
    assert open_image(data, max_image_pixels=10_000).size == (100, 100)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000)  # PIL would raise above 2,000 pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert open_image(data, max_image_pixels=None).size == (100, 100)


def test_limit_applies_to_pil_images_too():
    with pytest.raises(InputError, match="more than max_image_pixels=99"):
        open_image(Image.new("RGB", (10, 10)), max_image_pixels=99)


@pytest.mark.parametrize("value", [0, -5, 1.5, True, "100"])
def test_bad_limit_values(value):
    with pytest.raises(OptionError, match="max_image_pixels"):
        check_max_image_pixels(value)
    with pytest.raises(OptionError):
        open_image(encoded(Image.new("L", (2, 2))), max_image_pixels=value)


def test_default_limit_is_pils():
    assert DEFAULT_MAX_IMAGE_PIXELS == 89_478_485 == Image.MAX_IMAGE_PIXELS


# -- degenerate and unreadable ------------------------------------------------------------------


def test_empty_images_are_refused():
    with pytest.raises(InputError, match=r"item 1 is an empty image \(0x0 pixels\)"):
        open_image(Image.new("RGB", (0, 0)), index=1)
    with pytest.raises(InputError, match="empty image|could not be read"):
        open_image(png_of_zeros(0, 0, idat=False))
    with pytest.raises(InputError, match="empty image"):
        open_image(Image.new("L", (5, 0)))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image",
        b"\x89PNG\r\n\x1a\n",
        encoded(Image.new("RGB", (30, 30)))[:60],
        encoded(Image.new("RGB", (64, 64)), "JPEG")[:300],
        b"GIF89a" + bytes(20),
        b"\xff\xd8\xff" + bytes(50),
    ],
    ids=["empty", "text", "signature-only", "truncated-png", "truncated-jpeg", "gif-header", "jpeg-magic"],
)
def test_unreadable_bytes_are_input_errors(data):
    with pytest.raises(InputError, match="item 0"):
        open_image(data)


def test_missing_and_unreadable_paths(tmp_path):
    with pytest.raises(InputError, match="not an existing file"):
        open_image(tmp_path / "nope.png")
    with pytest.raises(InputError, match="could not be read"):
        open_image(tmp_path)  # a directory


# -- byte-like inputs ---------------------------------------------------------------------------


def test_memoryview_and_bytearray_are_image_bytes():
    data = encoded(Image.new("RGB", (5, 4), (1, 2, 3)))
    for item in (memoryview(data), bytearray(data), memoryview(bytearray(data))):
        typed = load_item(item, 0)
        assert isinstance(typed, ImageInput) and typed.image.size == (5, 4)


# -- modes --------------------------------------------------------------------------------------


def test_sixteen_bit_png_is_scaled_not_saturated():
    values = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)
    data = encoded(Image.fromarray(values))
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    out = np.asarray(open_image(data))
    assert out.shape == (1, 4, 3) and out[0, :, 0].tolist() == [0, 1, 128, 255]
    gradient = np.tile(np.linspace(0, 65535, 256).astype(np.uint16), (4, 1))
    grey = np.asarray(open_image(encoded(Image.fromarray(gradient))))[..., 0]
    assert (grey == 255).mean() < 0.01 and np.all(np.diff(grey[0].astype(int)) >= 0)


def test_big_endian_sixteen_bit():
    image = Image.frombytes("I;16B", (2, 1), b"\xff\xff\x80\x80")
    assert [p[0] for p in np.asarray(to_rgb(image))[0]] == [255, 128]


@pytest.mark.parametrize(
    "values, expected",
    [
        (np.array([[0, 100, 255]], dtype=np.int32), [0, 100, 255]),  # 8-bit range kept
        (np.array([[0, 32896, 65535]], dtype=np.int32), [0, 128, 255]),  # 16-bit range scaled
        (np.array([[-10, 0, 90]], dtype=np.int32), [0, 26, 255]),  # anything else stretched
        (np.array([[0.0, 0.5, 1.0]], dtype=np.float32), [0, 128, 255]),  # float 0..1
        (np.array([[0.0, 128.0, 255.0]], dtype=np.float32), [0, 128, 255]),  # float 0..255
        (np.array([[-1.0, 0.0, 1.0]], dtype=np.float32), [0, 128, 255]),  # float stretched
        (np.array([[np.nan, 0.25, 1.0]], dtype=np.float32), [0, 64, 255]),  # NaN -> 0
    ],
)
def test_int32_and_float_modes(values, expected):
    image = Image.fromarray(values)
    assert image.mode in ("I", "F")
    assert np.asarray(to_rgb(image))[0, :, 0].tolist() == expected


def test_transparency_is_composited_on_white():
    assert to_rgb(Image.new("RGBA", (1, 1), (0, 0, 0, 0))).getpixel((0, 0)) == (255, 255, 255)
    assert to_rgb(Image.new("RGBA", (1, 1), (0, 0, 0, 128))).getpixel((0, 0)) == (127, 127, 127)
    assert to_rgb(Image.new("RGBA", (1, 1), (10, 20, 30, 255))).getpixel((0, 0)) == (10, 20, 30)
    assert to_rgb(Image.new("LA", (1, 1), (0, 0))).getpixel((0, 0)) == (255, 255, 255)
    assert to_rgb(Image.new("LA", (1, 1), (40, 255))).getpixel((0, 0)) == (40, 40, 40)


def test_palette_with_transparency_from_png_and_gif():
    palette = Image.new("P", (4, 1))
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    palette.putdata([0, 1, 0, 1])
    for fmt in ("PNG", "GIF"):
        data = encoded(palette, fmt, transparency=0)
        pixels = [open_image(data).getpixel((x, 0)) for x in range(4)]
        assert pixels == [(255, 255, 255), (255, 0, 0)] * 2, fmt


def test_cmyk():
    assert to_rgb(Image.new("CMYK", (1, 1), (0, 0, 0, 0))).getpixel((0, 0)) == (255, 255, 255)
    assert to_rgb(Image.new("CMYK", (1, 1), (255, 0, 0, 0))).getpixel((0, 0)) == (0, 255, 255)
    out = open_image(encoded(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG", quality=95))
    red = out.getpixel((8, 8))
    assert out.mode == "RGB" and red[0] > 230 and red[1] < 30 and red[2] < 30


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP"])
def test_animated_images_give_their_first_frame(fmt):
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    data = encoded(frames[0], fmt, save_all=True, append_images=frames[1:], duration=50, loop=0)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 3
    r, g, b = open_image(data).getpixel((4, 4))
    assert r > 240 and g < 15 and b < 15


def test_other_modes_become_rgb():
    for mode in ("1", "L", "P", "YCbCr", "HSV", "RGBX", "I;16L"):
        out = to_rgb(Image.new(mode, (3, 2)))
        assert out.mode == "RGB" and out.size == (3, 2), mode


def test_pil_input_is_not_modified():
    rgba = Image.new("RGBA", (2, 2), (0, 0, 0, 0))
    assert open_image(rgba).mode == "RGB" and rgba.mode == "RGBA"
    rgb = Image.new("RGB", (2, 2))
    assert open_image(rgb) is rgb


# -- EXIF orientation ---------------------------------------------------------------------------


def _oriented_jpeg(orientation: int, size=(40, 20)) -> bytes:
    image = Image.new("RGB", size, (255, 255, 255))
    image.paste((255, 0, 0), (0, 0, 10, 10))  # red block at the stored top-left
    exif = image.getexif()
    exif[0x0112] = orientation
    return encoded(image, "JPEG", quality=95, exif=exif)


def test_exif_orientation_is_applied():
    out = open_image(_oriented_jpeg(6))  # 6: rotate 90 degrees clockwise to display
    assert out.size == (20, 40)
    r, g, _ = out.getpixel((15, 4))  # the red block is now top-right
    assert r > 200 and g < 60
    assert open_image(_oriented_jpeg(1)).size == (40, 20)
    assert open_image(_oriented_jpeg(3)).getpixel((35, 15))[1] < 60  # 180 degrees: bottom-right


def test_out_of_range_orientation_is_ignored():
    assert open_image(_oriented_jpeg(9)).size == (40, 20)


# -- early reduction (JPEG draft) ---------------------------------------------------------------


def test_jpeg_draft_decodes_reduced_and_matches_the_full_path():
    data = encoded(photo(1600, 1200), "JPEG", quality=90)
    target = (200, 150)
    reduced = open_image(data, min_size=target)
    full = open_image(data)
    assert full.size == (1600, 1200)
    assert reduced.size == (400, 300)  # 1/4 scale: still REDUCE_MARGIN x the target
    assert reduced.width >= REDUCE_MARGIN * target[0] and reduced.height >= REDUCE_MARGIN * target[1]
    a = np.asarray(reduced.resize(target, Image.Resampling.BICUBIC), dtype=np.int16)
    b = np.asarray(full.resize(target, Image.Resampling.BICUBIC), dtype=np.int16)
    assert np.abs(a - b).mean() < 2.0


def test_draft_needs_room_and_only_applies_to_jpeg():
    data = encoded(photo(800, 600), "JPEG")
    assert open_image(data, min_size=(300, 200)).size == (800, 600)  # 2x 300 = 600 > 800 / 2
    assert open_image(encoded(photo(800, 600)), min_size=(50, 50)).size == (800, 600)  # PNG


def test_draft_target_may_be_a_function_of_the_display_size():
    seen = []

    def target(size):
        seen.append(size)
        return (size[0] // 8, size[1] // 8)

    image = photo(1600, 1200)
    exif = image.getexif()
    exif[0x0112] = 6
    out = open_image(encoded(image, "JPEG", exif=exif), min_size=target)
    assert seen == [(1200, 1600)]  # display orientation
    assert out.size == (300, 400)  # rotated, 1/4 scale covers 2 x (150, 200)


def test_bad_min_size():
    with pytest.raises(OptionError, match="min_size"):
        open_image(encoded(photo(64, 64), "JPEG"), min_size=(0, 10))
