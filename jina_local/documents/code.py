"""Code chunking: at definition and blank-line boundaries, in model tokens, with line ranges.

The language-aware separators come from ``langchain-text-splitters``
(``RecursiveCharacterTextSplitter.get_separators_for_language``), imported only when code is chunked,
so ``import jina_local`` needs no LangChain. Its separators become break levels (see :mod:`.text`):

1. top-level definitions and statements (``\\nclass ``, ``\\ndef ``, ``\\nfunc ``, ...), split at the
   start of their line; decorator and comment lines directly above stay with the definition;
2. the same keywords indented (methods), and the splitter's own indented separators;
3. blank lines; 4. line breaks; 5. spaces; then token boundaries.

Languages without separators there (JSON, YAML, shell, SQL, CSS, ...) use levels 3-5.
"""

from __future__ import annotations

import bisect
import re
from functools import lru_cache

from .text import DEFAULT_CHUNK_TOKENS, Breaks, TextSpan, TokenCounter, chunk_by_breaks

__all__ = ["LANGUAGES", "chunk_code", "code_breaks", "language_of", "line_range", "line_starts"]

LANGUAGES: dict[str, str] = {
    ".py": "python", ".pyi": "python", ".pyx": "python",
    ".js": "js", ".mjs": "js", ".cjs": "js", ".jsx": "js",
    ".ts": "ts", ".mts": "ts", ".cts": "ts", ".tsx": "ts",
    ".go": "go", ".rs": "rust", ".java": "java", ".kt": "kotlin", ".kts": "kotlin", ".scala": "scala",
    ".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp",
    ".cs": "csharp", ".php": "php", ".proto": "proto", ".r": "r", ".rb": "ruby", ".swift": "swift",
    ".sol": "sol", ".cbl": "cobol", ".cob": "cobol", ".lua": "lua", ".pl": "perl", ".pm": "perl",
    ".hs": "haskell", ".ex": "elixir", ".exs": "elixir", ".ps1": "powershell", ".psm1": "powershell",
    ".vb": "visualbasic6", ".bas": "visualbasic6", ".html": "html", ".htm": "html", ".xhtml": "html",
    ".tex": "latex", ".rst": "rst",
}  # fmt: skip
"""File extension -> ``langchain_text_splitters.Language`` value."""

_BLANK = re.compile(r"\n[ \t]*\r?\n\s*")
_LINE = re.compile(r"\n")
_SPACE = re.compile(r"[ \t]+")
_ATTACHED = re.compile(r"[ \t]*(@|#|//|/\*|\*|--|;;|%|\"\"\"|''')")  # decorators and comments


def language_of(path_suffix: str) -> str | None:
    """The splitter language of a file extension (``".py"`` -> ``"python"``), or ``None``."""
    return LANGUAGES.get(path_suffix.lower())


@lru_cache(maxsize=64)
def _separators(language: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(top-level, indented) separator regexes of ``language`` from langchain-text-splitters."""
    if language is None:
        return (), ()
    from langchain_text_splitters import Language, RecursiveCharacterTextSplitter

    try:
        separators = RecursiveCharacterTextSplitter.get_separators_for_language(Language(language))
    except ValueError:
        return (), ()
    generic = {"\n\n", "\n", " ", ""}
    top: list[str] = []
    indented: list[str] = []
    for sep in separators:
        if sep in generic:
            continue
        if sep.startswith("\n") and not sep.startswith(("\n\t", "\n ")):
            top.append(sep)
            keyword = sep[1:]
            if keyword[:1].isalpha():
                indented.append("\n[ \\t]+" + re.escape(keyword))
        else:
            indented.append(sep)
    return tuple(top), tuple(indented)


def line_starts(text: str) -> list[int]:
    """Offsets where each line starts (line 1 starts at 0)."""
    return [0, *(m.end() for m in _LINE.finditer(text))]


def line_range(starts: list[int], start: int, end: int) -> tuple[int, int]:
    """1-based inclusive ``(first_line, last_line)`` of the characters ``[start, end)``.

    >>> line_range(line_starts("a\\nb\\nc"), 2, 5)
    (2, 3)
    """
    return bisect.bisect_right(starts, start), bisect.bisect_right(starts, max(end - 1, start))


def _attach_upwards(text: str, starts: list[int], position: int) -> int:
    """Move a break at a line start up over directly preceding decorator / comment lines."""
    line = bisect.bisect_right(starts, position) - 1
    while line > 0:
        prev_start, prev_end = starts[line - 1], starts[line] - 1
        previous = text[prev_start:prev_end]
        if not previous.strip() or not _ATTACHED.match(previous):
            break
        line -= 1
    return starts[line] if line >= 0 else position


def _line_start_matches(text: str, pattern: str, starts: list[int]) -> list[int]:
    positions = []
    for m in re.finditer(pattern, text):
        pos = m.start() + 1 if m.group(0).startswith("\n") else m.start()
        positions.append(_attach_upwards(text, starts, pos))
    return sorted(set(positions))


def code_breaks(text: str, language: str | None) -> Breaks:
    """Break positions of source code in ``language`` (a splitter language value, or ``None``), best first."""
    starts = line_starts(text)
    top, indented = _separators(language)
    levels: list[list[int]] = []
    if top:
        levels.append(sorted({p for sep in top for p in _line_start_matches(text, sep, starts)}))
    if indented:
        levels.append(sorted({p for sep in indented for p in _line_start_matches(text, sep, starts)}))
    structural = len(levels)  # definitions may end a chunk early: one function is not split to fill another
    levels.append([m.end() for m in _BLANK.finditer(text)])
    levels.append(starts[1:])
    levels.append([m.end() for m in _SPACE.finditer(text)])
    return Breaks(levels, structural=structural, keep_indent=True)


def chunk_code(
    text: str,
    counter: TokenCounter,
    *,
    language: str | None = None,
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
    overlap_tokens: int | None = None,
) -> list[TextSpan]:
    """Chunk source code into spans of at most ``chunk_tokens`` model tokens, ending at definitions first.

    ``overlap_tokens`` defaults to ``chunk_tokens // 8``. Pair the spans with :func:`line_range` for
    ``(first_line, last_line)``.
    """
    return chunk_by_breaks(
        text, counter, code_breaks(text, language), chunk_tokens=chunk_tokens, overlap_tokens=overlap_tokens
    )
