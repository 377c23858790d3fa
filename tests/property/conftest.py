"""Hypothesis settings for the property tests: bounded, reproducible, no example database on disk."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "jina-local",
    max_examples=60,
    deadline=None,
    database=None,  # nothing written into the checkout
    derandomize=True,  # CI runs are reproducible; run with --hypothesis-seed=... to explore further
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile("jina-local")
