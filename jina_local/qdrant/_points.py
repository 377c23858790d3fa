"""Deterministic point ids and payloads.

A point id is ``uuid5(NAMESPACE, source + "\\x00" + content digest)``: the same item from the same
source always maps to the same point, so adding it again overwrites instead of duplicating. The
content digest is SHA-256 of the text, of the decoded RGB pixels (plus size) for images, or of the
vectors when only vectors are given.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from ..inputs import ImageInput, TextInput, TypedInput

__all__ = [
    "ID_NAMESPACE",
    "KEY_NAMESPACE",
    "LAYOUT_KEYS",
    "PAYLOAD_LAYOUT",
    "RESERVED_KEYS",
    "PointPayload",
    "StoredItem",
    "build_payload",
    "check_id",
    "check_per_item",
    "content_digest",
    "document_key",
    "key_to_point_id",
    "parse_payload",
    "point_id",
    "vectors_digest",
]

ID_NAMESPACE = uuid.UUID("6c0f4a52-8f6e-5b0e-9d3a-6a696e616c63")
"""Namespace of jina-local point ids (fixed forever: changing it would re-key every collection)."""

PAYLOAD_LAYOUT = 2
"""The payload layout written now (1: flat user keys; 2: nested ``metadata`` + node record)."""

KEY_NAMESPACE = uuid.UUID("a1f3c7e2-5b0d-5c4e-8f1a-6a6b65796964")
"""Namespace of point ids derived from callers' string ids (fixed forever, like ``ID_NAMESPACE``)."""

RESERVED_KEYS = ("kind", "task", "source", "text", "image")
"""jina-local's own top-level payload fields (a filter on these names reads them, not metadata)."""

LAYOUT_KEYS = ("metadata", *RESERVED_KEYS, "item_id", "_node_content", "_node_type")
"""Every top-level key of the layout jina-local writes."""
_LLAMA_FIELDS = ("doc_id", "document_id", "ref_doc_id")
_NESTED_KEYS = frozenset((*LAYOUT_KEYS, *_LLAMA_FIELDS, "page_content"))
_FLAT_SKIP = frozenset((*RESERVED_KEYS, "item_id", "_node_content", "_node_type", "page_content", *_LLAMA_FIELDS))


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
        raise InputError(f"unexpected typed input {type(item).__name__}")
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


def check_per_item(values: Any, what: str, count: int | None, unit: str = "item") -> None:
    """``payloads`` / ``ids``: ``None`` or an indexable sequence with one entry per item (``count``, when known)."""
    if values is None:
        return
    if isinstance(values, (str, bytes, bytearray, Mapping)) or not (
        hasattr(values, "__len__") and hasattr(values, "__getitem__")
    ):
        raise InputError(f"{what} is a {type(values).__name__}; pass a list with one entry per {unit} (or None).")
    if count is not None and len(values) != count:
        raise InputError(f"got {count} {unit}s but {len(values)} {what}; pass one per {unit} (or None).")


def point_id(source: str, digest: str) -> str:
    """``uuid5`` of source and content digest, as a string."""
    return str(uuid.uuid5(ID_NAMESPACE, f"{source}\x00{digest}"))


class PointPayload(Mapping[str, Any]):
    """The caller's metadata of one item, plus what the framework stores keep beside it.

    It reads as the metadata mapping (so ``payload.get("source")`` works wherever a plain dict
    payload does). ``item_id``: the caller's id when it is not the point id (any string; handed
    back as given). ``node``: a LlamaIndex node record (JSON) to store instead of the one built
    from the text and metadata. ``fields``: extra top-level keys (LlamaIndex's ``doc_id`` /
    ``ref_doc_id`` / ``document_id``), for filters on them. ``text``: the text to store when it is
    not the encoded input (LlamaIndex encodes a node's metadata with its text; the node's own
    text is what readers should get back).
    """

    __slots__ = ("fields", "item_id", "metadata", "node", "text")

    def __init__(
        self,
        metadata: Mapping[str, Any] | None = None,
        *,
        item_id: str | None = None,
        node: str | None = None,
        fields: Mapping[str, Any] | None = None,
        text: str | None = None,
    ) -> None:
        if metadata is not None and not isinstance(metadata, Mapping):
            raise InputError(f"metadata must be a dict, got {type(metadata).__name__}.")
        clash = sorted(set(fields or {}) & set(LAYOUT_KEYS))
        if clash:
            raise InputError(f"fields {clash} would overwrite jina-local's own payload keys {list(LAYOUT_KEYS)}.")
        self.metadata = dict(metadata or {})
        self.item_id = None if item_id is None else str(item_id)
        self.node = node
        self.fields = dict(fields or {})
        self.text = text

    def __getitem__(self, key: str) -> Any:
        return self.metadata[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.metadata)

    def __len__(self) -> int:
        return len(self.metadata)

    def __repr__(self) -> str:
        return f"PointPayload({self.metadata!r}, item_id={self.item_id!r})"


def _node_record(point: str | None, metadata: dict[str, Any], text: str | None, image: str | None) -> str:
    """A minimal LlamaIndex node (``TextNode`` / ``ImageNode`` JSON) so llama-index's own readers get it."""
    record: dict[str, Any] = {"id_": point, "metadata": metadata, "text": text or ""}
    if point is None:
        del record["id_"]
    if text is None and image is not None:
        record["class_name"] = "ImageNode"
        record["image_url" if image.lower().startswith(("http://", "https://")) else "image_path"] = image
    else:
        record["class_name"] = "TextNode"
    return json.dumps(record, ensure_ascii=False, default=str)


