"""Bounded fuzz of the image loader: random and mutated PNG/JPEG/GIF/WebP/BMP/TIFF bytes.

Every input must give an RGB image with at least one pixel, or a typed ``InputError``: never another
exception, never a hang (each example has a deadline), never a crash. The pixel limit is lowered so
that a mutated header claiming a huge size is refused rather than decoded.
"""

from __future__ import annotations

import io
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from jina_local.errors import InputError
from jina_local.images import open_image
from jina_local.inputs import ImageInput, load_item

FUZZ_PIXELS = 2_000_000
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # PIL warns about corrupt EXIF; that is fine


def _seed_files() -> list[bytes]:
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8), "RGB")
    out = []

    def save(image, fmt, **kw):
        buf = io.BytesIO()
        image.save(buf, fmt, **kw)
        out.append(buf.getvalue())

    save(rgb, "PNG")
    save(rgb.convert("P"), "PNG", transparency=3)
    save(Image.fromarray(rng.integers(0, 65535, (8, 8), dtype=np.uint16)), "PNG")
    save(rgb.convert("LA"), "PNG")
    save(rgb, "JPEG", quality=80)
    save(rgb, "JPEG", progressive=True)
    save(rgb.convert("CMYK"), "JPEG")
    exif = rgb.getexif()
    exif[0x0112] = 6
    save(rgb, "JPEG", exif=exif)
    frames = [rgb, rgb.rotate(90), rgb.rotate(180)]
    save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=20)
    save(rgb, "WEBP")
    save(rgb, "BMP")
    save(rgb, "TIFF")
    return out


SEEDS = _seed_files()
MAGIC = [
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff\xe0",
    b"GIF89a",
    b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    b"\x00\x00\x01\x00",
    b"P6\n",
    b"8BPS",
    b"",
]


@st.composite
def mutated(draw):
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "set", "truncate", "insert", "duplicate", "zero"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[at] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80, draw(st.integers(0, 255))]))
        elif op == "truncate":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "duplicate":
            length = draw(st.integers(1, 64))
            data[at:at] = data[at : at + length]
        elif op == "zero":
            data[at : at + 4] = b"\x00" * len(data[at : at + 4])
    return bytes(data)


random_bytes = st.builds(lambda magic, rest: magic + rest, st.sampled_from(MAGIC), st.binary(max_size=600))


def _check(data: bytes) -> None:
    try:
        image = open_image(data, max_image_pixels=FUZZ_PIXELS, min_size=(4, 4))
    except InputError:
        return
    assert image.mode == "RGB" and image.width >= 1 and image.height >= 1
    assert image.width * image.height <= FUZZ_PIXELS


@settings(max_examples=250, deadline=timedelta(seconds=3))
@given(mutated())
def test_mutated_images_give_rgb_or_input_error(data):
    _check(data)


@settings(max_examples=150, deadline=timedelta(seconds=3))
@given(random_bytes)
def test_random_bytes_give_rgb_or_input_error(data):
    _check(data)


@settings(max_examples=40, deadline=timedelta(seconds=3))
@given(mutated(), st.sampled_from([bytes, bytearray, memoryview]))
def test_load_item_on_mutated_bytes(data, wrap):
    try:
        typed = load_item(wrap(data), 5, max_image_pixels=FUZZ_PIXELS)
    except InputError as exc:
        assert "item 5" in str(exc)
        return
    assert isinstance(typed, ImageInput) and typed.image.mode == "RGB"


def test_every_seed_decodes():
    for data in SEEDS:
        assert open_image(data).mode == "RGB"
