"""The Starlette app: routes, auth, limits, background model loading, draining, JSON errors.

Routes: ``POST /v1/embeddings`` (also ``/embeddings``), ``GET /v1/models``, ``GET /health``,
``GET /metrics``, and with an index ``POST /v1/search`` and ``GET /`` (the search page).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ..errors import JinaLocalError
from .config import ServerConfig
from .embeddings import EmbeddingJob
from .errors import RequestError
from .http_io import ClientGone, check_key, read_json, unless_gone
from .metrics import CONTENT_TYPE, Metrics
from .page import render_search_page
from .schemas import parse_embedding_request
from .search import SearchJob, parse_search_request
from .urls import fetch_policy
from .work import Admission, Cancelled, ModelRunner, apply_token_budget, now

__all__ = ["AppState", "create_app"]

log = logging.getLogger("jina_local.server")
Handler = Callable[[Request], Awaitable[Response]]


class AppState:
    """Everything one server holds: settings, the model once loaded, the queue, metrics, draining."""

    def __init__(self, config: ServerConfig, model: Any = None) -> None:
        self.config = config
        self.model = model
        self.runner: ModelRunner | None = None
        self.collection: Any = None
        self.collection_lock = threading.Lock()
        self.admission = Admission(config.max_queue_items, config.retry_after_s)
        self.metrics = Metrics(engine_stats=lambda: self.runner.stats() if self.runner else None)
        self.metrics.capacity.set(config.max_queue_items)
        self.metrics.in_flight.set_function(lambda: self.admission.in_flight)
        self.fetch = fetch_policy(config) if config.allow_urls else None
        self.ready = False
        self.error: str | None = None
        self.draining = False
        self.model_names: set[str] = config.model_names()
        self.on_fatal: Callable[[], None] | None = None
        self._stop_listening: Callable[[], None] | None = None
        self._restore_budget: Callable[[], None] | None = None

    def load(self) -> None:
        """Load the model (and open the index); runs in a thread after the port is bound."""
        try:
            model = self.model
            if model is None:
                from ..loading import load

                log.info("loading %s", self.config.model)
                model = load(self.config.model, device=self.config.device, dtype=self.config.dtype)
            if self.config.max_batch_tokens:
                self._restore_budget = apply_token_budget(model, self.config.max_batch_tokens)
            if self.config.index is not None:
                from ..qdrant import MultiVectorCollection

                self.collection = MultiVectorCollection.open(
                    self.config.index, self.config.collection, model, create=False
                )
            self.model = model
            self.runner = ModelRunner(model, self.config.threads)
            self._stop_listening = model.add_batch_listener(self.metrics.observe_batch)  # per-forward metrics
            self.model_names = self.config.model_names(model.info.name, model.info.family)
            self.ready = True
            self.metrics.ready.set(1)
            log.info("ready: %s on %s (%s)", model.info.name, model.info.device, model.info.dtype)
        except Exception as exc:  # noqa: BLE001 - reported on /health and in the log, then the server stops
            self.error = str(exc) if isinstance(exc, JinaLocalError) else f"{type(exc).__name__}: {exc}"
            log.exception("the model could not be loaded")
            if self.on_fatal is not None:
                self.on_fatal()

    def close(self) -> None:
        """Finish running work and release the index."""
        if self.runner is not None:
            self.runner.shutdown()
        if self._stop_listening is not None:
            self._stop_listening()
        if self._restore_budget is not None:
            self._restore_budget()
        if self.collection is not None:
            self.collection.close()


# --------------------------------------------------------------------------- request plumbing
def _error_response(exc: RequestError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


def _check_ready(state: AppState) -> ModelRunner:
    if state.draining:
        raise RequestError(
            "the server is shutting down; send the request to another instance.",
            status=503,
            code="draining",
            headers={"Retry-After": str(state.config.retry_after_s), "Connection": "close"},
        )
    if not state.ready:
        detail = f"the model failed to load: {state.error}" if state.error else "the model is still loading"
        raise RequestError(f"{detail}; retry shortly.", status=503, code="not_ready", headers={"Retry-After": "2"})
    if state.runner is None:  # pragma: no cover - ready implies a runner
        raise RequestError("the model is not available; retry shortly.", status=503, code="not_ready")
    return state.runner


def _endpoint(route: str) -> Callable[[Callable[[Request, AppState], Awaitable[Response]]], Handler]:
    """Errors become JSON (never a trace), and every request is counted and timed."""

    def wrap(fn: Callable[[Request, AppState], Awaitable[Response]]) -> Handler:
        @functools.wraps(fn)
        async def handler(request: Request) -> Response:
            state: AppState = request.app.state.jina
            started = now()
            try:
                response = await fn(request, state)
            except RequestError as exc:
                if exc.status in (503, 413, 401):
                    state.metrics.rejected.labels(exc.code).inc()
                response = _error_response(exc)
            except (ClientGone, Cancelled):
                state.metrics.cancelled.inc()
                response = Response(status_code=499)
            except Exception:  # noqa: BLE001 - logged here, never sent
                log.exception("error while serving %s", request.url.path)
                response = JSONResponse(
                    {
                        "detail": "internal server error; the server log has the details.",
                        "error": {
                            "message": "internal server error",
                            "type": "server_error",
                            "param": None,
                            "code": "internal_error",
                        },
                    },
                    status_code=500,
                )
            state.metrics.requests.labels(route, str(response.status_code)).inc()
            state.metrics.latency.labels(route).observe(now() - started)
            return response

        return handler

    return wrap


# --------------------------------------------------------------------------- routes
@_endpoint("embeddings")
async def embeddings(request: Request, state: AppState) -> Response:
    check_key(request, state.config.api_key)  # first: a client without the key learns nothing about the server
    runner = _check_ready(state)
    body = await read_json(request, state.config.max_request_bytes)
    req = parse_embedding_request(
        body,
        runner.model.info,
        model_names=state.model_names,
        default_task=state.config.default_task,
        allow_urls=state.config.allow_urls,
        max_items=state.config.max_request_items,
        served_id=state.config.model_id,
    )
    n = len(req.items)
    state.admission.acquire(n)
    admitted = now()
    cancel = threading.Event()
    job = EmbeddingJob(
        req,
        runner,
        model_id=state.config.model_id,
        max_tokens=state.config.max_request_tokens,
        max_input_tokens=state.config.max_input_tokens,
        max_image_pixels=state.config.max_image_pixels,
        fetch=state.fetch,
        cancel=cancel,
        on_start=lambda: state.metrics.queue_wait.observe(now() - admitted),
    )
    body_bytes = await unless_gone(request, runner.run(job, on_done=lambda: state.admission.release(n)), cancel)
    state.metrics.request_items.observe(n)
    state.metrics.tokens.inc(job.tokens)
    for kind in job.kinds:
        state.metrics.items.labels(kind).inc()
    return Response(body_bytes, media_type="application/json")


@_endpoint("search")
async def search(request: Request, state: AppState) -> Response:
    check_key(request, state.config.api_key)  # first: a client without the key learns nothing about the server
    runner = _check_ready(state)
    if state.collection is None:
        raise RequestError(
            "this server has no index; start it with --index DIR to search.", status=404, code="no_index"
        )
    req = parse_search_request(
        await read_json(request, state.config.max_request_bytes), allow_urls=state.config.allow_urls
    )
    state.admission.acquire(1)
    job = SearchJob(
        req,
        runner,
        state.collection,
        state.collection_lock,
        fetch=state.fetch,
        max_image_pixels=state.config.max_image_pixels,
    )
    cancel = threading.Event()
    body = await unless_gone(request, runner.run(job, on_done=lambda: state.admission.release(1)), cancel)
    return Response(body, media_type="application/json")


@_endpoint("models")
async def models_list(request: Request, state: AppState) -> Response:
    check_key(request, state.config.api_key)
    entry: dict[str, Any] = {"id": state.config.model_id, "object": "model", "created": 0, "owned_by": "jina-local"}
    if state.model is not None:
        info = state.model.info
        entry.update(
            {
                "dimensions": info.dense_dim,
                "matryoshka_dimensions": list(info.matryoshka_dims),
                "multivector_dimensions": info.multi_dim,
                "tasks": list(info.tasks),
                "max_tokens": info.max_length,
            }
        )
    return JSONResponse({"object": "list", "data": [entry]})


@_endpoint("health")
async def health(request: Request, state: AppState) -> Response:
    if state.draining:
        return JSONResponse({"status": "draining"}, status_code=503)
    if state.error:
        return JSONResponse({"status": "error", "detail": state.error}, status_code=503)
    if not state.ready:
        return JSONResponse({"status": "loading"}, status_code=503, headers={"Retry-After": "2"})
    return JSONResponse({"status": "ok", "model": state.config.model_id, "in_flight_items": state.admission.in_flight})


@_endpoint("metrics")
async def metrics(request: Request, state: AppState) -> Response:
    check_key(request, state.config.api_key)
    return Response(state.metrics.render(), media_type=CONTENT_TYPE)


@_endpoint("page")
async def page(request: Request, state: AppState) -> Response:
    if state.config.index is None:
        return JSONResponse(
            {
                "service": "jina-local",
                "model": state.config.model_id,
                "endpoints": ["/v1/embeddings", "/v1/models", "/health", "/metrics"],
            }
        )
    return HTMLResponse(
        render_search_page(title=f"jina-local · {state.config.collection}", needs_key=bool(state.config.api_key))
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    detail = exc.detail if isinstance(exc, HTTPException) else "internal server error"
    return JSONResponse(
        {
            "detail": detail,
            "error": {"message": detail, "type": "invalid_request_error", "param": None, "code": str(status)},
        },
        status_code=status,
    )


def create_app(config: ServerConfig, model: Any = None) -> Starlette:
    """The ASGI app for ``config``. ``model``: an already loaded Embedder (else ``config.model`` is loaded).

    The model loads in a thread once the app starts (so the port is bound at once); ``/health`` says
    503 until it is ready.
    """
    config.check()
    state = AppState(config, model)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        threading.Thread(target=state.load, name="jina-local-load", daemon=True).start()
        try:
            yield
        finally:
            state.draining = True
            await asyncio.to_thread(state.close)

    middleware = []
    if config.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(config.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type"],
            )
        )
    routes = [
        Route("/v1/embeddings", embeddings, methods=["POST"]),
        Route("/embeddings", embeddings, methods=["POST"]),
        Route("/v1/search", search, methods=["POST"]),
        Route("/v1/models", models_list, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/", page, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _http_error},
    )
    app.state.jina = state
    return app
