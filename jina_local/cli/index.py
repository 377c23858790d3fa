"""``jina-local index PATH...``: keep a collection equal to files and folders (``MultiVectorCollection.index_files``)."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from dataclasses import asdict
from typing import Any

from ..documents import DEFAULT_CHUNK_TOKENS
from ..errors import OptionError
from ..options import MAX_POOL_FACTOR
from ._common import (
    DEFAULT_COLLECTION,
    check_writable_index,
    cli_lock_message,
    collection_arg,
    display_path,
    index_location,
    load_model,
    model_reference,
    positive_int,
)

__all__ = ["EPILOG", "add_index_parser", "run_index"]

EXIT_OK, EXIT_ERROR, EXIT_SOME_FAILED, EXIT_INTERRUPTED = 0, 1, 2, 130

EPILOG = """\
Files are walked with .gitignore honoured, hidden files passed over and no symbolic link followed
out of its folder. Text and markdown are cut into chunks of --chunk-tokens model tokens, code at
definitions (with line ranges), PDFs page by page (each page rendered to an image), images as they
are. A file whose bytes and options are unchanged is skipped, a changed file's old chunks are
replaced, and --prune deletes the chunks of files that are gone. An interrupted run keeps what it
stored: run the same command again to resume.

exit codes:
  0    every file was indexed (or unchanged); files that are not documents (binary, empty) are
       skipped with the reason and do not count as failures
  1    error: a bad option, a missing folder, a model or index that cannot be opened
  2    some files failed: they could not be read or encoded, or are corrupt or encrypted PDFs;
       the rest is stored, and the next run retries them
  130  interrupted (Ctrl-C): what was stored is kept; run the same command again to resume
