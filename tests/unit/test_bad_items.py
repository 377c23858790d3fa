"""A table of bad items, images, URLs and policy values: each must raise a typed jina-local error.

Nothing here touches the network: URL cases are refused by the policy before any connection (an
autouse guard fails the test if a socket connect is attempted). Run this file as a script to print
the table of what each bad input raises (for the issue 10 counts).
"""

from __future__ import annotations

import io
import socket
import struct
import sys
import zlib
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jina_local.errors import (
    InputError,
    JinaLocalError,
    OptionError,
    URLNotAllowedError,
)
from jina_local.fetch import FetchPolicy, fetch
from jina_local.images import check_max_image_pixels, open_image
from jina_local.inputs import as_item_list, image_reference, load_item


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_header(width: int, height: int) -> bytes:
    ihdr = _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + ihdr + _chunk(b"IDAT", zlib.compress(b"\0" * 8)) + _chunk(b"IEND", b"")


def _encoded(image: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt)
    return buf.getvalue()


def _jpeg_claiming(width: int, height: int) -> bytes:
    data = bytearray(_encoded(Image.new("RGB", (16, 16)), "JPEG"))
    at = data.index(b"\xff\xc0") + 5  # SOF0: length(2) precision(1) height(2) width(2)
    data[at : at + 4] = struct.pack(">HH", height, width)
    return bytes(data)


def _gif_claiming(width: int, height: int) -> bytes:
    data = bytearray(_encoded(Image.new("P", (1, 1)), "GIF"))
    data[6:10] = struct.pack("<HH", width, height)  # logical screen size
    return bytes(data)


def _bmp_header(width: int, height: int) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(info) + 16, 0, 0, 14 + len(info)) + info + bytes(16)


def _webp_vp8x(width: int, height: int) -> bytes:
    body = (
        b"VP8X"
        + struct.pack("<I", 10)
        + b"\x00\x00\x00\x00"
        + (width - 1).to_bytes(3, "little")
        + (height - 1).to_bytes(3, "little")
    )
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


PNG = _encoded(Image.new("RGB", (8, 8)), "PNG")
NOISE_PNG = _encoded(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)), "PNG")
JPEG = _encoded(Image.new("RGB", (64, 64), (10, 200, 30)), "JPEG")
BAD_CRC_PNG = PNG[:29] + bytes([PNG[29] ^ 0xFF]) + PNG[30:]  # IHDR CRC broken


def _files(root: Path) -> dict[str, Path]:
    (root / "dir.png").mkdir(exist_ok=True)
    (root / "fake.png").write_text("not an image")
    (root / "empty.jpg").write_bytes(b"")
    (root / "notes.txt").write_text("hello")
    (root / "cut.png").write_bytes(NOISE_PNG[:100])
    return {name: root / name for name in ("dir.png", "fake.png", "empty.jpg", "notes.txt", "cut.png")}


