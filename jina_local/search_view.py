"""Search hits as plain JSON for people and pages: :func:`hits_to_json`.

One shape for ``jina-local search --json``, the server's ``POST /v1/search`` and the search page::

    {"query": str, "mode": str, "score_legend": str,
     "hits": [{"rank", "id", "score", "raw_score", "score_kind", "kind", "task",
               "location": {"path", "page", "lines", "chars", "chunk"}, "location_label",
               "snippet", "highlights": [[start, end], ...], "image", "thumbnail", "heatmap",
               "payload"}]}

``highlights`` are character offsets inside ``snippet``. ``thumbnail`` is a small JPEG as a
``data:`` URI (image files, and PDF pages when pypdfium2 is installed). ``heatmap`` is
``{"rows", "cols", "values"}`` (row-major, 0..1) over the patch grid of the image as it was indexed
(for a PDF page: the page rendered again at the model's pixel budget, as indexing rendered it), or
``None``.

Snippets are centred on the span that matches the query best. With the model's per-row character
spans (``Embedder.multi_row_spans``) and the hit's stored token vectors, "best" is the document
tokens contributing most to the MaxSim score; otherwise (pooled or dense-only collections) it is
the window covering most query words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._view_images import THUMBNAIL_PX, image_path, open_image, thumbnail

__all__ = [
    "SNIPPET_CHARS",
    "THUMBNAIL_PX",
    "best_window",
    "hits_to_json",
    "location_label",
    "score_legend",
    "word_spans",
]

SNIPPET_CHARS = 280
"""Length of a snippet window in characters (before the ``…`` marks)."""
_ELLIPSIS = "…"
_WORD = re.compile(r"\w+", re.UNICODE)


def score_legend(mode: str, fused: bool) -> str:
    """What ``score`` and ``raw_score`` mean for a search in ``mode`` (``fused``: lists of several adapters merged)."""
    raw = (
        "cosine similarity of the dense vectors"
        if mode == "dense"
        else ("MaxSim: the sum over query tokens of each token's best cosine with the document's tokens")
    )
    if fused:
        return (
            f"score: z-score of raw_score within the hit list of its task adapter, so lists searched with "
            f"different adapters merge on one scale (higher is better); raw_score: {raw}."
        )
    return f"score: equal to raw_score (one task adapter searched, nothing fused); raw_score: {raw}."


# --------------------------------------------------------------------------- locations
def location_label(location: dict[str, Any]) -> str:
    """``src/app.py:12-40``, ``report.pdf#page=3``, ``notes.md#chunk=2`` or the bare path.

    >>> location_label({"path": "src/app.py", "lines": [12, 40]})
    'src/app.py:12-40'
    >>> location_label({"path": "report.pdf", "page": 3})
    'report.pdf#page=3'
    >>> location_label({"path": "notes.md", "chunk": 2})
    'notes.md#chunk=2'
    """
    path = str(location.get("path") or "")
    lines = location.get("lines")
    if isinstance(lines, (list, tuple)) and len(lines) == 2:
        return f"{path}:{lines[0]}" if lines[0] == lines[1] else f"{path}:{lines[0]}-{lines[1]}"
    if location.get("page") is not None:
        return f"{path}#page={location['page']}"
    if location.get("chunk"):
        return f"{path}#chunk={location['chunk']}"
    return path


def _location(payload: dict[str, Any]) -> dict[str, Any]:
    source = str(payload.get("source") or "")
    path = payload.get("path") or payload.get("image") or (source.rsplit("#", 1)[0] if source else None)
    return {
        "path": path,
        "page": payload.get("page"),
        "lines": payload.get("lines"),
        "chars": payload.get("chars"),
        "chunk": payload.get("chunk"),
    }


# --------------------------------------------------------------------------- snippets
def word_spans(text: str, query: str) -> list[tuple[int, int]]:
    """Spans of words of ``text`` matching a word of ``query``: equal, or one a prefix of the other (4+ letters).

    >>> word_spans("Cats sleep sixteen hours.", "how long do cats sleeps")
    [(0, 4), (5, 10)]
    """
    wanted = {w.lower() for w in _WORD.findall(query) if len(w) >= 2}
    if not wanted:
        return []
    out = []
    for m in _WORD.finditer(text):
        word = m.group().lower()
        if (
            word in wanted
            or word.removesuffix("s") in wanted
            or any(min(len(w), len(word)) >= 4 and (word.startswith(w) or w.startswith(word)) for w in wanted)
        ):
            out.append((m.start(), m.end()))
    return out


def best_window(length: int, spans: Sequence[tuple[int, int]], weights: Sequence[float], width: int) -> tuple[int, int]:
    """The ``[start, end)`` window of ``width`` chars holding the largest total weight of whole spans.

    >>> best_window(1000, [(10, 14), (600, 604), (650, 655)], [1.0, 1.0, 1.0], 100)
    (577, 677)
    """
    if length <= width or not spans:
        return 0, min(length, width)
    order = sorted(range(len(spans)), key=lambda i: spans[i][0])
    best = (-1.0, 0, 0)
    right, total = 0, 0.0
    for left in range(len(order)):  # two pointers over spans sorted by start
        if right < left:
            right, total = left, 0.0
        start = spans[order[left]][0]
        while right < len(order) and spans[order[right]][1] - start <= width:
            total += float(weights[order[right]])
            right += 1
        if total > best[0]:
            best = (total, start, spans[order[right - 1]][1] if right > left else spans[order[left]][1])
        if right > left:
            total -= float(weights[order[left]])
    _, first, last = best
    start = max(0, min(length - width, (first + last) // 2 - width // 2))  # centre the covered span
    return start, start + width


def _snap(text: str, start: int, end: int) -> tuple[int, int]:
    """Move window edges out of the middle of words (by at most 20 chars)."""
    if start > 0:
        cut = text.rfind(" ", max(0, start - 20), start + 1)
        start = cut + 1 if cut >= 0 else start
    if end < len(text):
        cut = text.find(" ", end - 1, min(len(text), end + 20))
        end = cut if cut >= 0 else end
    return start, end


def _snippet(text: str, spans: list[tuple[int, int]], weights: list[float], width: int) -> tuple[str, list[list[int]]]:
    start, end = _snap(text, *best_window(len(text), spans, weights, width))
    prefix = _ELLIPSIS if start > 0 else ""
    suffix = _ELLIPSIS if end < len(text) else ""
    shift = len(prefix) - start
    marks: list[list[int]] = []
    for a, b in sorted(spans):
        if a >= start and b <= end:
            if marks and a + shift <= marks[-1][1] + 1 and text[marks[-1][1] - shift : a].strip() == "":
                marks[-1][1] = max(marks[-1][1], b + shift)  # merge overlaps and whitespace-separated neighbours
            else:
                marks.append([a + shift, b + shift])
    return prefix + text[start:end] + suffix, marks


def _whole_word(text: str, start: int, end: int) -> tuple[int, int] | None:
    """A token's span widened to the word(s) it is part of; ``None`` for whitespace or punctuation.

    >>> _whole_word("Dogs bark.", 1, 4), _whole_word("Dogs bark.", 9, 10)
    ((0, 4), None)
    """
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if not any(c.isalnum() for c in text[start:end]):
        return None
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    while end < len(text) and (text[end].isalnum() or text[end] == "_"):
        end += 1
    return start, end


# --------------------------------------------------------------------------- token-level explanation
class _Explainer:
    """Query token vectors per task and stored document vectors, for MaxSim-based snippets and heat maps.

    Uses ``Embedder.multi_row_spans`` (text) and ``Embedder.image_patch_grid`` (images). When the
    collection pools its token vectors or has none, or the model lacks the hooks, every method
    returns ``None`` and the callers fall back (query words for snippets, no heat map).
    """

    def __init__(
        self, query: Any, collection: Any, model: Any, mode: str, tokens: dict[Any, Any] | None = None
    ) -> None:
        self.query = query
        self.collection = collection
        self.model = model
        self.usable = (
            model is not None
            and collection is not None
            and mode != "dense"
            and bool(getattr(collection, "has_multi", False))
            and not getattr(collection, "pool_factor", None)
        )
        self._queries: dict[str, np.ndarray | None] = {
            str(task): np.asarray(rows, dtype=np.float32) for task, rows in (tokens or {}).items() if rows is not None
        }

    def _query_tokens(self, task: str | None) -> np.ndarray | None:
        key = str(task)
        if key not in self._queries:
            try:
                query = self.query if isinstance(self.query, str) else [self.query]
                res = self.model.encode_query(query, task=task, output="multi", progress=False)
                self._queries[key] = np.asarray(res.multi[0], dtype=np.float32)  # (q, 128)
            except Exception:  # noqa: BLE001 - an explanation is optional; the hit itself stands
                self._queries[key] = None
        return self._queries[key]

    def _sims(self, hit_id: str, task: str | None) -> np.ndarray | None:
        q = self._query_tokens(task)
        if q is None:
            return None
        points = self.collection.get([hit_id], with_vectors=True)
        vector = points[0].get("vector") if points else None
        stored = vector.get("multi") if isinstance(vector, dict) else None
        if stored is None:
            return None
        doc = np.asarray(stored, dtype=np.float32)  # (t, 128)
        return q @ doc.T  # (q, t)

    def text_rows(self, hit_id: str, text: str, task: str | None) -> tuple[list[tuple[int, int]], list[float]] | None:
        """Char spans of the document rows that are some query token's best match, weighted by MaxSim share."""
        if not self.usable or not hasattr(self.model, "multi_row_spans"):
            return None
        try:
            row_spans = self.model.multi_row_spans(text, role="document", task=task)
            sims = self._sims(hit_id, task)
        except Exception:  # noqa: BLE001 - fall back to word matching
            return None
        if sims is None or sims.shape[1] != len(row_spans):
            return None
        contribution = np.zeros(sims.shape[1], dtype=np.float64)
        np.add.at(contribution, sims.argmax(axis=1), sims.max(axis=1))
        spans, weights = [], []
        for row, span in enumerate(row_spans):
            if span is not None and contribution[row] > 0:
                word = _whole_word(text, int(span[0]), int(span[1]))
                if word is not None:
                    spans.append(word)
                    weights.append(float(contribution[row]))
        return (spans, weights) if spans else None

    def heatmap(self, hit_id: str, size: tuple[int, int] | None, task: str | None) -> dict[str, Any] | None:
        """Per patch, the best similarity any query token has with it, scaled to 0..1 over the image.

        ``size`` is the ``(width, height)`` of the image as it was indexed.
        """
        if not self.usable or not hasattr(self.model, "image_patch_grid") or size is None:
            return None
        try:
            first, rows, cols = self.model.image_patch_grid(size)
            sims = self._sims(hit_id, task)
        except Exception:  # noqa: BLE001 - no heat map then
            return None
        if sims is None or first + rows * cols > sims.shape[1]:
            return None
        patches = sims[:, first : first + rows * cols].max(axis=0)  # (rows * cols,)
        low, high = float(patches.min()), float(patches.max())
        scaled = (patches - low) / (high - low) if high > low else np.zeros_like(patches)
        return {"rows": int(rows), "cols": int(cols), "values": [round(float(v), 3) for v in scaled]}