def _check_json(value: Any, index: int, key: str) -> None:
    """Payload values must be JSON (what Qdrant stores): refuse others with the key that holds them."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"payload {index} key {key!r} holds a value that is not JSON ({exc}); store str, int, float (finite), "
            "bool, None, lists and dicts of them (e.g. str(value) or value.isoformat() for dates)."
        ) from None


def build_payload(
    user: Mapping[str, Any] | None,
    *,
    index: int,
    kind: str,
    task: str,
    source: str,
    text: str | None = None,
    image: str | None = None,
    point_id: str | None = None,
) -> dict[str, Any]:
    """The stored payload of one point (layout 2, see ``docs/qdrant.md``).

    ``text`` and ``metadata`` (the caller's dict, as given) are where LangChain's
    ``QdrantVectorStore(content_payload_key="text", metadata_payload_key="metadata")`` reads;
    ``_node_content`` / ``_node_type`` are the node record llama-index's ``QdrantVectorStore``
    reads; ``kind``, ``task``, ``source``, ``image`` are jina-local's own top-level fields (filters,
    per-task search). ``point_id`` goes into the node record (pass it whenever known).
    """
    if user is not None and not isinstance(user, Mapping):
        raise InputError(f"payload {index} must be a dict, got {type(user).__name__}.")
    extra = user if isinstance(user, PointPayload) else None
    metadata = dict(extra.metadata if extra is not None else (user or {}))
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise InputError(
                f"payload {index} has a key {key!r} that is not a string; Qdrant payload keys are strings."
            )
        _check_json(value, index, key)
    payload: dict[str, Any] = dict(extra.fields) if extra is not None else {}
    payload["metadata"] = metadata
    payload["kind"] = kind
    payload["task"] = task
    payload["source"] = source
    if text is not None and extra is not None and extra.text is not None:
        text = extra.text
    if text is not None:
        payload["text"] = text
    if image is not None:
        payload["image"] = image
    item_id = extra.item_id if extra is not None else None
    if item_id is not None and item_id != point_id:
        payload["item_id"] = item_id
    node_type = "ImageNode" if text is None and image is not None else "TextNode"
    if extra is not None and extra.node is not None:
        payload["_node_content"] = extra.node
        node_type = str(json.loads(extra.node).get("class_name") or node_type)
    else:
        payload["_node_content"] = _node_record(item_id or point_id, metadata, text, image)
    payload["_node_type"] = node_type
    return payload


@dataclass(frozen=True)
class StoredItem:
    """A stored payload read back, whichever layout wrote it."""

    text: str | None
    metadata: dict[str, Any]
    kind: str | None = None
    task: str | None = None
    source: str | None = None
    image: str | None = None
    item_id: str | None = None
    node: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    layout: int = 2
    """2: nested ``metadata`` (current); 1: jina-local's flat layout or a flat foreign one."""

    def flat(self) -> dict[str, Any]:
        """Metadata and jina-local's fields in one dict (jina-local's fields win a name clash)."""
        out = dict(self.metadata)
        for key in ("kind", "task", "source", "text", "image"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


def parse_payload(raw: Mapping[str, Any] | None) -> StoredItem:
    """Read a stored payload: layout 2, jina-local's flat layout 1, langchain-qdrant's or llama-index's."""
    raw = dict(raw or {})
    own = {k: raw.get(k) for k in ("kind", "task", "source", "image")}
    own = {k: (str(v) if v is not None else None) for k, v in own.items()}
    node = raw.get("_node_content") if isinstance(raw.get("_node_content"), str) else None
    text = raw.get("text") if isinstance(raw.get("text"), str) else None
    if text is None and isinstance(raw.get("page_content"), str):
        text = raw["page_content"]
    nested = isinstance(raw.get("metadata"), dict) and set(raw) <= _NESTED_KEYS
    fields = {k: raw[k] for k in _LLAMA_FIELDS if k in raw}
    if nested:
        metadata = dict(raw["metadata"])
        layout = 2
    else:
        metadata = {k: v for k, v in raw.items() if k not in _FLAT_SKIP}
        layout = 1
    if text is None and node is not None and own["kind"] != "image":
        try:
            node_text = json.loads(node).get("text")
        except (ValueError, AttributeError):
            node_text = None
        text = node_text if isinstance(node_text, str) and node_text else None
    item_id = raw.get("item_id")
    return StoredItem(
        text=text,
        metadata=metadata,
        item_id=str(item_id) if item_id is not None else None,
        node=node,
        fields=fields,
        layout=layout,
        **own,
    )


def key_to_point_id(key: Any, index: int = 0) -> str:
    """The point id of a caller's id: a UUID stays itself, any other string maps to ``uuid5`` of it.

    >>> key_to_point_id("6c0f4a52-8f6e-5b0e-9d3a-6a696e616c63")
    '6c0f4a52-8f6e-5b0e-9d3a-6a696e616c63'
    >>> key_to_point_id("1") == key_to_point_id("1") != key_to_point_id("2")
    True
    """
    if isinstance(key, uuid.UUID):
        return str(key)
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        raise InputError(f"id {index} ({key!r}) must be a string (any string) or a UUID, got {type(key).__name__}.")
    text = str(key)
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return str(uuid.uuid5(KEY_NAMESPACE, text))


def document_key(text: str, metadata: Mapping[str, Any] | None) -> str:
    """A deterministic id for a document given without one: the same text and metadata, the same id."""
    meta = json.dumps(dict(metadata or {}), sort_keys=True, ensure_ascii=False, default=str)
    return str(uuid.uuid5(KEY_NAMESPACE, f"doc\x00{text}\x00{meta}"))


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
