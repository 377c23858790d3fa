"""``ServerConfig``: every setting of ``jina-local serve``, checked once before anything starts."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ServerConfigError
from .schemas import JINA_TASKS

__all__ = ["API_KEY_ENV", "ServerConfig", "is_loopback"]

API_KEY_ENV = "JINA_LOCAL_API_KEY"
_PUBLISHED = {"jina_v4": "jinaai/jina-embeddings-v4", "jina_clip_v2": "jinaai/jina-clip-v2"}


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server reachable from this machine only.

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, True, False)
    """
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve anywhere


@dataclass
class ServerConfig:
    """Settings of one server. ``api_key`` defaults to ``$JINA_LOCAL_API_KEY``."""

    model: str = "jinaai/jina-embeddings-v4"
    device: str = "auto"
    dtype: str = "auto"
    host: str = "127.0.0.1"
    port: int = 8080
    api_key: str | None = None
    served_model_name: str | None = None
    default_task: str | None = None
    index: str | None = None
    collection: str = "docs"
    max_batch_tokens: int | None = None
    allow_urls: bool = False
    fetch_allow_networks: tuple[str, ...] = field(default_factory=tuple)
    """CIDR blocks URL inputs may reach although private (``--fetch-allow-network``); public ones always."""
    fetch_deadline_s: float = 60.0
    """Seconds one URL download may take in all (``--fetch-deadline``)."""
    fetch_max_bytes: int | None = None
    """Largest image one URL may send (``--fetch-max-bytes``); default 32 MiB or ``max_request_bytes``."""
    max_request_items: int = 2048
    max_request_bytes: int = 32 * 1024 * 1024
    max_request_tokens: int = 1_048_576
    max_input_tokens: int | None = None
    max_image_pixels: int = 40_000_000
    max_queue_items: int = 8192
    threads: int = 64
    retry_after_s: int = 1
    drain_timeout_s: float = 30.0
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    log_level: str = "info"

    def __post_init__(self) -> None:
        if self.api_key is None:
            self.api_key = os.environ.get(API_KEY_ENV) or None

    @property
    def model_id(self) -> str:
        """The name ``/v1/models`` reports: ``--served-model-name``, the hub id, or the folder's name."""
        if self.served_model_name:
            return self.served_model_name
        path = Path(self.model).expanduser()
        return path.name if path.exists() else self.model

    def model_names(self, loaded_name: str | None = None, family: str | None = None) -> set[str]:
        """Names a request's ``model`` field may use: the served id, the model as given, its published name."""
        names = {self.model_id, self.model, Path(self.model).name}
        if loaded_name:
            names.add(loaded_name)
        if family in _PUBLISHED:
            names.add(_PUBLISHED[family])
        for name in list(names):  # a copy: the loop adds to the set
            if name.startswith("jinaai/"):
                names.add(name.removeprefix("jinaai/"))
        return {n for n in names if n}

    def check(self) -> None:
        """Refuse unsafe or inconsistent settings with a message saying what to change."""
        if self.api_key is not None and not self.api_key.strip():
            raise ServerConfigError(f"the API key is empty; pass --api-key KEY or set ${API_KEY_ENV}, or neither.")
        if not is_loopback(self.host) and not self.api_key:
            raise ServerConfigError(
                f"--host {self.host} is reachable from other machines, and no API key is set: pass --api-key KEY "
                f"(or set ${API_KEY_ENV}), or bind 127.0.0.1."
            )
        if not 0 <= self.port <= 65535:
            raise ServerConfigError(f"--port {self.port} is not a TCP port (0-65535).")
        if self.default_task is not None and self.default_task not in JINA_TASKS:
            raise ServerConfigError(
                f"--default-task {self.default_task!r} is not valid; use one of {sorted(JINA_TASKS)}."
            )
        for name in (
            "max_request_items",
            "max_request_bytes",
            "max_request_tokens",
            "max_image_pixels",
            "max_queue_items",
            "threads",
            "retry_after_s",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ServerConfigError(f"--{name.replace('_', '-')} must be a positive integer, got {value!r}.")
        for name in ("max_batch_tokens", "max_input_tokens"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ServerConfigError(f"--{name.replace('_', '-')} must be a positive integer, got {value!r}.")
        if self.max_request_items > self.max_queue_items:
            raise ServerConfigError(
                f"--max-request-items {self.max_request_items} is more than the queue holds "
                f"(--max-queue-items {self.max_queue_items}); such a request could never be admitted."
            )
        from ..errors import OptionError
        from .urls import fetch_policy

        try:
            fetch_policy(self)
        except OptionError as exc:
            raise ServerConfigError(
                f"the URL policy is not valid ({exc}); check --fetch-allow-network (CIDR blocks such as "
                "10.1.2.0/24), --fetch-deadline (seconds) and --fetch-max-bytes."
            ) from None
        remote = str(self.index).startswith(("http://", "https://"))
        if self.index is not None and not remote and not Path(self.index).expanduser().is_dir():
            raise ServerConfigError(f"--index {self.index} is not a folder; build it with `jina-local index`.")
