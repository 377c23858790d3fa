"""The bounded queue (503 + Retry-After), cancellation on disconnect, readiness, and the SIGTERM drain."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time

import httpx
import pytest
from server_helpers import Gate, LiveServer, live_server, serve_subprocess, wait_healthy


def _post_in_thread(url: str, body: dict) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def run() -> None:
        out["response"] = httpx.post(f"{url}/v1/embeddings", json=body, timeout=120)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def _metric(url: str, name: str) -> float:
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith((name + " ", name + "{")):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


def test_full_queue_answers_503_with_retry_after(tiny_v4, monkeypatch):
    gate = Gate(tiny_v4.backend)
    monkeypatch.setattr(tiny_v4.backend, "forward", gate)
    with live_server(tiny_v4, max_queue_items=4, max_request_items=4, retry_after_s=3) as server:
        first, out = _post_in_thread(server.url, {"input": ["a", "b", "c", "d"]})
        assert gate.entered.wait(30)
        busy = httpx.post(f"{server.url}/v1/embeddings", json={"input": ["e"]})
        assert busy.status_code == 503 and busy.headers["retry-after"] == "3"
        assert busy.json()["error"]["code"] == "queue_full"
        assert _metric(server.url, "jina_local_in_flight_items") == 4
        gate.open.set()
        first.join(60)
        assert out["response"].status_code == 200 and len(out["response"].json()["data"]) == 4
        assert httpx.post(f"{server.url}/v1/embeddings", json={"input": ["e"]}).status_code == 200
        assert _metric(server.url, "jina_local_in_flight_items") == 0
        assert _metric(server.url, 'jina_local_rejected_total{reason="queue_full"}') == 1


def _send_and_leave(url: str, body: dict) -> socket.socket:
    """Send a request on a raw socket and return it (close it to disconnect before the answer)."""
    payload = json.dumps(body).encode()
    host, port = url.removeprefix("http://").split(":")
    raw = socket.create_connection((host, int(port)))
    raw.sendall(
        b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload)
    )
    return raw


def _wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_client_that_disconnects_before_its_turn_never_reaches_the_model(tiny_v4, monkeypatch):
    gate = Gate(tiny_v4.backend)
    monkeypatch.setattr(tiny_v4.backend, "forward", gate)
    with live_server(tiny_v4, threads=1) as server:  # one request thread: the second request waits for it
        first, out = _post_in_thread(server.url, {"input": ["a"]})
        assert gate.entered.wait(30)
        raw = _send_and_leave(server.url, {"input": ["q1", "q2", "q3"], "dimensions": 8})
        assert _wait_for(lambda: _metric(server.url, "jina_local_in_flight_items") == 4)
        raw.close()
        assert _wait_for(lambda: _metric(server.url, "jina_local_cancelled_total") == 1)
        gate.open.set()
        first.join(60)
        assert out["response"].status_code == 200
        assert _wait_for(lambda: _metric(server.url, "jina_local_in_flight_items") == 0)
        assert httpx.post(f"{server.url}/v1/embeddings", json={"input": ["b"]}).status_code == 200
    assert gate.batches == [1, 1], "the cancelled request's items reached the model"


def test_client_that_disconnects_while_streaming_releases_its_items(tiny_v4, monkeypatch):
    gate = Gate(tiny_v4.backend)
    monkeypatch.setattr(tiny_v4.backend, "forward", gate)
    with live_server(tiny_v4) as server:
        first, out = _post_in_thread(server.url, {"input": ["a"]})
        assert gate.entered.wait(30)
        raw = _send_and_leave(server.url, {"input": ["q1", "q2", "q3"], "dimensions": 8})
        assert _wait_for(lambda: _metric(server.url, "jina_local_in_flight_items") == 4)
        raw.close()
        assert _wait_for(lambda: _metric(server.url, "jina_local_cancelled_total") == 1)
        gate.open.set()
        first.join(60)
        assert out["response"].status_code == 200
        assert _wait_for(lambda: _metric(server.url, "jina_local_in_flight_items") == 0)
        assert tiny_v4.stats().pending_items == 0
    assert gate.batches == [1], "the items of the request that left were still embedded"


def test_health_is_503_until_the_model_is_loaded(tiny_v4_dir):
    from jina_local.server import ServerConfig

    server = LiveServer(ServerConfig(model=str(tiny_v4_dir), device="cpu")).start(wait_ready=False)
    try:
        early = httpx.get(f"{server.url}/health")
        embed = httpx.post(f"{server.url}/v1/embeddings", json={"input": ["x"]})
        assert early.status_code == 503 and early.json()["status"] == "loading"
        assert embed.status_code == 503 and "loading" in embed.json()["detail"] and embed.headers["retry-after"]
        wait_healthy(server.url)
        assert httpx.post(f"{server.url}/v1/embeddings", json={"input": ["x"]}).status_code == 200
    finally:
        server.stop()


def test_model_that_fails_to_load_stops_the_server(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with serve_subprocess(["--model", str(tmp_path), "--device", "cpu"]) as (proc, _url):
        assert proc.wait(timeout=120) == 1
        output = proc.stdout.read()
    assert "could not be loaded" in output and "Traceback" in output  # the log has it; no client ever does


def test_sigterm_drains_in_flight_requests_and_refuses_new_ones(tiny_v4_dir):
    with serve_subprocess(["--model", str(tiny_v4_dir), "--device", "cpu", "--drain-timeout", "300"]) as (proc, url):
        wait_healthy(url)
        texts = [f"word{i} " * 3000 for i in range(64)]  # ~200k tokens: seconds of work even on a quiet machine
        slow, out = _post_in_thread(url, {"input": texts, "dimensions": 8})
        deadline = time.monotonic() + 30
        while _metric(url, "jina_local_in_flight_items") < len(texts) and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert slow.is_alive(), "the request finished before SIGTERM could be tested; make it bigger"
        with pytest.raises(httpx.ConnectError):
            httpx.post(f"{url}/v1/embeddings", json={"input": ["late"]}, timeout=5)
        slow.join(300)
        code = proc.wait(timeout=60)
        log = proc.stdout.read()
        assert out["response"].status_code == 200 and len(out["response"].json()["data"]) == len(texts), log
        assert code in (0, -signal.SIGTERM), log  # uvicorn re-raises the signal after draining
        assert "Waiting for connections to close" in log
