"""Running the app on uvicorn: bind first, load in the background, drain on SIGTERM."""

from __future__ import annotations

import logging
import socket
import sys
from types import FrameType
from typing import Any

import uvicorn

from .app import AppState, create_app
from .config import ServerConfig

__all__ = ["serve"]


class _DrainingServer(uvicorn.Server):
    """uvicorn's server, which also marks the app as draining on SIGTERM / SIGINT.

    uvicorn then stops accepting connections, lets in-flight requests finish (up to
    ``--drain-timeout``), and runs the app's shutdown; while draining, ``/health`` answers 503 and
    requests on connections kept alive get 503 + ``Connection: close``.
    """

    def __init__(self, config: uvicorn.Config, state: AppState) -> None:
        super().__init__(config)
        self._state = state

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._state.draining = True
        super().handle_exit(sig, frame)


def _log_to_stderr(level: str) -> None:
    logger = logging.getLogger("jina_local")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level.upper())


def serve(config: ServerConfig, model: Any = None, *, sock: socket.socket | None = None) -> int:
    """Serve until SIGTERM / SIGINT; returns the exit status (1 when the model failed to load).

    ``sock``: an already bound socket to serve on (tests bind port 0 and pass it).
    """
    app = create_app(config, model)
    state: AppState = app.state.jina
    _log_to_stderr(config.log_level)
    uv_config = uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        log_level=config.log_level,
        lifespan="on",
        timeout_graceful_shutdown=int(config.drain_timeout_s) if config.drain_timeout_s else None,
        server_header=False,
        access_log=config.log_level == "debug",
    )
    server = _DrainingServer(uv_config, state)
    state.on_fatal = lambda: setattr(server, "should_exit", True)
    server.run(sockets=[sock] if sock is not None else None)
    return 1 if state.error else 0
