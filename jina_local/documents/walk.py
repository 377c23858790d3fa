"""The walk: which files under the given roots are candidates, and what was passed over and why.

* Roots are resolved (``~``, relative spellings, symlinks), so each file has one absolute path.
* ``.gitignore`` files at or below a root apply to their folder and below, with git's pattern rules
  (``pathspec``'s ``GitIgnoreSpec``); a ``.gitignore`` above the root does not. ``node_modules``,
  ``__pycache__``, ``venv`` and ``site-packages`` folders are always ignored.
* Hidden files and folders (names starting with ``.``) are passed over.
* Symbolic links are followed only when their target lies inside the same root (folder links are never
  descended into, so there are no cycles); links that leave the root are passed over.
* A file given explicitly as a root is always a candidate.

Every file or folder passed over is listed in :class:`Walk` (``hidden``, ``ignored``, ``outside``), and the
files passed over are counted, those inside a hidden or ignored folder included (``hidden_files``,
``ignored_files``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

__all__ = ["ALWAYS_IGNORED", "Walk", "WalkedFile", "walk"]

ALWAYS_IGNORED = frozenset({"node_modules", "__pycache__", "venv", "site-packages"})
"""Folder names never descended into."""


@dataclass(frozen=True)
class WalkedFile:
    """A candidate file: its resolved absolute path and the resolved root it was found under."""

    path: Path
    root: Path


@dataclass
class Walk:
    """What :func:`walk` found.

    ``files``: candidates, sorted, each once. ``roots``: the resolved folder roots (for pruning).
    ``hidden`` / ``ignored`` / ``outside``: the entries passed over as hidden, git-ignored (or always
    ignored), or symbolic links leaving their root; a passed-over folder is one entry.
    ``hidden_files`` / ``ignored_files``: how many files were passed over as hidden / ignored: the files
    listed in ``hidden`` / ``ignored`` plus every file inside a folder listed there, at any depth (every
    entry that is not a folder counts, symbolic links included; links are never followed, so the count
    stays inside the root). A file inside a passed-over folder counts under that folder's reason.
    ``missing``: roots that do not exist (as given).
    """

    files: list[WalkedFile] = field(default_factory=list)
    roots: list[Path] = field(default_factory=list)
    hidden: list[Path] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)
    outside: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    hidden_files: int = 0
    ignored_files: int = 0


def _spec(folder: Path) -> GitIgnoreSpec | None:
    ignore_file = folder / ".gitignore"
    if not ignore_file.is_file():
        return None
    from pathspec import GitIgnoreSpec

    try:
        lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return GitIgnoreSpec.from_lines(lines)


def _ignored(specs: list[tuple[Path, GitIgnoreSpec]], path: Path, is_dir: bool) -> bool:
    for base, spec in specs:
        relative = path.relative_to(base).as_posix() + ("/" if is_dir else "")
        if spec.match_file(relative):
            return True
    return False


def _files_below(folder: Path) -> int:
    """How many entries that are not folders lie below ``folder``, at any depth; links are not followed."""
    count, stack = 0, [folder]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    try:
                        is_dir = entry.is_dir(follow_symlinks=False)
                    except OSError:
                        is_dir = False
                    if is_dir:
                        stack.append(Path(entry.path))
                    else:
                        count += 1
        except OSError:  # unreadable: its files cannot be counted
            continue
    return count


def _passed_over(entry: os.DirEntry[str], is_dir: bool) -> int:
    """Files an entry passed over stands for: 1 for a file (or link), the files below it for a folder."""
    return _files_below(Path(entry.path)) if is_dir else 1


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _walk_folder(root: Path, out: Walk, seen: set[Path]) -> None:
    stack: list[tuple[Path, list[tuple[Path, GitIgnoreSpec]]]] = [(root, [])]
    while stack:
        folder, inherited = stack.pop()
        spec = _spec(folder)
        specs = [*inherited, (folder, spec)] if spec is not None else inherited
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            out.ignored.append(folder)
            continue
        subfolders = []
        for entry in entries:
            path = folder / entry.name
            if entry.name.startswith("."):
                out.hidden.append(path)
                out.hidden_files += _passed_over(entry, entry.is_dir(follow_symlinks=False))
                continue
            if entry.is_symlink():
                target = path.resolve()
                if not _inside(target, root) or not target.exists():
                    out.outside.append(path)
                    continue
                if target.is_dir():  # never descend through links: no cycles, no double walks
                    out.outside.append(path)
                    continue
                is_dir = False
            else:
                target = path
                is_dir = entry.is_dir(follow_symlinks=False)
            if (is_dir and entry.name in ALWAYS_IGNORED) or _ignored(specs, path, is_dir):
                out.ignored.append(path)
                out.ignored_files += _passed_over(entry, is_dir)
                continue
            if is_dir:
                subfolders.append(path)
            elif entry.is_file() and target not in seen:
                seen.add(target)
                out.files.append(WalkedFile(target, root))
        stack.extend((sub, specs) for sub in reversed(subfolders))


def walk(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> Walk:
    """Walk files and folders; see the module doc for the rules.

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "a.md").write_text("# A"); _ = (root / ".hidden").write_text("x")
    >>> _ = (root / ".gitignore").write_text("*.log\\n"); _ = (root / "b.log").write_text("log")
    >>> found = walk([root])
    >>> [f.path.name for f in found.files], [p.name for p in found.hidden], [p.name for p in found.ignored]
    (['a.md'], ['.gitignore', '.hidden'], ['b.log'])
    >>> _ = (root / ".git").mkdir(); _ = (root / ".git" / "HEAD").write_text("ref"); _ = (root / ".git" / "x").mkdir()
    >>> _ = (root / ".git" / "x" / "y").write_text("y")
    >>> found = walk([root])
    >>> [p.name for p in found.hidden], found.hidden_files, found.ignored_files
    (['.git', '.gitignore', '.hidden'], 4, 1)
    """
    items: Sequence[str | os.PathLike[str]] = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    out = Walk()
    seen: set[Path] = set()
    for raw in items:
        given = Path(os.fspath(raw)).expanduser()
        if not given.exists():
            out.missing.append(os.fspath(raw))
            continue
        resolved = given.resolve()
        if resolved.is_dir():
            out.roots.append(resolved)
            _walk_folder(resolved, out, seen)
        elif resolved not in seen:
            seen.add(resolved)
            out.files.append(WalkedFile(resolved, resolved.parent))
    out.files.sort(key=lambda f: str(f.path))
    return out
