"""Every code block of README.md and docs/*.md runs as written, against random checkpoints (issue 14).

Per file, in a fresh copy of a workspace that holds ``examples/`` with the sample folder generated:

- python blocks run in file order in one namespace, like notebook cells (top-level ``await`` works);
- shell blocks run their ``jina-local`` / ``python -m jina_local`` / ``python examples/make_sample_docs.py``
  commands; ``jina-local serve`` starts in the background (on a free port) and serves the file's later
  blocks, whose ``127.0.0.1:8080`` is pointed at it;
- model ids resolve through a Hugging Face cache that holds random checkpoints under the real ids (the one
  mapping is :data:`fixture_hub.HUB_FIXTURES`), with ``HF_HUB_OFFLINE=1``; nothing else is substituted;
- a block marked ``<!-- no-run: reason -->`` is only compiled (python), and must give its reason.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from doc_blocks import DOC_FILES, ROOT, Block, read_blocks
from fixture_hub import write_hub_cache

_SERVE_PORT_IN_DOCS = "127.0.0.1:8080"


@pytest.fixture(scope="session")
def hub_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("hub")
    write_hub_cache(cache)
    return cache


@pytest.fixture(scope="session")
def base_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``examples/`` with the sample folder's binary files generated, as a reader's checkout has it."""
    workspace = tmp_path_factory.mktemp("workspace")
    shutil.copytree(ROOT / "examples", workspace / "examples", ignore=shutil.ignore_patterns("*.png", "*.pdf"))
    subprocess.run([sys.executable, "examples/make_sample_docs.py"], cwd=workspace, check=True, capture_output=True)
    return workspace


class _Server:
    """One ``jina-local serve`` command from the docs, on a free port, until the next one or the file's end."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self.log: Path | None = None

    def start(self, command: str, cwd: Path, env: dict[str, str]) -> None:
        self.stop()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.log = cwd / f"serve-{self.port}.log"
        with self.log.open("wb") as log:
            argv = [*shlex.split(command, comments=True), "--port", str(self.port)]  # the comment is not an argument
            self.process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"`{command}` exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"`{command}` was not ready in 180 s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def point_at(self, code: str) -> str:
        return code if self.port is None else code.replace(_SERVE_PORT_IN_DOCS, f"127.0.0.1:{self.port}")


def _run_python(block: Block, namespace: dict[str, object], code: str) -> None:
    source = "\n" * (block.line) + code  # line numbers in tracebacks are the markdown file's
    compiled = compile(source, str(block.path), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    if compiled.co_flags & inspect.CO_COROUTINE:
        asyncio.run(eval(compiled, namespace))  # noqa: S307 - our own documentation
    else:
        exec(compiled, namespace)  # noqa: S102 - our own documentation


def _run_command(command: str, cwd: Path, env: dict[str, str]) -> None:
    done = subprocess.run(command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise AssertionError(f"`{command}` exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")


@pytest.fixture
def doc_env(hub_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """This process and its children resolve model ids through the fixture hub cache, offline."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hub_cache))
    monkeypatch.setenv("HF_HUB_CACHE", str(hub_cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("JINA_LOCAL_CACHE", str(hub_cache.parent / "jina-local-cache"))  # page renders
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    yield dict(os.environ)


def _ray_started_here() -> bool:
    ray = sys.modules.get("ray")
    return bool(ray and ray.is_initialized())


@pytest.mark.parametrize("doc", DOC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_block_runs(doc: Path, doc_env: dict[str, str], base_workspace: Path, tmp_path, monkeypatch) -> None:
    workspace = tmp_path / "workspace"
    shutil.copytree(base_workspace, workspace)
    monkeypatch.chdir(workspace)
    ray_before = _ray_started_here()
    namespace: dict[str, object] = {"__name__": f"__doc__{doc.stem}"}
    server = _Server()
    ran = 0
    try:
        for block in read_blocks(doc):
            if block.no_run is not None:
                assert block.no_run, f"{block.where}: a no-run marker must say why"
                if block.is_python:
                    compile(block.code, block.where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
                continue
            try:
                if block.is_python:
                    _run_python(block, namespace, server.point_at(block.code))
                    ran += 1
                for command in block.commands():
                    if command.startswith("jina-local serve"):
                        server.start(command, workspace, doc_env)
                    else:
                        _run_command(command, workspace, doc_env)
                    ran += 1
            except Exception as exc:
                pytest.fail(f"{block.where} failed: {type(exc).__name__}: {exc}\n--- block ---\n{block.code}")
    finally:
        server.stop()
        if not ray_before and _ray_started_here():
            sys.modules["ray"].shutdown()
    runnable = [b for b in read_blocks(doc) if b.no_run is None and (b.is_python or b.commands())]
    assert ran >= len(runnable), f"{doc.name}: {ran} of {len(runnable)} blocks ran"


def test_no_run_markers_are_rare() -> None:
    """Blocks skipped for a stated reason stay the exception (a Qdrant server, GPUs, a Ray cluster)."""
    blocks = [b for doc in DOC_FILES for b in read_blocks(doc) if b.is_python or b.commands()]
    skipped = [b for b in blocks if b.no_run is not None]
    assert blocks and len(skipped) <= len(blocks) // 5, [f"{b.where}: {b.no_run}" for b in skipped]
