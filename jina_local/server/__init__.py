"""``jina-local serve``: one loaded model behind a Jina- and OpenAI-compatible HTTP API, and a search page.

>>> from jina_local.server import ServerConfig, create_app            # doctest: +SKIP
>>> app = create_app(ServerConfig(model="jinaai/jina-embeddings-v4"))  # doctest: +SKIP

The app needs the ``serve`` extra (``pip install "jina-local[serve]"``: uvicorn, Starlette,
prometheus-client). :func:`render_results_page` (a self-contained HTML page of search results)
needs nothing beyond the core, so it is imported lazily like the rest.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RequestError", "ServerConfig", "ServerConfigError", "create_app", "render_results_page", "serve"]

_HOMES = {
    "ServerConfig": ".config",
    "RequestError": ".errors",
    "ServerConfigError": ".errors",
    "create_app": ".app",
    "serve": ".run",
    "render_results_page": ".page",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'jina_local.server' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_HOMES[name], __name__), name)


def __dir__() -> list[str]:
    return sorted(__all__)
