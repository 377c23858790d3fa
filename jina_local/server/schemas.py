"""``POST /v1/embeddings`` in both schemas: OpenAI's and Jina's, parsed into one :class:`EmbedRequest`.

OpenAI: ``input`` (str or list of str), ``model``, ``dimensions``, ``encoding_format`` (``float`` |
``base64``), ``user``. Jina: ``input`` (strings, ``{"text"}``, ``{"image"}``; also ``{"url"}`` and
``{"bytes"}`` as Jina's clients send them), ``task``, ``dimensions``, ``late_chunking``,
``embedding_type`` (``float`` | ``base64`` | ``binary`` | ``ubinary``), ``return_multivector``,
``truncate``, ``normalized``. Every refusal is a :class:`RequestError` naming the field (and item).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from ..types import ModelInfo
from .errors import RequestError

__all__ = [
    "ENCODINGS",
    "JINA_TASKS",
    "EmbedRequest",
    "ImageRef",
    "encode_vector",
    "parse_embedding_request",
    "parse_image_ref",
    "task_and_role",
]

JINA_TASKS: Final[dict[str, tuple[str, str]]] = {
    "retrieval.query": ("retrieval", "query"),
    "retrieval.passage": ("retrieval", "document"),
    "code.query": ("code", "query"),
    "code.passage": ("code", "document"),
    "text-matching": ("text-matching", "query"),
}
"""Jina's task names -> (task adapter, role). ``text-matching`` is symmetric: both sides use it."""
DEFAULT_JINA_TASK: Final = "text-matching"
ENCODINGS: Final = ("float", "base64", "binary", "ubinary")
_FIELDS: Final = frozenset(
    {
        "input",
        "model",
        "dimensions",
        "encoding_format",
        "embedding_type",
        "user",
        "task",
        "late_chunking",
        "return_multivector",
        "truncate",
        "normalized",
    }
)


@dataclass(frozen=True)
class ImageRef:
    """An image item: decoded bytes, or a URL to fetch (only with ``--allow-urls``)."""

    data: bytes | None = None
    url: str | None = None
    where: str = "input"
    """The request field it came from, e.g. ``input[2].image``."""


@dataclass
class EmbedRequest:
    """A validated embeddings request."""

    items: list[str | ImageRef]
    jina_task: str
    task: str
    role: str
    dim: int | None = None
    encoding: str = "float"
    multivector: bool = False
    late_chunking: bool = False
    truncate: bool = False
    model: str | None = None
    raw_bytes: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        """What to ask ``encode`` for."""
        return "multi" if self.multivector else "dense"


def task_and_role(jina_task: str, info: ModelInfo) -> tuple[str, str]:
    """Jina task name -> (adapter of this model, role); a model without adapters uses its one task.

    >>> from jina_local.types import ModelInfo
    >>> clip = ModelInfo("clip", "jina_clip_v2", 1024, (64, 1024), None, ("retrieval",), "retrieval",
    ...                  "cpu", "float32", "", 8192)
    >>> task_and_role("code.passage", clip)
    ('retrieval', 'document')
    """
    adapter, role = JINA_TASKS[jina_task]
    if adapter not in info.tasks:
        adapter = info.default_task
    return adapter, role


