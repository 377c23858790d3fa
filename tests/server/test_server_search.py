"""``--index``: POST /v1/search, the page at /, and ``jina-local search --server URL``."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import httpx
import pytest
from PIL import Image

from jina_local.cli import main


def _search(url: str, **body) -> httpx.Response:
    return httpx.post(f"{url}/v1/search", json=body, timeout=60)


def test_search_returns_the_hits_json_shape(search_server):
    response = _search(search_server.url, query="how long do cats sleep", limit=10)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["query"] == "how long do cats sleep" and result["mode"] == "two_stage"
    assert "raw_score" in result["score_legend"] and "MaxSim" in result["score_legend"]
    hits = result["hits"]
    assert [h["rank"] for h in hits] == list(range(1, len(hits) + 1)) and len(hits) == 3
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    by_kind = {h["kind"]: h for h in hits}
    assert set(by_kind) == {"text", "code", "image"}
    text = by_kind["text"]
    assert text["score_kind"] == "maxsim" and text["task"] == "retrieval"
    assert text["location_label"].endswith("notes.md:1-3") and text["location"]["chunk"] == 0
    assert text["location"]["lines"] == [1, 3] and Path(text["location"]["path"]).is_absolute()
    marked = [text["snippet"][a:b] for a, b in text["highlights"]]
    assert marked and all(m.strip() == m and any(c.isalnum() for c in m) for m in marked)  # whole words
    assert all(0 <= a < b <= len(text["snippet"]) for a, b in text["highlights"])
    image = by_kind["image"]
    assert image["image"].endswith("chart.png") and Path(image["image"]).is_absolute()
    assert image["thumbnail"].startswith("data:image/jpeg;base64,")
    thumb = Image.open(io.BytesIO(base64.b64decode(image["thumbnail"].split(",", 1)[1])))
    assert thumb.size == (84, 56)  # small images keep their size
    heat = image["heatmap"]  # per-patch MaxSim contributions over the image's patch grid
    assert heat["rows"] * heat["cols"] == len(heat["values"]) and min(heat["values"]) == 0 and max(heat["values"]) == 1
    assert by_kind["code"]["task"] == "code" and by_kind["code"]["snippet"].startswith("def add")


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
    assert main(["search", "how long do cats sleep", "--server", search_server.url, "--limit", "3"]) == 0
    out = capsys.readouterr().out
    ranked = [line for line in out.splitlines() if line.strip()[:2].rstrip(".").isdigit()]
    assert len(ranked) == 3 and any("[image/retrieval]" in line and "chart.png" in line for line in ranked)
    assert "Cats sleep sixteen hours" in out


def test_cli_image_filter_json_and_html_through_a_running_server(search_server, index_dir, tmp_path, capsys):
    import json

    chart = index_dir.parent / "corpus" / "chart.png"
    args = ["search", "--image", str(chart), "--server", search_server.url, "--filter", "kind=image", "--json"]
    assert main([*args, "--html", str(tmp_path / "hits.html")]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [h["kind"] for h in results["hits"]] == ["image"] and results["query"] == "[image]"
    assert results["hits"][0]["thumbnail"].startswith("data:image/jpeg")
    assert "data:image/jpeg" in (tmp_path / "hits.html").read_text(encoding="utf-8")


def test_cli_search_server_errors_are_clean(capsys):
    from server_helpers import free_port

    assert main(["search", "x", "--server", f"http://127.0.0.1:{free_port()}"]) == 1
    assert "could not reach" in capsys.readouterr().err
