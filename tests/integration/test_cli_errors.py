"""Every bad option value of ``jina-local`` is one ``error:`` line and exit code 1 (never a traceback or a
hang); a locked index says so; Ctrl-C stops cleanly, keeps what was stored and resumes to a clean result."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from cli_helpers import FLOAT_CPU, assert_clean, cli_command, cli_env, error_lines, run_cli

from jina_local.qdrant import MultiVectorCollection

# (name, arguments, a fragment of the error line); {tmp}, {index}, {file} and {locked} are filled in.
CASES = [
    ("no command", [], "required"),
    ("batch size 0", ["index", "{tmp}", "--batch-size", "0"], "--batch-size"),
    ("pool factor 0", ["index", "{tmp}", "--pool-factor", "0"], "--pool-factor"),
    ("pool factor 5", ["index", "{tmp}", "--pool-factor", "5"], "from 1 to 4"),
    ("chunk tokens 0", ["index", "{tmp}", "--chunk-tokens", "0"], "--chunk-tokens"),
    ("overlap negative", ["index", "{tmp}", "--overlap-tokens", "-1"], "--overlap-tokens"),
    ("overlap = chunk", ["index", "{tmp}", "--chunk-tokens", "64", "--overlap-tokens", "64"], "smaller than"),
    ("overlap > default chunk", ["index", "{tmp}", "--overlap-tokens", "500"], "smaller than --chunk-tokens 480"),
    ("overlap with late chunking", ["index", "{tmp}", "--late-chunking", "--overlap-tokens", "8"], "late"),
    ("device cuda without CUDA", ["index", "{tmp}", "--device", "cuda"], "CUDA is not available"),
    ("dtype int8", ["index", "{tmp}", "--dtype", "int8"], "int8"),
    ("index is a file", ["index", "{tmp}", "--index", "{file}"], "is a file"),
    ("info index is a file", ["info", "--index", "{file}"], "is a file"),
    ("index under a file", ["index", "{tmp}", "--index", "{file}/sub"], "cannot be created"),
    ("server unreachable", ["search", "q", "--index", "http://127.0.0.1:1"], "could not list"),
    ("missing folder", ["index", "{tmp}/nope"], "not found"),
    ("unreadable folder", ["index", "{locked}"], "permission denied"),
    ("prune with --ray", ["index", "{tmp}", "--ray", "--prune"], "--prune"),
    ("collection escapes", ["index", "{tmp}", "--collection", "../x"], "not valid"),
    ("model folder missing", ["index", "{tmp}", "--model", "./no-such-model"], "no such folder"),
    ("limit 0", ["search", "q", "--limit", "0"], "--limit"),
    ("limit -5", ["search", "q", "--limit", "-5"], "--limit"),
    ("mode unknown", ["search", "q", "--mode", "sparse"], "invalid choice"),
    ("no query", ["search", "--index", "{index}"], "QUERY"),
    ("image missing", ["search", "--image", "{tmp}/nope.png"], "no such file"),
    ("image not an image", ["search", "--image", "{file}"], "not an image"),
    ("filter without =", ["search", "q", "--filter", "kind"], "KEY=VALUE"),
    ("html folder missing", ["search", "q", "--index", "{index}", "--html", "{tmp}/no/x.html"], "does not exist"),
    ("no index there", ["search", "q", "--index", "{tmp}/none"], "no index at"),
    ("no such collection", ["search", "q", "--index", "{index}", "--collection", "nope"], "it has: dense"),
    ("token mode on dense-only", ["search", "q", "--index", "{index}", "--collection", "dense", "--mode", "multi"],
     "dense-only"),
    ("info index missing", ["info", "--index", "{tmp}/none"], "no index at"),
]  # fmt: skip


def _unreadable_prefix() -> tuple[str, ...] | None:
    """As root every folder is readable: drop the capabilities that allow it (util-linux ``setpriv``)."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    return (setpriv, "--bounding-set=-dac_override,-dac_read_search") if setpriv else None


