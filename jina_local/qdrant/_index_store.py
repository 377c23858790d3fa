"""The encode-and-store half of ``index_files``: new chunks of a run go to ONE ``add()`` call (the
encoder's length sorting sees the whole corpus; PDF pages are rendered lazily as the stream reads them),
or with late chunking to ``encode_spans`` + ``add_embeddings`` per group of documents.

Failures are written into each file's :class:`FilePlan` (``errors``), so ``index_files`` can keep a file
not done and retry it next run.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm.auto import tqdm

from ..documents import Chunk, FileChunks, PdfRenderer, page_pixels
from ..errors import InputError
from ._chunk_records import chunk_fields

if TYPE_CHECKING:
    from ..embedder import Embedder
    from ..types import EncodeResult
    from .collection import MultiVectorCollection

__all__ = ["FilePlan", "chunk_payload", "store_chunks"]

_LATE_GROUP_CHUNKS = 256  # late chunking: chunks encoded and stored per group of documents


@dataclass
class FilePlan:
    """One file to (re)index: its chunks, their ids, and the ids of older versions to delete once complete."""

    file: FileChunks
    chunking: str
    ids: list[str]
    stale: set[str]
    present: set[str]
    late: bool
    errors: dict[int, str] = field(default_factory=dict)


def chunk_payload(plan: FilePlan, chunk: Chunk) -> dict[str, Any]:
    return chunk_fields(chunk, plan.file.path, plan.chunking, len(plan.file.chunks), plan.late)


def store_chunks(
    collection: MultiVectorCollection,
    model: Embedder,
    plans: list[FilePlan],
    late: bool,
    batch_size: int | None,
    progress: bool | None,
) -> int:
    """Encode and store every chunk of ``plans``; failures go into ``plan.errors``. Returns chunks written."""
    entries = [
        (plan, chunk)
        for plan in plans
        for chunk in plan.file.chunks
        if not (late and chunk.content == "text") and plan.ids[chunk.chunk] not in plan.present
    ]
    added = 0
    if entries:
        max_pixels = page_pixels(model.info)
        render_errors: dict[int, str] = {}
        renderer = PdfRenderer()

        def items() -> Iterator[Any]:
            for index, (_, chunk) in enumerate(entries):
                if chunk.content == "text":
                    yield chunk.text
                elif chunk.page is None:
                    yield Path(chunk.path)
                else:
                    try:
                        yield renderer.render(Path(chunk.path), chunk.page, max_pixels)
                    except Exception as exc:  # noqa: BLE001 - one bad page loses only itself
                        render_errors[index] = f"page {chunk.page} could not be rendered: {exc}"
                        yield b""  # fails as an unreadable image inside add(); the reason is taken from here

        try:
            result = collection.add(
                _Sized(items, len(entries)),
                payloads=[chunk_payload(p, c) for p, c in entries],
                ids=[p.ids[c.chunk] for p, c in entries],
                batch_size=batch_size,
                progress=progress,
            )
        finally:
            renderer.close()
        for failure in result.failures:
            plan, chunk = entries[failure.index]
            plan.errors[chunk.chunk] = render_errors.get(failure.index, failure.error)
        added += result.added
    if late:
        added += _store_late(collection, model, plans, batch_size, progress)
    return added


class _Sized:
    """A lazy iterable with a length, so ``add()`` can show a progress bar with a total."""

    def __init__(self, make: Any, length: int) -> None:
        self._make, self._length = make, length

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[Any]:
        return iter(self._make())


def _late_documents(plan: FilePlan) -> list[tuple[str, list[Chunk]]]:
    """The documents of one file for late chunking: the file's text, or each PDF page's text layer."""
    text_chunks = [c for c in plan.file.chunks if c.content == "text"]
    if plan.file.file_type != "pdf":
        return [(plan.file.text or "", text_chunks)] if text_chunks else []
    pages: dict[int, list[Chunk]] = {}
    for chunk in text_chunks:
        pages.setdefault(chunk.page or 0, []).append(chunk)
    texts = {c.page: c.page_text or "" for c in plan.file.chunks if c.content == "image"}
    return [(texts.get(page, ""), chunks) for page, chunks in pages.items()]


def _spans(chunks: list[Chunk]) -> list[tuple[int, int]]:
    """The ``[start, end)`` character spans of text chunks in their document (the chunker sets them)."""
    spans = []
    for c in chunks:
        if c.chars is None:
            raise InputError(f"chunk {c.chunk} has no character span; late chunking needs one per text chunk.")
        spans.append(c.chars)
    return spans


def _store_late(
    collection: MultiVectorCollection,
    model: Embedder,
    plans: list[FilePlan],
    batch_size: int | None,
    progress: bool | None,
) -> int:
    from ..late_chunking import encode_spans

    output = "both" if collection.has_multi else "dense"
    dim = None if collection.dense_dim == model.info.dense_dim else collection.dense_dim
    docs = [(plan, text, chunks) for plan in plans for text, chunks in _late_documents(plan)]
    groups: list[list[tuple[FilePlan, str, list[Chunk]]]] = []
    for doc in docs:
        if not groups or sum(len(d[2]) for d in groups[-1]) + len(doc[2]) > _LATE_GROUP_CHUNKS:
            groups.append([])
        groups[-1].append(doc)
    added = 0
    show = len(groups) > 1 if progress is None else progress
    for group in tqdm(groups, desc=f"late chunking {collection.name}", unit="group", disable=not show):
        results: Sequence[EncodeResult | None]
        try:
            results = encode_spans(
                model,
                [(text, _spans(chunks)) for _, text, chunks in group],
                output=output,
                dim=dim,
                batch_size=batch_size,
                progress=False,
            )
        except Exception:  # noqa: BLE001 - retry one document at a time so one bad document loses only itself
            one_by_one: list[EncodeResult | None] = []
            for plan, text, chunks in group:
                try:
                    one_by_one += encode_spans(
                        model,
                        [(text, _spans(chunks))],
                        output=output,
                        dim=dim,
                        batch_size=batch_size,
                        progress=False,
                    )
                except Exception as exc:  # noqa: BLE001
                    for chunk in chunks:
                        plan.errors[chunk.chunk] = f"{type(exc).__name__}: {exc}"
                    one_by_one.append(None)
            results = one_by_one
        for (plan, _, chunks), res in zip(group, results):
            if res is None:
                continue
            summary = collection.add_embeddings(
                res,
                payloads=[chunk_payload(plan, c) for c in chunks],
                ids=[plan.ids[c.chunk] for c in chunks],
                texts=[c.text for c in chunks],
                sources=[plan.file.path] * len(chunks),
                progress=False,
            )
            for failure in summary.failures:
                plan.errors[chunks[failure.index].chunk] = failure.error
            added += summary.added
    return added
