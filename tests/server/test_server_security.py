"""Security settings: loopback by default, API keys, URL inputs, CORS."""

from __future__ import annotations

import base64
import io

import httpx
import pytest
from PIL import Image
from server_helpers import live_server

from jina_local.cli import main
from jina_local.server import ServerConfig, ServerConfigError

KEY = "s3cret-key-for-tests"


def test_non_loopback_host_needs_an_api_key(monkeypatch):
    monkeypatch.delenv("JINA_LOCAL_API_KEY", raising=False)
    for host in ("0.0.0.0", "::", "192.168.1.20", "example.com"):
        with pytest.raises(ServerConfigError, match="API key"):
            ServerConfig(host=host).check()
    ServerConfig(host="0.0.0.0", api_key=KEY).check()
    ServerConfig(host="::1").check()
    monkeypatch.setenv("JINA_LOCAL_API_KEY", KEY)
    assert ServerConfig(host="0.0.0.0").api_key == KEY


def test_cli_refuses_a_public_host_before_loading_anything(monkeypatch, capsys):
    monkeypatch.delenv("JINA_LOCAL_API_KEY", raising=False)
    assert main(["serve", "--model", "/nonexistent/model", "--host", "0.0.0.0"]) == 1
    assert "--api-key" in capsys.readouterr().err


def test_bearer_key_is_required_when_set(tiny_v4):
    openai = pytest.importorskip("openai")
    with live_server(tiny_v4, api_key=KEY) as server:
        url = f"{server.url}/v1/embeddings"
        missing = httpx.post(url, json={"input": ["x"]})
        wrong = httpx.post(url, json={"input": ["x"]}, headers={"Authorization": f"Bearer {KEY}x"})
        basic = httpx.post(url, json={"input": ["x"]}, headers={"Authorization": f"Basic {KEY}"})
        for response in (missing, wrong, basic):
            assert response.status_code == 401
            assert response.headers["www-authenticate"] == "Bearer"
            assert KEY not in response.text
        assert httpx.get(f"{server.url}/v1/models").status_code == 401
        assert httpx.get(f"{server.url}/metrics").status_code == 401
        assert httpx.get(f"{server.url}/health").status_code == 200  # load balancers probe without a key
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0)
        assert len(client.embeddings.create(model="jina-embeddings-v4", input=["x"]).data) == 1
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"{server.url}/v1", api_key="nope", max_retries=0).embeddings.create(
                model="jina-embeddings-v4", input=["x"]
            )


def test_the_key_is_checked_before_readiness(tiny_v4, index_dir):
    """Without the key a client gets 401, never 503 loading/draining: it learns nothing about the server."""
    with live_server(tiny_v4, api_key=KEY, index=str(index_dir)) as server:
        good = {"Authorization": f"Bearer {KEY}"}
        for flag, value, code in (("ready", False, "not_ready"), ("draining", True, "draining")):
            setattr(server.state, flag, value)
            try:
                for path, body in (("/v1/embeddings", {"input": ["x"]}), ("/v1/search", {"query": "x"})):
                    anonymous = httpx.post(f"{server.url}{path}", json=body)
                    assert anonymous.status_code == 401, (flag, path, anonymous.text)
                    assert anonymous.json()["error"]["code"] == "invalid_api_key"
                    keyed = httpx.post(f"{server.url}{path}", json=body, headers=good)
                    assert keyed.status_code == 503 and keyed.json()["error"]["code"] == code, keyed.text
            finally:
                setattr(server.state, flag, not value)
        assert httpx.post(f"{server.url}/v1/embeddings", json={"input": ["x"]}, headers=good).status_code == 200


def test_url_inputs_are_refused_without_allow_urls(v4_server):
    for item in ({"image": "https://example.com/cat.png"}, {"url": "http://127.0.0.1:1/x.png"}):
        response = httpx.post(f"{v4_server.url}/v1/embeddings", json={"input": ["ok", item]})
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "urls_refused" and response.json()["item"] == 1
        assert "--allow-urls" in response.json()["detail"]


def test_allow_urls_applies_the_fetch_policy(tiny_v4):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG")
    with live_server(tiny_v4, allow_urls=True) as server:  # loopback is a private address: refused by default
        refused = httpx.post(f"{server.url}/v1/embeddings", json={"input": ["ok", {"image": f"{server.url}/health"}]})
        assert refused.status_code == 422, refused.text
        body = refused.json()
        assert body["item"] == 1 and body["field"] == "input[1].image" and body["error"]["code"] == "fetch_failed"
        assert "loopback" in body["detail"] and "allow_private_networks" in body["detail"]
        search_less = httpx.post(
            f"{server.url}/v1/embeddings", json={"input": [{"image": base64.b64encode(buffer.getvalue()).decode()}]}
        )
        assert search_less.status_code == 200


def test_cors_is_off_by_default_and_opt_in_per_origin(v4_server, tiny_v4):
    origin = {"Origin": "http://app.example"}
    plain = httpx.post(f"{v4_server.url}/v1/embeddings", json={"input": ["x"]}, headers=origin)
    assert "access-control-allow-origin" not in plain.headers
    preflight = httpx.options(
        f"{v4_server.url}/v1/embeddings", headers={**origin, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers
    with live_server(tiny_v4, cors_origins=("http://app.example",)) as server:
        allowed = httpx.post(f"{server.url}/v1/embeddings", json={"input": ["x"]}, headers=origin)
        other = httpx.post(
            f"{server.url}/v1/embeddings", json={"input": ["x"]}, headers={"Origin": "http://evil.example"}
        )
    assert allowed.headers["access-control-allow-origin"] == "http://app.example"
    assert "access-control-allow-origin" not in other.headers


def test_search_page_forbids_outside_resources(tmp_path):
    from jina_local.server import render_results_page

    page = render_results_page(
        {"query": "</script><script>alert(1)</script>", "mode": "dense", "score_legend": "", "hits": []}
    )
    assert "default-src 'none'" in page and "connect-src 'self'" in page
    assert "<script>alert(1)</script>" not in page
    assert "http://" not in page and "https://" not in page