def cases(root: Path) -> list[tuple[str, object]]:
    """(description, zero-argument call) for every bad input."""
    f = _files(root)
    lazy = Image.open(io.BytesIO(NOISE_PNG[:200]))
    out: list[tuple[str, object]] = []

    def add(name, call):
        out.append((name, call))

    # containers given as the item list
    for name, items in [
        ("None", None),
        ("dict", {"alpha": 1}),
        ("OrderedDict", OrderedDict(a=1)),
        ("set", {"a", "b"}),
        ("frozenset", frozenset({"a"})),
        ("BytesIO", io.BytesIO(b"x")),
        ("StringIO", io.StringIO("x")),
        ("uint8 pixel array", np.zeros((4, 4, 3), np.uint8)),
        ("float array", np.arange(3.0)),
        ("bool array", np.array([True])),
    ]:
        add(f"items: {name}", lambda items=items: as_item_list(items))
    add("items: open file", lambda: as_item_list((root / "notes.txt").open("rb")))
    # single items of unsupported types
    for name, item in [
        ("int", 5),
        ("float", 3.5),
        ("None", None),
        ("dict", {"a": 1}),
        ("list", ["a"]),
        ("tuple", ("a",)),
        ("object", object()),
        ("ndarray", np.zeros((2, 2))),
        ("complex", 1j),
        ("bool", True),
        ("Ellipsis", ...),
        ("bytes iterator", iter([b"x"])),
    ]:
        add(f"item: {name}", lambda item=item: load_item(item, 1))
    # text
    for name, text in [
        ("lone high surrogate", "a\ud800b"),
        ("lone low surrogate", "\udfff"),
        ("surrogate at the end", "text \udbff"),
        ("surrogate in long text", "x" * 100_000 + "\ud834"),
    ]:
        add(f"text: {name}", lambda text=text: load_item(text, 2))
    add("images mode 'yes'", lambda: load_item("x", 0, images="yes"))  # type: ignore[arg-type]
    # strings naming images, images="auto"
    for name, ref in [
        ("missing cat.png", "cat.png"),
        ("missing dir/a b.jpg", "dir/a b.jpg"),
        ("missing ~/nope.webp", "~/nope.webp"),
        ("missing file:// gif", "file:///nope/x.gif"),
        ("missing C:\\ path", "C:\\pics\\x.png"),
        ("a directory named .png", str(f["dir.png"])),
        ("text file named .png", str(f["fake.png"])),
        ("empty .jpg", str(f["empty.jpg"])),
        ("truncated .png", str(f["cut.png"])),
        ("missing ./x.gif", "./x.gif"),
        ("missing ../x.bmp", "../x.bmp"),
        ("missing photos/x.tiff", "photos/x.tiff"),
        ("missing X.JPEG", "X.JPEG"),
        ("missing /abs/a.webp", "/abs/a.webp"),
    ]:
        add(f"auto path: {name}", lambda ref=ref: load_item(ref, 3, images="auto"))
    # Path items
    for name, path in [
        ("missing", root / "missing.png"),
        ("directory", root),
        ("text file", f["notes.txt"]),
        ("empty file", f["empty.jpg"]),
        ("truncated png", f["cut.png"]),
    ]:
        add(f"Path: {name}", lambda path=path: load_item(path, 4))
    # bytes-like items
    for name, data in [
        ("empty", b""),
        ("text bytes", b"hello"),
        ("png signature only", PNG[:8]),
        ("truncated png", NOISE_PNG[:100]),
        ("truncated jpeg", JPEG[:200]),
        ("gif header only", b"GIF89a" + bytes(8)),
        ("jpeg magic only", b"\xff\xd8\xff"),
        ("bad png crc", BAD_CRC_PNG),
        ("12000x12000 png header", _png_header(12000, 12000)),
        ("30000x30000 png header", _png_header(30000, 30000)),
        ("0x0 png", _png_header(0, 0)),
        ("0x5 png", _png_header(0, 5)),
        ("65000x65000 jpeg header", _jpeg_claiming(65000, 65000)),
        ("bmp magic + junk", b"BM" + bytes(60)),
        ("tiff magic + junk", b"II*\x00" + bytes(40)),
        ("webp magic + junk", b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(8)),
        ("ico magic + junk", b"\x00\x00\x01\x00\x01\x00" + bytes(30)),
        ("psd magic", b"8BPS" + bytes(30)),
        ("pnm P6 junk", b"P6\n9 9\n255\n" + bytes(10)),
        ("jpeg2000 magic", b"\xff\x4f\xff\x51" + bytes(40)),
        ("gif 65535x65535 screen", _gif_claiming(65535, 65535)),
        ("bmp 30000x30000 header", _bmp_header(30000, 30000)),
        ("webp VP8X 16384x16384 canvas", _webp_vp8x(16384, 16384)),
    ]:
        add(f"bytes: {name}", lambda data=data: load_item(data, 5))
    add("bytearray: garbage", lambda: load_item(bytearray(b"garbage"), 5))
    add("memoryview: garbage", lambda: load_item(memoryview(b"garbage"), 5))
    add("memoryview: truncated png", lambda: load_item(memoryview(NOISE_PNG[:90]), 5))
    # PIL images
    add("PIL: 0x0", lambda: load_item(Image.new("RGB", (0, 0)), 6))
    add("PIL: 7x0", lambda: load_item(Image.new("L", (7, 0)), 6))
    add("PIL: lazy, truncated file", lambda: load_item(lazy, 6))
    add("PIL: over max_image_pixels", lambda: load_item(Image.new("RGB", (50, 50)), 6, max_image_pixels=100))
    # data URIs
    add("data URI: not base64", lambda: load_item("data:image/png,raw", 7))
    add("data URI: garbage base64", lambda: load_item("data:image/png;base64,!!!!", 7))
    add("data URI: text as png", lambda: load_item("data:image/png;base64,aGVsbG8=", 7))
    add("data URI: not an image type", lambda: image_reference("data:text/plain;base64,aGk=", 7))
    # URLs refused before connecting (default policy)
    for name, url in [
        ("ftp", "ftp://example.com/a.png"),
        ("file", "file:///etc/passwd"),
        ("gopher", "gopher://example.com/"),
        ("credentials", "http://u:p@example.com/a.png"),
        ("bad port", "http://example.com:99999/a.png"),
        ("no host", "http:///a.png"),
        ("127.0.0.1", "http://127.0.0.1/a.png"),
        ("localhost", "http://localhost/a.png"),
        ("::1", "http://[::1]/a.png"),
        ("0.0.0.0", "http://0.0.0.0/a.png"),
        ("metadata 169.254.169.254", "http://169.254.169.254/latest/meta-data/"),
        ("10.0.0.1", "http://10.0.0.1/a.png"),
        ("192.168.1.1", "https://192.168.1.1/a.png"),
        ("172.16.0.1", "http://172.16.0.1/a.png"),
        ("mapped ::ffff:127.0.0.1", "http://[::ffff:127.0.0.1]/a.png"),
        ("NAT64 of 10.0.0.1", "http://[64:ff9b::a00:1]/a.png"),
        ("6to4 of 192.168.0.1", "http://[2002:c0a8:1::]/"),
        ("fe80:: link-local", "http://[fe80::1]/a.png"),
        ("fc00:: unique local", "http://[fc00::1]/a.png"),
        ("multicast", "http://224.0.0.1/a.png"),
        ("CGNAT 100.64.0.1", "http://100.64.0.1/a.png"),
        ("broadcast", "http://255.255.255.255/a.png"),
        ("javascript:", "javascript:alert(1)"),
        ("data: via fetch", "data:image/png;base64,AAAA"),
        ("[::] unspecified", "http://[::]/a.png"),
        ("ff02::1 multicast", "http://[ff02::1]/a.png"),
        ("mapped metadata", "http://[::ffff:169.254.169.254]/"),
        ("hex-mapped ::ffff:7f00:1", "http://[::ffff:7f00:1]/a.png"),
        ("decimal 2130706433", "http://2130706433/a.png"),
        ("hex 0x7f.0.0.1", "http://0x7f.0.0.1/a.png"),
        ("short 127.1", "http://127.1/a.png"),
        ("octal 0177.0.0.1", "http://0177.0.0.1/a.png"),
        ("LOCALHOST upper", "http://LOCALHOST/a.png"),
        ("ssh scheme", "ssh://host/x.png"),
        ("empty string", ""),
        ("whitespace only", "   "),
        ("scheme only", "http://"),
    ]:
        add(f"URL: {name}", lambda url=url: fetch(url, index=8))
    add("URL: fetching switched off", lambda: fetch("https://example.com/a.png", FetchPolicy(allow_urls=False)))
    add("URL via load_item(auto): loopback", lambda: load_item("http://127.0.0.1:9/x.png", 8, images="auto"))
    add("URL via image_reference: metadata", lambda: image_reference("http://169.254.169.254/x", 8))
    add("fetch(policy=dict)", lambda: fetch("https://example.com/a.png", {"deadline": 1}))  # type: ignore[arg-type]
    # policy and option values
    for name, kwargs in [
        ("max_bytes=0", {"max_bytes": 0}),
        ("max_bytes=-1", {"max_bytes": -1}),
        ("max_bytes=1.5", {"max_bytes": 1.5}),
        ("max_bytes='1'", {"max_bytes": "1"}),
        ("deadline=0", {"deadline": 0}),
        ("deadline=-1", {"deadline": -1}),
        ("deadline=inf", {"deadline": float("inf")}),
        ("deadline=nan", {"deadline": float("nan")}),
        ("connect_timeout=0", {"connect_timeout": 0}),
        ("read_timeout='3'", {"read_timeout": "3"}),
        ("max_redirects=-1", {"max_redirects": -1}),
        ("max_redirects=1.5", {"max_redirects": 1.5}),
        ("allowed_networks='bogus'", {"allowed_networks": "bogus"}),
        ("allowed_networks=('300.1.1.1/8',)", {"allowed_networks": ("300.1.1.1/8",)}),
        ("allow_urls='yes'", {"allow_urls": "yes"}),
        ("trust_env=1", {"trust_env": 1}),
        ("allow_private_networks=None", {"allow_private_networks": None}),
        ("user_agent with CRLF", {"user_agent": "x\r\nHost: evil"}),
        ("user_agent=5", {"user_agent": 5}),
    ]:
        add(f"FetchPolicy({name})", lambda kwargs=kwargs: FetchPolicy(**kwargs))
    for value in (0, -5, 1.5, True, "100"):
        add(f"max_image_pixels={value!r}", lambda value=value: check_max_image_pixels(value))
    for value in ((0, 10), (-1, -1), ("a", 1), (5,), "big"):
        add(f"min_size={value!r}", lambda value=value: open_image(PNG, min_size=value))
    add("min_size callable returning None", lambda: open_image(JPEG, min_size=lambda size: None))
    return out


