"""One local Ray for the whole test run (2 CPUs, no dashboard, quiet), shared by every test under tests/ray/."""

from __future__ import annotations

import logging
import os

import pytest

pytest.importorskip("ray.data", reason="Ray Data is not installed: pip install -e '.[test]' (or jina-local[ray])")


@pytest.fixture(scope="session")
def local_ray():  # -> the ray module, initialised
    import ray

    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.ERROR,
        configure_logging=True,
        object_store_memory=200 * 1024 * 1024,
    )
    for name in ("ray", "ray.data"):  # Ray Data logs every block at DEBUG; keep test output readable
        logging.getLogger(name).setLevel(logging.WARNING)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    yield ray
    ray.shutdown()
