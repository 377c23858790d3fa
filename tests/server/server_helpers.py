"""Helpers of the server tests: the real app on uvicorn on 127.0.0.1 (a free port), stopped after; a CLI child."""

from __future__ import annotations

import argparse
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image


class Gate:
    """Wraps the backend's forward so a test can hold the model busy, and records what reached it."""

    def __init__(self, backend: Any) -> None:
        self.inner = backend.forward
        self.open = threading.Event()
        self.entered = threading.Event()
        self.batches: list[int] = []

    def __call__(self, batch: Any, **kwargs: Any) -> Any:
        self.batches.append(len(batch))
        self.entered.set()
        assert self.open.wait(60), "the test never opened the gate"
        return self.inner(batch, **kwargs)


def wait_for(predicate: Any, timeout: float = 10.0) -> bool:
    """Poll ``predicate()`` until it is true (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


class LiveServer:
    """``create_app(config, model)`` served by uvicorn in a thread of this process."""

    def __init__(self, config: Any, model: Any = None) -> None:
        import uvicorn

        from jina_local.server import create_app

        self.app = create_app(config, model)
        self.state = self.app.state.jina
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self, wait_ready: bool = True) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        if wait_ready:
            wait_healthy(self.url)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def wait_healthy(url: str, timeout: float = 90.0) -> None:
    """Poll ``/health`` until it says 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become healthy in {timeout} s")


@contextmanager
def live_server(model: Any = None, **settings: Any) -> Iterator[LiveServer]:
    """A running server with ``ServerConfig(**settings)``; stopped on exit."""
    from jina_local.server import ServerConfig

    settings.setdefault("model", str(getattr(getattr(model, "info", None), "path", None) or "unused"))
    server = LiveServer(ServerConfig(**settings), model).start()
    try:
        yield server
    finally:
        server.stop()


def parse_serve(monkeypatch: Any, argv: list[str]) -> Any:
    """The ServerConfig that ``jina-local serve ARGV`` would serve (the serve parser, with ``serve`` stubbed)."""
    from jina_local.server import command, run

    parser = argparse.ArgumentParser()
    common = argparse.ArgumentParser(add_help=False)  # what the CLI's parents give: --model, --device, --dtype
    common.add_argument("--model", default=None)
    common.add_argument("--device", default="auto")
    common.add_argument("--dtype", default="auto")
    command.add_serve_parser(parser.add_subparsers(), [common])
    args = parser.parse_args(["serve", *argv])
    seen: list[Any] = []
    monkeypatch.setattr(run, "serve", lambda config: seen.append(config) or 0)
    assert args.func(args) == 0
    return seen[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_subprocess(args: list[str], env: dict[str, str] | None = None) -> Iterator[tuple[subprocess.Popen, str]]:
    """``jina-local serve ARGS --port P`` in a child process; killed on exit if still running."""
    port = free_port()
    cmd = [sys.executable, "-m", "jina_local.cli", "serve", *args, "--host", "127.0.0.1", "--port", str(port)]
    child_env = {**os.environ, **(env or {})}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=child_env, cwd=Path(__file__).parents[2]
    )
    try:
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if proc.stdout:
            proc.stdout.close()


PDF_PAGES = ["Quarterly revenue grew twelve percent.", "Cats nap in the sun after lunch."]


def make_corpus(root: Path) -> Path:
    """notes.md, src/math.py, chart.png (84x56) and report.pdf (two pages, one line each)."""
    from fixture_docs import write_pdf  # tests/fixture_docs.py (tests/ is on sys.path via tests/conftest.py)

    (root / "src").mkdir(parents=True)
    write_pdf(root / "report.pdf", PDF_PAGES)
    (root / "notes.md").write_text("Cats sleep sixteen hours a day.\n\nDogs bark at the mail carrier.\n")
    (root / "src" / "math.py").write_text("def add(a, b):\n    return a + b\n")
    Image.fromarray(np.tile(np.linspace(0, 255, 84, dtype=np.uint8), (56, 1))[..., None].repeat(3, 2)).save(
        root / "chart.png"
    )
    return root


def png_bytes(size: tuple[int, int] = (8, 6), color: tuple[int, int, int] = (200, 30, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


class _Hostile(BaseHTTPRequestHandler):
    """``/png``: an image; ``/drip``: one byte every 50 ms for 10 s; ``/huge``: 200 MB without a length."""

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self.send_response(200 if self.path in ("/png", "/drip", "/huge") else 404)
        self.send_header("Content-Type", "image/png")
        png = png_bytes()
        if self.path == "/png":
            self.send_header("Content-Length", str(len(png)))
        self.end_headers()
        try:
            if self.path == "/png":
                self.wfile.write(png)
            elif self.path == "/drip":
                for _ in range(200):
                    self.wfile.write(b"\x89")
                    self.wfile.flush()
                    time.sleep(0.05)
            elif self.path == "/huge":
                self.wfile.write(png[:16])
                for _ in range(200 * 16):
                    self.wfile.write(bytes(64 * 1024))
        except OSError:  # the client gave up, as it should
            pass


@contextmanager
def hostile_server() -> Iterator[str]:
    """A hostile image server on 127.0.0.1 (a free port); yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
