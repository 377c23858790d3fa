"""Where a collection lives: ``":memory:"``, a folder, a URL or a client -> the backend that serves it."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from qdrant_client import QdrantClient

from ..errors import CollectionLockedError, OptionError
from ..options import MAX_POOL_FACTOR, check_collection_name
from ._base import Backend

__all__ = [
    "MAX_POOL_FACTOR",
    "BackendName",
    "check_collection_name",
    "check_location",
    "check_open_options",
    "resolve_backend",
]

BackendName = Literal["auto", "edge", "client"]


def check_open_options(*, pool_factor: Any, multi_dtype: Any, dense_dim: Any, hnsw_m: Any, hnsw_ef_construct: Any,
                       dense_quantization: Any, shard_number: Any = None, replication_factor: Any = None,
                       write_consistency_factor: Any = None) -> None:  # fmt: skip
    """Refuse creation settings no collection can have, before anything is opened."""
    if pool_factor is not None and (
        isinstance(pool_factor, bool) or not isinstance(pool_factor, int) or not 1 <= pool_factor <= MAX_POOL_FACTOR
    ):
        raise OptionError(
            f"pool_factor={pool_factor!r} is not valid; use None or 1 (off), or 2-{MAX_POOL_FACTOR} (2 halves the "
            "stored token vectors with virtually no loss, 3-4 keep a third / a quarter)."
        )
    if multi_dtype not in (None, "float32", "float16"):
        raise OptionError(f"multi_dtype={multi_dtype!r} is not valid; use 'float32' or 'float16'.")
    if dense_quantization not in (None, "int8"):
        raise OptionError(f"dense_quantization={dense_quantization!r} is not valid; use None or 'int8'.")
    for what, value, low in (
        ("dense_dim", dense_dim, 1),
        ("hnsw_m", hnsw_m, 0),
        ("hnsw_ef_construct", hnsw_ef_construct, 4),
        ("shard_number", shard_number, 1),
        ("replication_factor", replication_factor, 1),
        ("write_consistency_factor", write_consistency_factor, 1),
    ):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
            raise OptionError(f"{what}={value!r} must be an integer >= {low}.")


_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):(//)?")
_HOST_PORT = re.compile(r"[A-Za-z0-9.-]+:\d{1,5}(/.*)?")
_LOCATIONS = "pass ':memory:', a folder path, an http(s):// URL of a Qdrant server, or a QdrantClient"


def check_location(location: str | os.PathLike[str]) -> str:
    """A location string :func:`resolve_backend` can serve: ``":memory:"``, an http(s) URL or a folder path.

    Other URL schemes (``qdrant://``, ``grpc://``, ``file://``), a bare ``host:port`` and strings no
    folder can be named by (empty, NUL bytes) raise :class:`~jina_local.errors.OptionError` rather
    than becoming a folder of that name. A ``pathlib.Path`` is always a folder path.

    >>> check_location("http://localhost:6333")
    'http://localhost:6333'
    >>> check_location("qdrant://db/x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    jina_local.errors.OptionError: location 'qdrant://db/x' starts with the URL scheme 'qdrant:', which is not served: ...
    """
    loc = os.fspath(location)
    if isinstance(loc, bytes):
        raise OptionError(f"location {loc!r} is bytes; {_LOCATIONS} (a str).")
    if not loc.strip():
        raise OptionError(f"location {loc!r} is empty; {_LOCATIONS}.")
    if "\x00" in loc:
        raise OptionError(f"location {loc!r} holds a NUL character, which no path can; {_LOCATIONS}.")
    if not isinstance(location, str) or loc == ":memory:":
        return loc
    if loc.lower().startswith(("http://", "https://")):
        return _check_url(loc)
    scheme = _SCHEME.match(loc)
    drive = scheme is not None and len(scheme.group(1)) == 1 and os.name == "nt"  # C:\\index on Windows
    if scheme is None or drive or (not scheme.group(2) and Path(loc).expanduser().is_dir()):
        return loc
    if scheme.group(1).lower() == "file" and scheme.group(2):
        raise OptionError(f"location {loc!r} is a file:// URL; pass the folder path itself ({loc[7:]!r}).")
    if _HOST_PORT.fullmatch(loc):
        raise OptionError(f"location {loc!r} looks like host:port; a Qdrant server needs its URL, e.g. 'http://{loc}'.")
    folder = "" if scheme.group(2) else f" (for a new folder of that name pass pathlib.Path({loc!r}))"
    raise OptionError(
        f"location {loc!r} starts with the URL scheme {scheme.group(1) + ':'!r}, which is not served: "
        f"{_LOCATIONS}{folder}."
    )


def _check_url(url: str) -> str:
    """An http(s) URL with a host and a valid port, its scheme lower-cased."""
    scheme, rest = url.split("://", 1)
    url = f"{scheme.lower()}://{rest}"
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port
    except ValueError as exc:
        raise OptionError(f"location {url!r} is not a valid URL ({exc}); use e.g. 'http://localhost:6333'.") from None
    if not host:
        raise OptionError(f"location {url!r} names no host; use e.g. 'http://localhost:6333'.")
    return url


def _client_is_local(client: QdrantClient) -> bool:
    from qdrant_client.local.qdrant_local import QdrantLocal

    return isinstance(getattr(client, "_client", None), QdrantLocal)


def is_edge_collection(folder: Path, name: str) -> bool:
    """Whether ``folder`` holds the embedded engine's collection ``name`` (its ``NAME/shard`` folder)."""
    return (folder / name / "shard").exists()


def is_client_store(folder: Path) -> bool:
    """Whether ``folder`` is a ``QdrantClient(path=...)`` store (``meta.json`` beside ``collection/``)."""
    return (folder / "meta.json").is_file() and (folder / "collection").is_dir()


def resolve_backend(
    location: Any, name: str, backend: BackendName, api_key: str | None, timeout: int | None
) -> Backend:
    from ._client_backend import ClientBackend
    from ._edge_backend import EdgeBackend

    if backend not in ("auto", "edge", "client"):
        raise OptionError(f"backend={backend!r} is not valid; use 'auto', 'edge' or 'client'.")
    if isinstance(location, QdrantClient):
        if backend == "edge":
            raise OptionError("backend='edge' needs a folder location, not a QdrantClient.")
        local = _client_is_local(location)
        if local:
            from ._foreign import check_client_path

            check_client_path(location, name)
        url = (getattr(location, "init_options", None) or {}).get("url")
        label = f"qdrant-client {url}" if url else "qdrant-client (given client)"
        return ClientBackend(location, name, label=label, owns_client=False, local=local)
    if not isinstance(location, (str, os.PathLike)):
        raise OptionError(
            f"location must be ':memory:', a folder, an http(s):// URL or a QdrantClient, got {type(location).__name__}."
        )
    loc = check_location(location)
    if loc == ":memory:":
        if backend == "edge":
            raise OptionError("backend='edge' stores data in a folder; pass a folder path instead of ':memory:'.")
        return ClientBackend(
            QdrantClient(":memory:"), name, label="qdrant-client :memory:", owns_client=True, local=True
        )
    if loc.startswith(("http://", "https://")):
        if backend == "edge":
            raise OptionError("backend='edge' is the embedded engine; a URL is served by qdrant-client.")
        client = QdrantClient(url=loc, api_key=api_key, timeout=timeout)
        return ClientBackend(client, name, label=f"qdrant-client {loc}", owns_client=True, local=False)
    folder = Path(loc).expanduser()
    if folder.exists() and not folder.is_dir():
        raise OptionError(f"the index location {folder} is a file, not a folder; pass a folder (created if missing).")
    client_layout = is_client_store(folder)
    if backend == "auto" and is_edge_collection(folder, name):
        return EdgeBackend(folder, name)  # ours, even if a QdrantClient(path=...) left meta.json here
    if backend == "client" or (backend == "auto" and client_layout):
        client = _local_client(folder)
        if backend == "client":
            from ._foreign import check_client_path

            try:
                check_client_path(client, name)
            except BaseException:
                client.close()
                raise
        return ClientBackend(client, name, label=f"qdrant-client path={folder}", owns_client=True, local=True)
    if is_edge_collection(folder, name) or not client_layout:
        return EdgeBackend(folder, name)
    raise OptionError(  # backend == "edge" on a qdrant-client folder  # pragma: no cover
        f"{folder} holds a qdrant-client local store; open it with backend='client' or 'auto'."
    )


def _local_client(folder: Path) -> QdrantClient:
    """``QdrantClient(path=folder)``; a folder another process holds is a :class:`CollectionLockedError`."""
    try:
        return QdrantClient(path=str(folder))
    except RuntimeError as exc:
        if "already accessed" not in str(exc):
            raise
        raise CollectionLockedError(
            f"the index folder {folder} is open in another process (qdrant-client local mode allows one); "
            "close it there, or serve the index with a Qdrant server for several writers."
        ) from exc
