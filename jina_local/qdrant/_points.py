"""Deterministic point ids and payloads.

A point id is ``uuid5(NAMESPACE, source + "\\x00" + content digest)``: the same item from the same
source always maps to the same point, so adding it again overwrites instead of duplicating. The
content digest is SHA-256 of the text, of the decoded RGB pixels (plus size) for images, or of the
vectors when only vectors are given.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import InputError
from ..inputs import ImageInput, TextInput, TypedInput

__all__ = [
    "ID_NAMESPACE",
    "RESERVED_KEYS",
    "build_payload",
    "check_id",
    "content_digest",
    "point_id",
    "vectors_digest",
]

ID_NAMESPACE = uuid.UUID("6c0f4a52-8f6e-5b0e-9d3a-6a696e616c63")
"""Namespace of jina-local point ids (fixed forever: changing it would re-key every collection)."""

RESERVED_KEYS = ("kind", "task", "text", "image")
"""Payload keys jina-local writes itself; ``source`` may be given by the user."""


def content_digest(item: TypedInput) -> str:
    """SHA-256 of what an item is: its text, or its RGB pixels and size."""
    h = hashlib.sha256()
    if isinstance(item, TextInput):
        h.update(b"text\x00")
        h.update(item.text.encode("utf-8"))
    elif isinstance(item, ImageInput):
        image = item.image if item.image.mode == "RGB" else item.image.convert("RGB")
        h.update(f"image\x00{image.size[0]}x{image.size[1]}\x00".encode())
        h.update(image.tobytes())
    else:  # pragma: no cover - load_item only returns these two
        raise TypeError(f"unexpected typed input {type(item).__name__}")
    return h.hexdigest()


def vectors_digest(dense: np.ndarray | None, multi: np.ndarray | None) -> str:
    """SHA-256 of precomputed vectors (ids for ``add_embeddings`` without text or source)."""
    h = hashlib.sha256(b"vectors\x00")
    for part in (dense, multi):
        if part is not None:
            arr = np.ascontiguousarray(part, dtype=np.float32)
            h.update(str(arr.shape).encode())
            h.update(arr.tobytes())
    return h.hexdigest()


def point_id(source: str, digest: str) -> str:
    """``uuid5`` of source and content digest, as a string."""
    return str(uuid.uuid5(ID_NAMESPACE, f"{source}\x00{digest}"))


def build_payload(
    user: Mapping[str, Any] | None,
    *,
    index: int,
    kind: str,
    task: str,
    source: str,
    text: str | None = None,
    image: str | None = None,
) -> dict[str, Any]:
    """User payload plus jina-local's fields; refuses user keys that would shadow them."""
    payload: dict[str, Any] = {}
    if user:
        if not isinstance(user, Mapping):
            raise InputError(f"payload {index} must be a dict, got {type(user).__name__}.")
        clash = sorted(k for k in user if k in RESERVED_KEYS)
        if clash:
            raise InputError(
                f"payload {index} uses reserved key(s) {clash}: jina-local stores kind, task, text and image "
                "itself. Rename those keys (e.g. 'doc_kind'), or nest your data under one key such as 'meta'."
            )
        payload.update(user)
    payload["kind"] = kind
    payload["task"] = task
    payload["source"] = source
    if text is not None:
        payload["text"] = text
    if image is not None:
        payload["image"] = image
    return payload


def check_id(value: Any, index: int) -> str:
    """A user-given point id as a UUID string; anything else raises :class:`InputError`."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
    raise InputError(f"id {index} ({value!r}) is not a UUID; Qdrant point ids here are UUID strings.")
