"""The search page in headless Chromium (Debian's ``chromium``, driven by Playwright): live and static."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from server_helpers import live_server

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install -y chromium)")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture()
def browser_page(tmp_path):
    """A page of a fresh headless Chromium profile, with every console error and page error collected."""
    with playwright_api.sync_playwright() as p:
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
        assert hits.count() == 3
        text_hit = page.locator("li.hit.text")
        assert "Cats sleep sixteen hours" in text_hit.locator("pre.snippet").inner_text()
        assert text_hit.locator("mark").count() >= 1  # the words that matched the query best
        assert page.locator("li.hit.image canvas.heatmap").count() == 1
        thumb = page.locator("li.hit.image figure.thumb img")
        assert thumb.get_attribute("src").startswith("data:image/jpeg;base64,")
        assert page.evaluate("(img) => img.naturalWidth > 0", thumb.element_handle())
        assert "3 hits" in page.inner_text("#status")
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
    assert page.locator("li.hit").count() == len(results["hits"])
    assert page.locator("#search-form").is_hidden()
    assert page.locator("li.hit.image img").get_attribute("src").startswith("data:image/jpeg")
    assert errors == []