def _bool(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise RequestError(f"{name} must be true or false, got {value!r}.", field=name)
    return value


def parse_image_ref(value: Any, where: str, index: int, allow_urls: bool) -> ImageRef:
    """An image given as a data: URI, raw base64, or (only with ``allow_urls``) an http(s) URL."""
    if not isinstance(value, str) or not value.strip():
        raise RequestError(
            f"{where} must be a string: a data: URI, base64 image bytes, or an http(s) URL.", field=where, item=index
        )
    text = value.strip()
    head = text[:16].lower()
    if head.startswith(("http://", "https://")):
        if not allow_urls:
            raise RequestError(
                f"{where} is a URL, and this server does not fetch URLs; send the image as base64 "
                "(or start the server with --allow-urls).",
                field=where,
                item=index,
                code="urls_refused",
            )
        return ImageRef(url=text, where=where)
    if head.startswith("data:"):
        header, sep, payload = text.partition(",")
        if not sep or not header.lower().startswith("data:image/") or not header.lower().endswith(";base64"):
            raise RequestError(f"{where} is a data: URI but not 'data:image/...;base64,...'.", field=where, item=index)
        text = payload
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(
            f"{where} is neither a URL, a data: URI, nor valid base64 image bytes.", field=where, item=index
        ) from None
    if not data:
        raise RequestError(f"{where} is empty.", field=where, item=index)
    return ImageRef(data=data, where=where)


def _item(value: Any, index: int, allow_urls: bool) -> str | ImageRef:
    where = f"input[{index}]"
    if isinstance(value, str):
        if value.lstrip()[:11].lower() == "data:image/":  # the model reads these as images: check them as images
            return parse_image_ref(value, where, index, allow_urls)
        return value
    if isinstance(value, dict):
        keys = set(value)
        if keys == {"text"}:
            if not isinstance(value["text"], str):
                raise RequestError(f"{where}.text must be a string.", field=f"{where}.text", item=index)
            return value["text"]
        for key in ("image", "url", "bytes"):
            if keys == {key}:
                return parse_image_ref(value[key], f"{where}.{key}", index, allow_urls)
        raise RequestError(
            f'{where} has keys {sorted(keys)}; an object item is {{"text": ...}} or {{"image": ...}} '
            "(a data: URI, base64 bytes, or a URL).",
            field=where,
            item=index,
        )
    if isinstance(value, list):
        raise RequestError(
            f"{where} is a token-id array; this server takes strings (send the text).", field=where, item=index
        )
    raise RequestError(
        f'{where} has type {type(value).__name__}; send a string or {{"text"}}/{{"image"}}.', field=where, item=index
    )


def parse_embedding_request(
    body: Any,
    info: ModelInfo,
    *,
    model_names: set[str],
    default_task: str | None,
    allow_urls: bool,
    max_items: int,
    served_id: str = "",
) -> EmbedRequest:
    """Validate a decoded JSON body against the served model; see the module docstring."""
    if not isinstance(body, dict):
        raise RequestError("the request body must be a JSON object with at least an 'input' field.", status=400)
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise RequestError(f"unknown field(s) {unknown}; fields are {sorted(_FIELDS)}.", field=unknown[0])
    model = body.get("model")
    if model is not None and (not isinstance(model, str) or model not in model_names):
        served = served_id or min(model_names)
        raise RequestError(
            f"model {model!r} is not served here; this server serves {served!r}.",
            status=404,
            field="model",
            code="model_not_found",
        )
    if "input" not in body:
        raise RequestError("the field 'input' is missing: send a string or a list of items.", field="input")
    raw = body["input"]
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise RequestError("input must be a non-empty string or list of items.", field="input")
    if all(isinstance(v, int) and not isinstance(v, bool) for v in raw):
        raise RequestError("input is a token-id array; this server takes strings (send the text).", field="input")
    if len(raw) > max_items:
        raise RequestError(
            f"input has {len(raw)} items; this server takes at most {max_items} per request.",
            status=413,
            field="input",
            code="too_many_items",
        )
    items = [_item(v, i, allow_urls) for i, v in enumerate(raw)]

    jina_task = body.get("task")
    if jina_task is None:
        jina_task = default_task or DEFAULT_JINA_TASK
    elif jina_task not in JINA_TASKS:
        raise RequestError(f"task {jina_task!r} is not valid; use one of {sorted(JINA_TASKS)}.", field="task")
    task, role = task_and_role(jina_task, info)

    dim = body.get("dimensions")
    if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int) or dim not in info.matryoshka_dims):
        valid = ", ".join(str(d) for d in info.matryoshka_dims)
        raise RequestError(
            f"dimensions={dim!r} is not a Matryoshka size of this model; valid: {valid}.", field="dimensions"
        )
    fmt, typ = body.get("encoding_format"), body.get("embedding_type")
    for name, value in (("encoding_format", fmt), ("embedding_type", typ)):
        if value is not None and value not in ENCODINGS:
            raise RequestError(f"{name}={value!r} is not valid; use one of {list(ENCODINGS)}.", field=name)
    if fmt is not None and typ is not None and fmt != typ:
        raise RequestError(
            f"encoding_format={fmt!r} and embedding_type={typ!r} disagree; send one of them.", field="embedding_type"
        )
    if not _bool(body, "normalized", True):
        raise RequestError(
            "normalized=false is not offered: jina-local returns L2-normalised vectors only.", field="normalized"
        )
    req = EmbedRequest(
        items=items,
        jina_task=jina_task,
        task=task,
        role=role,
        dim=dim,
        encoding=typ or fmt or "float",
        multivector=_bool(body, "return_multivector", False),
        late_chunking=_bool(body, "late_chunking", False),
        truncate=_bool(body, "truncate", False),
        model=model,
    )
    if req.multivector and not info.has_multi:
        raise RequestError(
            f"return_multivector=true needs per-token vectors, which {info.name} does not produce.",
            field="return_multivector",
        )
    if req.multivector and dim is not None:
        raise RequestError("dimensions applies to single vectors; multi-vectors are always 128-d.", field="dimensions")
    if req.late_chunking and any(isinstance(i, ImageRef) for i in items):
        raise RequestError(
            "late_chunking=true embeds texts of one document; images cannot take part.", field="late_chunking"
        )
    return req


def encode_vector(vector: np.ndarray, encoding: str) -> Any:
    """One vector (or a multi-vector's rows) in the requested encoding.

    ``float``: numbers; ``base64``: little-endian float32 bytes; ``ubinary``: the sign bits
    (positive -> 1), eight dimensions per byte, most significant bit first, as uint8 (``np.packbits``);
    ``binary``: those bytes minus 128, as int8, the convention of sentence-transformers'
    ``quantize_embeddings``, Cohere, infinity and vLLM (so ``binary == ubinary - 128``).

    >>> encode_vector(np.array([0.5, -1, 2, 0, 1, 1, 1, -1, 3], dtype=np.float32), "ubinary")
    [174, 128]
    >>> encode_vector(np.array([0.5, -1, 2, 0, 1, 1, 1, -1, 3], dtype=np.float32), "binary")
    [46, 0]
    >>> encode_vector(np.array([1, -1, 1, 1, 1, 1, 1, 0], dtype=np.float32), "binary")
    [62]
    """
    vec = np.asarray(vector, dtype=np.float32)
    if vec.ndim == 2:  # a multi-vector: one encoded row per token
        return [encode_vector(row, encoding) for row in vec]
    if encoding == "float":
        return vec.tolist()
    if encoding == "base64":
        return base64.b64encode(vec.astype("<f4").tobytes()).decode("ascii")
    packed = np.packbits(vec > 0)  # uint8, MSB first
    if encoding == "binary":
        return (packed.astype(np.int16) - 128).tolist()  # int8 range: -128..127
    return packed.tolist()
