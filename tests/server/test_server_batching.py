"""Dynamic batching through the server: concurrent requests share forwards, and ``--max-batch-tokens``."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
from server_helpers import Gate, LiveServer, live_server, parse_serve, wait_for

REQUESTS = {  # three clients, each with its own texts (and one with a Matryoshka size)
    "a": {"input": ["Cats sleep sixteen hours a day.", "Dogs bark at the mail carrier."]},
    "b": {"input": ["Berlin is the capital of Germany.", "Paris is on the Seine.", "Rome has seven hills."]},
    "c": {"input": ["def add(a, b): return a + b"], "dimensions": 32},
}


def _embed(url: str, body: dict) -> httpx.Response:
    return httpx.post(f"{url}/v1/embeddings", json={**body, "embedding_type": "float"}, timeout=120)


def test_concurrent_requests_share_a_forward_and_get_their_own_rows(tiny_v4, monkeypatch):
    gate = Gate(tiny_v4.backend)
    monkeypatch.setattr(tiny_v4.backend, "forward", gate)
    events = []
    remove = tiny_v4.add_batch_listener(events.append)
    total = sum(len(body["input"]) for body in REQUESTS.values())
    try:
        with live_server(tiny_v4) as server, ThreadPoolExecutor(4) as pool:
            blocker = pool.submit(_embed, server.url, {"input": ["holds the model"]})
            assert gate.entered.wait(30)
            futures = {name: pool.submit(_embed, server.url, body) for name, body in REQUESTS.items()}
            queued = wait_for(lambda: tiny_v4.stats().pending_items >= total, timeout=30)
            gate.open.set()
            responses = {name: f.result(timeout=120) for name, f in futures.items()}
            assert blocker.result(timeout=120).status_code == 200
    finally:
        gate.open.set()
        remove()
    assert queued, "the requests' items did not all wait in the engine together"
    shared = [e for e in events if e.callers >= 2]
    assert shared and max(e.callers for e in shared) == 3, [(e.size, e.callers) for e in events]
    assert total in gate.batches  # one forward carried the items of all three requests
    monkeypatch.undo()
    for name, body in REQUESTS.items():
        assert responses[name].status_code == 200, responses[name].text
        data = responses[name].json()["data"]
        assert [d["index"] for d in data] == list(range(len(body["input"])))
        want = tiny_v4.encode(body["input"], role="query", task="text-matching", dim=body.get("dimensions")).dense
        got = np.asarray([d["embedding"] for d in data], dtype=np.float32)
        assert got.shape == want.shape and float(np.abs(got - want).max()) <= 1e-6, name


def test_max_batch_tokens_sets_the_engines_token_budget(tiny_v4, monkeypatch):
    config = parse_serve(
        monkeypatch, ["--model", str(tiny_v4.info.path), "--max-batch-tokens", "64", "--device", "cpu"]
    )
    assert config.max_batch_tokens == 64
    before = tiny_v4.token_budget
    texts = [f"item {i} " + "word " * (3 + i % 5) for i in range(24)]
    events = []
    remove = tiny_v4.add_batch_listener(events.append)
    server = LiveServer(config, tiny_v4).start()
    try:
        assert tiny_v4.token_budget == 64
        response = _embed(server.url, {"input": texts})
        assert response.status_code == 200, response.text
    finally:
        server.stop()
        remove()
    assert tiny_v4.token_budget == before  # the server leaves a model passed in as it found it
    assert sum(e.size for e in events) == len(texts)
    assert all(e.padded_tokens <= 64 for e in events), [(e.size, e.padded_tokens) for e in events]
    assert len(events) >= 4  # 24 texts of ~10 tokens cannot share a 64-token forward
    unlimited = []
    remove = tiny_v4.add_batch_listener(unlimited.append)
    try:
        with live_server(tiny_v4) as plain:
            assert _embed(plain.url, {"input": texts}).status_code == 200
    finally:
        remove()
    assert len(unlimited) < len(events)  # the default budget packs them into fewer forwards
