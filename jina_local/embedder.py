"""The family-neutral facade: ``Embedder.encode`` / ``stream`` and friends, over the streaming engine."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Generator, Iterable, Sequence
from typing import Any

import numpy as np

from .engine import BatchEvent, Engine, EngineStats, PreparedItem, StreamSettings
from .errors import InputError, OptionError, TaskError
from .fetch import FetchPolicy, check_fetch_policy
from .images import DEFAULT_MAX_IMAGE_PIXELS, check_max_image_pixels
from .inputs import TextInput, as_item_list, is_single_item, iter_items, load_item
from .kinds import ImageMode
from .models.base import ModelBackend
from .options import check_call
from .routing import input_kind, parse_task, resolve_tasks
from .types import Encoded, EncodeResult, ErrorMode, ModelInfo, Output, Role

__all__ = ["Embedder"]


class Embedder:
    """Encodes text and images with a loaded model. Build it with :func:`jina_local.load`.

    One Embedder may be used from any number of threads at once: every forward runs on one model worker
    that batches the items of all concurrent callers together (each caller gets exactly its own rows).
    """

    def __init__(self, backend: ModelBackend) -> None:
        self._backend = backend
        self._engine = Engine(backend)

    @property
    def info(self) -> ModelInfo:
        """Model name, dims, tasks, device, dtype and license."""
        return self._backend.info

    @property
    def backend(self) -> ModelBackend:
        """The family-specific model (for benchmarks and advanced use)."""
        return self._backend

    def __repr__(self) -> str:
        info = self.info
        return f"Embedder({info.name!r}, device={info.device!r}, dtype={info.dtype!r})"

    # ------------------------------------------------------------------ streaming
    def stream(
        self,
        items: Iterable[Any],
        *,
        role: Role = "document",
        task: str | Sequence[str | None] | None = "auto",
        symmetric: bool = False,
        images: ImageMode = "off",
        output: Output = "dense",
        dim: int | None = None,
        batch_size: int | None = None,
        max_length: int | None = None,
        max_pixels: int | None = None,
        errors: ErrorMode = "skip",
        window: int | None = None,
        window_tokens: int | None = None,
        progress: bool | None = None,
        fetch: FetchPolicy | None = None,
        max_image_pixels: int | None = DEFAULT_MAX_IMAGE_PIXELS,
        jpeg_draft: bool = False,
        cancel: threading.Event | None = None,
    ) -> Generator[Encoded, None, None]:
        """Embed any iterable (a generator of unknown length too), yielding one :class:`Encoded` per item,
        in input order, as soon as it and every earlier item are done.

        Memory stays bounded whatever the input length: items are read and preprocessed a *window* at
        a time (``window`` items, at most ``window_tokens`` tokens; defaults fill the token budget
        several times over), preprocessing runs in worker threads ahead of the forwards, and inside a
        window items are length-sorted into batches under the token budget. ``errors="skip"`` (the
        default here) reports a failed item in its ``Encoded.error`` and goes on; ``"raise"`` raises
        it. Closing the generator early cancels the items still queued; so does setting ``cancel`` (a
        ``threading.Event``) from any thread, which also ends a consumer blocked waiting for a result
        (the stream then ends early). The other options are those of :meth:`encode`.
        """
        settings, prepare = self._plan_call(
            role=role, task=task, symmetric=symmetric, images=images, output=output, dim=dim,
            batch_size=batch_size, max_length=max_length, max_pixels=max_pixels, errors=errors,
            window=window, window_tokens=window_tokens, progress=progress, total=_length(items),
            fetch=fetch, max_image_pixels=max_image_pixels, jpeg_draft=jpeg_draft,
        )  # fmt: skip
        settings = dataclasses.replace(settings, cancel=cancel)
        return self._engine.stream(iter_items(items), prepare, settings)  # one item, or a clear refusal

    def _plan_call(
        self, *, role: Any, task: Any, symmetric: bool, images: Any, output: Any, dim: Any, batch_size: Any,
        max_length: Any, max_pixels: Any, errors: Any, window: Any, window_tokens: Any, progress: bool | None,
        total: int | None, fetch: Any, max_image_pixels: Any, jpeg_draft: bool = False,
    ) -> tuple[StreamSettings, Callable[[Any, int], PreparedItem]]:  # fmt: skip
        """Check the arguments once and build the per-item preparation the engine runs in its workers."""
        info, backend = self.info, self._backend
        check_call(info, role=role, output=output, dim=dim, errors=errors, images=images, task=task,
                   batch_size=batch_size, window=window, window_tokens=window_tokens)  # fmt: skip
        backend.check_limits(max_length, max_pixels)
        fetch = check_fetch_policy(fetch)
        max_image_pixels = check_max_image_pixels(max_image_pixels)
        # Jina's API names carry the role ("retrieval.query" -> task retrieval, role query): per item.
        named = (
            [parse_task(task)]
            if task is None or isinstance(task, str)
            else [_parse_item_task(t, i) for i, t in enumerate(task)]
        )
        plans = [(t, r or role) for t, r in named]
        if not (task is None or isinstance(task, str)) and total is not None and len(plans) != total:
            raise TaskError(
                f"task is a list of {len(plans)} names but {total} items were given; "
                "pass one task per item, or a single task for all."
            )
        for i, (name, item_role) in enumerate(plans):
            if name is not None and name != "auto":  # unknown names fail now, before any item is read
                where = f"item {i}: " if len(plans) > 1 or not isinstance(task, str) else ""
                resolve_tasks(["text"], name, info, role=item_role, symmetric=symmetric, where=where)
        shared = plans[0] if task is None or isinstance(task, str) else None

        def input_size(size: tuple[int, int]) -> tuple[int, int]:
            return backend.image_input_size(size[0], size[1], max_pixels)

        min_size = input_size if jpeg_draft else None

        def prepare(raw: Any, index: int) -> PreparedItem:
            typed = load_item(raw, index, images=images, fetch=fetch, max_image_pixels=max_image_pixels,
                              min_size=min_size)  # fmt: skip
            kind = input_kind(typed)
            if shared is None and index >= len(plans):
                raise TaskError(f"item {index} has no task: the task list has only {len(plans)} names.")
            name, item_role = shared or plans[index]
            chosen = resolve_tasks([kind], name, info, role=item_role, symmetric=symmetric)[0]
            prepared = backend.prepare(typed, role=item_role, task=chosen, max_length=max_length,
                                       max_pixels=max_pixels)  # fmt: skip
            return PreparedItem(kind=kind, task=chosen, prepared=prepared)

        engine = self._engine
        show = progress if progress is not None else total is not None and total > backend.max_batch_size
        settings = StreamSettings(
            dense=output in ("dense", "both"),
            multi=output in ("multi", "both"),
            dim=dim if dim is not None and dim < info.dense_dim else None,
            max_batch_size=batch_size or backend.max_batch_size,
            errors=errors,
            window=engine.default_window(window, window_tokens),
            progress=bool(show),
            total=total,
        )
        return settings, prepare

    # ------------------------------------------------------------------ one call, all results
    def encode(
        self,
        items: Any,
        *,
        role: Role = "document",
        task: str | Sequence[str | None] | None = "auto",
        symmetric: bool = False,
        images: ImageMode = "off",
        output: Output = "dense",
        dim: int | None = None,
        batch_size: int | None = None,
        max_length: int | None = None,
        max_pixels: int | None = None,
        errors: ErrorMode = "raise",
        progress: bool | None = None,
        fetch: FetchPolicy | None = None,
        max_image_pixels: int | None = DEFAULT_MAX_IMAGE_PIXELS,
        jpeg_draft: bool = False,
        late_chunking: bool = False,
        late_chunking_separator: str = " ",
    ) -> EncodeResult:
        """Embed items (text, images, or a mix) in the order given: :meth:`stream`, collected.

        ``task="auto"`` (or ``None``) picks the adapter per item by what it is and its role (code
        documents -> ``code``, prose and images -> ``retrieval``; ``symmetric=True`` ->
        ``text-matching``; see :mod:`jina_local.routing`); a task name, or a list with one per
        item, overrides. Jina's API names (``retrieval.query``, ``retrieval.passage``, ``code.query``,
        ``code.passage``) also set the role. ``images="auto"`` also reads strings naming image files or image URLs as
        images. ``dim`` truncates dense vectors to a Matryoshka size and re-normalises; ``batch_size`` caps
        items per forward (batches are also capped by a padded-token budget); ``max_length`` caps
        text tokens; ``max_pixels`` caps image area; ``progress`` shows a bar (default: when there
        is more than one batch). ``errors="raise"`` (default) raises the typed error of the first item
        that fails, before its window is encoded; ``errors="skip"`` keeps one row per input and reports
        failures in :attr:`EncodeResult.errors`. ``fetch`` is the :class:`~jina_local.FetchPolicy` for
        image URLs (default: http(s) only, public addresses only, deadlines and a byte cap);
        ``max_image_pixels`` refuses larger images from their header, before decoding.

        ``late_chunking=True``: the items are consecutive text chunks of one document, joined with
        ``late_chunking_separator`` and encoded in one forward; each chunk's vectors pool its own tokens
        of that forward (see :mod:`jina_local.late_chunking`). The document succeeds or fails as a whole,
        so its errors are raised whatever ``errors`` says.
        """
        if not isinstance(late_chunking, (bool, np.bool_)):
            raise OptionError(
                f"late_chunking={late_chunking!r} ({type(late_chunking).__name__}) must be True or False."
            )
        if late_chunking:
            from .late_chunking import encode_late_chunks

            return encode_late_chunks(
                self,
                items,
                role=role,
                task=task,
                symmetric=symmetric,
                images=images,
                output=output,
                dim=dim,
                batch_size=batch_size,
                max_length=max_length,
                separator=late_chunking_separator,
                progress=progress,
            )
        raw = as_item_list(items)
        settings, prepare = self._plan_call(
            role=role, task=task, symmetric=symmetric, images=images, output=output, dim=dim,
            batch_size=batch_size, max_length=max_length, max_pixels=max_pixels, errors=errors,
            window=None, window_tokens=None, progress=progress, total=len(raw), fetch=fetch,
            max_image_pixels=max_image_pixels, jpeg_draft=jpeg_draft,
        )  # fmt: skip
        results = list(self._engine.stream(raw, prepare, settings))
        return _collect(results, settings, self.info.dense_dim if dim is None else dim)

    def encode_query(self, items: Any, **kwargs: Any) -> EncodeResult:
        """``encode(items, role="query", ...)``."""
        return self.encode(items, role="query", **kwargs)

    def encode_document(self, items: Any, **kwargs: Any) -> EncodeResult:
        """``encode(items, role="document", ...)``."""
        return self.encode(items, role="document", **kwargs)

    @property
    def token_budget(self) -> int:
        """Padded tokens one forward may hold (``longest item x batch size``); set it to trade memory for speed."""
        return self._backend.token_budget

    @token_budget.setter
    def token_budget(self, tokens: int) -> None:
        self._backend.token_budget = tokens

    # ------------------------------------------------------------------ observability
    def stats(self) -> EngineStats:
        """Counters of the engine: items, batches and their sizes, queue waits, forward time, pending items."""
        return self._engine.stats()

    def add_batch_listener(self, listener: Callable[[BatchEvent], None]) -> Callable[[], None]:
        """Call ``listener(event)`` after every forward (from the model worker); returns a function that removes it."""
        return self._engine.add_batch_listener(listener)

    # ------------------------------------------------------------------ tokens, for chunkers and explainers
    def tokenize(self, text: str) -> list[tuple[int, int]]:
        """Character spans ``(start, end)`` of the model's tokens of ``text`` (no prompt, no special tokens).

        For chunking by the model's own tokens: ``text[start:end]`` is the text of each token.
        """
        if not isinstance(text, str):
            raise InputError(f"tokenize() takes a str, got {type(text).__name__}.")
        return self._backend.token_spans(text)

    def count_tokens(self, text: str) -> int:
        """How many tokens ``text`` is for this model (no prompt, no special tokens)."""
        return len(self.tokenize(text))

    def multi_row_spans(
        self, text: str, *, role: Role = "document", task: str | None = None, max_length: int | None = None
    ) -> list[tuple[int, int] | None]:
        """One entry per multi-vector row ``encode(text, role=role, task=task, output="multi")`` gives:
        the character span in ``text`` of that row's token, or ``None`` for rows of the prompt.

        For explaining a MaxSim score: the rows with the largest contributions point at the words that
        matched. ``task`` defaults to what ``task="auto"`` would choose.
        """
        if not isinstance(text, str):
            raise InputError(f"multi_row_spans() takes a str, got {type(text).__name__}.")
        chosen = resolve_tasks([input_kind(TextInput(text))], task, self.info, role=role)[0]
        return self._backend.multi_row_spans(text, role=role, task=chosen, max_length=max_length)

    def image_patch_grid(self, image: Any, *, max_pixels: int | None = None) -> tuple[int, int, int]:
        """``(first_row, rows, cols)`` for an image (a PIL image or its ``(width, height)``).

        The multi-vector rows ``first_row .. first_row + rows * cols`` of the image are its image tokens,
        row-major over a ``rows x cols`` grid laid over the whole image: a per-token score reshaped to
        ``(rows, cols)`` is a heat map of the image.
        """
        size = getattr(image, "size", image)
        if not (isinstance(size, tuple) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size)):
            raise InputError("image_patch_grid() takes a PIL image or a (width, height) tuple of positive ints.")
        return self._backend.image_patch_grid(size[0], size[1], max_pixels)


def _parse_item_task(name: Any, index: int) -> tuple[str | None, Role | None]:
    try:
        return parse_task(name)
    except TaskError as exc:
        raise TaskError(f"item {index}: {exc}") from None


def _length(items: Any) -> int | None:
    if is_single_item(items):
        return 1
    try:
        return len(items)
    except TypeError:
        return None


def _collect(results: list[Encoded], settings: StreamSettings, out_dim: int) -> EncodeResult:
    """One :class:`EncodeResult` from stream results (NaN rows and ``None`` entries for failed items)."""
    errors = {r.index: r.error for r in results if r.error is not None}
    dense = None
    if settings.dense:
        dense = np.full((len(results), out_dim), np.nan, dtype=np.float32)  # (n, d)
        for r in results:
            if r.dense is not None:
                dense[r.index] = r.dense
    multi = [r.multi for r in results] if settings.multi else None
    return EncodeResult(
        dense=dense, multi=multi, tasks=[r.task for r in results], kinds=[r.kind for r in results], errors=errors
    )
