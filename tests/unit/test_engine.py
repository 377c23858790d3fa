"""The streaming engine: input order, bounded windows, threads, coalescing, per-item failures, cancellation."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from jina_local import Encoded
from jina_local.errors import EncodingError, InputError, OptionError, TaskError

TEXTS = [("word " * (1 + (i * 7) % 23)) + f"item {i}" for i in range(40)]
CODE = [f"def f{i}(x):\n    return x * {i}\n" for i in range(12)]


def test_stream_yields_in_input_order_for_every_window_size(tiny_v4):
    expected = tiny_v4.encode(TEXTS, output="both")
    for window in (1, 2, 3, 5, 7, 64):
        got = list(tiny_v4.stream(iter(TEXTS), window=window, output="both"))
        assert [r.index for r in got] == list(range(len(TEXTS)))
        assert all(isinstance(r, Encoded) and r.ok for r in got)
        np.testing.assert_allclose(np.stack([r.dense for r in got]), expected.dense, atol=1e-6)
        for r in got:
            np.testing.assert_allclose(r.multi, expected.multi[r.index], atol=1e-6)


def test_window_tokens_also_closes_windows(tiny_v4):
    seen: list[int] = []
    remove = tiny_v4.add_batch_listener(lambda event: seen.append(event.size))
    try:
        got = list(tiny_v4.stream(TEXTS, window_tokens=40))
    finally:
        remove()
    assert [r.index for r in got] == list(range(len(TEXTS)))
    # a window holds a few texts and at most two windows wait at the worker: batches stay small
    assert max(seen) <= 12 and len(seen) >= 4


def test_a_generator_of_unknown_length_runs_in_bounded_memory(tiny_v4):
    """10,000 items through windows of 64: never more than a few windows are read ahead of the consumer."""
    pulled = 0

    def source():
        nonlocal pulled
        for i in range(10_000):
            pulled += 1
            yield f"short text {i % 97}"

    ahead = 0
    count = 0
    for result in tiny_v4.stream(source(), window=64):
        assert result.index == count and result.ok
        count += 1
        ahead = max(ahead, pulled - count)
    assert count == 10_000
    # two windows at the model worker, one being prepared, plus the preparation prefetch
    assert ahead <= 3 * 64 + 2 * tiny_v4._engine.prepare_threads + 1


def test_threads_with_mixed_tasks_equal_serial(tiny_v4):
    """Adapters are switched inside the model's critical section: no thread sees another's adapter."""
    items = [(text, task) for text in TEXTS[:16] for task in ("retrieval", "code", "text-matching")]
    serial = {(t, k): tiny_v4.encode(t, task=k, output="both") for t, k in items}

    def call(pair):
        text, task = pair
        return pair, tiny_v4.encode(text, task=task, output="both")

    for _ in range(3):
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(call, items))
        for pair, result in results:
            assert result.tasks == [pair[1]]
            assert np.abs(result.dense - serial[pair].dense).max() <= 1e-6
            assert np.abs(result.multi[0] - serial[pair].multi[0]).max() <= 1e-6


def test_concurrent_callers_share_a_forward_and_get_their_own_rows(tiny_v4, monkeypatch):
    backend = tiny_v4.backend
    real_forward = backend.forward
    gate = threading.Event()
    first = threading.Event()
    batches: list[int] = []

    def spy(batch, **kwargs):
        if not first.is_set():
            first.set()
            gate.wait(timeout=10)  # hold the worker so the other callers' items queue up together
        batches.append(len(batch))
        return real_forward(batch, **kwargs)

    monkeypatch.setattr(backend, "forward", spy)
    events = []
    remove = tiny_v4.add_batch_listener(events.append)
    try:
        with ThreadPoolExecutor(4) as pool:
            blocker = pool.submit(tiny_v4.encode, "the first caller")
            assert first.wait(timeout=10)
            futures = [pool.submit(tiny_v4.encode, [f"caller {c} item {i}" for i in range(3)]) for c in range(3)]
            deadline = time.monotonic() + 10
            while tiny_v4.stats().pending_items < 9 and time.monotonic() < deadline:
                time.sleep(0.01)
            gate.set()
            results = [f.result(timeout=30) for f in futures]
            blocker.result(timeout=30)
    finally:
        remove()
    assert max(e.callers for e in events) == 3  # one forward served all three callers
    assert 9 in batches
    monkeypatch.undo()
    for c, result in enumerate(results):
        alone = tiny_v4.encode([f"caller {c} item {i}" for i in range(3)])
        assert np.abs(result.dense - alone.dense).max() <= 1e-6


def test_errors_skip_keeps_one_row_per_input(tiny_v4):
    items = ["fine", b"not an image", "also fine", 3.5, "ok"]
    result = tiny_v4.encode(items, errors="skip", output="both")
    assert set(result.errors) == {1, 3}
    assert all(isinstance(e, InputError) for e in result.errors.values())
    assert "item 1" in str(result.errors[1]) and "item 3" in str(result.errors[3])
    assert np.isnan(result.dense[[1, 3]]).all() and np.isfinite(result.dense[[0, 2, 4]]).all()
    assert result.multi[1] is None and result.multi[3] is None and result.multi[0].shape[1] == 128
    assert result.tasks[1] is None and result.kinds[3] is None and result.tasks[0] == "retrieval"
    assert not result.ok
    with pytest.raises(InputError, match="item 1"):
        tiny_v4.encode(items)


def test_stream_reports_failures_and_goes_on(tiny_v4):
    got = list(tiny_v4.stream(["a", object(), "b"]))
    assert [r.ok for r in got] == [True, False, True]
    assert got[1].dense is None and isinstance(got[1].error, InputError)


def test_a_failing_forward_loses_only_its_item(tiny_v4, monkeypatch):
    backend = tiny_v4.backend
    real_forward = backend.forward

    def flaky(batch, **kwargs):
        if any(p.data is not None and len(p.data["ids"]) == 13 for p in batch):
            raise RuntimeError("boom")
        return real_forward(batch, **kwargs)

    texts = ["word " * n for n in range(1, 12)]
    lengths = [len(tiny_v4.multi_row_spans(t, task="retrieval")) for t in texts]
    bad = lengths.index(13)
    monkeypatch.setattr(backend, "forward", flaky)
    result = tiny_v4.encode(texts, errors="skip")
    assert set(result.errors) == {bad}
    assert isinstance(result.errors[bad], EncodingError) and "RuntimeError: boom" in str(result.errors[bad])
    assert np.isfinite(np.delete(result.dense, bad, axis=0)).all()


def test_closing_a_stream_cancels_its_queued_items(tiny_v4, monkeypatch):
    backend = tiny_v4.backend
    real_forward = backend.forward
    gate = threading.Event()

    def slow(batch, **kwargs):
        gate.wait(timeout=10)
        return real_forward(batch, **kwargs)

    monkeypatch.setattr(backend, "forward", slow)
    before = tiny_v4.stats()
    stream = tiny_v4.stream([f"text {i}" for i in range(200)], batch_size=4, window=200)
    deadline = time.monotonic() + 10
    consumer = threading.Thread(target=lambda: next(stream, None))
    consumer.start()
    while tiny_v4.stats().pending_items < 100 and time.monotonic() < deadline:
        time.sleep(0.01)
    gate.set()
    consumer.join(timeout=30)
    stream.close()
    after = tiny_v4.stats()
    assert after.items_cancelled - before.items_cancelled > 100
    assert after.pending_items == 0
    while time.monotonic() < deadline:  # the batch that was running finishes; nothing else runs
        settled = tiny_v4.stats()
        if settled.items_done + settled.items_failed + settled.items_cancelled == settled.items_submitted:
            break
        time.sleep(0.01)
    assert settled.items_done - before.items_done < 100


def test_stats_count_batches_and_items(tiny_v4):
    before = tiny_v4.stats()
    tiny_v4.encode(TEXTS)
    after = tiny_v4.stats()
    done = after.items_done - before.items_done
    assert done == len(TEXTS)
    grown = {size: n - before.batch_sizes.get(size, 0) for size, n in after.batch_sizes.items()}
    assert sum(size * n for size, n in grown.items()) == len(TEXTS)
    assert after.forward_seconds_total > before.forward_seconds_total
    assert 0.0 <= after.padding_fraction < 1.0


def test_arguments_are_checked_before_any_item_is_read(tiny_v4):
    read = []

    def source():
        read.append(1)
        yield "x"

    for kwargs, error in (
        ({"errors": "ignore"}, OptionError),
        ({"window": 0}, OptionError),
        ({"batch_size": -1}, OptionError),
        ({"task": {"a": 1}}, TaskError),
        ({"images": "yes"}, OptionError),
        ({"max_length": 0}, OptionError),
        ({"max_pixels": 1}, OptionError),
        ({"max_pixels": 10**9}, OptionError),
    ):
        name = next(iter(kwargs))
        with pytest.raises(error, match=f"{name}="):
            tiny_v4.stream(source(), **kwargs)
    assert read == []


def test_code_and_prose_in_one_stream_are_routed_per_item(tiny_v4):
    items = [TEXTS[0], CODE[0], TEXTS[1], CODE[1]]
    got = list(tiny_v4.stream(items))
    assert [r.task for r in got] == ["retrieval", "code", "retrieval", "code"]
    assert [r.kind for r in got] == ["text", "code", "text", "code"]


def test_fetch_and_image_limits_reach_every_item(tiny_v4):
    import io

    from PIL import Image

    from jina_local import FetchPolicy
    from jina_local.errors import OptionError, URLNotAllowedError

    with pytest.raises(URLNotAllowedError, match="loopback"):  # refused before any connection
        tiny_v4.encode("http://127.0.0.1:9/cat.png", images="auto")
    with pytest.raises(URLNotAllowedError, match="switched off|allow_urls"):
        tiny_v4.encode("https://example.com/cat.png", images="auto", fetch=FetchPolicy(allow_urls=False))
    with pytest.raises(OptionError):
        tiny_v4.stream(["x"], fetch={"allow_urls": True})
    buffer = io.BytesIO()
    Image.new("RGB", (200, 100)).save(buffer, format="PNG")
    result = tiny_v4.encode([buffer.getvalue(), "text"], max_image_pixels=10_000, errors="skip")
    assert list(result.errors) == [0] and "max_image_pixels" in str(result.errors[0])
    assert tiny_v4.encode(buffer.getvalue(), max_image_pixels=20_000).kinds == ["image"]


def test_stream_takes_one_item_and_refuses_unordered_containers(tiny_v4):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 40)).save(buffer, format="PNG")
    assert [r.kind for r in tiny_v4.stream(memoryview(buffer.getvalue()))] == ["image"]
    assert [r.kind for r in tiny_v4.stream("one text")] == ["text"]
    for bad in ({"a", "b"}, {"a": 1}):
        with pytest.raises(InputError):
            tiny_v4.stream(bad)


def test_jina_api_task_names_set_task_and_role(tiny_v4):
    text = "how long do cats sleep"
    query = tiny_v4.encode(text, task="retrieval.query").dense
    assert np.allclose(query, tiny_v4.encode_query(text, task="retrieval").dense, atol=1e-6)
    passage = tiny_v4.encode_query(text, task="retrieval.passage")  # the name wins over the role
    assert np.allclose(passage.dense, tiny_v4.encode_document(text, task="retrieval").dense, atol=1e-6)
    mixed = tiny_v4.encode([text, text], task=["code.query", "code.passage"])
    assert mixed.tasks == ["code", "code"] and not np.allclose(mixed.dense[0], mixed.dense[1])
    with pytest.raises(TaskError, match="item 1"):
        tiny_v4.encode([text, text], task=["code.query", "retrieval.answer"])


def test_a_cancel_event_ends_a_stream_blocked_on_its_queued_items(tiny_v4, monkeypatch):
    backend = tiny_v4.backend
    real_forward = backend.forward
    gate, entered = threading.Event(), threading.Event()
    sizes: list[int] = []

    def held(batch, **kwargs):
        entered.set()
        gate.wait(timeout=10)
        sizes.append(len(batch))
        return real_forward(batch, **kwargs)

    monkeypatch.setattr(backend, "forward", held)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(tiny_v4.encode, "holds the worker")
        assert entered.wait(10)
        cancel = threading.Event()
        waiting = pool.submit(lambda: list(tiny_v4.stream(["q1", "q2", "q3"], cancel=cancel)))
        deadline = time.monotonic() + 10
        while tiny_v4.stats().pending_items < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        cancel.set()
        assert waiting.result(timeout=5) == []  # the blocked consumer is woken and the stream ends
        gate.set()
        first.result(timeout=30)
    assert sizes == [1] and tiny_v4.stats().pending_items == 0


def test_the_token_budget_can_be_set(tiny_v4):
    before = tiny_v4.token_budget
    try:
        tiny_v4.token_budget = 64
        events = []
        remove = tiny_v4.add_batch_listener(events.append)
        tiny_v4.encode(TEXTS)
        remove()
        assert all(e.padded_tokens <= 64 or e.size == 1 for e in events)  # an over-long item runs alone
        assert len(events) > len(TEXTS) // 4
        with pytest.raises(OptionError, match="token_budget=0"):
            tiny_v4.token_budget = 0
    finally:
        tiny_v4.token_budget = before


def test_small_batches_of_different_tasks_share_one_forward(tiny_v4, monkeypatch):
    """Callers with different adapters are coalesced too: the rows of one forward use their own task's LoRA."""
    backend = tiny_v4.backend
    real_forward = backend.forward
    gate, entered = threading.Event(), threading.Event()
    seen: list[list[str]] = []

    def spy(batch, **kwargs):
        if not entered.is_set():
            entered.set()
            gate.wait(timeout=10)
        seen.append(list(kwargs.get("tasks") or [kwargs["task"]] * len(batch)))
        return real_forward(batch, **kwargs)

    calls = [(f"query number {i}", task) for i, task in enumerate(["retrieval", "code", "text-matching"] * 2)]
    serial = {c: tiny_v4.encode(c[0], task=c[1], output="both") for c in calls}
    monkeypatch.setattr(backend, "forward", spy)
    with ThreadPoolExecutor(8) as pool:
        blocker = pool.submit(tiny_v4.encode, "holds the worker")
        assert entered.wait(10)
        futures = {c: pool.submit(tiny_v4.encode, c[0], task=c[1], output="both") for c in calls}
        deadline = time.monotonic() + 10
        while tiny_v4.stats().pending_items < len(calls) and time.monotonic() < deadline:
            time.sleep(0.01)
        gate.set()
        results = {c: f.result(timeout=30) for c, f in futures.items()}
        blocker.result(timeout=30)
    assert sorted(seen[1]) == sorted(task for _, task in calls)  # one forward, three adapters
    for call, result in results.items():
        assert result.tasks == [call[1]]
        assert np.abs(result.dense - serial[call].dense).max() <= 1e-5
        assert np.abs(result.multi[0] - serial[call].multi[0]).max() <= 1e-5


def test_jpeg_draft_decodes_large_photos_smaller_and_stays_close(tiny_v4, tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:1200, 0:1600]
    pixels = np.stack([128 + 90 * np.sin(x / (90 + 20 * c)) * np.cos(y / 130) for c in range(3)], -1)
    path = tmp_path / "photo.jpg"
    Image.fromarray(np.clip(pixels + rng.normal(0, 5, pixels.shape), 0, 255).astype(np.uint8)).save(path, quality=90)
    full = tiny_v4.encode(path, output="both")
    drafted = tiny_v4.encode(path, output="both", jpeg_draft=True)
    assert drafted.multi[0].shape == full.multi[0].shape  # same image tokens: same resized input size
    assert float(full.dense[0] @ drafted.dense[0]) > 0.999


def test_jpeg_draft_works_on_jina_clip_v2_too(tiny_clip, tmp_path):
    """clip-v2 reports its input size for the draft decode (a NameError here once went unnoticed)."""
    from PIL import Image

    y, x = np.mgrid[0:900, 0:1200]
    pixels = np.stack([128 + 90 * np.sin(x / (70 + 25 * c)) * np.cos(y / 110) for c in range(3)], -1)
    path = tmp_path / "photo.jpg"
    Image.fromarray(pixels.astype(np.uint8)).save(path, quality=90)
    full = tiny_clip.encode(path)
    drafted = tiny_clip.encode(path, jpeg_draft=True)
    assert drafted.dense.shape == full.dense.shape
    assert float(full.dense[0] @ drafted.dense[0]) > 0.99
