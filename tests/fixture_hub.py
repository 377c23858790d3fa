"""A Hugging Face hub cache that holds random checkpoints under the real model ids.

The documentation tests (tests/docs) run README.md and docs/*.md as written: ``jina_local.load(
"jinaai/jina-embeddings-v4")`` and ``jina-local index ... --model jinaai/jina-clip-v2`` must find a model.
With ``HF_HUB_CACHE`` pointing here and ``HF_HUB_OFFLINE=1``, the real id resolution (the local cache,
never the network) finds these folders. This is the one mapping from model ids to fixtures:

========================== ===================================================================
id                         fixture written under the id
========================== ===================================================================
jinaai/jina-embeddings-v4  ``fixture_v4`` preset ``docs``: the published layout, hidden 512, one
                           layer, Matryoshka 128/256/512 (the dims the docs use), 128-d tokens
jinaai/jina-clip-v2        ``fixture_clip`` with text and vision width 256: Matryoshka 8 ... 256
========================== ===================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fixture_clip import write_clip_checkpoint
from fixture_v4 import write_v4_checkpoint

# A made-up commit: the cache's refs/main points at this snapshot folder.
COMMIT = "d0c5d0c5d0c5d0c5d0c5d0c5d0c5d0c5d0c5d0c5"

HUB_FIXTURES: dict[str, Callable[[Path], Path]] = {
    "jinaai/jina-embeddings-v4": lambda folder: write_v4_checkpoint(folder, "docs", seed=7),
    "jinaai/jina-clip-v2": lambda folder: write_clip_checkpoint(folder, hidden=256, width=256, seed=7),
}


def write_hub_cache(cache: Path) -> dict[str, Path]:
    """Write every fixture of :data:`HUB_FIXTURES` into the hub cache ``cache``; returns id -> snapshot folder."""
    folders = {}
    for repo_id, write in HUB_FIXTURES.items():
        repo = cache / ("models--" + repo_id.replace("/", "--"))
        snapshot = write(repo / "snapshots" / COMMIT)
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / "main").write_text(COMMIT, encoding="utf-8")
        folders[repo_id] = snapshot
    return folders
