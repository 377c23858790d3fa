"""PDF pages through pypdfium2: pixel budget, text layers, bad files and bad pages, thread safety."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from fixture_docs import break_page, encrypted_pdf_bytes, write_pdf

from jina_local.documents import PdfRenderer, read_pdf, render_size
from jina_local.errors import DocumentError


@pytest.mark.parametrize("size", [(612, 792), (595, 842), (842, 595), (100, 3000), (20, 20)])
@pytest.mark.parametrize("budget", [602_112, 262_144, 4096])
def test_render_size_fills_the_budget_without_exceeding_it(size, budget):
    _, (w, h) = render_size(*size, budget)
    assert w * h <= budget
    assert w * h >= 0.95 * budget or min(w, h) <= 20
    assert abs(w / h - size[0] / size[1]) < 0.05 * size[0] / size[1] + 1 / min(w, h)


@pytest.fixture
def report(tmp_path):
    return write_pdf(tmp_path / "report.pdf", ["Revenue grew\nin the third quarter", "Costs fell", "Outlook"])


def test_pages_are_numbered_from_one_with_their_text(report):
    info = read_pdf(report)
    assert [p.page for p in info.pages] == [1, 2, 3]
    assert info.pages[0].text.split("\n")[:2] == ["Revenue grew", "in the third quarter"]
    assert (info.pages[1].width, info.pages[1].height) == (612.0, 792.0)
    assert info.page_errors == []


@pytest.mark.parametrize("budget", [602_112, 4096])
def test_renders_fill_the_models_pixel_budget(report, budget):
    with PdfRenderer() as renderer:
        image = renderer.render(report, 2, budget)
    assert image.mode == "RGB"
    assert 0.95 * budget <= image.width * image.height <= budget
    pixels = np.asarray(image)
    assert pixels.min() < 250 and np.median(pixels) == 255  # some ink on a white page


def test_encrypted_and_corrupt_pdfs_are_typed_errors(tmp_path, report):
    locked = tmp_path / "locked.pdf"
    locked.write_bytes(encrypted_pdf_bytes(report.read_bytes()))
    with pytest.raises(DocumentError, match="encrypted"):
        read_pdf(locked)
    with pytest.raises(DocumentError, match="corrupt"):
        read_pdf(b"%PDF-1.4\nnot a pdf at all\n")


def test_one_bad_page_loses_only_itself(report):
    info = read_pdf(break_page(report.read_bytes(), 7))  # object 7 is page 2
    assert [p.page for p in info.pages] == [1, 3]
    assert [page for page, _ in info.page_errors] == [2]


def test_rendering_from_many_threads_equals_serial(report):
    with PdfRenderer() as renderer:
        serial = [np.asarray(renderer.render(report, page, 20_000)) for page in (1, 2, 3)]
    renderers = [PdfRenderer() for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(lambda i: np.asarray(renderers[i % 4].render(report, i % 3 + 1, 20_000)), range(24)))
    for r in renderers:
        r.close()
    for i, image in enumerate(parallel):
        np.testing.assert_array_equal(image, serial[i % 3])


def test_missing_page_is_a_typed_error(report):
    with PdfRenderer() as renderer, pytest.raises(DocumentError, match="no page 9"):
        renderer.render(report, 9, 10_000)


def test_pages_render_from_the_files_bytes_and_a_missing_page_does_not_quote_them(report):
    # Ray listings hand the renderer the file's bytes; the error used to embed all of them (b'%PDF-...').
    data = report.read_bytes()
    with PdfRenderer() as renderer:
        np.testing.assert_array_equal(
            np.asarray(renderer.render(data, 2, 10_000)), np.asarray(renderer.render(report, 2, 10_000))
        )
        with pytest.raises(DocumentError, match=r"^the PDF has no page 9 \(it has 3\)$"):
            renderer.render(data, 9, 10_000)
