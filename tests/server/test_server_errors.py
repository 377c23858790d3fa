"""Invalid requests get 400/413/422 with a JSON body naming the item and field; a 500 never shows a trace."""

from __future__ import annotations

import base64
import io

import httpx
import pytest
from PIL import Image
from server_helpers import live_server


def _post(url: str, body=None, *, content=None, path="/v1/embeddings"):
    if content is not None:
        return httpx.post(f"{url}{path}", content=content, headers={"Content-Type": "application/json"}, timeout=60)
    return httpx.post(f"{url}{path}", json=body, timeout=60)


@pytest.mark.parametrize(
    ("body", "status", "field", "item", "words"),
    [
        ({"input": ["ok", 5]}, 422, "input[1]", 1, "type int"),
        ({"input": ["ok", {"text": 3}]}, 422, "input[1].text", 1, "must be a string"),
        ({"input": ["ok", {"image": "not base64!!"}]}, 422, "input[1].image", 1, "base64"),
        ({"input": [{"image": base64.b64encode(b"plain bytes").decode()}]}, 422, "input[0].image", 0, "readable image"),
        ({"input": ["ok", {"video": "x"}]}, 422, "input[1]", 1, "keys ['video']"),
        ({"input": ["data:image/png;base64,@@"]}, 422, "input[0]", 0, "base64"),
        ({"input": [1, 2, 3]}, 422, "input", None, "token-id"),
        ({"input": []}, 422, "input", None, "non-empty"),
        ({"inputs": ["x"]}, 422, "inputs", None, "unknown field"),
        ({"input": ["x"], "task": "retrieval"}, 422, "task", None, "retrieval.query"),
        ({"input": ["x"], "dimensions": 7}, 422, "dimensions", None, "8, 16, 32, 64"),
        ({"input": ["x"], "embedding_type": "int4"}, 422, "embedding_type", None, "ubinary"),
        (
            {"input": ["x"], "encoding_format": "float", "embedding_type": "binary"},
            422,
            "embedding_type",
            None,
            "disagree",
        ),
        ({"input": ["x"], "truncate": "yes"}, 422, "truncate", None, "true or false"),
        ({"input": ["x"], "normalized": False}, 422, "normalized", None, "L2-normalised"),
        ({"input": ["x"], "return_multivector": True, "dimensions": 8}, 422, "dimensions", None, "128-d"),
        ({"input": ["x"], "model": "text-embedding-3-small"}, 404, "model", None, "not served"),
        (["x"], 400, None, None, "JSON object"),
    ],
)
def test_invalid_request_names_item_and_field(v4_server, body, status, field, item, words):
    response = _post(v4_server.url, body)
    assert response.status_code == status, response.text
    data = response.json()
    assert data["field"] == field and data["item"] == item
    assert words in data["detail"] and data["error"]["param"] == field
    assert "Traceback" not in response.text


def test_late_chunking_is_served(v4_server, tiny_v4):
    """``late_chunking=true`` embeds the inputs as consecutive chunks of one document (Jina's API semantics):
    the rows equal in-process ``encode(..., late_chunking=True)`` of the same inputs and task."""
    import numpy as np

    chunks = ["Berlin is the capital of Germany.", "Its population is 3.8 million.", "It lies on the Spree."]
    cases = [
        ({}, {"role": "query", "task": "text-matching"}),  # no task: text-matching
        ({"task": "retrieval.passage", "dimensions": 32}, {"role": "document", "task": "retrieval", "dim": 32}),
        ({"task": "code.query"}, {"role": "query", "task": "code"}),
    ]
    for extra, kwargs in cases:
        late = _post(v4_server.url, {"input": chunks, "late_chunking": True, "embedding_type": "float", **extra})
        assert late.status_code == 200, late.text
        got = np.array([d["embedding"] for d in late.json()["data"]], dtype=np.float32)
        want = tiny_v4.encode(chunks, late_chunking=True, **kwargs).dense
        plain = tiny_v4.encode(chunks, **kwargs).dense
        assert got.shape == want.shape
        assert float(np.abs(got - want).max()) <= 1e-6, extra
        assert float(np.abs(got - plain).max()) > 1e-4  # and it is not the plain encoding
    multi = _post(v4_server.url, {"input": chunks, "late_chunking": True, "return_multivector": True})
    want_multi = tiny_v4.encode(chunks, late_chunking=True, role="query", task="text-matching", output="multi").multi
    for row, want_rows in zip(multi.json()["data"], want_multi):
        assert float(np.abs(np.asarray(row["embedding"], dtype=np.float32) - want_rows).max()) <= 1e-6
    empty = _post(v4_server.url, {"input": ["fine", " "], "late_chunking": True})
    assert empty.status_code == 422 and "empty chunk" in empty.text
    image = _post(v4_server.url, {"input": ["fine", {"image": _png()}], "late_chunking": True})
    assert image.status_code == 422 and image.json()["field"] == "late_chunking"


