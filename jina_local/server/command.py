"""The ``serve`` subcommand and ``search --server URL``, kept apart from the rest of the CLI.

``jina_local.cli`` calls :func:`add_serve_parser` and :func:`add_server_option` while building its
parser; nothing here imports uvicorn or Starlette until ``serve`` runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .config import API_KEY_ENV

__all__ = ["add_serve_parser", "add_server_option", "fetch_search_results", "run_serve"]


def add_serve_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``jina-local serve`` to the CLI's subparsers (``parents`` give --model, --device, --dtype)."""
    p = sub.add_parser(
        "serve",
        parents=parents,
        help="serve the model over HTTP (Jina + OpenAI embeddings API)",
        description="Serve one loaded model: POST /v1/embeddings (Jina and OpenAI schemas), "
        "GET /v1/models, /health, /metrics; with --index also POST /v1/search and a "
        "search page at /.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; others need an API key)")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--api-key", default=None, help=f"bearer key clients must send (default: ${API_KEY_ENV})")
    p.add_argument("--served-model-name", default=None, help="model id reported and accepted (default: the model's)")
    p.add_argument(
        "--default-task",
        default=None,
        help="Jina task for requests without one (default text-matching): retrieval.query, "
        "retrieval.passage, code.query, code.passage, text-matching",
    )
    p.add_argument("--index", default=None, help="folder (or Qdrant URL) of an index to search (/v1/search, /)")
    p.add_argument("--collection", default="docs", help="collection in --index (default docs)")
    p.add_argument("--max-batch-tokens", type=int, default=None, help="padded tokens per forward")
    p.add_argument("--allow-urls", action="store_true", help="fetch image URLs (under the URL policy)")
    p.add_argument(
        "--fetch-allow-network",
        action="append",
        default=[],
        metavar="CIDR",
        help="with --allow-urls: also reach this private network, e.g. 10.1.2.0/24 (repeatable; default none)",
    )
    p.add_argument(
        "--fetch-deadline", type=float, default=60.0, help="with --allow-urls: seconds per download (default 60)"
    )
    p.add_argument(
        "--fetch-max-bytes",
        type=int,
        default=None,
        help="with --allow-urls: bytes per download (default 32 MiB, or --max-request-bytes if smaller)",
    )
    p.add_argument("--max-request-items", type=int, default=2048)
    p.add_argument("--max-request-bytes", type=int, default=32 * 1024 * 1024)
    p.add_argument("--max-request-tokens", type=int, default=1_048_576)
    p.add_argument(
        "--max-input-tokens",
        type=int,
        default=None,
        help="tokens per input (default: the model's maximum); longer ones need truncate=true",
    )
    p.add_argument("--max-image-pixels", type=int, default=40_000_000)
    p.add_argument("--max-queue-items", type=int, default=8192, help="items in flight before 503 + Retry-After")
    p.add_argument("--retry-after", type=int, default=1, help="seconds a 503 (queue full) tells clients to wait")
    p.add_argument("--threads", type=int, default=64, help="requests handed to the model at once")
    p.add_argument("--drain-timeout", type=float, default=30.0, help="seconds in-flight requests get on SIGTERM")
    p.add_argument("--cors-origin", action="append", default=[], help="allow this browser origin (CORS is off)")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(func=run_serve)
    return p


def _model_for(args: argparse.Namespace) -> str:
    if args.model:
        return str(args.model)
    if args.index:
        from ..qdrant import MultiVectorCollection

        with MultiVectorCollection.open(args.index, args.collection, create=False) as probe:
            if probe.metadata.get("model"):
                return str(probe.metadata["model"])
    return os.environ.get("JINA_LOCAL_MODEL", "jinaai/jina-embeddings-v4")


def run_serve(args: argparse.Namespace) -> int:
    """``jina-local serve``: check the settings, then serve until SIGTERM."""
    try:
        from .config import ServerConfig
        from .run import serve
    except ImportError as exc:
        print(
            f'error: `jina-local serve` needs the serve extra ({exc.name} is missing): pip install "jina-local[serve]"',
            file=sys.stderr,
        )
        return 1
    config = ServerConfig(
        model=_model_for(args),
        device=args.device,
        dtype=args.dtype,
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        served_model_name=args.served_model_name,
        default_task=args.default_task,
        index=args.index,
        collection=args.collection,
        max_batch_tokens=args.max_batch_tokens,
        allow_urls=args.allow_urls,
        fetch_allow_networks=tuple(args.fetch_allow_network),
        fetch_deadline_s=args.fetch_deadline,
        fetch_max_bytes=args.fetch_max_bytes,
        max_request_items=args.max_request_items,
        max_request_bytes=args.max_request_bytes,
        max_request_tokens=args.max_request_tokens,
        max_input_tokens=args.max_input_tokens,
        max_image_pixels=args.max_image_pixels,
        max_queue_items=args.max_queue_items,
        threads=args.threads,
        retry_after_s=args.retry_after,
        drain_timeout_s=args.drain_timeout,
        cors_origins=tuple(args.cors_origin),
        log_level=args.log_level,
    )
    config.check()  # ServerConfigError (a JinaLocalError): the CLI prints it and exits 1
    return serve(config)


# --------------------------------------------------------------------------- search --server URL
def add_server_option(search_parser: argparse.ArgumentParser) -> None:
    """Add ``--server URL`` to ``jina-local search``."""
    search_parser.add_argument(
        "--server",
        default=None,
        metavar="URL",
        help=f"search through a running `jina-local serve --index` instead of loading the "
        f"model (its key from ${API_KEY_ENV})",
    )


def fetch_search_results(
    server: str,
    query: str | bytes,
    *,
    limit: int = 10,
    mode: str | None = None,
    filter: dict[str, Any] | None = None,
    thumbnails: bool = True,
    api_key: str | None = None,
    timeout: float = 120.0,
) -> dict[str, Any]:
    """``POST {server}/v1/search``; returns the hits JSON (``hits_to_json`` shape) or raises a JinaLocalError.

    ``query``: a text, or an image's bytes (sent base64). ``filter``: a Qdrant filter as JSON.
    """
    import base64

    import httpx

    from ..errors import JinaLocalError

    key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body: dict[str, Any] = {"limit": limit, "thumbnails": thumbnails}
    if isinstance(query, bytes):
        body["image"] = base64.b64encode(query).decode("ascii")
    else:
        body["query"] = query
    if mode:
        body["mode"] = mode
    if filter:
        body["filter"] = filter
    url = server.rstrip("/") + "/v1/search"
    try:
        response = httpx.post(url, json=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise JinaLocalError(f"could not reach {url}: {exc}; is `jina-local serve --index ...` running?") from None
    if response.status_code != 200:
        try:
            detail = response.json().get("detail")
        except ValueError:
            detail = response.text[:200]
        raise JinaLocalError(f"{url} answered {response.status_code}: {detail}")
    return dict(response.json())