def test_every_bad_option_is_one_error_line(tmp_path):
    index = tmp_path / "index"
    MultiVectorCollection.open(index, "dense", dense_dim=8, multi=False).close()  # a dense-only collection, no model
    values = {
        "tmp": str(tmp_path),
        "index": str(index),
        "file": str(tmp_path / "a.txt"),
        "locked": str(tmp_path / "locked"),
    }
    (tmp_path / "a.txt").write_text("not an image, not an index", encoding="utf-8")
    (tmp_path / "locked").mkdir(mode=0)
    prefix = _unreadable_prefix()
    cases = [c for c in CASES if c[0] != "unreadable folder" or prefix is not None]
    if torch.cuda.is_available():
        cases = [c for c in cases if "CUDA" not in c[2]]

    def run(case):
        name, args, _ = case
        args = [a.format(**values) for a in args]
        return run_cli(*args, cwd=tmp_path, prefix=prefix if name == "unreadable folder" else (), timeout=120)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, cases))
    for (name, _, fragment), result in zip(cases, results):
        assert result.returncode == 1, (name, result.returncode, result.stderr)
        assert "Traceback" not in result.stderr, (name, result.stderr)
        lines = error_lines(result.stderr)
        assert len(lines) == 1 and fragment in lines[0], (name, result.stderr)
        assert result.stdout == "", (name, result.stdout)


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from jina_local.qdrant import MultiVectorCollection
    store = MultiVectorCollection.open(sys.argv[1], "docs", create=False)
    print("open", flush=True)
    time.sleep(300)
    """
)


def test_a_locked_index_says_so_and_what_to_do(tmp_path, tiny_v4, tiny_v4_dir):
    index, docs = tmp_path / "index", tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nA note.\n", encoding="utf-8")
    MultiVectorCollection.open(index, "docs", tiny_v4).close()
    holder = subprocess.Popen(
        [cli_command()[0], "-c", _HOLDER, str(index)], stdout=subprocess.PIPE, text=True, env=cli_env()
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        for args in (["index", docs, "--model", tiny_v4_dir, *FLOAT_CPU], ["search", "note"], ["info"]):
            result = run_cli(*args, "--index", index, cwd=tmp_path)
            assert_clean(result, 1)
            [line] = result.stderr.strip().splitlines()
            assert line.startswith("error: the index") and "in use by another process" in line, line
            assert "run this command again" in line
    finally:
        holder.kill()
        holder.wait(timeout=30)


def _points(index: Path) -> dict[str, dict]:
    with MultiVectorCollection.open(index, "docs", create=False) as store:
        return {p["id"]: p["payload"] for p in store.scroll()}


def test_ctrl_c_stops_cleanly_and_the_rerun_completes(tmp_path, tiny_v4, tiny_v4_dir):
    docs, index = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    sentence = "The keeper climbed the lighthouse stairs at dusk and lit the lamp for the ships. "
    for i in range(10):
        (docs / f"note{i:02d}.md").write_text(f"# Note {i}\n\n" + sentence * (30 + 2 * i), encoding="utf-8")
    args = ["index", str(docs), "--model", str(tiny_v4_dir), "--index", str(index), *FLOAT_CPU, "--chunk-tokens", "32"]
    child = subprocess.Popen(  # --batch-size 1: many forwards, so the interrupt lands while chunks are stored
        cli_command(*args, "--batch-size", "1", "--progress"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=cli_env(), cwd=tmp_path,
    )  # fmt: skip
    err = bytearray()

    def read_stderr() -> None:
        for block in iter(lambda: child.stderr.read1(4096), b""):
            err.extend(block)

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    deadline = time.monotonic() + 300
    while max(map(int, re.findall(rb"indexing docs:[^|]*\|[^|]*\| *(\d+)/", bytes(err))), default=0) < 130:
        assert child.poll() is None and time.monotonic() < deadline, bytes(err)[-2000:]  # 2 upserts of 64 are done
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    out = child.stdout.read().decode()
    child.wait(timeout=120)
    reader.join(timeout=30)
    err = bytes(err).decode(errors="replace")
    assert child.returncode == 130, (out, err)
    assert "Traceback" not in err and "terminate called" not in err, err
    assert "interrupted: the chunks stored so far are kept" in err
    assert "run the same command again to resume" in err and "jina-local index" in err
    kept = _points(index)
    rerun = run_cli(*args, cwd=tmp_path, timeout=600)  # the same command (without the slow --batch-size 1)
    assert_clean(rerun, 0)
    done = _points(index)
    assert set(kept) <= set(done)  # nothing stored was lost or re-created under another id
    with MultiVectorCollection.open(tmp_path / "clean", "docs", tiny_v4) as clean:
        summary = clean.index_files([docs], chunk_tokens=32, progress=False)
    assert summary.ok and len(summary.indexed) == 10
    assert _points(tmp_path / "clean") == done  # same ids, same payloads (texts, locations, hashes)
    assert 0 < len(kept) < len(done), (len(kept), len(done))  # interrupted while storing chunks, not before or after
