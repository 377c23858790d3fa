"""Bad input gets a typed error that names what was wrong, never a stack trace from deep inside torch."""

from __future__ import annotations

import numpy as np
import pytest

from jina_local.errors import DimensionError, InputError, OptionError, OutputError, TaskError


def test_none_as_items(tiny_v4):
    with pytest.raises(InputError, match="None"):
        tiny_v4.encode(None)


def test_none_inside_the_list_names_its_index_and_type(tiny_v4):
    with pytest.raises(InputError, match=r"item 1 has unsupported type NoneType"):
        tiny_v4.encode(["fine", None])


def test_unsupported_type_names_index_and_type(tiny_v4):
    with pytest.raises(InputError, match=r"item 2 has unsupported type float"):
        tiny_v4.encode(["a", "b", 3.5])


def test_unknown_task_lists_valid_tasks(tiny_v4):
    with pytest.raises(TaskError, match=r"'retrieval', 'text-matching', 'code'"):
        tiny_v4.encode("x", task="qa")


def test_unknown_task_in_per_item_list_names_the_item(tiny_v4):
    with pytest.raises(TaskError, match="item 1"):
        tiny_v4.encode(["x", "y"], task=["code", "summarise"])


def test_per_item_task_list_of_wrong_length(tiny_v4):
    with pytest.raises(TaskError, match="2 names but 3 items"):
        tiny_v4.encode(["x", "y", "z"], task=["code", "code"])


def test_dim_not_allowed_lists_valid_dims(tiny_v4):
    with pytest.raises(DimensionError, match="valid: 8, 16, 32, 64"):
        tiny_v4.encode("x", dim=20)


def test_unknown_output(tiny_v4):
    with pytest.raises(OutputError, match="'dense', 'multi' or 'both'"):
        tiny_v4.encode("x", output="sparse")


def test_unknown_role(tiny_v4):
    with pytest.raises(OptionError, match="role='passage'.*'query' or 'document'"):
        tiny_v4.encode("x", role="passage")


def test_unreadable_image_bytes_name_the_index(tiny_v4):
    with pytest.raises(InputError, match="item 1 could not be read as an image"):
        tiny_v4.encode(["ok", b"definitely not an image"])


def test_path_to_missing_file(tiny_v4, tmp_path):
    with pytest.raises(InputError, match="item 0 .*not an existing file"):
        tiny_v4.encode(tmp_path / "missing.png")


def test_bad_batch_size(tiny_v4):
    with pytest.raises(OptionError, match="batch_size=0"):
        tiny_v4.encode("x", batch_size=0)


def test_errors_are_raised_before_any_compute(tiny_v4, monkeypatch):
    calls = []
    monkeypatch.setattr(tiny_v4.backend, "forward", lambda *a, **k: calls.append(1))
    with pytest.raises(InputError):
        tiny_v4.encode(["a"] * 5 + [object()])
    assert calls == []


def test_output_multi_on_a_model_without_multi_vectors(tiny_v4, monkeypatch):
    import dataclasses

    monkeypatch.setattr(tiny_v4.backend, "info", dataclasses.replace(tiny_v4.info, multi_dim=None))
    with pytest.raises(OutputError, match="does not produce"):
        tiny_v4.encode("x", output="multi")
    assert tiny_v4.encode("x").dense.shape == (1, 64) and np.isfinite(tiny_v4.encode("x").dense).all()


def test_out_of_memory_splits_the_batch_and_keeps_results(tiny_v4, monkeypatch):
    import torch

    texts = [f"text number {i} " * (i + 1) for i in range(6)]
    expected = tiny_v4.encode(texts, output="both")
    real_forward = tiny_v4.backend.forward
    sizes = []

    def forward(batch, **kwargs):
        sizes.append(len(batch))
        if len(batch) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real_forward(batch, **kwargs)

    monkeypatch.setattr(tiny_v4.backend, "forward", forward)
    result = tiny_v4.encode(texts, output="both", progress=False)
    assert max(sizes) == 6 and all(s <= 2 for s in sizes[1:] if s != 3)
    np.testing.assert_allclose(result.dense, expected.dense, atol=2e-5)
    for a, b in zip(result.multi, expected.multi):
        np.testing.assert_allclose(a, b, atol=2e-5)


# -- option values through encode (v4): typed, named, refused before any forward -----------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "says"),
    [
        ({"max_pixels": 0}, OptionError, "max_pixels=0 must be an integer >= 1"),
        ({"max_pixels": -5}, OptionError, "max_pixels=-5 must be an integer >= 1"),
        ({"max_pixels": 1}, OptionError, "max_pixels=1 is outside"),
        ({"max_pixels": 10**9}, OptionError, r"max_pixels=1000000000 is outside \d+\.\.12845056"),
        ({"max_pixels": 2.5}, OptionError, "max_pixels=2.5"),
        ({"max_length": 0}, OptionError, "max_length=0 must be an integer >= 1"),
        ({"max_length": 40_000}, OptionError, "max_length=40000 exceeds"),
        ({"task": {"retrieval": 1}}, TaskError, "task=.*is not valid"),
        ({"task": {"retrieval"}}, TaskError, "task=.*is not valid"),
        ({"late_chunking": "yes"}, OptionError, "late_chunking='yes' .*True or False"),
        ({"late_chunking": 1}, OptionError, "late_chunking=1 .*True or False"),
    ],
)
def test_v4_encode_refuses_bad_option_values(tiny_v4, monkeypatch, kwargs, error, says):
    calls = []
    monkeypatch.setattr(tiny_v4.backend, "forward", lambda *a, **k: calls.append(1))
    with pytest.raises(error, match=says):
        tiny_v4.encode(["a cat", "a dog"], **kwargs)
    assert calls == []


def test_v4_max_pixels_up_to_the_model_limit_is_honoured(tiny_v4):
    from PIL import Image

    from jina_local.models.jina_v4.processing import MAX_PIXELS_LIMIT

    image = Image.new("RGB", (64, 48), (200, 30, 30))
    out = tiny_v4.encode(image, max_pixels=MAX_PIXELS_LIMIT)  # the cap itself is accepted
    assert np.isfinite(out.dense).all()