# --------------------------------------------------------------------------- the shape
def hits_to_json(
    query: Any,
    hits: Sequence[Any],
    *,
    collection: Any,
    model: Any,
    mode: str | None,
    snippet_chars: int = SNIPPET_CHARS,
    thumbnails: bool = True,
    query_tokens: dict[str | None, Any] | None = None,
) -> dict[str, Any]:
    """Search hits (``MultiVectorCollection.search`` results) as the JSON shape described above.

    ``query`` is the text searched, or the image (bytes / PIL image) for image queries. ``mode`` is
    the search mode used (``None``: the collection's default). ``collection`` and ``model`` are
    used for MaxSim-based snippets and heat maps (either may be ``None``); ``thumbnails=False``
    skips reading image files. ``query_tokens``: the query's token vectors per task, if the caller has
    them from the search (``QueryVectors``); tasks missing there are encoded here.
    """
    has_multi = bool(getattr(collection, "has_multi", False))
    used_mode = mode or ("two_stage" if has_multi else "dense")
    query_text = query if isinstance(query, str) else ""
    explainer = _Explainer(query, collection, model, used_mode, query_tokens)
    fused = any(abs(float(h.score) - float(h.raw_score)) > 1e-9 for h in hits)
    out_hits = []
    for rank, hit in enumerate(hits, 1):
        payload = dict(hit.payload or {})
        task = payload.get("task")
        location = _location(payload)
        text = payload.get("text")
        snippet: str = ""
        highlights: list[list[int]] = []
        if isinstance(text, str) and text:
            rows = explainer.text_rows(hit.id, text, task)
            spans, weights = rows if rows else (word_spans(text, query_text), [])
            snippet, highlights = _snippet(text, spans, weights or [1.0] * len(spans), snippet_chars)
        shown = image_path(payload, location)
        thumb = heatmap = None
        if shown and thumbnails and Path(shown).is_file():
            try:
                image, size = open_image(shown, location.get("page"), model)
                thumb = thumbnail(image)
                if payload.get("kind") == "image":  # a PDF page's text layer has text tokens, not patches
                    heatmap = explainer.heatmap(hit.id, size, task)
            except Exception:  # noqa: BLE001 - a missing or unreadable file only loses its thumbnail
                thumb = heatmap = None
        out_hits.append(
            {
                "rank": rank,
                "id": str(hit.id),
                "score": float(hit.score),
                "raw_score": float(hit.raw_score),
                "score_kind": "cosine" if used_mode == "dense" else "maxsim",
                "kind": payload.get("kind"),
                "task": task,
                "location": location,
                "location_label": location_label(location),
                "snippet": snippet,
                "highlights": highlights,
                "image": shown,
                "thumbnail": thumb,
                "heatmap": heatmap,
                "payload": payload,
            }
        )
    return {
        "query": query_text if isinstance(query, str) else "[image]",
        "mode": used_mode,
        "score_legend": score_legend(used_mode, fused),
        "hits": out_hits,
    }
