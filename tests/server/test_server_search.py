"""``--index``: POST /v1/search, the page at /, and ``jina-local search --server URL``."""

from __future__ import annotations

import base64
import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from PIL import Image

from jina_local.cli import main


def _search(url: str, **body) -> httpx.Response:
    return httpx.post(f"{url}/v1/search", json=body, timeout=60)


def _by_name(hits: list[dict]) -> dict[str, dict]:
    """Hits by file name, PDF pages as ``report.pdf#page=N``."""
    return {Path(h["location_label"].split(":")[0]).name: h for h in hits}


def test_search_returns_the_hits_json_shape(search_server, tiny_v4):
    response = _search(search_server.url, query="how long do cats sleep", limit=10)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["query"] == "how long do cats sleep" and result["mode"] == "two_stage"
    assert "raw_score" in result["score_legend"] and "MaxSim" in result["score_legend"]
    hits = result["hits"]
    assert [h["rank"] for h in hits] == list(range(1, len(hits) + 1)) and len(hits) == 5
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    by_name = _by_name(hits)
    assert set(by_name) == {"notes.md", "math.py", "chart.png", "report.pdf#page=1", "report.pdf#page=2"}
    assert [by_name[n]["kind"] for n in ("notes.md", "math.py", "chart.png")] == ["text", "code", "image"]
    text = by_name["notes.md"]
    assert text["score_kind"] == "maxsim" and text["task"] == "retrieval"
    assert text["location_label"].endswith("notes.md:1-3") and text["location"]["chunk"] == 0
    assert text["location"]["lines"] == [1, 3] and Path(text["location"]["path"]).is_absolute()
    marked = [text["snippet"][a:b] for a, b in text["highlights"]]
    assert marked and all(m.strip() == m and any(c.isalnum() for c in m) for m in marked)  # whole words
    assert all(0 <= a < b <= len(text["snippet"]) for a, b in text["highlights"])
    image = by_name["chart.png"]
    assert image["image"].endswith("chart.png") and Path(image["image"]).is_absolute()
    assert image["thumbnail"].startswith("data:image/jpeg;base64,")
    thumb = Image.open(io.BytesIO(base64.b64decode(image["thumbnail"].split(",", 1)[1])))
    assert thumb.size == (84, 56)  # small images keep their size
    heat = image["heatmap"]  # per-patch MaxSim contributions over the image's patch grid
    assert (heat["rows"], heat["cols"]) == tiny_v4.image_patch_grid((84, 56))[1:]
    assert heat["rows"] * heat["cols"] == len(heat["values"]) and min(heat["values"]) == 0 and max(heat["values"]) == 1
    assert by_name["math.py"]["task"] == "code" and by_name["math.py"]["snippet"].startswith("def add")


def test_pdf_page_hits_have_a_thumbnail_and_a_heat_map_over_the_indexed_render(search_server, tiny_v4):
    from jina_local.documents import PdfRenderer, page_pixels

    hits = _by_name(_search(search_server.url, query="quarterly revenue", limit=10).json()["hits"])
    for page in (1, 2):
        hit = hits[f"report.pdf#page={page}"]
        assert hit["kind"] == "image" and hit["location"]["page"] == page and hit["image"].endswith("report.pdf")
        assert hit["thumbnail"].startswith("data:image/jpeg;base64,")
        thumb = Image.open(io.BytesIO(base64.b64decode(hit["thumbnail"].split(",", 1)[1])))
        thumb.load()
        assert max(thumb.size) == 320  # a page is larger than a thumbnail: reduced to 320 px
        with PdfRenderer() as renderer:  # the render indexing embedded: the model's page pixel budget
            indexed = renderer.render(Path(hit["image"]), page, page_pixels(tiny_v4.info))
        first, rows, cols = tiny_v4.image_patch_grid(indexed.size)
        heat = hit["heatmap"]
        assert heat is not None, "a PDF page hit has no heat map"
        assert (heat["rows"], heat["cols"]) == (rows, cols) and len(heat["values"]) == rows * cols
        assert min(heat["values"]) == 0 and max(heat["values"]) == 1
        stored = search_server.state.collection.get([hit["id"]], with_vectors=True)[0]["vector"]["multi"]
        assert first + rows * cols <= len(stored)  # the grid indexes the page's own token vectors
        assert abs(thumb.size[0] / thumb.size[1] - indexed.size[0] / indexed.size[1]) < 0.02


