"""The search page in headless Chromium (Debian's ``chromium``, driven by Playwright): live and static."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import httpx
import pytest
from server_helpers import live_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_NEEDS = "need Debian's chromium (apt-get install -y chromium) and playwright (pip install playwright)"


def _sync_playwright():
    """Playwright's sync API and a chromium binary; without them the test skips, or fails where CI is set.

    CI sets ``CI=1``: there a missing browser must fail the run, not skip it silently.
    """
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        missing = f"playwright is not installed ({exc})"
    if missing is None and CHROMIUM is None:
        missing = "chromium is not on PATH"
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and {missing}: the browser tests {_NEEDS}.", pytrace=False)
        pytest.skip(f"{missing}; the browser tests {_NEEDS}")
    return sync_playwright


FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _assert_every_image_decodes(page, expected: int) -> None:
    """Every <img> on the page is a data: JPEG that the browser decoded (naturalWidth > 0)."""
    page.wait_for_function("() => [...document.images].every((img) => img.complete)", timeout=30_000)
    images = page.evaluate(
        "() => [...document.images].map((img) => ({src: img.src.slice(0, 23), width: img.naturalWidth, alt: img.alt}))"
    )
    assert len(images) == expected, images
    for image in images:
        assert image["src"] == "data:image/jpeg;base64," and image["width"] > 0, image
    assert any("report.pdf" in image["alt"] for image in images)  # the PDF page thumbnails decode too


@pytest.fixture()
def browser_page(tmp_path):
    """A page of a fresh headless Chromium profile, with every console error and page error collected."""
    with _sync_playwright()() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=FLAGS, headless=True
        )
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
        try:
            yield page, errors
        finally:
            context.close()


def test_live_page_searches_and_renders_text_and_image_hits(browser_page, tiny_v4, index_dir):
    page, errors = browser_page
    with live_server(tiny_v4, index=str(index_dir)) as server:
        page.goto(f"{server.url}/")
        page.fill("#query", "how long do cats sleep")
        page.click("#submit")
        page.wait_for_selector("li.hit", timeout=30_000)
        hits = page.locator("li.hit")
        assert hits.count() == 5
        text_hit = page.locator("li.hit.text")
        assert "Cats sleep sixteen hours" in text_hit.locator("pre.snippet").inner_text()
        assert text_hit.locator("mark").count() >= 1  # the words that matched the query best
        assert page.locator("li.hit.image").count() == 3  # chart.png and the PDF's two pages
        assert page.locator("li.hit.image canvas.heatmap").count() == 3  # each with its heat map
        _assert_every_image_decodes(page, expected=3)
        assert "report.pdf#page=1" in page.inner_text("#hits")
        assert "5 hits" in page.inner_text("#status")
        page.fill("#query", "")
        page.click("#submit")
        assert "Type a query" in page.inner_text("#status")
    assert errors == []


def test_page_asks_for_the_key_when_the_server_has_one(browser_page, tiny_v4, index_dir):
    page, errors = browser_page
    with live_server(tiny_v4, index=str(index_dir), api_key="page-key") as server:
        page.goto(f"{server.url}/")
        page.fill("#api-key", "page-key")
        page.fill("#query", "cats")
        page.click("#submit")
        page.wait_for_selector("li.hit", timeout=30_000)
    assert errors == []


def test_static_results_page_renders_offline(browser_page, search_server, tmp_path):
    from jina_local.server import render_results_page

    page, errors = browser_page
    results = httpx.post(f"{search_server.url}/v1/search", json={"query": "cats sleep"}, timeout=60).json()
    out = Path(tmp_path / "hits.html")
    out.write_text(render_results_page(results), encoding="utf-8")
    page.goto(out.as_uri())
    page.wait_for_selector("li.hit")
    assert page.locator("li.hit").count() == len(results["hits"]) == 5
    assert page.locator("#search-form").is_hidden()
    _assert_every_image_decodes(page, expected=3)
    assert page.locator("li.hit.image canvas.heatmap").count() == 3
    assert errors == []


def test_missing_chromium_fails_under_ci_and_skips_elsewhere(monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", None)
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="CI is set and chromium is not on PATH"):
        _sync_playwright()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="chromium is not on PATH"):
        _sync_playwright()