@pytest.fixture(autouse=True)
def no_connections(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a bad-input test tried to open a connection")

    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return cases(tmp_path_factory.mktemp("bad"))


def test_there_are_many_cases(table):
    assert len(table) >= 150
    assert len({name for name, _ in table}) == len(table)  # distinct


def test_every_bad_input_raises_a_typed_error(table):
    untyped = []
    for name, call in table:
        try:
            call()
        except JinaLocalError as exc:
            assert isinstance(exc, (ValueError, TypeError)), name  # the natural builtin base too
            assert str(exc), name
            if (
                isinstance(exc, InputError)
                and not isinstance(exc, URLNotAllowedError)
                and name.startswith(
                    ("item:", "text:", "auto path:", "Path:", "bytes:", "bytearray:", "memoryview:", "PIL:")
                )
            ):
                assert "item " in str(exc), (name, str(exc))  # names the item
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            untyped.append((name, f"{type(exc).__name__}: {exc}"))
        else:
            untyped.append((name, "no error (silently accepted)"))
    assert not untyped, untyped


def test_policy_errors_are_option_errors(table):
    for name, call in table:
        if name.startswith(("FetchPolicy(", "max_image_pixels=", "min_size")):
            with pytest.raises(OptionError):
                call()


if __name__ == "__main__":  # print the table: python tests/unit/test_bad_items.py
    import tempfile
    import time

    with tempfile.TemporaryDirectory() as tmp:
        rows = cases(Path(tmp))
        counts = {"typed": 0, "untyped": 0, "silent": 0}
        for name, call in rows:
            start = time.perf_counter()
            try:
                call()
                outcome, counts["silent"] = "SILENT (no error)", counts["silent"] + 1
            except JinaLocalError as exc:
                outcome, counts["typed"] = f"{type(exc).__name__}: {str(exc)[:90]}", counts["typed"] + 1
            except Exception as exc:  # noqa: BLE001
                outcome, counts["untyped"] = f"UNTYPED {type(exc).__name__}: {str(exc)[:80]}", counts["untyped"] + 1
            print(f"| {name} | {outcome.replace('|', '/')} | {1000 * (time.perf_counter() - start):.0f} ms |")
        print(f"\n{len(rows)} bad inputs: {counts}", file=sys.stderr)
