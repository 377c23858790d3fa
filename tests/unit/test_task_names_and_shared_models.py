"""Jina's task names map to (task, role); ``load(shared=True)`` hands out one copy per process."""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import pytest

import jina_local
from jina_local import InputError, TaskError, hf_style_options, parse_task
from jina_local.loading import loaded_models


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("retrieval.query", ("retrieval", "query")),
        ("retrieval.passage", ("retrieval", "document")),
        ("code.query", ("code", "query")),
        ("code.passage", ("code", "document")),
        ("text-matching", ("text-matching", None)),
        ("retrieval", ("retrieval", None)),
        ("auto", ("auto", None)),
        (None, (None, None)),
    ],
)
def test_jina_task_names(name: str | None, expected: tuple[str | None, str | None]) -> None:
    assert parse_task(name) == expected


def test_bad_task_names_say_what_is_valid() -> None:
    with pytest.raises(TaskError, match="'retrieval.query', 'retrieval.passage'"):
        parse_task("retrieval.questions")
    with pytest.raises(TaskError, match="not a task name"):
        parse_task("")


def test_shared_load_returns_one_copy_across_threads(tiny_v4_dir: Path) -> None:
    got: list[object] = []

    def worker() -> None:
        got.append(jina_local.load(tiny_v4_dir, device="cpu", dtype="float32", shared=True))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 3 and all(m is got[0] for m in got)
    assert jina_local.load(str(tiny_v4_dir) + "/", device="cpu", dtype="float32", shared=True) is got[0]  # same folder
    assert jina_local.load(tiny_v4_dir, device="cpu", dtype="float32") is not got[0]  # shared=False: a new copy
    assert jina_local.load(tiny_v4_dir, device="cpu", dtype="bfloat16", shared=True) is not got[0]  # another dtype


def test_unused_models_are_freed(tmp_path: Path) -> None:
    from fixture_clip import write_clip_checkpoint

    folder = write_clip_checkpoint(tmp_path)  # a folder no other test has loaded
    model = jina_local.load(folder, device="cpu", dtype="float32", shared=True)
    key = id(model)
    assert any(id(m) == key for m in loaded_models())
    del model
    gc.collect()
    assert not any(id(m) == key for m in loaded_models())


def test_hf_style_options() -> None:
    assert hf_style_options(
        {"torch_dtype": "torch.bfloat16", "revision": "main"},
        {"truncate_dim": 128, "task": "code.passage"},
        {"task": "code.query"},
    ) == {
        "dtype": "bfloat16",
        "revision": "main",
        "dimensions": 128,
        "document_task": "code.passage",
        "query_task": "code.query",
    }
    with pytest.raises(InputError, match=r"encode_kwargs\['prompt'\].*document_task="):
        hf_style_options(None, {"prompt": "query: "})
    with pytest.raises(InputError, match="differs from encode_kwargs"):
        hf_style_options(None, {"batch_size": 8}, {"batch_size": 4})
