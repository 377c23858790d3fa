"""``jina-local search`` driven as a user would (subprocesses), with both model families: the JSON shape,
locations, clean snippets, image payloads, image queries, the text output, and the ``--html`` page in
headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from cli_helpers import assert_clean, run_cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HIT_FIELDS = {"rank", "id", "score", "raw_score", "score_kind", "kind", "task", "location", "location_label",
              "snippet", "highlights", "image", "thumbnail", "heatmap", "payload"}  # fmt: skip
GARBAGE = ("%PDF", "endobj", " 0 obj", "/Kids", "\x00", "\ufffd", "Ã©", "Ã¨")


@pytest.fixture(scope="module")
def searched(cli_corpus, tmp_path_factory):
    """``search --json --html`` over every point, run from a folder that is neither the corpus nor the index."""
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    page = elsewhere / "hits.html"
    result = run_cli("search", "how long do cats sleep", "--index", cli_corpus.index, "--limit", "50", "--json",
                     "--html", "hits.html", cwd=elsewhere)  # fmt: skip
    assert_clean(result, 0)
    return cli_corpus, json.loads(result.stdout), page, result


def test_search_json_has_every_field_and_readable_locations(searched):
    corpus, results, page, result = searched
    assert set(results) == {"query", "mode", "score_legend", "hits"}
    assert results["query"] == "how long do cats sleep"
    assert results["mode"] == ("two_stage" if corpus.multi else "dense")
    assert "score:" in results["score_legend"] and "raw_score:" in results["score_legend"]
    hits = results["hits"]
    assert len(hits) == corpus.summary["points"]  # --limit 50 returns every point
    assert [h["rank"] for h in hits] == list(range(1, len(hits) + 1))
    for hit in hits:
        assert set(hit) == HIT_FIELDS
        assert hit["score_kind"] == ("maxsim" if corpus.multi else "cosine")
        assert hit["location"]["path"].startswith(str(corpus.corpus.resolve()))
    labels = {Path(h["location_label"]).name for h in hits}
    assert {"report.pdf#page=1", "report.pdf#page=2", "report.pdf#page=3", "chart.png"} <= labels
    assert any(re.fullmatch(r"code\.py:\d+(-\d+)?", label) for label in labels)
    assert any(re.fullmatch(r"notes\.md:\d+(-\d+)?", label) for label in labels)
    assert "results page written to" in result.stderr and page.is_file()


def test_snippets_hold_no_pdf_syntax_or_mojibake(searched):
    _, results, _, _ = searched
    snippets = {Path(h["location"]["path"]).name: h["snippet"] for h in results["hits"] if h["snippet"]}
    for name, snippet in snippets.items():
        assert not any(bad in snippet for bad in GARBAGE), (name, snippet)
    assert "Café crème à la française" in snippets["latin1.txt"]
    assert "meeting moved to Tuesday" in snippets["utf16.txt"]
    assert {"blob.dat", "empty.txt", "corrupt.pdf", "locked.pdf", "escape.txt", "ignored.md"}.isdisjoint(snippets)


def test_image_hits_carry_real_paths_and_thumbnails(searched):
    corpus, results, _, _ = searched
    images = [h for h in results["hits"] if h["kind"] == "image"]
    assert len(images) == 4  # chart.png and the three pages of report.pdf
    for hit in images:
        assert Path(hit["image"]).is_file() and Path(hit["payload"]["image"]).is_file()
        assert hit["thumbnail"].startswith("data:image/jpeg;base64,")
    chart = next(h for h in images if h["location_label"].endswith("chart.png"))
    assert chart["payload"]["image"] == str((corpus.corpus / "chart.png").resolve())
    assert (chart["heatmap"] is not None) is corpus.multi  # MaxSim heat map where there are token vectors


def test_an_image_path_query_is_searched_as_the_image_with_a_note(cli_corpus):
    result = run_cli("search", "chart.png", "--index", cli_corpus.index, "--limit", "3", "--mode", "dense",
                     cwd=cli_corpus.corpus)  # fmt: skip
    assert_clean(result, 0)
    assert "is an image file, so it is searched as an image" in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"3 hit(s) for image chart.png in {cli_corpus.index.resolve()} [docs], mode dense"
    assert lines[1].startswith("score:") and "raw_score: cosine" in result.stdout
    ranked = [line for line in lines if re.match(r"\s*\d+\. score ", line)]
    assert len(ranked) == 3
    assert re.match(r"\s+1\. score \S+ {2}\(cosine 1\.0000\) {2}\[image/retrieval\] {2}chart\.png$", ranked[0])


def test_search_by_image_option_and_text_hits_with_snippets(cli_corpus, tmp_path):
    image = cli_corpus.corpus / "chart.png"
    result = run_cli("search", "--image", image, "--index", cli_corpus.index, "--limit", "2", "--filter", "kind=image",
                     "--json", cwd=tmp_path)  # fmt: skip
    assert_clean(result, 0)
    hits = json.loads(result.stdout)["hits"]
    assert [h["kind"] for h in hits] == ["image", "image"] and hits[0]["image"] == str(image.resolve())
    text = run_cli("search", "sleep sixteen hours", "--index", cli_corpus.index, "--limit", "3",
                   "--filter", "file_type=markdown", cwd=tmp_path)  # fmt: skip
    assert_clean(text, 0)
    assert "notes.md:" in text.stdout and "Cats sleep sixteen hours a day." in text.stdout


# --------------------------------------------------------------------------- the page in Chromium
def _chromium_or_skip():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("needs playwright")
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Debian's chromium (apt-get install -y chromium)")
        pytest.skip("needs Debian's chromium (apt-get install -y chromium)")
    return sync_playwright


def test_html_page_renders_every_hit_offline(searched, tmp_path):
    sync_playwright = _chromium_or_skip()
    corpus, results, page_file, _ = searched
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
    errors: list[str] = []
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=flags, headless=True
        )
        try:
            page = context.new_page()
            page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
            page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
            page.goto(page_file.as_uri())
            page.wait_for_selector("li.hit")
            assert page.locator("li.hit").count() == len(results["hits"])
            assert page.locator("#search-form").is_hidden() and "raw_score" in page.inner_text("#legend")
            wheres = page.locator("li.hit .where").all_inner_texts()
            assert any(w.endswith("chart.png") for w in wheres) and any("report.pdf#page=" in w for w in wheres)
            images = page.locator("li.hit.image figure.thumb img")
            assert images.count() == 4
            decoded = page.evaluate("() => Array.from(document.images).map((img) => img.complete && img.naturalWidth)")
            assert len(decoded) == 4 and all(w and w > 0 for w in decoded), decoded
            assert (page.locator("li.hit.image canvas.heatmap").count() >= 1) is corpus.multi
            assert page.locator("li.hit.text pre.snippet").count() >= 1
        finally:
            context.close()
    assert errors == []
