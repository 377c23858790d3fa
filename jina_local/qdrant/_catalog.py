"""What an index holds, without a model: :func:`list_collections` and :func:`collection_counts`.

``jina-local info --index`` is built on these; neither loads a model nor encodes anything.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CollectionConfigError, OptionError
from ._locations import is_client_store, is_edge_collection

if TYPE_CHECKING:
    from .collection import MultiVectorCollection

__all__ = ["collection_counts", "list_collections"]


def list_collections(
    location: str | os.PathLike[str], *, api_key: str | None = None, timeout: int | None = None
) -> list[str]:
    """Names of the collections at ``location`` (a folder or an ``http(s)://`` Qdrant URL), sorted.

    A folder lists the collections of the embedded engine (``NAME/shard``) and those of a
    ``QdrantClient(path=...)`` store (its ``meta.json``). A missing folder, or a file, is an
    :class:`~jina_local.errors.OptionError`.
    """
    loc = os.fspath(location)
    if loc.startswith(("http://", "https://")):
        from qdrant_client import QdrantClient

        client = QdrantClient(url=loc, api_key=api_key, timeout=timeout)
        try:
            return sorted(c.name for c in client.get_collections().collections)
        except Exception as exc:  # noqa: BLE001 - the client raises assorted transport errors
            raise CollectionConfigError(f"could not list the collections of {loc}: {exc}") from None
        finally:
            client.close()
    folder = Path(loc).expanduser()
    if not folder.exists():
        raise OptionError(f"there is no index at {folder}: the folder does not exist.")
    if not folder.is_dir():
        raise OptionError(f"the index location {folder} is a file, not a folder.")
    names = {child.name for child in folder.iterdir() if is_edge_collection(folder, child.name)}
    meta = folder / "meta.json"
    if is_client_store(folder):
        try:
            names |= set(json.loads(meta.read_text(encoding="utf-8")).get("collections", {}))
        except (OSError, ValueError, AttributeError) as exc:
            raise CollectionConfigError(f"{meta} is damaged ({exc}); its collections cannot be listed.") from None
    return sorted(names)


def collection_counts(collection: MultiVectorCollection) -> dict[str, Any]:
    """Point counts of an open collection: in total, per ``kind``, per ``task`` and per ``kind/task``.

    Kinds and tasks are the ones the collection's record lists (written on every add).
    """
    kinds, tasks = collection.metadata.get("kinds") or [], collection.tasks
    by_kind = {k: collection.count({"kind": k}) for k in kinds}
    by_task = {t: collection.count({"task": t}) for t in tasks}
    by_pair = {f"{k}/{t}": collection.count({"kind": k, "task": t}) for k in kinds for t in tasks}
    return {
        "points": collection.count(),
        "kinds": {k: n for k, n in by_kind.items() if n},
        "tasks": {t: n for t, n in by_task.items() if n},
        "kind_task": {pair: n for pair, n in by_pair.items() if n},
    }
