"""``/metrics`` (Prometheus text, parsed by prometheus-client's own parser) and ``/v1/models``."""

from __future__ import annotations

import base64
import io

import httpx
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families
from server_helpers import live_server


def _samples(url: str) -> dict[tuple[str, tuple], float]:
    response = httpx.get(f"{url}/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def test_metrics_count_requests_items_tokens_and_latency(tiny_v4):
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buffer, format="PNG")
    with live_server(tiny_v4) as server:
        ok = httpx.post(
            f"{server.url}/v1/embeddings",
            json={"input": ["one two three", {"image": base64.b64encode(buffer.getvalue()).decode()}]},
        )
        bad = httpx.post(f"{server.url}/v1/embeddings", json={"input": ["x"], "dimensions": 5})
        samples = _samples(server.url)
    assert ok.status_code == 200 and bad.status_code == 422
    assert samples[("jina_local_requests_total", (("route", "embeddings"), ("status", "200")))] == 1
    assert samples[("jina_local_requests_total", (("route", "embeddings"), ("status", "422")))] == 1
    assert samples[("jina_local_items_total", (("kind", "image"),))] == 1
    assert samples[("jina_local_items_total", (("kind", "text"),))] == 1
    assert samples[("jina_local_tokens_total", ())] == ok.json()["usage"]["total_tokens"] == 3
    assert samples[("jina_local_request_items_count", ())] == 1 and samples[("jina_local_request_items_sum", ())] == 2
    assert samples[("jina_local_queue_wait_seconds_count", ())] == 1
    assert samples[("jina_local_request_latency_seconds_count", (("route", "embeddings"),))] == 2
    # per forward, from the engine's batch listener: sizes, requests served, forward time, per-item engine wait
    forwards = samples[("jina_local_batch_size_count", ())]
    assert forwards >= 1 and samples[("jina_local_batch_size_sum", ())] == 2  # the text and the image
    assert samples[("jina_local_batch_callers_count", ())] == forwards
    assert samples[("jina_local_forward_seconds_count", ())] == forwards
    assert samples[("jina_local_forward_seconds_sum", ())] > 0
    assert samples[("jina_local_engine_queue_wait_seconds_count", ())] == 2
    assert samples[("jina_local_batch_size_bucket", (("le", "+Inf"),))] == forwards
    assert samples[("jina_local_queue_wait_seconds_bucket", (("le", "+Inf"),))] == 1
    assert samples[("jina_local_engine_batches", ())] >= forwards  # Embedder.stats() (since the model loaded)
    assert samples[("jina_local_model_ready", ())] == 1
    assert samples[("jina_local_queue_capacity_items", ())] == 8192
    assert samples[("jina_local_in_flight_items", ())] == 0


def test_models_lists_the_served_model(v4_server):
    data = httpx.get(f"{v4_server.url}/v1/models").json()["data"]
    assert [m["id"] for m in data] == ["jina-embeddings-v4"]
    assert data[0]["matryoshka_dimensions"] == [8, 16, 32, 64] and data[0]["multivector_dimensions"] == 128
    assert data[0]["tasks"] == ["retrieval", "text-matching", "code"]
