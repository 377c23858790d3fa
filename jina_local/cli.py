"""``jina-local``: index a folder of documents, code and images into an embedded Qdrant store, search it.

    jina-local index PATH... [--model M] [--index DIR] [--collection NAME]
    jina-local search "query" [--index DIR] [--collection NAME] [--limit K]
    jina-local info [--model M]
    jina-local serve [--model M] [--index DIR] [--host H] [--port P] [--api-key KEY]

The model defaults to ``$JINA_LOCAL_MODEL`` or ``jinaai/jina-embeddings-v4``; ``search`` uses the
model the collection was built with unless ``--model`` is given. Re-running ``index`` is cheap:
chunks already stored (same file, same content) are skipped, so an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__
from .errors import JinaLocalError
from .kinds import detect_kind

__all__ = ["Chunk", "chunk_text", "collect_chunks", "main"]

DEFAULT_MODEL = "jinaai/jina-embeddings-v4"
DEFAULT_INDEX = "./jina-index"
DEFAULT_COLLECTION = "docs"
DEFAULT_CHUNK_CHARS = 2000
MAX_FILE_BYTES = 20 * 1024 * 1024
_SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", "node_modules", ".venv", "venv", ".mypy_cache", ".pytest_cache"}


@dataclass(frozen=True)
class Chunk:
    """One thing to embed: a text/code chunk of a file, or an image file."""

    source: str
    index: int
    item: Any  # str for text and code, pathlib.Path for images
    kind: str


def chunk_text(text: str, max_chars: int = DEFAULT_CHUNK_CHARS) -> list[str]:
    """Split on blank lines into chunks of at most ``max_chars`` (a longer block is cut by lines).

    >>> chunk_text("a\\n\\nb", max_chars=10)
    ['a\\n\\nb']
    >>> chunk_text("aaaa\\n\\nbbbb", max_chars=5)
    ['aaaa', 'bbbb']
    """
    blocks = [b for b in text.replace("\r\n", "\n").split("\n\n") if b.strip()]
    pieces: list[str] = []
    for block in blocks:
        if len(block) <= max_chars:
            pieces.append(block)
            continue
        line_buffer = ""
        for line in block.split("\n"):
            while len(line) > max_chars:  # one giant line: hard cut
                if line_buffer:
                    pieces.append(line_buffer)
                    line_buffer = ""
                pieces.append(line[:max_chars])
                line = line[max_chars:]
            candidate = f"{line_buffer}\n{line}" if line_buffer else line
            if len(candidate) > max_chars:
                pieces.append(line_buffer)
                line_buffer = line
            else:
                line_buffer = candidate
        if line_buffer.strip():
            pieces.append(line_buffer)
    chunks: list[str] = []
    for piece in pieces:  # merge small neighbours up to the budget
        if chunks and len(chunks[-1]) + 2 + len(piece) <= max_chars:
            chunks[-1] = f"{chunks[-1]}\n\n{piece}"
        else:
            chunks.append(piece)
    return chunks


def _walk(paths: Sequence[str]) -> Iterator[Path]:
    for raw in paths:
        root = Path(raw).expanduser()
        if root.is_file():
            yield root
            continue
        if not root.is_dir():
            raise JinaLocalError(f"'{raw}' is neither a file nor a folder.")
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
            for name in sorted(filenames):
                if not name.startswith("."):
                    yield Path(dirpath) / name


def collect_chunks(paths: Sequence[str], max_chars: int = DEFAULT_CHUNK_CHARS) -> tuple[list[Chunk], list[str]]:
    """Walk ``paths``; return the chunks to embed and the files skipped (with the reason)."""
    chunks: list[Chunk] = []
    skipped: list[str] = []
    for path in _walk(paths):
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                skipped.append(f"{path}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
                continue
            kind = detect_kind(path)
        except (JinaLocalError, OSError) as exc:
            skipped.append(f"{path}: {exc}")
            continue
        if kind == "image":
            chunks.append(Chunk(str(path), 0, path, kind))
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for i, piece in enumerate(chunk_text(text, max_chars)):
            chunks.append(Chunk(str(path), i, piece, kind))
    return chunks, skipped


def _load_model(name: str, args: argparse.Namespace) -> Any:
    from .loading import load

    return load(name, device=args.device, dtype=args.dtype)


def _cmd_info(args: argparse.Namespace) -> int:
    model = _load_model(args.model or os.environ.get("JINA_LOCAL_MODEL", DEFAULT_MODEL), args)
    info = model.info
    rows = [
        ("model", info.name), ("family", info.family), ("path", info.path or ""),
        ("device", info.device), ("dtype", info.dtype), ("dense dim", str(info.dense_dim)),
        ("matryoshka dims", ", ".join(map(str, info.matryoshka_dims))),
        ("multi-vector dim", str(info.multi_dim) if info.multi_dim else "none"),
        ("tasks (adapters)", ", ".join(info.tasks)), ("max length", str(info.max_length)),
        ("license", info.license),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0


def _cmd_index(args: argparse.Namespace) -> int:
    if getattr(args, "ray", None) is not None:  # the same job as a Ray Data pipeline (jina_local.ray)
        from .ray import index_on_ray

        return index_on_ray(args)
    from .qdrant import MultiVectorCollection

    chunks, skipped = collect_chunks(args.paths, args.chunk_chars)
    for line in skipped:
        print(f"skipped {line}", file=sys.stderr)
    if not chunks:
        print("nothing to index", file=sys.stderr)
        return 1
    model = _load_model(args.model or os.environ.get("JINA_LOCAL_MODEL", DEFAULT_MODEL), args)
    store = MultiVectorCollection.open(
        args.index, args.collection, model, dense_dim=args.dim, pool_factor=args.pool_factor
    )
    with store:
        summary = store.add(  # deterministic ids: chunks already stored are skipped, so a rerun resumes
            [c.item for c in chunks],
            payloads=[{"source": f"{c.source}#{c.index}", "path": c.source, "chunk": c.index} for c in chunks],
            batch_size=args.batch_size,
            skip_existing=True,
        )
        if summary.skipped:
            print(
                f"{len(summary.skipped)} chunk(s) already indexed, {len(chunks) - len(summary.skipped)} to go",
                file=sys.stderr,
            )
        for failure in summary.failures:
            print(f"failed {chunks[failure.index].source}: {failure.error}", file=sys.stderr)
        files = len({c.source for c in chunks})
        print(
            f"indexed {summary.added} new chunk(s) from {files} file(s) into {args.index} [{args.collection}]; "
            f"{store.count()} in total"
        )
    return 0 if summary.ok else 2


def _cmd_search(args: argparse.Namespace) -> int:
    if getattr(args, "server", None):
        return _search_via_server(args)
    from .qdrant import MultiVectorCollection

    model_name = args.model
    if model_name is None:
        with MultiVectorCollection.open(args.index, args.collection, create=False) as probe:
            model_name = probe.metadata.get("model") or os.environ.get("JINA_LOCAL_MODEL", DEFAULT_MODEL)
    model = _load_model(model_name, args)
    with MultiVectorCollection.open(args.index, args.collection, model, create=False) as store:
        hits = store.search(args.query, limit=args.limit, mode=args.mode)
    if not hits:
        print("no hits")
        return 0
    for rank, hit in enumerate(hits, 1):
        payload = hit.payload
        where = payload.get("path") or payload.get("source") or payload.get("image") or hit.id
        snippet = " ".join(str(payload.get("text") or "").split())[:100]
        print(f"{rank:>3}. {hit.score:8.4f}  [{payload.get('kind')}/{payload.get('task')}]  {where}")
        if snippet:
            print(f"      {snippet}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jina-local", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"jina-local {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--model", default=None, help=f"HF id or folder (default: $JINA_LOCAL_MODEL or {DEFAULT_MODEL})"
    )
    common.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda, cuda:N")
    common.add_argument("--dtype", default="auto", help="auto (bf16 on CUDA, fp32 on CPU), float32, bfloat16")
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument(
        "--index",
        default=DEFAULT_INDEX,
        help=f"folder of the embedded store, or a Qdrant URL (default {DEFAULT_INDEX})",
    )
    store.add_argument(
        "--collection", default=DEFAULT_COLLECTION, help=f"collection name (default {DEFAULT_COLLECTION})"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    index = sub.add_parser("index", parents=[common, store], help="embed files and store them")
    index.add_argument("paths", nargs="+", help="files or folders (text, markdown, code, images)")
    index.add_argument("--dim", type=int, default=None, help="Matryoshka size of stored dense vectors (at creation)")
    index.add_argument("--pool-factor", type=int, default=None, help="pool stored token vectors by 2-4 (at creation)")
    index.add_argument("--batch-size", type=int, default=16)
    index.add_argument("--chunk-chars", type=int, default=DEFAULT_CHUNK_CHARS)
    index.add_argument(
        "--ray",
        nargs="?",
        const="auto",
        default=None,
        metavar="auto|ADDRESS",
        help="run on a Ray cluster (auto: $RAY_ADDRESS, a running one, or a local one); needs jina-local[ray]",
    )
    index.set_defaults(func=_cmd_index)

    search = sub.add_parser("search", parents=[common, store], help="search the store")
    search.add_argument("query")
    search.add_argument("--limit", type=int, default=10)
    search.add_argument("--mode", choices=["two_stage", "multi", "dense"], default=None)
    search.set_defaults(func=_cmd_search)
    _add_server_commands(sub, search, [common])

    info = sub.add_parser("info", parents=[common], help="print the model, device, dims and adapters")
    info.set_defaults(func=_cmd_info)
    return parser


def _add_server_commands(sub: Any, search: argparse.ArgumentParser, parents: list[argparse.ArgumentParser]) -> None:
    """``jina-local serve`` and ``search --server URL`` (they live in :mod:`jina_local.server.command`)."""
    from .server.command import add_serve_parser, add_server_option

    add_server_option(search)
    add_serve_parser(sub, parents)


def _search_via_server(args: argparse.Namespace) -> int:
    from .server.command import search_via_server

    return search_via_server(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``jina-local`` command."""
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args))
    except JinaLocalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