def _png() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_invalid_json_is_400(v4_server):
    response = _post(v4_server.url, content=b'{"input": [')
    assert response.status_code == 400 and "not valid JSON" in response.json()["detail"]


def test_per_request_limits(tiny_v4):
    with live_server(
        tiny_v4, max_request_items=3, max_request_bytes=2000, max_request_tokens=20, max_queue_items=10
    ) as server:
        many = _post(server.url, {"input": ["a", "b", "c", "d"]})
        assert many.status_code == 413 and "at most 3" in many.json()["detail"]
        big = _post(server.url, {"input": ["x" * 3000]})
        assert big.status_code == 413 and big.json()["error"]["code"] == "body_too_large"
        tokens = _post(server.url, {"input": ["word " * 15, "word " * 15]})
        assert tokens.status_code == 413 and "20 tokens" in tokens.json()["detail"]
        ok = _post(server.url, {"input": ["word " * 5]})
        assert ok.status_code == 200
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20)).save(buffer, format="PNG")
    png = base64.b64encode(buffer.getvalue()).decode()
    with live_server(tiny_v4, max_image_pixels=399) as server:  # 20 x 20 = 400 pixels, read from the header
        for item, field in (({"image": png}, "input[0].image"), (f"data:image/png;base64,{png}", "input[0]")):
            big = _post(server.url, {"input": [item]})
            assert big.status_code == 413 and big.json()["field"] == field, big.text


def test_too_long_text_needs_truncate(tiny_v4):
    with live_server(tiny_v4, max_input_tokens=16) as server:
        long_text = "word " * 40
        refused = _post(server.url, {"input": ["short", long_text]})
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "input[1]" and "truncate=true" in refused.json()["detail"]
        accepted = _post(server.url, {"input": ["short", long_text], "truncate": True, "embedding_type": "float"})
        assert accepted.status_code == 200
        assert accepted.json()["usage"]["total_tokens"] == 1 + 16
    want = tiny_v4.encode(["short", long_text], role="query", task="text-matching", max_length=16).dense
    got = [d["embedding"] for d in accepted.json()["data"]]
    assert max(abs(a - b) for row, wrow in zip(got, want) for a, b in zip(row, wrow)) <= 1e-6


def test_unexpected_failure_is_a_500_without_trace(tiny_v4, monkeypatch):
    with live_server(tiny_v4) as server:

        def broken(*args, **kwargs):
            raise RuntimeError("secret internal detail /etc/passwd")

        monkeypatch.setattr(server.state.runner, "encode_items", broken)
        response = _post(server.url, {"input": ["x"]})
    assert response.status_code == 500
    assert "secret" not in response.text and "Traceback" not in response.text
    assert response.json()["error"]["code"] == "internal_error"


def test_unknown_route_and_method_are_json(v4_server):
    missing = httpx.get(f"{v4_server.url}/v2/nothing")
    assert missing.status_code == 404 and missing.json()["detail"]
    wrong = httpx.get(f"{v4_server.url}/v1/embeddings")
    assert wrong.status_code == 405
