"""``--allow-urls``: URL inputs go through the URL policy, against hostile servers on 127.0.0.1.

The test servers opt in to 127.0.0.1 with ``fetch_allow_networks`` (``--fetch-allow-network``); a short
deadline and a small byte cap (``--fetch-deadline``, ``--fetch-max-bytes``) bound what they can do.
"""

from __future__ import annotations

import time

import httpx
import numpy as np
import pytest
from server_helpers import hostile_server, live_server, parse_serve, png_bytes

from jina_local.server import ServerConfig, ServerConfigError

DEADLINE_S = 1.0
CAP = 1 << 20


@pytest.fixture(scope="module")
def hostile():
    with hostile_server() as base:
        yield base


@pytest.fixture(scope="module")
def url_server(tiny_v4):
    with live_server(
        tiny_v4,
        allow_urls=True,
        fetch_allow_networks=("127.0.0.1/32",),
        fetch_deadline_s=DEADLINE_S,
        fetch_max_bytes=CAP,
    ) as server:
        yield server


def _timed_post(url: str, body: dict) -> tuple[httpx.Response, float]:
    start = time.monotonic()
    response = httpx.post(f"{url}/v1/embeddings", json=body, timeout=60)
    return response, time.monotonic() - start


def _assert_names_item(response: httpx.Response, item: int, where: str) -> dict:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["item"] == item and body["field"] == where and body["error"]["code"] == "fetch_failed"
    assert body["error"]["param"] == where and where in body["detail"]
    return body


def test_a_dripping_server_is_cut_off_at_the_deadline(url_server, hostile):
    response, elapsed = _timed_post(url_server.url, {"input": ["fine", {"image": f"{hostile}/drip"}]})
    body = _assert_names_item(response, 1, "input[1].image")
    assert "deadline of 1 s" in body["detail"], body["detail"]
    assert elapsed < DEADLINE_S + 2.0  # it drips for 10 s; the request ends at the deadline


def test_a_huge_body_is_cut_off_at_the_byte_cap(url_server, hostile):
    response, elapsed = _timed_post(url_server.url, {"input": [{"url": f"{hostile}/huge"}]})
    body = _assert_names_item(response, 0, "input[0].url")
    assert "larger than the cap of 1,048,576 bytes" in body["detail"], body["detail"]
    assert elapsed < 5.0  # 200 MB were offered; at most the cap was read


def test_an_allowed_url_is_fetched_and_embedded(url_server, hostile, tiny_v4):
    response, _ = _timed_post(url_server.url, {"input": [{"image": f"{hostile}/png"}], "task": "retrieval.passage"})
    assert response.status_code == 200, response.text
    want = tiny_v4.encode([png_bytes()], role="document", task="retrieval").dense
    got = np.asarray([d["embedding"] for d in response.json()["data"]], dtype=np.float32)
    assert float(np.abs(got - want).max()) <= 1e-6


def test_other_private_addresses_stay_refused(url_server):
    response, elapsed = _timed_post(url_server.url, {"input": [{"image": "http://10.0.0.1/cat.png"}]})
    body = _assert_names_item(response, 0, "input[0].image")
    assert "private" in body["detail"] and elapsed < 2.0  # refused before connecting


def test_the_url_policy_flags_reach_the_fetch_policy(monkeypatch):
    from jina_local.server.urls import fetch_policy

    config = parse_serve(
        monkeypatch,
        ["--model", "m", "--allow-urls", "--fetch-allow-network", "127.0.0.1/32", "--fetch-allow-network",
         "10.1.2.0/24", "--fetch-deadline", "1.5", "--fetch-max-bytes", "1048576"],
    )  # fmt: skip
    policy = fetch_policy(config)
    assert config.allow_urls and policy.allowed_networks == ("127.0.0.1/32", "10.1.2.0/24")
    assert policy.deadline == 1.5 and policy.max_bytes == CAP and not policy.allow_private_networks
    defaults = fetch_policy(parse_serve(monkeypatch, ["--model", "m", "--allow-urls", "--max-request-bytes", "1000"]))
    assert defaults.allowed_networks == () and defaults.deadline == 60.0 and defaults.max_bytes == 1000


def test_the_url_policy_settings_are_checked():
    with pytest.raises(ServerConfigError, match="fetch-allow-network"):
        ServerConfig(allow_urls=True, fetch_allow_networks=("not-a-network",)).check()
    with pytest.raises(ServerConfigError, match="fetch-deadline"):
        ServerConfig(allow_urls=True, fetch_deadline_s=0).check()
