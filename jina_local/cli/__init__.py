"""``jina-local``: index folders of documents, code, images and PDFs into a Qdrant store, and search them.

    jina-local index PATH... [--model M] [--index DIR|URL] [--collection NAME] [--prune] ...
    jina-local search QUERY | --image PATH [--index DIR|URL] [--limit K] [--json] [--html OUT.html] ...
    jina-local info --index DIR [--collection NAME]   |   jina-local info --model M
    jina-local serve [--model M] [--index DIR] [--host H] [--port P] [--api-key KEY]

The model defaults to ``$JINA_LOCAL_MODEL`` or ``jinaai/jina-embeddings-v4``; ``search`` uses the
model the collection records unless ``--model`` is given. The commands are thin: they check the
options, call the public API (``MultiVectorCollection.index_files``, ``search``,
``search_view.hits_to_json``) and print. Every error is one ``error: ...`` line on stderr.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import JinaLocalError
from ._common import DEFAULT_COLLECTION, DEFAULT_INDEX, DEFAULT_MODEL, CliParser, add_index_options, add_model_options
from ._common import one_line as _one_line
from .index import add_index_parser
from .info import add_info_parser
from .search import add_search_parser

__all__ = ["DEFAULT_COLLECTION", "DEFAULT_INDEX", "DEFAULT_MODEL", "main"]


def _parser() -> argparse.ArgumentParser:
    parser = CliParser(
        prog="jina-local",
        description="Index folders of documents, code, images and PDFs into a Qdrant store, and search them.",
    )
    parser.add_argument("--version", action="version", version=f"jina-local {__version__}")
    model = argparse.ArgumentParser(add_help=False)
    add_model_options(model, model_help=f"HF id or folder (default: $JINA_LOCAL_MODEL or {DEFAULT_MODEL})")
    search_model = argparse.ArgumentParser(add_help=False)
    add_model_options(search_model, model_help="HF id or folder (default: the model the collection records)")
    index = argparse.ArgumentParser(add_help=False)
    add_index_options(index)
    sub = parser.add_subparsers(dest="command", required=True, metavar="{index,search,info,serve}")
    add_index_parser(sub, [model, index])
    add_search_parser(sub, [search_model, index])
    add_info_parser(sub, [model])
    from ..server.command import add_serve_parser

    add_serve_parser(sub, [model])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``jina-local`` command: 0 ok, 1 error, 2 some files failed (index), 130 Ctrl-C."""
    entry = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    args = None
    try:
        args = _parser().parse_args(argv)
        return int(args.func(args))
    except JinaLocalError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # a file or folder that cannot be read or written, a connection that broke
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: {_one_line(exc.strerror or exc)}{where}", file=sys.stderr)
        return 1
    except Exception as exc:
        if not type(exc).__module__.startswith("qdrant_client"):
            raise  # a bug: keep the traceback
        print(f"error: the Qdrant server failed: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the message short
        on_interrupt = getattr(args, "on_interrupt", None)
        if on_interrupt is not None:
            on_interrupt(args, argv)
        else:
            print("interrupted", file=sys.stderr)
        if entry:  # the process's own command line: leave now, so threads still inside native code cannot abort
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        return 130
