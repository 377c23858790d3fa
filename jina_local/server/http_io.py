"""Reading requests: the bearer key, a JSON body under a byte limit, and noticing a client that left."""

from __future__ import annotations

import asyncio
import hmac
import json
import threading
from collections.abc import Awaitable
from typing import Any

from starlette.requests import Request

from .errors import RequestError

__all__ = ["ClientGone", "check_key", "read_json", "unless_gone"]


class ClientGone(Exception):
    """The client disconnected while its request waited."""


def check_key(request: Request, key: str | None) -> None:
    """Refuse (401) a request without ``Authorization: Bearer <key>``; compared in constant time."""
    if not key:
        return
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    given = token.strip().encode() if scheme.lower() == "bearer" else b""
    if not hmac.compare_digest(given, key.encode()):
        raise RequestError(
            "missing or wrong API key: send 'Authorization: Bearer <key>'.",
            status=401,
            code="invalid_api_key",
            headers={"WWW-Authenticate": "Bearer"},
        )


async def read_json(request: Request, limit: int) -> Any:
    """The body as JSON; 413 past ``limit`` bytes (declared or streamed), 400 if it is not JSON."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise RequestError(
            f"the request body is {int(declared):,} bytes; this server takes at most {limit:,}.",
            status=413,
            code="body_too_large",
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(
                f"the request body is more than {limit:,} bytes (the limit); split it.",
                status=413,
                code="body_too_large",
            )
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(f"the request body is not valid JSON: {exc}.", status=400, code="invalid_json") from None


async def _disconnected(request: Request) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


async def unless_gone(request: Request, work: Awaitable[Any], cancel: threading.Event) -> Any:
    """Await ``work``; if the client disconnects first, set ``cancel`` and raise :class:`ClientGone`."""
    task = asyncio.ensure_future(work)
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        done, _ = await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if task in done:
        return task.result()
    cancel.set()
    task.add_done_callback(lambda t: t.cancelled() or t.exception())  # collect its outcome quietly
    raise ClientGone()
