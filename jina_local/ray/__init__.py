"""jina-local on Ray Data: embed corpora larger than one machine, write them into Qdrant.

>>> import ray                                                                   # doctest: +SKIP
>>> from jina_local.ray import embed_dataset, write_collection                   # doctest: +SKIP
>>> files = ray.data.read_binary_files("s3://bucket/docs/", include_paths=True)  # doctest: +SKIP
>>> emb = embed_dataset(files, "jinaai/jina-embeddings-v4", num_gpus=1)          # doctest: +SKIP
>>> write_collection(emb, "http://qdrant:6333", "docs")                          # doctest: +SKIP

:func:`embed_dataset` runs ``map_batches`` with :class:`EncodeBatches` on an actor pool (one model per
actor, loaded once; dead actors are restarted and their batch retried); :func:`write_collection`
upserts through :class:`CollectionDatasink` with the collection's deterministic ids, so retries never
duplicate points. Needs the ``ray`` extra: ``pip install "jina-local[ray]"``. See ``docs/scale.md``.
"""

from __future__ import annotations

try:
    import ray.data  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        'jina_local.ray needs Ray Data, which is not installed; install it with: pip install "jina-local[ray]"'
    ) from exc

import importlib
from typing import TYPE_CHECKING, Any

# Names load on first use: a Ray worker that unpickles one stage (an encoder actor, a write task)
# imports only that stage's module, not Qdrant's client in every actor or torch code in every writer.
_EXPORTS = {
    "MODEL_METADATA_KEY": "._columns",
    "CollectionDatasink": "._sink",
    "EncodeBatches": "._encoder",
    "RowFailure": "._writer",
    "TransientWriteError": "._writer",
    "WriteSummary": "._writer",
    "embed_dataset": "._embed",
    "file_chunks": "._files",
    "index_on_ray": "._cli",
    "is_transient": "._writer",
    "write_collection": "._sink",
}
__all__ = [
    "MODEL_METADATA_KEY",
    "CollectionDatasink",
    "EncodeBatches",
    "RowFailure",
    "TransientWriteError",
    "WriteSummary",
    "embed_dataset",
    "file_chunks",
    "index_on_ray",
    "is_transient",
    "write_collection",
]

if TYPE_CHECKING:
    from ._cli import index_on_ray
    from ._columns import MODEL_METADATA_KEY
    from ._embed import embed_dataset
    from ._encoder import EncodeBatches
    from ._files import file_chunks
    from ._sink import CollectionDatasink, write_collection
    from ._writer import RowFailure, TransientWriteError, WriteSummary, is_transient


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
