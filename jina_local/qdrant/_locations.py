"""Where a collection lives: ``":memory:"``, a folder, a URL or a client -> the backend that serves it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from qdrant_client import QdrantClient

from ._base import Backend

__all__ = ["BackendName", "resolve_backend"]

BackendName = Literal["auto", "edge", "client"]


def _client_is_local(client: QdrantClient) -> bool:
    from qdrant_client.local.qdrant_local import QdrantLocal

    return isinstance(getattr(client, "_client", None), QdrantLocal)


def resolve_backend(location: Any, name: str, backend: BackendName, api_key: str | None,
                     timeout: int | None) -> Backend:
    from ._client_backend import ClientBackend
    from ._edge_backend import EdgeBackend

    if backend not in ("auto", "edge", "client"):
        raise ValueError(f"backend={backend!r} is not valid; use 'auto', 'edge' or 'client'.")
    if isinstance(location, QdrantClient):
        if backend == "edge":
            raise ValueError("backend='edge' needs a folder location, not a QdrantClient.")
        local = _client_is_local(location)
        if local:
            from ._foreign import check_client_path

            check_client_path(location, name)
        return ClientBackend(location, name, label="qdrant-client (given client)", owns_client=False, local=local)
    if not isinstance(location, (str, os.PathLike)):
        raise TypeError(
            f"location must be ':memory:', a folder, an http(s):// URL or a QdrantClient, got {type(location).__name__}."
        )
    loc = os.fspath(location)
    if loc == ":memory:":
        if backend == "edge":
            raise ValueError("backend='edge' stores data in a folder; pass a folder path instead of ':memory:'.")
        return ClientBackend(QdrantClient(":memory:"), name, label="qdrant-client :memory:", owns_client=True, local=True)
    if loc.startswith(("http://", "https://")):
        if backend == "edge":
            raise ValueError("backend='edge' is the embedded engine; a URL is served by qdrant-client.")
        client = QdrantClient(url=loc, api_key=api_key, timeout=timeout)
        return ClientBackend(client, name, label=f"qdrant-client {loc}", owns_client=True, local=False)
    folder = Path(loc)
    client_layout = (folder / "meta.json").is_file() and (folder / "collection").is_dir()
    if backend == "auto" and (folder / name / "shard").exists():
        return EdgeBackend(folder, name)  # ours, even if a QdrantClient(path=...) left meta.json here
    if backend == "client" or (backend == "auto" and client_layout):
        client = QdrantClient(path=str(folder))
        if backend == "client":
            from ._foreign import check_client_path

            try:
                check_client_path(client, name)
            except BaseException:
                client.close()
                raise
        return ClientBackend(client, name, label=f"qdrant-client path={folder}", owns_client=True, local=True)
    if (folder / name / "shard").exists() or not client_layout:
        return EdgeBackend(folder, name)
    raise ValueError(  # backend == "edge" on a qdrant-client folder  # pragma: no cover
        f"{folder} holds a qdrant-client local store; open it with backend='client' or 'auto'."
    )
