"""One local Ray for the whole test run (2 CPUs, no dashboard, quiet), shared by every test under tests/ray/.

Ray boots in a background thread, so its start (seconds of process launches) overlaps other work: when
only tests under tests/ray/ are asked for (``pytest tests/ray``), it boots while the tests are collected;
otherwise as soon as the first test that needs it sets up, while the tiny checkpoint is written. The
thread stays alive until Ray is shut down: Ray's processes are bound to the thread that launched them
(PR_SET_PDEATHSIG) and would exit with it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ray.data", reason="Ray Data is not installed: pip install -e '.[test]' (or jina-local[ray])")

BOOT_TIMEOUT_S = 300


class _RayBoot:
    """``ray.init`` in a thread that lives until :meth:`stop`."""

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ray-boot", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import ray

        try:
            ray.init(
                num_cpus=2,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.ERROR,
                configure_logging=True,
                object_store_memory=128 * 1024 * 1024,
            )
        except BaseException as exc:  # noqa: BLE001 - handed to the fixture that waits
            self.error = exc
        finally:
            self.ready.set()
        self._stop.wait()

    def wait(self) -> None:
        if not self.ready.wait(BOOT_TIMEOUT_S):
            raise TimeoutError(f"the local Ray did not start within {BOOT_TIMEOUT_S} s")
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


_EARLY: list[_RayBoot] = []


def pytest_configure(config: pytest.Config) -> None:
    """``pytest tests/ray...``: nothing but these tests was asked for, so Ray boots now, beside the collection."""
    here = Path(__file__).resolve().parent
    asked = [(config.invocation_params.dir / str(arg).split("::")[0]).resolve() for arg in config.args]
    if asked and all(path == here or here in path.parents for path in asked):
        os.environ.setdefault("RAY_DEDUP_LOGS", "0")
        _EARLY.append(_RayBoot())


def pytest_unconfigure(config: pytest.Config) -> None:
    """An early boot that no fixture took over (the run ended before any test) is shut down here."""
    for boot in _EARLY:
        _shutdown(boot)


def _shutdown(boot: _RayBoot) -> None:
    import ray

    boot.ready.wait(BOOT_TIMEOUT_S)
    ray.shutdown()
    boot.stop()


@pytest.fixture(scope="session", autouse=True)
def _ray_boot(request: pytest.FixtureRequest) -> Iterator[_RayBoot | None]:
    """The early boot, else one started now if any collected test uses ``local_ray``; shuts Ray down at the end."""
    boot = _EARLY[0] if _EARLY else None
    if boot is None and any("local_ray" in getattr(item, "fixturenames", ()) for item in request.session.items):
        os.environ.setdefault("RAY_DEDUP_LOGS", "0")
        boot = _RayBoot()
    yield boot
    if boot is not None:
        _shutdown(boot)


@pytest.fixture(scope="session")
def local_ray(_ray_boot: _RayBoot | None, tiny_v4_dir: Path) -> Any:  # -> the ray module, initialised
    """The session's Ray; the tiny checkpoint every Ray test embeds with is written while Ray boots."""
    import ray

    assert _ray_boot is not None
    _ray_boot.wait()
    for name in ("ray", "ray.data"):  # Ray Data logs every block at DEBUG; keep test output readable
        logging.getLogger(name).setLevel(logging.WARNING)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    return ray