"""


def add_index_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "index",
        parents=parents,
        help="index files and folders into a collection",
        description="Index files and folders (text, markdown, code, images, PDFs) into a collection, so that\n"
        "it follows them: new and changed files are embedded, unchanged ones skipped.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to index")
    p.add_argument(
        "--collection",
        default=DEFAULT_COLLECTION,
        type=collection_arg,
        metavar="NAME",
        help=f"collection name (default {DEFAULT_COLLECTION})",
    )
    p.add_argument("--prune", action="store_true", help="delete the chunks of files under PATH that no longer exist")
    p.add_argument(
        "--late-chunking",
        action="store_true",
        help="embed each file's chunks in one forward over the whole file (no overlap)",
    )
    p.add_argument(
        "--chunk-tokens",
        type=positive_int(),
        default=DEFAULT_CHUNK_TOKENS,
        metavar="N",
        help=f"chunk size of text and code in model tokens (default {DEFAULT_CHUNK_TOKENS})",
    )
    p.add_argument(
        "--overlap-tokens",
        type=positive_int(0),
        default=None,
        metavar="N",
        help="tokens shared by neighbouring chunks (default: chunk tokens / 8; 0 with --late-chunking)",
    )
    p.add_argument("--pdf-text", action="store_true", help="also embed each PDF page's text layer as text chunks")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON document")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bars on stderr (default: when stderr is a terminal)",
    )
    p.add_argument(
        "--batch-size", type=positive_int(), default=None, metavar="N", help="items per forward (default: the model's)"
    )
    p.add_argument(
        "--pool-factor",
        type=positive_int(1, MAX_POOL_FACTOR),
        default=None,
        metavar="N",
        help=f"pool stored token vectors by N: 1 (off) to {MAX_POOL_FACTOR}, 2-4 keep quality (at creation)",
    )
    p.add_argument(
        "--dim",
        type=positive_int(),
        default=None,
        metavar="D",
        help="Matryoshka size of stored dense vectors (at creation)",
    )
    p.add_argument(
        "--ray",
        nargs="?",
        const="auto",
        default=None,
        metavar="auto|ADDRESS",
        help="run on a Ray cluster (auto: $RAY_ADDRESS, a running one, or a local one); needs jina-local[ray]",
    )
    p.set_defaults(func=run_index, on_interrupt=_interrupted)
    return p


# --------------------------------------------------------------------------- checks
def _check_paths(paths: list[str], ray: bool) -> None:
    missing, unreadable = [], []
    for raw in paths:
        if "://" in raw:
            if not ray:
                raise OptionError(f"{raw} is a URL; only `jina-local index --ray` reads URLs (s3://, gs://, ...).")
            continue
        path = os.path.expanduser(raw)
        if not os.path.exists(path):
            missing.append(raw)
        elif not os.access(path, os.R_OK | (os.X_OK if os.path.isdir(path) else 0)):
            unreadable.append(raw)
    if missing:
        raise OptionError(f"not found: {', '.join(missing)} (no such file or folder).")
    if unreadable:
        raise OptionError(f"cannot read {', '.join(unreadable)} (permission denied); check its permissions.")


def _check_options(args: argparse.Namespace) -> None:
    overlap = args.overlap_tokens
    if args.late_chunking and overlap:
        raise OptionError(
            "--overlap-tokens cannot be used with --late-chunking: late chunks see their whole file, so they do "
            "not overlap. Leave --overlap-tokens out."
        )
    if overlap is not None and overlap >= args.chunk_tokens:
        raise OptionError(f"--overlap-tokens {overlap} must be smaller than --chunk-tokens {args.chunk_tokens}.")
    if args.ray is not None:
        refused = [flag for flag, on in (("--prune", args.prune), ("--json", args.json)) if on]
        if refused:
            raise OptionError(f"{' and '.join(refused)} cannot be used with --ray; run without --ray for them.")


# --------------------------------------------------------------------------- the command
def run_index(args: argparse.Namespace) -> int:
    _check_options(args)
    _check_paths(args.paths, args.ray is not None)
    args.model = model_reference(args.model)  # what the collection records: an absolute folder or a hub id
    if args.ray is not None:
        from ..ray import index_on_ray

        return index_on_ray(args)
    from ..qdrant import MultiVectorCollection

    location = index_location(args.index)
    check_writable_index(location)
    model = load_model(args.model, args)
    with cli_lock_message(location):
        store = MultiVectorCollection.open(
            location, args.collection, model, dense_dim=args.dim, pool_factor=args.pool_factor
        )  # multi=None: a dense-only collection for models without token vectors (jina-clip-v2)
    args.store = store  # for the Ctrl-C message
    with store:
        summary = store.index_files(
            args.paths,
            prune=args.prune,
            late_chunking=args.late_chunking,
            chunk_tokens=args.chunk_tokens,
            overlap_tokens=args.overlap_tokens,
            pdf_text=args.pdf_text,
            batch_size=args.batch_size,
            progress=sys.stderr.isatty() if args.progress is None else args.progress,
        )
        points = store.count()
        multi, dense_dim = store.has_multi, store.dense_dim
    failed = bool(summary.failed) or any(issue.unreadable for issue in summary.skipped)
    code = EXIT_SOME_FAILED if failed else EXIT_OK
    facts = {
        "index": location,
        "collection": args.collection,
        "model": args.model,
        "multi": multi,
        "dense_dim": dense_dim,
        "points": points,
    }
    if args.json:
        print(json.dumps({**facts, **asdict(summary), "ok": not failed, "exit_code": code}, indent=2))
    else:
        _print_summary(facts, summary, code)
    return code


def _issues(title: str, issues: list[Any]) -> None:
    for i, issue in enumerate(issues):
        label = f"  {title}:" if i == 0 else ""
        print(f"{label:<14}{display_path(issue.path)}: {issue.reason}")


def _print_summary(facts: dict[str, Any], summary: Any, code: int) -> None:
    kind = "multi-vector + dense" if facts["multi"] else "dense only"
    print(f"index {display_path(facts['index'])} [{facts['collection']}], model {facts['model']} ({kind})")
    unreadable = [issue for issue in summary.skipped if issue.unreadable]
    print(
        f"  files:      {len(summary.indexed)} indexed, {len(summary.unchanged)} unchanged, "
        f"{len(summary.skipped)} skipped{f' ({len(unreadable)} unreadable)' if unreadable else ''}, "
        f"{len(summary.failed)} failed"
    )
    print(
        f"  chunks:     {summary.chunks_added} added, {summary.chunks_deleted} deleted; "
        f"{facts['points']} in the collection"
    )
    print(
        f"  walk:       {summary.hidden_files} hidden and {summary.ignored_files} ignored files (.gitignore, node_modules) passed over"
    )
    if summary.pruned:
        print(f"  pruned:     {len(summary.pruned)} file(s) no longer there")
    _issues("skipped", [issue for issue in summary.skipped if not issue.unreadable])
    _issues("unreadable", unreadable)
    _issues("failed", summary.failed)
    _issues("warnings", summary.warnings)
    if code == EXIT_SOME_FAILED:
        print("some files could not be indexed (exit code 2); fix them and run the same command again to retry.")


def _interrupted(args: argparse.Namespace, argv: list[str]) -> None:
    """Ctrl-C: say what was kept and how to resume (the store was closed by its ``with`` block)."""
    command = "jina-local " + shlex.join(argv)
    kept = ""
    store = getattr(args, "store", None)
    if store is not None:
        try:
            with store.__class__.open(index_location(args.index), args.collection, create=False) as again:
                kept = f" ({again.count()} chunks in [{args.collection}] now)"
        except Exception:  # noqa: BLE001 - the count is a courtesy
            kept = ""
    print(
        f"interrupted: the chunks stored so far are kept{kept}; run the same command again to resume:\n  {command}",
        file=sys.stderr,
    )
    if getattr(args, "json", False):
        print(json.dumps({"interrupted": True, "resume": command, "exit_code": EXIT_INTERRUPTED}))
