"""The walk: resolved paths, .gitignore (pathspec), hidden files counted, no symlink out of the root."""

from __future__ import annotations

import os

from jina_local.documents import walk


def names(found, root):
    return sorted(str(f.path.relative_to(root)) for f in found.files)


def test_gitignore_hidden_and_builtin_ignores(tmp_path):
    root = tmp_path / "r"
    (root / "src" / "node_modules").mkdir(parents=True)
    (root / "docs").mkdir()
    (root / ".git").mkdir()
    (root / ".gitignore").write_text("*.log\n/build.txt\n!keep.log\n")
    (root / "docs" / ".gitignore").write_text("draft-*\n")
    for rel in [
        "a.md",
        "x.log",
        "keep.log",
        "build.txt",
        "src/build.txt",
        "src/m.py",
        "src/node_modules/p.js",
        "docs/draft-1.md",
        "docs/final.md",
        ".env",
        ".git/config",
        "src/.cache",
    ]:
        (root / rel).write_text("x")
    found = walk(root)
    assert names(found, root) == ["a.md", "docs/final.md", "keep.log", "src/build.txt", "src/m.py"]
    assert sorted(p.name for p in found.hidden) == [".cache", ".env", ".git", ".gitignore", ".gitignore"]
    assert sorted(str(p.relative_to(root)) for p in found.ignored) == [
        "build.txt",
        "docs/draft-1.md",
        "src/node_modules",
        "x.log",
    ]
    assert found.roots == [root.resolve()]
    # files passed over: .env, .git/config, src/.cache, two .gitignore; x.log, build.txt, draft-1.md, p.js
    assert (found.hidden_files, found.ignored_files) == (5, 4)


def test_files_inside_hidden_and_ignored_folders_are_counted_without_leaving_the_root(tmp_path):
    root, outside = tmp_path / "r", tmp_path / "outside"
    for rel in [".git/objects/ab/1", ".git/objects/ab/2", ".git/HEAD", ".venv/lib/x.py", "node_modules/a/b/c.js"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x")
    (root / ".git" / "empty").mkdir()
    (root / "dist").mkdir()
    (root / "dist" / "app.js").write_text("x")
    (root / ".gitignore").write_text("dist/\n")
    (root / "node_modules" / ".bin").mkdir()
    (root / "node_modules" / ".bin" / "tool").write_text("x")  # hidden, but inside an ignored folder
    (root / "a.md").write_text("x")
    outside.mkdir()
    for i in range(10):
        (outside / f"{i}.txt").write_text("x")
    os.symlink(outside, root / ".venv" / "link")  # a link inside a hidden folder: one entry, never followed
    found = walk(root)
    assert names(found, root) == ["a.md"]
    assert sorted(p.name for p in found.hidden) == [".git", ".gitignore", ".venv"]
    assert sorted(p.name for p in found.ignored) == ["dist", "node_modules"]
    # hidden: .git/objects/ab/{1,2}, .git/HEAD, .venv/lib/x.py, .venv/link, .gitignore
    # ignored: node_modules/a/b/c.js, node_modules/.bin/tool, dist/app.js
    assert (found.hidden_files, found.ignored_files) == (6, 3)


def test_relative_and_absolute_spellings_are_one_file(tmp_path, monkeypatch):
    root = tmp_path / "r"
    root.mkdir()
    (root / "a.md").write_text("x")
    monkeypatch.chdir(tmp_path)
    found = walk(["r", str(root), "./r/../r", root / "a.md"])
    assert [f.path for f in found.files] == [(root / "a.md").resolve()]
    assert all(f.path.is_absolute() for f in found.files)


def test_symlinks_out_of_the_root_are_not_followed(tmp_path):
    root, outside = tmp_path / "r", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("x")
    (root / "inside.txt").write_text("y")
    os.symlink(outside / "secret.txt", root / "escape.txt")
    os.symlink(outside, root / "escape_dir")
    os.symlink(root / "inside.txt", root / "alias.txt")
    os.symlink(root, root / "loop")
    found = walk(root)
    assert names(found, root.resolve()) == ["inside.txt"]  # the inside link is the same file, listed once
    assert sorted(p.name for p in found.outside) == ["escape.txt", "escape_dir", "loop"]


def test_missing_roots_are_reported(tmp_path):
    found = walk([tmp_path / "nope"])
    assert found.files == [] and found.missing == [str(tmp_path / "nope")]


def test_an_explicit_file_is_always_a_candidate(tmp_path):
    (tmp_path / ".gitignore").write_text("*.md\n")
    (tmp_path / ".hidden.md").write_text("x")
    found = walk([tmp_path / ".hidden.md"])
    assert [f.path.name for f in found.files] == [".hidden.md"]
