"""``jina_local.documents.page_image``: a PDF page rendered once into the cache folder, reused, keyed by content."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from fixture_docs import write_pdf
from PIL import Image

from jina_local.documents import DEFAULT_PAGE_PIXELS, PdfRenderer, page_cache_dir, page_image, pdf_page
from jina_local.errors import DocumentError, OptionError


@pytest.fixture
def report(tmp_path: Path) -> Path:
    return write_pdf(tmp_path / "report.pdf", ["Revenue grew", "Costs fell", "Outlook"])


def test_a_page_is_rendered_like_indexing_renders_it_and_written_once(report, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = page_image(report, 2, max_pixels=4096, cache_dir=cache)
    assert first.parent == cache and first.suffix == ".png" and "-p2-4096px" in first.name
    with PdfRenderer() as renderer:
        want = np.asarray(renderer.render(report, 2, 4096))
    with Image.open(first) as image:
        assert np.array_equal(np.asarray(image.convert("RGB")), want)  # lossless, the render indexing embeds
    assert [p.name for p in cache.iterdir()] == [first.name]  # no temporary file left behind
    assert first.stat().st_mode & 0o777 == 0o644

    def no_render(*args, **kwargs):
        raise AssertionError("rendered again")

    monkeypatch.setattr(PdfRenderer, "render", no_render)
    assert page_image(str(report), 2, max_pixels=4096, cache_dir=cache) == first  # reused, str path too
    monkeypatch.chdir(report.parent)
    assert page_image("report.pdf", 2, max_pixels=4096, cache_dir=cache) == first  # relative spelling


def test_renders_are_keyed_by_content_page_and_budget(report, tmp_path):
    cache = tmp_path / "cache"
    one = page_image(report, 1, max_pixels=4096, cache_dir=cache)
    assert page_image(report, 3, max_pixels=4096, cache_dir=cache) != one
    assert page_image(report, 1, max_pixels=8192, cache_dir=cache) != one
    copy = tmp_path / "elsewhere.pdf"
    copy.write_bytes(report.read_bytes())
    assert page_image(copy, 1, max_pixels=4096, cache_dir=cache) == one  # same bytes, same render
    write_pdf(report, ["Revenue fell", "Costs grew", "Outlook"])  # edited in place
    os.utime(report, ns=(1, 1))  # even with an mtime that looks old, the size or content changed
    edited = page_image(report, 1, max_pixels=4096, cache_dir=cache)
    assert edited != one and edited.is_file() and one.is_file()


def test_same_size_and_mtime_but_new_bytes_is_rendered_again(report, tmp_path):
    cache = tmp_path / "cache"
    one = page_image(report, 1, max_pixels=4096, cache_dir=cache)
    stat = report.stat()
    data = report.read_bytes()
    report.write_bytes(data.replace(b"Revenue grew", b"Revenue gr0w"))  # same length
    os.utime(report, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    one.unlink()  # the render is gone, so the file is read again: its new hash is noticed
    again = page_image(report, 1, max_pixels=4096, cache_dir=cache)
    assert again != one


def test_the_cache_folder_comes_from_the_environment(report, tmp_path, monkeypatch):
    monkeypatch.setenv("JINA_LOCAL_CACHE", str(tmp_path / "jl"))
    assert page_cache_dir() == tmp_path / "jl" / "pages"
    render = page_image(report, 1)
    assert render.parent == tmp_path / "jl" / "pages" and f"-{DEFAULT_PAGE_PIXELS}px" in render.name
    monkeypatch.delenv("JINA_LOCAL_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert page_cache_dir() == tmp_path / "xdg" / "jina-local" / "pages"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert page_cache_dir() == tmp_path / "home" / ".cache" / "jina-local" / "pages"


def test_bad_inputs_are_typed(report, tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(DocumentError, match="no such file"):
        page_image(tmp_path / "gone.pdf", 1, cache_dir=cache)
    with pytest.raises(DocumentError, match="has no page 4"):
        page_image(report, 4, cache_dir=cache)
    (tmp_path / "fake.pdf").write_bytes(b"%PDF-1.4 not really")
    with pytest.raises(DocumentError, match="fake.pdf: corrupt PDF"):
        page_image(tmp_path / "fake.pdf", 1, cache_dir=cache)
    for page in (0, -1, 1.0, True, "1"):
        with pytest.raises(OptionError, match="page="):
            page_image(report, page, cache_dir=cache)  # type: ignore[arg-type]
    for budget in (0, -5, 2.5, False):
        with pytest.raises(OptionError, match="max_pixels="):
            page_image(report, 1, max_pixels=budget, cache_dir=cache)  # type: ignore[arg-type]
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(DocumentError, match="cannot write the render"):
        page_image(report, 1, cache_dir=tmp_path / "a-file" / "below")


def test_pdf_page_reads_location_fields():
    assert pdf_page({"path": "/d/r.pdf", "file_type": "pdf", "page": 2}) == ("/d/r.pdf", 2)
    for fields in (
        {"path": "/d/c.png", "file_type": "image"},
        {"path": "/d/r.pdf", "file_type": "pdf"},
        {"path": "/d/r.pdf", "file_type": "pdf", "page": 0},
        {"path": "/d/r.pdf", "file_type": "pdf", "page": True},
        {"path": 5, "file_type": "pdf", "page": 1},
        {},
    ):
        assert pdf_page(fields) is None
