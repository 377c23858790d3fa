"""The bad inputs of ``test_bad_inputs.py``: each one fed through a public entry point.

A :class:`Case` is a call on a :class:`Ctx` (the two tiny models, two stores, a scratch folder, a
dead server URL) plus what its refusal must name (a regex over the message). ``bad`` lists the item
indices ``add`` / ``add_embeddings`` must report in ``AddSummary.failures`` when the call itself is
not refused. Item-level inputs reuse ``tests/unit/test_bad_items.py``'s table, through ``encode``.
"""

from __future__ import annotations

import io
import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
from PIL import Image

import jina_local
from jina_local import FetchPolicy
from jina_local.qdrant import MultiVectorCollection

_UNIT = Path(__file__).resolve().parents[1] / "unit"
_UUID = "6f1c1f4e-55d5-4f3b-9a57-1f6f8a8f0c11"


def _bad_items_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("_bad_items_table", _UNIT / "test_bad_items.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@dataclass
class Ctx:
    v4: Any
    clip: Any
    v4_dir: Path
    tmp: Path
    dead_url: str
    store: Any = None  # v4, multi-vector, in a folder
    dense: Any = None  # clip, dense-only, :memory:
    good: Any = None  # two points' vectors from v4 (output="both")


@dataclass(frozen=True)
class Case:
    entry: str
    name: str
    call: Callable[[Ctx], Any]
    names: str
    bad: tuple[int, ...] | None = None


def _container_cases(tmp: Path) -> list[Case]:
    """Whole item lists encode() must refuse: no order, keys that would be embedded, files, pixel arrays."""
    (tmp / "notes.txt").write_text("hello")
    containers = [("None", lambda: None, "None"), ("dict", lambda: {"alpha": 1}, "mapping"),
                  ("OrderedDict", lambda: OrderedDict(a=1), "mapping"), ("set", lambda: {"a", "b"}, "no order"),
                  ("frozenset", lambda: frozenset({"a"}), "no order"), ("BytesIO", lambda: io.BytesIO(b"x"), "open file"),
                  ("StringIO", lambda: io.StringIO("x"), "open file"), ("open file", lambda: (tmp / "notes.txt").open("rb"), "open file"),
                  ("uint8 pixel array", lambda: np.zeros((4, 4, 3), np.uint8), "numeric array"),
                  ("float array", lambda: np.arange(3.0), "numeric array"), ("bool array", lambda: np.array([True]), "numeric array")]  # fmt: skip
    return [
        Case("encode[v4]", f"items: {n}", lambda c, make=make: c.v4.encode(make()), says)
        for n, make, says in containers
    ]


def _encode_item_cases(tmp: Path) -> list[Case]:
    """Every item-level input of test_bad_items.py, as the second item of an encode() list."""
    b = _bad_items_module()
    f = b._files(tmp)
    lazy = lambda: Image.open(io.BytesIO(b.NOISE_PNG[:200]))  # noqa: E731 - a fresh lazy image per call
    items: list[tuple[str, Any, dict[str, Any]]] = [
        (f"item: {n}", v, {})
        for n, v in [("int", 5), ("float", 3.5), ("None", None), ("dict", {"a": 1}), ("list", ["a"]), ("tuple", ("a",)),
                     ("object", object()), ("ndarray", np.zeros((2, 2))), ("complex", 1j), ("bool", True),
                     ("Ellipsis", ...), ("bytes iterator", iter([b"x"]))]
    ]  # fmt: skip
    items += [(f"text: {n}", t, {}) for n, t in [("lone high surrogate", "a\ud800b"), ("lone low surrogate", "\udfff"),
              ("surrogate at the end", "text \udbff"), ("surrogate in long text", "x" * 100_000 + "\ud834")]]  # fmt: skip
    autos = ["cat.png", "dir/a b.jpg", "~/nope.webp", "file:///nope/x.gif", "C:\\pics\\x.png", str(f["dir.png"]),
             str(f["fake.png"]), str(f["empty.jpg"]), str(f["cut.png"]), "./x.gif", "../x.bmp", "photos/x.tiff",
             "X.JPEG", "/abs/a.webp"]  # fmt: skip
    items += [(f"auto path: {r}", r, {"images": "auto"}) for r in autos]
    items += [(f"Path: {n}", p, {}) for n, p in [("missing", tmp / "missing.png"), ("directory", tmp),
              ("text file", f["notes.txt"]), ("empty file", f["empty.jpg"]), ("truncated png", f["cut.png"])]]  # fmt: skip
    raw = [("empty", b""), ("text bytes", b"hello"), ("png signature only", b.PNG[:8]),
           ("truncated png", b.NOISE_PNG[:100]), ("truncated jpeg", b.JPEG[:200]), ("gif header only", b"GIF89a" + bytes(8)),
           ("jpeg magic only", b"\xff\xd8\xff"), ("bad png crc", b.BAD_CRC_PNG),
           ("12000x12000 png header", b._png_header(12000, 12000)), ("30000x30000 png header", b._png_header(30000, 30000)),
           ("0x0 png", b._png_header(0, 0)), ("0x5 png", b._png_header(0, 5)),
           ("65000x65000 jpeg header", b._jpeg_claiming(65000, 65000)), ("bmp magic + junk", b"BM" + bytes(60)),
           ("tiff magic + junk", b"II*\x00" + bytes(40)), ("webp magic + junk", b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(8)),
           ("ico magic + junk", b"\x00\x00\x01\x00\x01\x00" + bytes(30)), ("psd magic", b"8BPS" + bytes(30)),
           ("pnm P6 junk", b"P6\n9 9\n255\n" + bytes(10)), ("jpeg2000 magic", b"\xff\x4f\xff\x51" + bytes(40)),
           ("gif 65535x65535 screen", b._gif_claiming(65535, 65535)), ("bmp 30000x30000 header", b._bmp_header(30000, 30000)),
           ("webp VP8X 16384x16384 canvas", b._webp_vp8x(16384, 16384))]  # fmt: skip
    items += [(f"bytes: {n}", v, {}) for n, v in raw]
    items += [("bytearray: garbage", bytearray(b"garbage"), {}), ("memoryview: garbage", memoryview(b"garbage"), {}),
              ("memoryview: truncated png", memoryview(b.NOISE_PNG[:90]), {}),
              ("PIL: 0x0", Image.new("RGB", (0, 0)), {}), ("PIL: 7x0", Image.new("L", (7, 0)), {}),
              ("PIL: lazy, truncated file", lazy, {}),
              ("PIL: over max_image_pixels", Image.new("RGB", (50, 50)), {"max_image_pixels": 100}),
              ("data URI: not base64", "data:image/png,raw", {}), ("data URI: garbage base64", "data:image/png;base64,!!!!", {}),
              ("data URI: text as png", "data:image/png;base64,aGVsbG8=", {})]  # fmt: skip
    urls = ["http://127.0.0.1:9/x.png", "http://localhost/a.png", "http://[::1]/a.png", "http://169.254.169.254/x.png",
            "http://10.0.0.1/a.png", "http://192.168.1.1/a.jpg", "http://2130706433/a.png", "http://0x7f.0.0.1/a.png",
            "http://[::ffff:127.0.0.1]/a.png", "http://100.64.0.1/a.png"]  # fmt: skip
    items += [(f"URL: {u}", u, {"images": "auto"}) for u in urls]
    items.append(
        (
            "URL with fetching off",
            "https://example.com/a.png",
            {"images": "auto", "fetch": FetchPolicy(allow_urls=False)},
        )
    )
    out = []
    for family in ("v4", "clip"):
        for name, item, kwargs in items:

            def call(c: Ctx, item=item, kwargs=kwargs, family=family):
                value = item() if callable(item) and not isinstance(item, type) else item
                return getattr(c, family).encode(["a fine text", value], **kwargs)

            out.append(Case(f"encode[{family}]", name, call, r"item 1\b"))
    return out


def _encode_option_cases() -> list[Case]:
    opts: list[tuple[str, dict[str, Any], str]] = [
        ("v4", {"max_pixels": v}, "max_pixels=") for v in (0, -5, 1, 10**9, 2.5, "big")
    ] + [("v4", {"max_length": v}, "max_length=") for v in (0, -1, 40_000, "x")]
    opts += [("clip", {"max_length": v}, "max_length=") for v in (1, 9000)]
    opts += [("v4", {"batch_size": v}, "batch_size=") for v in (0, -1, 1.5, True, "8")]
    opts += [("v4", {"role": v}, "role=") for v in ("passage", None)]
    opts += [("v4", {"output": "sparse"}, "output="), ("clip", {"output": "multi"}, "output=")]
    opts += [("v4", {"dim": v}, "dim=") for v in (20, True, "64")] + [("clip", {"dim": 7}, "dim=")]
    opts += [("v4", {"task": v}, "task|qa") for v in ({"a": 1}, {"retrieval"}, "qa", 5, ["retrieval"], [5])]
    opts += [
        ("clip", {"task": "code"}, "code"),
        ("v4", {"errors": "ignore"}, "errors="),
        ("v4", {"images": "yes"}, "images="),
    ]
    opts += [("v4", {"late_chunking": v}, "late_chunking=") for v in ("yes", 1)]
    opts += [("v4", {"late_chunking": True, "late_chunking_separator": 3}, "late_chunking_separator")]
    opts += [("v4", {"max_image_pixels": v}, "max_image_pixels=") for v in (0, -5, "100")]
    opts += [("v4", {"fetch": {"deadline": 1}}, "fetch=")]
    return [
        Case(
            f"encode[{fam}]", f"option {kw!r}", lambda c, fam=fam, kw=kw: getattr(c, fam).encode(["a", "b"], **kw), says
        )
        for fam, kw, says in opts
    ]


def _stream_cases() -> list[Case]:
    def gen(*items):
        yield from items

    return [
        Case("stream", "items: None", lambda c: list(c.v4.stream(None)), "None"),
        Case("stream", "items: dict", lambda c: list(c.v4.stream({"a": 1})), "mapping"),
        Case("stream", "items: set", lambda c: list(c.v4.stream({"a", "b"})), "no order"),
        Case("stream", "items: open file", lambda c: list(c.v4.stream(io.BytesIO(b"x"))), "open file"),
        Case(
            "stream", "generator with an int", lambda c: list(c.clip.stream(gen("a", 5), errors="raise")), r"item 1\b"
        ),
        Case("stream", "option window=0", lambda c: list(c.v4.stream(["a"], window=0)), "window="),
        Case(
            "stream", "option window_tokens=-1", lambda c: list(c.v4.stream(["a"], window_tokens=-1)), "window_tokens="
        ),
        Case("stream", "option errors='ignore'", lambda c: list(c.v4.stream(["a"], errors="ignore")), "errors="),
    ]


def _open_cases() -> list[Case]:
    locs = ["qdrant://??", "qdrant:/??", "grpc://127.0.0.1:6334", "file:///tmp/index", "localhost:6333", "http://",
            "https://:6333", "http://127.0.0.1:notaport", "http://127.0.0.1:99999", "http://[::1", "", "   ", "idx\x00x",
            b"/tmp/index", 5, None, 2.5]  # fmt: skip
    out = [Case("open", f"location {loc!r}", lambda c, loc=loc: MultiVectorCollection.open(loc, "d", dense_dim=8), "location")
           for loc in locs]  # fmt: skip
    out.append(Case("open", "unreachable server", lambda c: MultiVectorCollection.open(c.dead_url, "d", dense_dim=8),
                    r"127\.0\.0\.1:\d+ cannot be reached"))  # fmt: skip
    out.append(
        Case(
            "open",
            "a file as location",
            lambda c: MultiVectorCollection.open(c.tmp / "notes.txt", "d", dense_dim=8),
            "is a file",
        )
    )
    for name in ("", "../x", "/abs", ".hidden", "a/b", "a\\b", "x" * 300, "..", "-dash", 5, None):
        out.append(Case("open", f"name {name!r}", lambda c, name=name: MultiVectorCollection.open(":memory:", name, dense_dim=8),
                        "collection name"))  # fmt: skip
    options = [{"pool_factor": v} for v in (0, 5, 100, True, 2.5)] + [
        {"multi_dtype": "int4"}, {"dense_quantization": "int4"}, {"dense_dim": 0}, {"dense_dim": -1}, {"dense_dim": "64"},
        {"hnsw_m": -1}, {"hnsw_ef_construct": 2}, {"backend": "sqlite"}, {"backend": "edge"}]  # fmt: skip
    for kw in options:
        out.append(Case("open", f"option {kw!r}", lambda c, kw=kw: MultiVectorCollection.open(":memory:", "d", c.v4, **kw),
                        f"{next(iter(kw))}="))  # fmt: skip
    out.append(
        Case("open", "model='not a model'", lambda c: MultiVectorCollection.open(":memory:", "d", "jina"), "model")
    )
    out.append(Case("open", "multi=True with clip", lambda c: MultiVectorCollection.open(":memory:", "d", c.clip, multi=True),
                    "multi=False"))  # fmt: skip
    out.append(Case("open", "create=False, missing", lambda c: MultiVectorCollection.open(":memory:", "nope", c.v4, create=False),
                    "'nope' does not exist"))  # fmt: skip
    return out


def _add_cases() -> list[Case]:
    def add(items, bad=None, store="store", says=r"item 1\b", name=None, **kw):
        return Case(f"add[{store}]", name or f"items {items!r}"[:80], lambda c: getattr(c, store).add(items, progress=False, **kw),
                    says, bad)  # fmt: skip

    out = [add({"a", "b"}, says="add\\(\\) got a set"), add(frozenset({"a"}), says="frozenset"),
           add({"a": 1}, says="mapping"), add(io.BytesIO(b"x"), says="open file"), add(np.zeros(3), says="numeric array"),
           add(None, says="None"), add(5, (0,), says=r"item 0\b"), add(memoryview(b"junk"), (0,), says=r"item 0\b"),
           add(["ok", 5], (1,)), add(["ok", None], (1,)), add(["ok", b"junk"], (1,)), add(["ok", "a\ud800"], (1,)),
           add(["ok", Path("/nope/missing.png")], (1,)), add(["ok", {"a": 1}], (1,)), add(["ok", 2.5], (1,), store="dense"),
           add(["ok", b"\x89PNG\r\n\x1a\n"], (1,), store="dense")]  # fmt: skip
    for p in (0, b"bytes", 5, "text", ["a"], {"when": object()}, {"x": float("nan")}, {1: "a"}):
        out.append(add(["ok", "fine"], (1,), says=r"payload 1\b", name=f"payload {p!r}", payloads=[None, p]))
    out += [add(["a", "b"], says="payloads is a", name="payloads=5", payloads=5),
            add(["a", "b"], says="2 items but 1 payloads", name="one payload for two", payloads=[{}]),
            add(["a", "b"], says="ids is a", name="ids=7", ids=7), add(["a", "b"], says=r"id 1\b", name="ids [u, 5]", bad=(1,),
            ids=["a", 5]), add(["a"], says="bogus", name="task='bogus'", task="bogus"),
            add(["a"], says="batch_size=", name="batch_size=0", batch_size=0)]  # fmt: skip
    return out


def _add_embeddings_cases() -> list[Case]:
    def emb(name, mutate, says, bad=None, **kw):
        def call(c: Ctx):
            good = c.good
            dense, multi = good.dense.copy(), [m.copy() for m in good.multi]
            dense, multi = mutate(dense, multi)
            return c.store.add_embeddings(
                dense, multi, texts=["p0", "p1"] if "texts" not in kw else kw.pop("texts"), **kw
            )

        return Case("add_embeddings", name, call, says, bad)

    def at(i, value, which="dense"):
        def mutate(d, m):
            (d[i] if which == "dense" else m[i])[...] = value
            return d, m

        return mutate  # fmt: skip

    same = lambda d, m: (d, m)  # noqa: E731
    return [
        emb("dense None", lambda d, m: (None, m), "dense vectors"),
        emb("dense 'abc'", lambda d, m: ("abc", m), "dense vectors"),
        emb("dense of width 7", lambda d, m: (d[:, :7], m), "shape"),
        emb("dense 1-d", lambda d, m: (d[0], m), "shape"),
        emb("multi missing", lambda d, m: (d, None), "multi="),
        emb("multi for one of two", lambda d, m: (d, m[:1]), "multi="),
        emb("NaN dense", at(1, np.nan), r"dense vector 1\b", (1,)),
        emb("inf dense", at(0, np.inf), r"dense vector 0\b", (0,)),
        emb("zero dense", at(1, 0.0), r"dense vector 1\b", (1,)),
        emb("NaN token", at(0, np.nan, "multi"), r"multi-vector 0\b", (0,)),
        emb("tokens of width 64", lambda d, m: (d, [m[0][:, :64], m[1]]), r"multi-vector 0\b", (0,)),
        emb("no tokens", lambda d, m: (d, [m[0][:0], m[1]]), r"multi-vector 0\b", (0,)),
        emb("tasks='bogus'", same, "tasks", tasks="bogus"),
        emb("tasks=5", same, "tasks=5", tasks=5),
        emb("tasks a set", same, "tasks=", tasks={"retrieval"}),
        emb("three tasks for two", same, "3 tasks", tasks=["retrieval"] * 3),
        emb("kinds='movie'", same, "kinds", kinds="movie"),
        emb("texts [5, 6]", same, r"texts\[0\]", texts=[5, 6]),
        emb("sources [1, 'b']", same, r"sources\[0\]", sources=[1, "b"]),
        emb("payloads=5", same, "payloads is a", payloads=5),
        emb("payload 5", same, r"payload 1\b", (1,), payloads=[None, 5]),
        emb("ids=5", same, "ids is a", ids=5),
        emb("one id twice", same, r"point 1 has the id", (1,), ids=[_UUID, _UUID]),
        emb("batch_size=0", same, "batch_size=", batch_size=0),
    ]


def _search_cases() -> list[Case]:
    s = [("query list", ["a", "b"], {}, "one query"), ("query None", None, {}, "needs a query"),
         ("query int", 5, {}, "one query"), ("query dict", {"q": 1}, {}, "one query")]  # fmt: skip
    s += [(f"tasks={t!r}", "x", {"tasks": t}, "tasks=") for t in (["bogus"], 5, [], {}, b"code")]
    s += [(f"limit={v!r}", "x", {"limit": v}, "limit=") for v in (0, -5, 2.5, True)]
    s += [("prefetch_limit=0", "x", {"prefetch_limit": 0}, "prefetch_limit="), ("mode='hybrid'", "x", {"mode": "hybrid"}, "mode="),
          ("fusion='max'", "x", {"fusion": "max"}, "fusion="), ("filter=5", "x", {"filter": 5}, "filter"),
          ("filter $bogus", "x", {"filter": {"lang": {"$bogus": 1}}}, r"\$bogus")]  # fmt: skip
    out = [Case("search", n, lambda c, q=q, kw=kw: c.store.search(q, **kw), says) for n, q, kw, says in s]
    out.append(Case("search", "mode='multi' on dense-only", lambda c: c.dense.search("x", mode="multi"), "dense-only"))
    return out


def _load_cases() -> list[Case]:
    def load(name, says, target=None, **kw):
        return Case("load", name, lambda c: jina_local.load(c.v4_dir if target is None else target(c), **kw), says)

    def no_cuda(c: Ctx):
        with mock.patch("torch.cuda.is_available", return_value=False):
            return jina_local.load(c.v4_dir, device="cuda")

    def folder(c: Ctx, name: str, config: str | None) -> Path:
        path = c.tmp / name
        path.mkdir(exist_ok=True)
        if config is not None:
            (path / "config.json").write_text(config)
        return path

    out = [load(f"device={d!r}", "device=", device=d) for d in ("bogus", 5, None, "cuda:x", True)]
    out.append(Case("load", "device='cuda' without CUDA", no_cuda, "CUDA is not available"))
    out += [load(f"dtype={d!r}", "dtype=", dtype=d) for d in ("int8", 5, None)]
    out.append(
        Case("load", "dtype=torch.int8", lambda c: jina_local.load(c.v4_dir, dtype=__import__("torch").int8), "dtype=")
    )
    out += [
        Case("load", f"name {n!r}", lambda c, n=n: jina_local.load(n), type(n).__name__)
        for n in (5, None, 1.5, ["a/b"], b"a/b")
    ]
    out += [load("missing folder", "neither an existing folder", lambda c: c.tmp / "missing-model"),
            load("folder without config.json", "no config.json", lambda c: folder(c, "empty-model", None)),
            load("config.json not JSON", "not valid JSON", lambda c: folder(c, "bad-json", "{half")),
            load("config.json of another family", "bert|family|not", lambda c: folder(c, "bert", json.dumps({"model_type": "bert"}))),
            load("id not in the cache (offline)", "not in the local Hugging Face cache", lambda c: "jinaai/not-a-model")]  # fmt: skip
    return out


def cases(tmp: Path) -> list[Case]:
    """Every case; ``tmp`` receives the files some of them read."""
    return (_container_cases(tmp) + _encode_item_cases(tmp) + _encode_option_cases() + _stream_cases() + _open_cases() + _add_cases()
            + _add_embeddings_cases() + _search_cases() + _load_cases())  # fmt: skip


def make_stores(ctx: Ctx) -> None:
    """The stores the add / search cases use (a few points in each)."""
    ctx.store = MultiVectorCollection.open(ctx.tmp / "index", "docs", model=ctx.v4)
    ctx.store.add(["Cats sleep sixteen hours a day.", "def f(x):\n    return x\n"], progress=False)
    ctx.dense = MultiVectorCollection.open(":memory:", "dense", model=ctx.clip)
    ctx.dense.add(["a red square"], progress=False)
    ctx.good = ctx.v4.encode(["point 0", "point 1"], output="both")
