"""task="auto": each item goes to the adapter of its kind and role; an explicit task always wins."""

from __future__ import annotations

import base64
import http.server
import io
import threading

import numpy as np
import pytest
from PIL import Image

from jina_local.errors import InputError
from jina_local.routing import ROUTES, route

CODE = "def add(a, b):\n    return a + b"
PROSE = "Cats sleep up to sixteen hours a day, mostly in the afternoon."


def _png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((56, 56, 3), 120, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_documents_route_by_kind(tiny_v4):
    result = tiny_v4.encode_document([CODE, PROSE, _png_bytes()])
    assert result.kinds == ["code", "text", "image"]
    assert result.tasks == ["code", "retrieval", "retrieval"]


def test_auto_equals_the_explicit_task_it_chose(tiny_v4):
    auto = tiny_v4.encode_document([CODE, PROSE], output="both")
    explicit = tiny_v4.encode_document([CODE, PROSE], task=["code", "retrieval"], output="both")
    np.testing.assert_allclose(auto.dense, explicit.dense, atol=1e-6)
    np.testing.assert_allclose(auto.multi[0], explicit.multi[0], atol=1e-6)


def test_queries_default_to_retrieval_whatever_they_look_like(tiny_v4):
    assert tiny_v4.encode_query([CODE, PROSE]).tasks == ["retrieval", "retrieval"]


def test_symmetric_uses_text_matching(tiny_v4):
    result = tiny_v4.encode([CODE, PROSE], symmetric=True)
    assert result.tasks == ["text-matching", "text-matching"]


def test_explicit_task_beats_auto(tiny_v4):
    assert tiny_v4.encode_document([CODE, PROSE], task="retrieval").tasks == ["retrieval", "retrieval"]
    assert tiny_v4.encode_document([CODE, PROSE], task=[None, "code"]).tasks == ["code", "code"]
    assert tiny_v4.encode_document([CODE, PROSE], task=["auto", "text-matching"]).tasks == ["code", "text-matching"]


def test_route_falls_back_to_default_task_for_models_without_it(tiny_v4):
    import dataclasses

    clip_like = dataclasses.replace(tiny_v4.info, tasks=("retrieval",))
    assert route("code", "document", clip_like) == "retrieval"
    assert route("text", "query", clip_like, symmetric=True) == "retrieval"


def test_routing_table_covers_every_role_and_kind():
    assert {(r, k) for r in ("query", "document") for k in ("text", "code", "image")} == set(ROUTES)


def test_data_uri_is_an_image(tiny_v4):
    uri = "data:image/png;base64," + base64.b64encode(_png_bytes()).decode()
    a = tiny_v4.encode(uri)
    b = tiny_v4.encode(_png_bytes())
    assert a.kinds == ["image"]
    np.testing.assert_allclose(a.dense, b.dense, atol=1e-6)


def test_bad_data_uri_names_the_item(tiny_v4):
    with pytest.raises(InputError, match="item 1 .*base64"):
        tiny_v4.encode(["fine", "data:image/png,rawnotbase64"])


def test_image_path_strings_only_with_images_auto(tiny_v4, tmp_path):
    path = tmp_path / "pic.png"
    path.write_bytes(_png_bytes())
    assert tiny_v4.encode(str(path)).kinds != ["image"]  # images="off": a path string stays a string
    assert tiny_v4.encode(str(path), images="auto").kinds == ["image"]


def test_image_url_is_fetched_with_images_auto(tiny_v4, monkeypatch):
    import jina_local.fetch
    from jina_local.errors import URLNotAllowedError

    payload = _png_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/chart.png"
        with pytest.raises(URLNotAllowedError, match="loopback"):  # the default FetchPolicy refuses 127.0.0.1
            tiny_v4.encode(url, images="auto")
        local = jina_local.FetchPolicy(allowed_networks=("127.0.0.1/32",))
        monkeypatch.setattr(jina_local.fetch, "DEFAULT_FETCH_POLICY", local)  # until encode(fetch=...) lands
        fetched = tiny_v4.encode(url, images="auto")
        assert fetched.kinds == ["image"]
        np.testing.assert_allclose(fetched.dense, tiny_v4.encode(payload).dense, atol=1e-6)
        assert tiny_v4.encode(url).kinds != ["image"]  # images="off" by default: a URL string is a string
    finally:
        server.shutdown()


def test_unreachable_url_names_the_item(tiny_v4, monkeypatch):
    import jina_local.fetch

    local = jina_local.FetchPolicy(allowed_networks=("127.0.0.1/32",))
    monkeypatch.setattr(jina_local.fetch, "DEFAULT_FETCH_POLICY", local)  # until encode(fetch=...) lands
    with pytest.raises(InputError, match="item 0 .*could not be downloaded"):
        tiny_v4.encode("http://127.0.0.1:9/missing.png", images="auto")
