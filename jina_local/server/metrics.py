"""Prometheus metrics of one server (its own registry, so several apps can live in one process)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)


class _EngineCollector(Collector):
    """Numbers from ``Embedder.stats()`` (items submitted/done/cancelled, pending, padding, ...) as gauges."""

    def __init__(self, read: Callable[[], dict[str, Any] | None]) -> None:
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        stats = self._read() or {}
        for key, value in sorted(stats.items()):
            if key == "batch_sizes":  # a histogram of its own (jina_local_batch_size)
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                name = "jina_local_engine_" + "".join(c if c.isalnum() else "_" for c in str(key)).lower()
                yield GaugeMetricFamily(name, f"Embedder.stats()[{key!r}]", value=float(value))


class Metrics:
    """Counters and histograms the app updates; :meth:`render` is the ``/metrics`` body."""

    def __init__(self, engine_stats: Callable[[], dict[str, Any] | None] = lambda: None) -> None:
        r = self.registry = CollectorRegistry()
        self.requests = Counter(
            "jina_local_requests", "HTTP requests by route and status", ["route", "status"], registry=r
        )
        self.items = Counter("jina_local_items", "Items embedded, by kind", ["kind"], registry=r)
        self.tokens = Counter("jina_local_tokens", "Input tokens embedded (usage.total_tokens)", registry=r)
        self.rejected = Counter(
            "jina_local_rejected", "Requests refused before any work, by reason", ["reason"], registry=r
        )
        self.cancelled = Counter("jina_local_cancelled", "Requests whose client went away first", registry=r)
        self.request_items = Histogram(
            "jina_local_request_items", "Items per embeddings request", buckets=_SIZE_BUCKETS, registry=r
        )
        self.queue_wait = Histogram(
            "jina_local_queue_wait_seconds",
            "From admission until the request's items go to the model",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.latency = Histogram(
            "jina_local_request_latency_seconds",
            "Request latency by route",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge("jina_local_in_flight_items", "Items admitted and not finished", registry=r)
        self.capacity = Gauge("jina_local_queue_capacity_items", "Most items admitted at once", registry=r)
        self.ready = Gauge("jina_local_model_ready", "1 once the model is loaded", registry=r)
        # one observation per forward, from Embedder.add_batch_listener
        self.batch_size = Histogram(
            "jina_local_batch_size",
            "Items per model forward (shared across requests)",
            buckets=_SIZE_BUCKETS,
            registry=r,
        )
        self.batch_callers = Histogram(
            "jina_local_batch_callers", "Requests whose items shared one forward", buckets=_SIZE_BUCKETS, registry=r
        )
        self.engine_wait = Histogram(
            "jina_local_engine_queue_wait_seconds",
            "Per item: from submission to the engine until its forward starts",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.forward = Histogram(
            "jina_local_forward_seconds", "Duration of one model forward", buckets=_LATENCY_BUCKETS, registry=r
        )
        r.register(_EngineCollector(engine_stats))

    def observe_batch(self, event: Any) -> None:
        """A batch listener (``Embedder.add_batch_listener``): record one forward."""
        self.batch_size.observe(event.size)
        self.batch_callers.observe(event.callers)
        self.forward.observe(event.forward_seconds)
        for wait in event.queue_waits:
            self.engine_wait.observe(wait)

    def render(self) -> bytes:
        """Prometheus text exposition format."""
        return generate_latest(self.registry)
