"""Token-aware chunking of text, markdown and code, measured in the model's own tokens.

The chunker asks the model for the character spans of its tokens (``Embedder.tokenize``) once per text,
then walks the text: from a start position it finds the furthest end that keeps ``chunk_tokens`` tokens,
and ends the chunk at the best *break* between the half-full point and that end. Breaks come in levels,
best first; for prose and markdown:

================  ===============================================================
level             where
================  ===============================================================
heading           before a markdown heading line (``#`` .. ``######``, outside fences)
paragraph         after a blank line
line              after a line break
sentence          after ``.``, ``!``, ``?``, ``…`` (and closing quotes) plus whitespace, or ``。！？``
word              after whitespace
token             between two tokens (always available)
================  ===============================================================

Code uses definition boundaries instead (see :mod:`.code`). The last break of the best level in the
window wins. *Structural* levels (headings; definitions in code) may end a chunk before the half-full
point, so a short section or function is not glued to the start of the next one. The next chunk starts ``overlap_tokens`` tokens before the end, at the best break there
(the earliest of its level), so neighbours share at most ``overlap_tokens`` tokens. Chunks never start or
end with whitespace. Every chunk is checked with ``count_tokens``: ``count_tokens(chunk) <= chunk_tokens``
(only a single character can exceed a budget smaller than its own tokens).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ..errors import InputError, OptionError

__all__ = [
    "DEFAULT_CHUNK_TOKENS",
    "DEFAULT_OVERLAP_TOKENS",
    "Breaks",
    "TextSpan",
    "TokenCounter",
    "check_chunk_sizes",
    "chunk_by_breaks",
    "chunk_text",
    "markdown_headings",
    "prose_breaks",
    "section_at",
]

DEFAULT_CHUNK_TOKENS = 480
"""Default chunk size in model tokens: fits jina-clip-v2's 512-token window with its special tokens and
leaves jina-embeddings-v4 well inside its trained lengths."""
DEFAULT_OVERLAP_TOKENS = 60
"""Overlap between neighbouring chunks at the default size: by default an eighth of ``chunk_tokens``
(``chunk_tokens // 8``); 0 with late chunking."""

_SHRINK_STEPS = 16  # at most this many re-measurements of one chunk before a hard token cut

_HEADING = re.compile(r"^#{1,6}[ \t]+\S", re.MULTILINE)
_FENCE = re.compile(r"^[ \t]{0,3}(```|~~~)", re.MULTILINE)
_PARAGRAPH = re.compile(r"\n[ \t]*\r?\n\s*")
_LINE = re.compile(r"\n")
_SENTENCE = re.compile(r"(?:[.!?…]+[\"'”’)\]]*\s+)|(?:[。！？]+[」』”’）]*)")
_WORD = re.compile(r"\s+")


class TokenCounter(Protocol):
    """What the chunker needs from a model: :class:`~jina_local.Embedder` has both methods."""

    def tokenize(self, text: str) -> list[tuple[int, int]]: ...

    def count_tokens(self, text: str) -> int: ...


@dataclass(frozen=True)
class TextSpan:
    """One chunk of a text: ``text[start:end]``, ``tokens`` long in the model's tokens."""

    start: int
    end: int
    tokens: int


@dataclass(frozen=True)
class Breaks:
    """Break positions per level, best level first (each list ascending). The first ``structural`` levels
    may end a chunk anywhere; the others only past the half-full point. ``keep_indent``: a chunk starts at
    the beginning of its first line (code keeps its indentation)."""

    levels: list[list[int]]
    structural: int = 0
    keep_indent: bool = False


def check_chunk_sizes(chunk_tokens: object, overlap_tokens: object = None) -> tuple[int, int]:
    """Validate sizes: ``chunk_tokens >= 1``, ``0 <= overlap_tokens < chunk_tokens`` (typed errors, never a loop).

    ``overlap_tokens=None`` is ``chunk_tokens // 8``.

    >>> check_chunk_sizes(100, 10), check_chunk_sizes(480)
    ((100, 10), (480, 60))
    >>> check_chunk_sizes(0, 0)
    Traceback (most recent call last):
    ...
    jina_local.errors.OptionError: chunk_tokens=0 must be a positive integer (tokens per chunk, e.g. 480).
    """
    if isinstance(chunk_tokens, bool) or not isinstance(chunk_tokens, int) or chunk_tokens < 1:
        raise OptionError(f"chunk_tokens={chunk_tokens!r} must be a positive integer (tokens per chunk, e.g. 480).")
    if overlap_tokens is None:
        overlap_tokens = chunk_tokens // 8
    if isinstance(overlap_tokens, bool) or not isinstance(overlap_tokens, int) or overlap_tokens < 0:
        raise OptionError(f"overlap_tokens={overlap_tokens!r} must be an integer >= 0 (tokens shared by neighbours).")
    if overlap_tokens >= chunk_tokens:
        raise OptionError(
            f"overlap_tokens={overlap_tokens} must be smaller than chunk_tokens={chunk_tokens}; "
            f"e.g. overlap_tokens={chunk_tokens // 8}."
        )
    return chunk_tokens, overlap_tokens


def _fenced_ranges(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of fenced code blocks (```` ``` ```` / ``~~~``), so their ``#`` lines are no headings."""
    marks = [m.start() for m in _FENCE.finditer(text)]
    return [(marks[i], marks[i + 1]) for i in range(0, len(marks) - 1, 2)]


def _outside(positions: list[int], ranges: list[tuple[int, int]]) -> list[int]:
    if not ranges:
        return positions
    return [p for p in positions if not any(start < p < end for start, end in ranges)]


def markdown_headings(text: str) -> list[tuple[int, int, str]]:
    """``(position, level, title)`` of every markdown heading outside fenced blocks.

    >>> markdown_headings("# A\\ntext\\n## B c\\n```\\n# not\\n```\\n")
    [(0, 1, 'A'), (9, 2, 'B c')]
    """
    fences = _fenced_ranges(text)
    out = []
    for m in _HEADING.finditer(text):
        if any(start < m.start() < end for start, end in fences):
            continue
        line_end = text.find("\n", m.start())
        line = text[m.start() : len(text) if line_end < 0 else line_end]
        level = len(line) - len(line.lstrip("#"))
        out.append((m.start(), level, line[level:].strip().rstrip("#").strip()))
    return out


def section_at(headings: Sequence[tuple[int, int, str]], position: int) -> str | None:
    """The heading path (``"Intro > Setup"``) in force at ``position``, or ``None`` before any heading.

    >>> section_at([(0, 1, "Intro"), (10, 2, "Setup"), (30, 1, "Next")], 12)
    'Intro > Setup'
    """
    path: list[tuple[int, str]] = []
    for start, level, title in headings:
        if start > position:
            break
        path = [(lvl, t) for lvl, t in path if lvl < level] + [(level, title)]
    return " > ".join(t for _, t in path) if path else None


def prose_breaks(text: str, *, markdown: bool = False) -> Breaks:
    """Break positions of prose (and markdown headings), best level first."""
    levels: list[list[int]] = []
    if markdown:
        levels.append([pos for pos, _, _ in markdown_headings(text)])
    fences = _fenced_ranges(text) if markdown else []
    levels.append(_outside([m.end() for m in _PARAGRAPH.finditer(text)], fences))
    levels.append([m.end() for m in _LINE.finditer(text)])
    levels.append(_outside([m.end() for m in _SENTENCE.finditer(text)], fences))
    levels.append([m.end() for m in _WORD.finditer(text)])
    return Breaks(levels, structural=1 if markdown else 0)


def _latest(positions: list[int], low: int, high: int) -> int | None:
    """The largest position in ``[low, high]``, or ``None``."""
    i = bisect.bisect_right(positions, high)
    if i and positions[i - 1] >= low:
        return positions[i - 1]
    return None


def _earliest(positions: list[int], low: int, high: int) -> int | None:
    """The smallest position in ``[low, high]``, or ``None``."""
    i = bisect.bisect_left(positions, low)
    if i < len(positions) and positions[i] <= high:
        return positions[i]
    return None


def _trim(text: str, start: int, end: int, keep_indent: bool = False) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    if keep_indent:  # keep a line's indentation, not spaces in the middle of a line
        indent = start
        while indent > 0 and text[indent - 1] in " \t":
            indent -= 1
        if indent == 0 or text[indent - 1] == "\n":
            start = indent
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def chunk_by_breaks(
    text: str, counter: TokenCounter, breaks: Breaks, *, chunk_tokens: int, overlap_tokens: int | None = None
) -> list[TextSpan]:
    """Chunks of ``text`` of at most ``chunk_tokens`` tokens, ended at the best of ``breaks`` (see module doc)."""
    chunk_tokens, overlap_tokens = check_chunk_sizes(chunk_tokens, overlap_tokens)
    if not isinstance(text, str):
        raise InputError(f"the chunker takes a str, got {type(text).__name__}; decode bytes first (decode_text).")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            f"the text contains a lone surrogate (U+{ord(text[exc.start]):04X}) at character {exc.start}, which is "
            "not valid Unicode; decode its source with errors='replace', or remove it."
        ) from exc
    begin, finish = _trim(text, 0, len(text))
    if begin == finish:
        return []
    spans = counter.tokenize(text)
    starts = [s for s, _ in spans]
    ends = [e for _, e in spans]
    token_starts = sorted(set(starts))
    chunks: list[TextSpan] = []
    start, covered = begin, begin  # ``covered``: the first non-space character after the last chunk
    while start < finish:
        first = bisect.bisect_right(ends, start)  # first token ending after ``start``
        last = first + chunk_tokens - 1
        structural = False
        if last >= len(ends) or ends[last] >= finish:
            end = finish
        else:
            hard = max(ends[last], start + 1)
            low = ends[min(first + max(chunk_tokens // 2, 1) - 1, last)]
            floor = max(start, covered) + 1  # every chunk brings new text
            end = hard
            for rank, level in enumerate(breaks.levels):
                found = _latest(level, floor if rank < breaks.structural else max(low, floor), hard)
                if found is not None:
                    end, structural = found, rank < breaks.structural
                    break
        end, c_start, c_end, tokens = _fit(text, counter, start, end, chunk_tokens, ends, breaks.keep_indent)
        if c_start < c_end and c_end > covered:
            chunks.append(TextSpan(c_start, c_end, tokens))
            covered = c_end
            while covered < finish and text[covered].isspace():
                covered += 1
        elif end < finish:  # nothing new (the cut fell in whitespace): continue without overlap
            structural = True
        if end >= finish:
            break
        # No overlap across a heading or a definition: the next section or function starts afresh.
        start = _next_start(text, breaks, token_starts, ends, start, end, 0 if structural else overlap_tokens)
    return chunks


def _fit(
    text: str, counter: TokenCounter, start: int, end: int, chunk_tokens: int, ends: list[int], keep_indent: bool
) -> tuple[int, int, int, int]:
    """Pull ``end`` back to earlier token ends until the trimmed chunk measures ``<= chunk_tokens`` on its own.

    Returns ``(end, trimmed_start, trimmed_end, tokens of the trimmed chunk)``.
    """
    for _ in range(_SHRINK_STEPS):
        c_start, c_end = _trim(text, start, end, keep_indent)
        tokens = counter.count_tokens(text[c_start:c_end])
        if tokens > chunk_tokens and keep_indent:  # the kept indentation is what does not fit: drop it
            bare_start, bare_end = _trim(text, start, end, False)
            bare_tokens = counter.count_tokens(text[bare_start:bare_end])
            if bare_tokens <= chunk_tokens:
                return end, bare_start, bare_end, bare_tokens
        excess = tokens - chunk_tokens
        if excess <= 0 or end <= start + 1:
            return end, c_start, c_end, tokens
        i = bisect.bisect_left(ends, end) - excess  # ends[i]: the end after dropping ``excess`` tokens
        earlier = ends[i] if i >= 0 else start + 1
        end = max(min(earlier, end - 1), start + 1)
    c_start, c_end = _trim(text, start, end, keep_indent)  # pragma: no cover - never needs this many cuts
    return end, c_start, c_end, counter.count_tokens(text[c_start:c_end])  # pragma: no cover


def _next_start(
    text: str, breaks: Breaks, token_starts: list[int], ends: list[int], start: int, end: int, overlap: int
) -> int:
    """Where the chunk after ``[start, end)`` begins: ``overlap`` tokens back, at the best break; always > start."""
    nxt = end
    if overlap:
        inside = bisect.bisect_right(ends, end)  # tokens ending at or before ``end``
        low = ends[max(inside - overlap - 1, 0)] if inside > overlap else start + 1
        low = max(low, start + 1)
        for level in [*breaks.levels, token_starts]:
            found = _earliest(level, low, end - 1)
            if found is not None:
                nxt = found
                break
    while nxt < len(text) and text[nxt].isspace():
        nxt += 1
    return max(nxt, start + 1)


def chunk_text(
    text: str,
    counter: TokenCounter,
    *,
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
    overlap_tokens: int | None = None,
    markdown: bool = False,
) -> list[TextSpan]:
    """Chunk prose (``markdown=True``: also at headings) into spans of at most ``chunk_tokens`` model tokens.

    ``counter`` is the model (anything with ``tokenize`` and ``count_tokens``); sizes are in its tokens;
    ``overlap_tokens`` defaults to ``chunk_tokens // 8``.
    """
    return chunk_by_breaks(
        text, counter, prose_breaks(text, markdown=markdown), chunk_tokens=chunk_tokens, overlap_tokens=overlap_tokens
    )
