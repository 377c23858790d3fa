"""``jina-local search QUERY``: search a collection; hits as text, JSON (``--json``) or a results page (``--html``).

The hits are :func:`jina_local.search_view.hits_to_json`'s shape (locations, MaxSim-centred snippets,
thumbnails, heat maps), the same as the server's ``POST /v1/search``; the page is the server's template
(:func:`jina_local.server.render_results_page`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

from ..errors import CollectionConfigError, OptionError
from ..search_view import location_label, score_legend
from ._common import (
    DEFAULT_COLLECTION,
    cli_lock_message,
    collection_arg,
    display_path,
    index_location,
    load_model,
    model_reference,
    positive_int,
)

__all__ = ["add_search_parser", "run_search"]

_WIDTH = 100
_ONE_ADAPTER = " When the hits come from one task adapter only, score equals raw_score."


def _epilog() -> str:
    def para(title: str, text: str) -> str:
        return f"{title}\n" + textwrap.fill(text, _WIDTH - 2, initial_indent="  ", subsequent_indent="  ")

    return "\n\n".join(
        [
            para(
                "scores (multi-vector collections, --mode two_stage or multi):",
                score_legend("two_stage", True) + _ONE_ADAPTER,
            ),
            para("scores (dense-only collections, --mode dense):", score_legend("dense", True) + _ONE_ADAPTER),
            para(
                "image queries:",
                "--image PATH searches with an image. A QUERY that names an existing image file is searched as "
                "that image too (a note on stderr says so); to search for the words, rephrase the query.",
            ),
            para(
                "output:",
                "each hit shows its rank, score, raw score, kind/task and location (path:12-40, file.pdf#page=3), "
                "then a snippet centred on the part that matched best. --json prints the same JSON as the "
                "server's POST /v1/search; --html writes a self-contained page with thumbnails and heat maps.",
            ),
        ]
    )


def add_search_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "search",
        parents=parents,
        help="search a collection with a text or an image",
        description="Search a collection built by `jina-local index` with a text or an image. The model is\n"
        "the one the collection records, unless --model is given.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("query", nargs="?", metavar="QUERY", help="the text to search for")
    p.add_argument("--image", default=None, metavar="PATH", help="search with this image instead of a text")
    p.add_argument(
        "--collection",
        default=DEFAULT_COLLECTION,
        type=collection_arg,
        metavar="NAME",
        help=f"collection name (default {DEFAULT_COLLECTION})",
    )
    p.add_argument("--limit", type=positive_int(), default=10, metavar="K", help="number of hits (default 10)")
    p.add_argument(
        "--mode",
        choices=["two_stage", "multi", "dense"],
        default=None,
        help="two_stage (dense prefetch, MaxSim rerank; the default with token vectors), multi (exhaustive "
        "MaxSim) or dense (the default for dense-only collections)",
    )
    p.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="keep hits whose field equals VALUE (kind=code, file_type=pdf, page=3); repeat to AND keys, "
        "repeat a key for any of its values",
    )
    p.add_argument("--json", action="store_true", help="print the hits as one JSON document (as POST /v1/search)")
    p.add_argument("--html", default=None, metavar="OUT.html", help="also write a self-contained results page")
    from ..server.command import add_server_option

    add_server_option(p)
    p.set_defaults(func=run_search)
    return p


# --------------------------------------------------------------------------- checks
def _is_image_file(text: str) -> bool:
    from ..documents import file_type_of

    try:
        path = Path(text).expanduser()
        if not path.is_file():
            return False
        with path.open("rb") as handle:
            head = handle.read(1024)
    except (OSError, ValueError):
        return False
    return file_type_of(path, head) == "image"


def _query(args: argparse.Namespace) -> tuple[Any, str]:
    """The query item (text, or the image's bytes) and how to show it."""
    if args.query is not None and args.image is not None:
        raise OptionError("give a QUERY or --image PATH, not both.")
    if args.query is None and args.image is None:
        raise OptionError("give a QUERY (text) or --image PATH.")
    image = args.image
    if args.query is not None:
        if not args.query.strip():
            raise OptionError("the QUERY is empty; give some words, or --image PATH.")
        if not _is_image_file(args.query):
            return args.query, repr(args.query)
        print(
            f"note: {args.query!r} is an image file, so it is searched as an image (as with --image); "
            "rephrase the query to search for the words.",
            file=sys.stderr,
        )
        image = args.query
    path = Path(image).expanduser()
    if not path.is_file():
        raise OptionError(f"--image {image}: no such file.")
    if not _is_image_file(image):
        raise OptionError(f"--image {image} is not an image file (PNG, JPEG, WebP, GIF, BMP, TIFF ...).")
    try:
        return path.read_bytes(), f"image {display_path(str(path.resolve()))}"
    except OSError as exc:
        raise OptionError(f"--image {image} cannot be read: {exc.strerror or exc}.") from None


def _filter(pairs: list[str]) -> dict[str, Any] | None:
    """``["kind=code", "page=3"]`` -> ``{"kind": "code", "page": 3}``; a repeated key -> any of its values."""
    if not pairs:
        return None
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise OptionError(f"--filter {pair!r} is not KEY=VALUE (e.g. --filter kind=code).")
        try:
            value = json.loads(raw)  # numbers, true / false, null
            if not isinstance(value, (int, float, bool)) and value is not None:
                value = raw
        except ValueError:
            value = raw
        if key in out:
            previous = out[key]
            out[key] = [*(previous if isinstance(previous, list) else [previous]), value]
        else:
            out[key] = value
    from ..qdrant import check_filter

    check_filter(out)  # a FilterError names what is wrong before anything is loaded
    return out


def _html_target(value: str | None) -> Path | None:
    if value is None:
        return None
    path = Path(value).expanduser()
    if path.is_dir():
        raise OptionError(f"--html {value} is a folder; give a file name such as hits.html.")
    if not path.parent.is_dir():
        raise OptionError(f"--html {value}: the folder {path.parent} does not exist.")
    return path


# --------------------------------------------------------------------------- the command
def run_search(args: argparse.Namespace) -> int:
    query, shown = _query(args)
    flt = _filter(args.filter)
    html_path = _html_target(args.html)
    thumbnails = bool(args.json or html_path)
    if args.server:
        from ..qdrant import check_filter
        from ..server.command import fetch_search_results

        checked = check_filter(flt)  # sent in Qdrant's shape: the server takes no LangChain-style dicts
        qdrant_filter = checked.model_dump(exclude_none=True) if checked is not None else None
        results = fetch_search_results(
            args.server, query, limit=args.limit, mode=args.mode, filter=qdrant_filter, thumbnails=thumbnails
        )
        where = args.server
    else:
        results, where = _search_index(args, query, flt, thumbnails)
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        _print_hits(results, shown, where)
    if html_path is not None:
        from ..server.page import render_results_page

        title = f"jina-local · {shown}" if isinstance(query, bytes) else None  # None: the query text
        html_path.write_text(render_results_page(results, title=title), encoding="utf-8")
        print(f"results page written to {display_path(str(html_path.resolve()))}", file=sys.stderr)
    return 0


def _search_index(args: argparse.Namespace, query: Any, flt: Any, thumbnails: bool) -> tuple[dict[str, Any], str]:
    from ..qdrant import MultiVectorCollection, list_collections
    from ..search_view import hits_to_json

    location = index_location(args.index)
    remote = location.startswith(("http://", "https://"))
    if not remote and not Path(location).is_dir():
        raise OptionError(
            f"there is no index at {args.index}; build one with `jina-local index PATH --index {args.index}`."
        )
    names = list_collections(location)
    if args.collection not in names:
        raise CollectionConfigError(
            f"there is no collection {args.collection!r} in {args.index} (it has: {', '.join(names) or 'none'}); "
            f"pick one with --collection, or build it with `jina-local index PATH --collection {args.collection}`."
        )
    with cli_lock_message(location), MultiVectorCollection.open(location, args.collection, create=False) as probe:
        recorded, has_multi = probe.metadata.get("model"), probe.has_multi
    if args.mode in ("two_stage", "multi") and not has_multi:
        raise OptionError(
            f"--mode {args.mode} needs token vectors, but collection {args.collection!r} is dense-only (its model "
            "produces none); use --mode dense, or leave --mode out."
        )
    reference = model_reference(args.model) if args.model else model_reference(recorded, recorded=True)
    model = load_model(reference, args)
    with (
        cli_lock_message(location),
        MultiVectorCollection.open(location, args.collection, model, create=False) as store,
    ):
        hits = store.search(query, limit=args.limit, mode=args.mode, filter=flt)
        results = hits_to_json(query, hits, collection=store, model=model, mode=args.mode, thumbnails=thumbnails)
    return results, f"{display_path(location) if not remote else location} [{args.collection}]"


def _snippet(text: str, highlights: list[list[int]], color: bool) -> str:
    if color:
        for start, end in sorted(highlights, reverse=True):
            text = f"{text[:start]}\x1b[1;4m{text[start:end]}\x1b[0m{text[end:]}"
    return " ".join(text.split())


def _print_hits(results: dict[str, Any], shown: str, where: str) -> None:
    hits = results.get("hits") or []
    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    print(f"{len(hits)} hit(s) for {shown} in {where}, mode {results.get('mode')}")
    for line in textwrap.wrap(results.get("score_legend") or "", _WIDTH):
        print(line)
    for hit in hits:
        location = dict(hit.get("location") or {})
        location["path"] = display_path(location.get("path"))
        label = location_label(location) or hit.get("location_label") or hit.get("id")
        print(
            f"\n{hit['rank']:>3}. score {hit['score']:.4f}  ({hit['score_kind']} {hit['raw_score']:.4f})  "
            f"[{hit.get('kind')}/{hit.get('task')}]  {label}"
        )
        snippet = _snippet(str(hit.get("snippet") or ""), hit.get("highlights") or [], color)
        for line in textwrap.wrap(snippet, _WIDTH - 6):
            print(f"     {line}")
