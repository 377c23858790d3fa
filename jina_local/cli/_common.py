"""What the subcommands share: the parser that fails in one line, option types, the model and the index.

Every bad value ends as one ``error: ...`` line on stderr and exit code 1 (argparse's own usage
errors included), and nothing heavy (a model, an index) is opened before the options are checked.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

from ..errors import CollectionLockedError, OptionError

__all__ = [
    "DEFAULT_COLLECTION",
    "DEFAULT_INDEX",
    "DEFAULT_MODEL",
    "CliParser",
    "collection_arg",
    "display_path",
    "index_location",
    "load_model",
    "lock_advice",
    "model_reference",
    "one_line",
    "positive_int",
]

DEFAULT_MODEL = "jinaai/jina-embeddings-v4"
DEFAULT_INDEX = "./jina-index"
DEFAULT_COLLECTION = "docs"


def one_line(message: object) -> str:
    """A message on one line (library messages may list differences on several)."""
    return " ".join(str(message).split())


class CliParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one ``error:`` line and exit code 1 (2 means "some files failed")."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {one_line(message)} (see `{self.prog} --help`)", file=sys.stderr)
        raise SystemExit(1)


# --------------------------------------------------------------------------- option types
def positive_int(minimum: int = 1, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer in ``[minimum, maximum]``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
            raise argparse.ArgumentTypeError(f"{value} is out of range: use an integer {bounds}")
        return value

    parse.__name__ = "integer"
    return parse


def collection_arg(text: str) -> str:
    from ..options import check_collection_name

    try:
        return check_collection_name(text)
    except OptionError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def device_arg(text: str) -> str:
    from ..runtime import resolve_device

    try:
        resolve_device(text)
    except OptionError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None
    return text


def dtype_arg(text: str) -> str:
    import torch

    from ..runtime import resolve_dtype

    try:
        resolve_dtype(text, torch.device("cpu"))
    except OptionError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def index_arg(text: str) -> str:
    """A Qdrant URL, or a folder that is not a file (it is created when an index is written)."""
    if text.startswith(("http://", "https://")):
        return text
    if not text:
        raise argparse.ArgumentTypeError("the index location is empty; pass a folder or an http(s):// Qdrant URL")
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file; the index is a folder (created if missing) or a URL")
    return text


def add_model_options(parser: argparse.ArgumentParser, *, model_help: str) -> None:
    parser.add_argument("--model", default=None, metavar="M", help=model_help)
    parser.add_argument(
        "--device", default="auto", type=device_arg, help="auto (CUDA if present), cpu, cuda, cuda:N (default auto)"
    )
    parser.add_argument(
        "--dtype",
        default="auto",
        type=dtype_arg,
        help="auto (bf16 on CUDA; on CPUs bf16 where native and validated, else fp32), float32, bfloat16, "
        "float16 (default auto)",
    )


def add_index_options(
    parser: argparse.ArgumentParser, *, default: str | None = DEFAULT_INDEX, where: str | None = None
) -> None:
    where = where or f"(default {default})"
    parser.add_argument(
        "--index",
        default=default,
        type=index_arg,
        metavar="DIR|URL",
        help=f"the index: a folder (embedded Qdrant) or a Qdrant server URL {where}",
    )


# --------------------------------------------------------------------------- model and index
def index_location(value: str) -> str:
    """The index as the library takes it: a URL as given, a folder resolved to an absolute path."""
    if value.startswith(("http://", "https://")):
        return value
    return str(Path(value).expanduser().resolve())


def check_writable_index(location: str) -> None:
    """Refuse, before any model is loaded, an index that cannot be written: an unreachable server, or a
    folder that cannot be created (the nearest existing parent is a file or is not writable)."""
    if location.startswith(("http://", "https://")):
        from ..qdrant import list_collections

        list_collections(location)  # a CollectionConfigError names the server and the reason
        return
    path = Path(location)
    while not path.exists() and path != path.parent:
        path = path.parent
    if not path.is_dir():
        raise OptionError(f"the index folder {location} cannot be created: {path} is not a folder.")
    if not os.access(path, os.W_OK | os.X_OK):
        raise OptionError(f"the index folder {location} cannot be written: {path} is not writable (permission denied).")


def model_reference(value: str | None, *, recorded: bool = False) -> str:
    """A model folder resolved to its absolute path, or a Hugging Face id kept as it is.

    ``value`` None: ``$JINA_LOCAL_MODEL``, else :data:`DEFAULT_MODEL`. ``recorded``: the value comes
    from a collection's record (the messages then say so).
    """
    name = value or os.environ.get("JINA_LOCAL_MODEL") or DEFAULT_MODEL
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise OptionError(f"--model {name} is a file; pass the model's folder or a Hugging Face id.")
        return str(path.resolve())
    looks_local = name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name
    if looks_local and recorded:
        raise OptionError(
            f"the collection records its model as {name!r}, a folder that does not exist from here; "
            "pass --model with the model's folder or Hugging Face id."
        )
    if looks_local:
        raise OptionError(
            f"--model {name}: no such folder; pass a model folder or a Hugging Face id such as {DEFAULT_MODEL}."
        )
    return name


def load_model(reference: str, args: argparse.Namespace) -> Any:
    from ..loading import load

    return load(reference, device=args.device, dtype=args.dtype)


def lock_advice(location: str) -> str:
    return (
        f"the index {location} is in use by another process (a running `jina-local index`, `search` or "
        "`serve`): wait for it to finish or stop it, then run this command again; to search an index that "
        "`jina-local serve` holds, use `jina-local search --server URL`."
    )


@contextlib.contextmanager
def cli_lock_message(location: str) -> Iterator[None]:
    """Re-raise a held folder lock with advice for the command line instead of the Python API."""
    try:
        yield
    except CollectionLockedError:
        raise CollectionLockedError(lock_advice(location)) from None


def display_path(path: str | None) -> str:
    """``path`` relative to the working directory when it is inside it, else as it is."""
    if not path:
        return ""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative
