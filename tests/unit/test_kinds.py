"""Behaviour of :mod:`jina_local.kinds`: image forms, code vs prose, the labelled set, errors.

Timing is measured in ``tests/benchmarks/bench_detect_kind.py``, not asserted here.
"""

from __future__ import annotations

import base64
import io
from collections import defaultdict
from pathlib import Path

import pytest
from PIL import Image

from jina_local.errors import InputError, OptionError
from jina_local.kinds import (
    code_score,
    detect_kind,
    detect_text_kind,
    is_code,
    looks_like_image_reference,
    sniff_image_format,
)

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "kinds"


def _load_labelled() -> list[tuple[str, str, str, str]]:
    """(text, label, category, split) for every item of ``tests/data/kinds/*.txt``."""
    items: list[tuple[str, str, str, str]] = []
    for path in sorted(DATA_DIR.glob("*.txt")):
        split = path.name.split("_", 1)[0]
        header: list[str] | None = None
        body: list[str] = []
        for line in path.read_text(encoding="utf-8").split("\n") + ["=== end"]:
            if line.startswith("=== "):
                if header is not None:
                    items.append(("\n".join(body).strip("\n"), header[0], header[1], split))
                header = line[4:].split()
                body = []
            else:
                body.append(line)
    return items


LABELLED = _load_labelled()


def _image_bytes(fmt: str, mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (8, 8), (10, 200, 30) if mode == "RGB" else 0).save(buf, format=fmt)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------------


def test_pil_image_is_image() -> None:
    assert detect_kind(Image.new("RGB", (4, 4))) == "image"
    assert detect_kind(Image.new("L", (4, 4)), images="auto") == "image"


@pytest.mark.parametrize(
    ("fmt", "name"),
    [
        ("PNG", "png"),
        ("JPEG", "jpeg"),
        ("GIF", "gif"),
        ("WEBP", "webp"),
        ("BMP", "bmp"),
        ("TIFF", "tiff"),
        ("ICO", "ico"),
        ("PPM", "pnm"),
    ],
)
def test_image_bytes_by_magic(fmt: str, name: str) -> None:
    data = _image_bytes(fmt)
    assert sniff_image_format(data) == name
    assert detect_kind(data) == "image"
    assert detect_kind(bytearray(data)) == "image"
    assert detect_kind(memoryview(data)) == "image"


def test_non_image_bytes_raise() -> None:
    with pytest.raises(InputError, match="bytes"):
        detect_kind(b"def f(): pass")
    with pytest.raises(InputError):
        detect_kind(b"")
    assert sniff_image_format(b"BM not really a bitmap") is None


def test_path_to_image_by_extension_and_magic(tmp_path: Path) -> None:
    png = tmp_path / "chart.png"
    png.write_bytes(_image_bytes("PNG"))
    assert detect_kind(png) == "image"
    no_ext = tmp_path / "upload_0001"
    no_ext.write_bytes(_image_bytes("JPEG"))
    assert detect_kind(no_ext) == "image"
    # an image extension decides even before the file exists (the loader reports a missing file)
    assert detect_kind(tmp_path / "missing.jpg") == "image"


