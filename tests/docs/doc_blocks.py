"""Fenced code blocks of README.md and docs/*.md, read the way the doc-blocks test runs them.

A block is a fenced ```python / ```bash (or sh, shell, console) block. A block that cannot run here says why
with a marker on the line right after its closing fence (or right before its opening fence)::

    <!-- no-run: needs a Qdrant server -->

Python blocks of one file run in order in one namespace, like cells of a notebook. From shell blocks, the
commands that invoke jina-local run (``jina-local ...``, ``python -m jina_local ...``), and so does the
sample-folder generator (``python examples/make_sample_docs.py``), also as steps of an ``&&`` chain; installs,
venvs, curl and pytest do not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^```(\w*)\s*$")
_NO_RUN = re.compile(r"^<!--\s*no-run:\s*(.*?)\s*-->\s*$")
_SHELL = {"bash", "sh", "shell", "console"}
_RUNNABLE_COMMAND = re.compile(r"^(jina-local|python -m jina_local|python examples/make_sample_docs\.py)(\s|$)")


@dataclass(frozen=True)
class Block:
    """One fenced block: its file, the line of its opening fence (1-based), language, text, no-run reason."""

    path: Path
    line: int
    language: str
    code: str
    no_run: str | None

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def is_python(self) -> bool:
        return self.language == "python"

    def commands(self) -> list[str]:
        """The shell commands of this block that the test runs (continuation lines joined)."""
        if self.language not in _SHELL:
            return []
        joined = re.sub(r"\\\n\s*", " ", self.code)
        steps = (step.strip() for line in joined.splitlines() for step in line.split(" && "))
        return [step for step in steps if _RUNNABLE_COMMAND.match(step)]


def read_blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path`` in file order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        before = _NO_RUN.match(lines[index - 1]) if index > 0 else None
        after = _NO_RUN.match(lines[end + 1]) if end + 1 < len(lines) else None
        marker = before or after
        blocks.append(
            Block(
                path=path,
                line=index + 1,
                language=opening.group(1).lower(),
                code="\n".join(lines[index + 1 : end]) + "\n",
                no_run=marker.group(1) if marker else None,
            )
        )
        index = end + 1
    return blocks
