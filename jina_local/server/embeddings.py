"""The work of one embeddings request, run in a model thread: read images, count tokens, encode, respond.

Everything that costs CPU (decoding base64, reading image headers, tokenising for ``usage`` and the
limits, the forward, serialising thousands of floats) happens here, off the event loop.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable
from typing import Any

from ..errors import JinaLocalError
from .errors import RequestError
from .schemas import EmbedRequest, ImageRef, encode_vector
from .urls import fetch_image
from .work import ModelRunner

__all__ = ["EmbeddingJob"]


def _check_image(data: bytes, index: int, where: str, max_pixels: int) -> None:
    """Refuse unreadable or oversized images from their header alone (no pixels decoded)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as opened:
            width, height = opened.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise RequestError(
            f"{where} is not a readable image ({type(exc).__name__}); send PNG, JPEG, WebP, ...",
            field=where,
            item=index,
        ) from None
    if width * height > max_pixels:
        raise RequestError(
            f"{where} is {width}x{height} pixels, more than this server takes ({max_pixels:,}); send a smaller image.",
            status=413,
            field=where,
            item=index,
            code="image_too_large",
        )


class EmbeddingJob:
    """One request's work; :meth:`__call__` runs in a model thread and returns the response body."""

    def __init__(
        self,
        req: EmbedRequest,
        runner: ModelRunner,
        *,
        model_id: str,
        max_tokens: int,
        max_input_tokens: int | None,
        max_image_pixels: int,
        fetch: Any,
        cancel: threading.Event,
        on_start: Callable[[], None],
    ) -> None:
        self.req = req
        self.runner = runner
        self.model_id = model_id
        self.max_tokens = max_tokens
        self.max_input_tokens = min(runner.model.info.max_length, max_input_tokens or runner.model.info.max_length)
        self.truncated = False
        self.max_image_pixels = max_image_pixels
        self.fetch = fetch
        self.cancel = cancel
        self.on_start = on_start
        self.tokens = 0
        self.kinds: list[str] = []

    def _inputs(self) -> list[Any]:
        model = self.runner.model
        max_length = self.max_input_tokens
        items: list[Any] = []
        for index, item in enumerate(self.req.items):
            if isinstance(item, ImageRef):
                where = item.where
                data = item.data if item.data is not None else fetch_image(str(item.url), self.fetch, index, where)
                _check_image(data, index, where, self.max_image_pixels)
                items.append(data)
                self.kinds.append("image")
                continue
            count = model.count_tokens(item)
            if count > max_length and not self.req.truncate:
                raise RequestError(
                    f"input[{index}] is {count} tokens, more than the model takes ({max_length}); "
                    "shorten it, or send truncate=true to embed its first tokens.",
                    field=f"input[{index}]",
                    item=index,
                    code="too_many_tokens",
                )
            self.truncated = self.truncated or count > max_length
            self.tokens += min(count, max_length)
            if self.tokens > self.max_tokens:
                raise RequestError(
                    f"the request is more than {self.max_tokens} tokens (limit per request); split it.",
                    status=413,
                    field="input",
                    code="too_many_tokens",
                )
            items.append(item)
            self.kinds.append("text")
        return items

    def __call__(self) -> bytes:
        req = self.req
        items = self._inputs()
        kwargs: dict[str, Any] = {"role": req.role, "task": req.task, "output": req.output, "dim": req.dim}
        if self.truncated:
            kwargs["max_length"] = self.max_input_tokens
        if req.late_chunking:
            kwargs["late_chunking"] = True
        try:
            out = self.runner.encode_items(items, self.cancel, kwargs, on_start=self.on_start)
        except JinaLocalError as exc:
            if isinstance(exc, RequestError):
                raise
            raise RequestError(f"the inputs could not be embedded: {exc}", field="input") from None
        rows = out["multi"] if req.multivector else out["dense"]
        data = [
            {"object": "embedding", "index": i, "embedding": encode_vector(rows[i], req.encoding)}
            for i in range(len(items))
        ]
        body = {
            "object": "list",
            "data": data,
            "model": self.model_id,
            "usage": {"prompt_tokens": self.tokens, "total_tokens": self.tokens},
        }
        return json.dumps(body, separators=(",", ":")).encode("utf-8")