def test_search_modes_filters_and_image_queries(search_server):
    dense = _search(search_server.url, query="cats", mode="dense").json()
    assert dense["mode"] == "dense" and all(h["score_kind"] == "cosine" for h in dense["hits"])
    only_code = _search(
        search_server.url, query="add numbers", filter={"must": [{"key": "kind", "match": {"value": "code"}}]}
    ).json()
    assert [h["kind"] for h in only_code["hits"]] == ["code"]
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (120, 120, 120)).save(buffer, format="PNG")
    by_image = _search(search_server.url, image=base64.b64encode(buffer.getvalue()).decode(), limit=2)
    assert by_image.status_code == 200 and by_image.json()["query"] == "[image]"
    assert len(by_image.json()["hits"]) == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"limit": 3}, "query"),
        ({"query": "x", "image": "aGk="}, "query"),
        ({"query": "x", "limit": 0}, "limit"),
        ({"query": "x", "mode": "fast"}, "mode"),
        ({"query": "x", "filter": {"must": [{"key": "kind", "match": {"nope": 1}}]}}, "filter"),
        ({"query": "x", "sort": "date"}, "sort"),
        ({"image": "https://example.com/a.png"}, "image"),
    ],
)
def test_invalid_search_requests_name_the_field(search_server, body, field):
    response = _search(search_server.url, **body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


def test_search_without_index_is_404(v4_server):
    response = _search(v4_server.url, query="x")
    assert response.status_code == 404 and "--index" in response.json()["detail"]
    assert httpx.get(f"{v4_server.url}/").json()["service"] == "jina-local"


def test_page_is_served_with_the_index(search_server):
    page = httpx.get(f"{search_server.url}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="search-form"' in page.text and '"mode": "server"' in page.text


def test_cli_search_through_a_running_server(search_server, capsys):
    assert main(["search", "how long do cats sleep", "--server", search_server.url, "--limit", "5"]) == 0
    out = capsys.readouterr().out
    ranked = [line for line in out.splitlines() if line.strip()[:2].rstrip(".").isdigit()]
    assert len(ranked) == 5 and any("[image/retrieval]" in line and "chart.png" in line for line in ranked)
    assert "Cats sleep sixteen hours" in out


def test_cli_image_filter_json_and_html_through_a_running_server(search_server, index_dir, tmp_path, capsys):
    import json

    chart = index_dir.parent / "corpus" / "chart.png"
    args = ["search", "--image", str(chart), "--server", search_server.url, "--filter", "kind=image", "--json"]
    assert main([*args, "--html", str(tmp_path / "hits.html")]) == 0
    results = json.loads(capsys.readouterr().out)
    # the chart and the two PDF pages are the corpus's images; the chart itself comes first
    assert [h["kind"] for h in results["hits"]] == ["image"] * 3 and results["query"] == "[image]"
    assert results["hits"][0]["location"]["path"].endswith("chart.png")
    assert results["hits"][0]["thumbnail"].startswith("data:image/jpeg")
    assert "data:image/jpeg" in (tmp_path / "hits.html").read_text(encoding="utf-8")


def test_cli_search_server_errors_are_clean(capsys):
    from server_helpers import free_port

    assert main(["search", "x", "--server", f"http://127.0.0.1:{free_port()}"]) == 1
    assert "could not reach" in capsys.readouterr().err


def _same_hits(got: dict, want: dict) -> None:
    assert [h["id"] for h in got["hits"]] == [h["id"] for h in want["hits"]]
    for g, w in zip(got["hits"], want["hits"]):
        assert abs(g["score"] - w["score"]) <= 1e-4 and abs(g["raw_score"] - w["raw_score"]) <= 1e-4
        assert g["snippet"] == w["snippet"] and g["thumbnail"] == w["thumbnail"]
        assert (g["heatmap"] is None) == (w["heatmap"] is None)
        if g["heatmap"]:
            assert (g["heatmap"]["rows"], g["heatmap"]["cols"]) == (w["heatmap"]["rows"], w["heatmap"]["cols"])
            assert max(abs(a - b) for a, b in zip(g["heatmap"]["values"], w["heatmap"]["values"])) <= 0.01


def test_concurrent_searches_share_forwards_and_match_serial_results(search_server, tiny_v4, monkeypatch):
    """The query is encoded outside the store's lock: while one search holds the model, the others' query
    items reach the engine too, and they run in one forward."""
    from server_helpers import Gate, wait_for

    queries = ["how long do cats sleep", "add two numbers", "a grey gradient chart"]
    serial = {q: _search(search_server.url, query=q).json() for q in queries}
    gate = Gate(tiny_v4.backend)
    monkeypatch.setattr(tiny_v4.backend, "forward", gate)
    events = []
    remove = tiny_v4.add_batch_listener(events.append)
    try:
        with ThreadPoolExecutor(3) as pool:
            first = pool.submit(_search, search_server.url, query=queries[0])
            assert gate.entered.wait(30)  # the first search holds the model
            others = [pool.submit(_search, search_server.url, query=q) for q in queries[1:]]
            # both other queries wait in the engine, not on the store's lock
            queued = wait_for(lambda: tiny_v4.stats().pending_items >= 2, timeout=30)
            gate.open.set()
            responses = [first.result(timeout=120)] + [f.result(timeout=120) for f in others]
    finally:
        gate.open.set()
        remove()
    assert queued, "a search waited for another one's forward before reaching the model"
    assert max(e.callers for e in events) >= 2  # one forward carried the query items of two searches
    for query, response in zip(queries, responses):
        assert response.status_code == 200, response.text
        _same_hits(response.json(), serial[query])