def test_path_to_code_and_text_files(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("print('hi')\n")
    (tmp_path / "README.md").write_text("# Title\n\nSome words.\n")
    (tmp_path / "Dockerfile").write_text("FROM alpine\n")
    (tmp_path / "notes").write_text("We met on Monday and agreed to ship the release on Friday.\n")
    (tmp_path / "script").write_text("#!/bin/sh\nset -e\nrm -rf build/\nmake -j4\n")
    assert detect_kind(tmp_path / "a.py") == "code"
    assert detect_kind(tmp_path / "README.md") == "text"
    assert detect_kind(tmp_path / "Dockerfile") == "code"
    assert detect_kind(tmp_path / "notes") == "text"
    assert detect_kind(tmp_path / "script") == "code"
    with pytest.raises(InputError, match="not an existing file"):
        detect_kind(tmp_path / "nope.txt")
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02garbage")
    with pytest.raises(InputError, match="binary"):
        detect_kind(tmp_path / "blob.bin")


def test_data_uri_is_image_in_both_modes() -> None:
    uri = "data:image/png;base64," + base64.b64encode(_image_bytes("PNG")).decode()
    assert detect_kind(uri) == "image"
    assert detect_kind(uri, images="auto") == "image"
    assert looks_like_image_reference("  DATA:image/jpeg;base64,/9j/4AAQ")


def test_auto_mode_path_and_url_strings(tmp_path: Path) -> None:
    png = tmp_path / "photo.PNG"
    png.write_bytes(_image_bytes("PNG"))
    for s in (str(png), "https://example.com/img/cat.jpg", "http://x.org/a.webp?w=200#frag"):
        assert detect_kind(s, images="auto") == "image", s
        assert looks_like_image_reference(s, images="auto")
        # off (the default): a string is text or code, however much it looks like a reference
        assert detect_kind(s) != "image", s
        assert not looks_like_image_reference(s)
    # auto still needs an image extension and, for paths, an existing file
    assert detect_kind(str(tmp_path / "missing.png"), images="auto") != "image"
    assert detect_kind("https://example.com/page.html", images="auto") != "image"
    assert detect_kind("see the chart in report.png for details", images="auto") == "text"
    assert detect_kind("https://example.com/cat.jpg\nsecond line", images="auto") == "text"


def test_plain_strings_are_never_images_when_off() -> None:
    for s in ("cat.png", "/tmp/x.jpg", "https://a.b/c.gif", "image.png is attached"):
        assert detect_kind(s, images="off") != "image"


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("item", [42, 3.5, None, ["a"], {"text": "a"}, object()])
def test_unsupported_types_raise_naming_the_type(item: object) -> None:
    with pytest.raises(InputError, match=type(item).__name__):
        detect_kind(item)


def test_bad_images_mode_raises() -> None:
    with pytest.raises(OptionError, match="images="):
        detect_kind("hello", images="on")  # type: ignore[arg-type]
    with pytest.raises(OptionError):
        looks_like_image_reference("x.png", images="yes")  # type: ignore[arg-type]


def test_code_score_needs_str() -> None:
    with pytest.raises(InputError, match="bytes"):
        code_score(b"x = 1")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Code versus prose
# ---------------------------------------------------------------------------------------------

HARD_CODE = [
    "x = foo(bar)",
    "ls -la",
    'git commit -m "fix typo"',
    "docker run --rm -it -p 8080:80 nginx:alpine",
    "curl -sSL https://example.com/install.sh | sh",
    "SELECT * FROM users WHERE id = 42;",
    "select name, email from customers where country = 'DE' order by name",
    "UPDATE accounts SET balance = balance - 100 WHERE id = 7;",
    "return None",
    "import numpy as np",
    "}",
    "for i in range(10): print(i)",
    "@property",
    "#include <stdio.h>",
    "[tool.ruff]\nline-length = 100",
    "FROM python:3.12-slim\nRUN pip install flask",
    '{"id": 1, "tags": ["a", "b"]}',
    "name: CI\non:\n  push:\n    branches: [main]",
    '<div class="card"><p>Hello</p></div>',
    ".btn { color: red; }",
    "$ npm test",
    ">>> sorted(d.items())",
]

HARD_TEXT = [
    "Call get_user_by_id() then pass the result to UserService.save.",
    "Use `git rebase -i HEAD~3` to squash the last three commits.",
    "Run pip install -r requirements.txt before starting the server.",
    "Select the rows you want to export, then choose File > Export > CSV.",
    "Make sure the cat is fed before you leave.",
    "The SELECT statement takes forty seconds because the orders table has no index.",
    'Traceback (most recent call last):\n  File "a.py", line 3, in <module>\n    x = int(s)\n'
    "ValueError: invalid literal for int() with base 10: 'x'",
    "\tat com.example.Main.main(Main.java:5)\n\tat java.base/Thread.run(Thread.java:833)",
    "2024-03-18 09:12:44 INFO Starting server on port 8080\n2024-03-18 09:12:45 ERROR timeout",
    "## Setup\n\nInstall it:\n\n```bash\npip install foo\n```\n\nThen run `foo --help` to see the options.",
    "猫每天要睡十二到十六个小时。",
    "Die Funktion gibt den Wert zurück, wenn der Schlüssel existiert.",
    "how many hours do cats sleep",
    "| Model | Score |\n|---|---|\n| small | 61.2 |",
    "Hi Anna,\n\nThanks for the draft.\n\nBest,\nTom",
]


@pytest.mark.parametrize("text", HARD_CODE)
def test_hard_code_cases(text: str) -> None:
    assert is_code(text), (text, code_score(text))
    assert detect_kind(text) == "code"


@pytest.mark.parametrize("text", HARD_TEXT)
def test_hard_text_cases(text: str) -> None:
    assert not is_code(text), (text, code_score(text))
    assert detect_kind(text) == "text"


def test_ties_and_empty_go_to_text() -> None:
    for text in ("", "   \n\t\n", "# just a heading", "-----", "42"):
        assert detect_text_kind(text) == "text", text
        assert 0.0 < code_score(text) <= 0.5


def test_lone_fenced_block_is_judged_by_content() -> None:
    assert is_code("```python\ndef f(x):\n    return x + 1\n```")
    assert not is_code("```\nThis is just a quoted paragraph of prose, nothing more.\n```")


def test_comments_and_docstrings_do_not_turn_code_into_prose() -> None:
    doc = "\n".join(
        ["def f(a, b):", '    """Add two numbers.', ""]
        + ["    This is a long explanation of what the function does and why it exists."] * 12
        + ['    """', "    return a + b"]
    )
    assert is_code(doc)
    comments = "\n".join(
        ["// This module parses the configuration file and fills in defaults."] * 10 + ["int x = parse();"]
    )
    assert is_code(comments)


def test_long_inputs_are_truncated_and_still_right() -> None:
    code = "def f(i):\n    return i * 2\n\n" * 2000
    prose = "The quick brown fox jumps over the lazy dog, and then it rests in the shade. " * 2000
    assert is_code(code)
    assert not is_code(prose)


def test_scores_are_probabilities() -> None:
    for text, *_ in LABELLED[:50]:
        assert 0.0 < code_score(text) < 1.0


# ---------------------------------------------------------------------------------------------
# The labelled set
# ---------------------------------------------------------------------------------------------


def test_labelled_set_is_big_and_hard_enough() -> None:
    assert len(LABELLED) >= 400
    labels = {label for _, label, _, _ in LABELLED}
    assert labels == {"code", "text"}
    hard = {
        "code-short",
        "code-commented",
        "python-commented",
        "sql-oneliner",
        "shell-oneliner",
        "prose-identifiers",
        "markdown-inline-code",
        "markdown",
        "stacktrace",
        "log",
        "prose-short",
        "prose-chat",
        "prose-technical",
    }
    n_hard = sum(1 for _, _, cat, _ in LABELLED if cat in hard)
    assert n_hard >= 0.3 * len(LABELLED)


def test_labelled_set_accuracy() -> None:
    per_cat: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    wrong: list[str] = []
    for text, label, cat, _ in LABELLED:
        ok = detect_text_kind(text) == label
        per_cat[cat][0] += ok
        per_cat[cat][1] += 1
        if not ok:
            wrong.append(f"[{cat}] {text[:80]!r}")
    accuracy = sum(v[0] for v in per_cat.values()) / len(LABELLED)
    assert accuracy >= 0.99, wrong
    # no category may collapse, even a small one
    for cat, (ok, n) in per_cat.items():
        assert ok / n >= 0.8, (cat, ok, n, wrong)
