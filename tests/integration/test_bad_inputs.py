"""Issue 10's count: bad inputs through the public entry points, each outcome classified.

``encode`` / ``stream`` (both tiny model families), ``MultiVectorCollection.open`` / ``add`` /
``add_embeddings`` / ``search`` and ``jina_local.load`` get the inputs of ``bad_input_table.py``.
Each outcome is one of:

- **typed**: a ``jina_local.errors`` error whose message names the item or field (the case's regex);
  for ``add`` / ``add_embeddings``, a per-item failure in ``AddSummary.failures`` with such a reason;
- **unclear**: a typed error whose message does not name what was wrong;
- **untyped**: any other exception (a raw error from PIL, torch, numpy, qdrant...);
- **silent**: no error where one was due;
- **hang**: still running after the per-case limit (a watchdog thread);
- **crash**: a ``BaseException`` that is not an ``Exception`` (the process surviving is the other half).

No case reaches the network: a guard refuses every connection except to 127.0.0.1 on a port where
nothing listens (the unreachable-server case). Print the table for the issue's closing note with
``python tests/integration/test_bad_inputs.py``.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bad_input_table beside this file (script mode too)

from bad_input_table import Case, Ctx, cases, make_stores  # noqa: E402

from jina_local.errors import JinaLocalError  # noqa: E402
from jina_local.qdrant import AddSummary  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Failed to obtain server version")
CASE_SECONDS = 30.0
"""A case still running after this long counts as a hang."""
_RAW = re.compile(r"^(upsert failed: )?[A-Z]\w*(Error|Exception|Warning|Interrupt)\b: ")
KINDS = ("typed", "unclear", "untyped", "silent", "hang", "crash")


@dataclass(frozen=True)
class Outcome:
    case: Case
    kind: str
    detail: str
    seconds: float


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def only_dead_port(port: int) -> Iterator[None]:
    """Refuse every outgoing connection except to 127.0.0.1:``port`` (where nothing listens)."""
    original = socket.create_connection

    def guarded(address, *args, **kwargs):
        if tuple(address[:2]) != ("127.0.0.1", port):
            raise AssertionError(f"a bad-input case tried to connect to {address}")
        return original(address, *args, **kwargs)

    socket.create_connection = guarded
    try:
        yield
    finally:
        socket.create_connection = original


def _judge_summary(case: Case, summary: AddSummary) -> tuple[str, str]:
    failed = {f.index: f.error for f in summary.failures}
    for index in case.bad or ():
        if index not in failed:
            return "silent", f"item {index} was stored (failures: {failed})"
        message = failed[index]
        if _RAW.match(message):
            return "untyped", message
        if not re.search(case.names, message):
            return "unclear", message
    return "typed", "; ".join(failed[i] for i in case.bad or ())


def run_case(case: Case, ctx: Ctx, limit: float = CASE_SECONDS) -> Outcome:
    """Run one case on a watchdog thread and classify what happened."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = case.call(ctx)
        except BaseException as exc:  # noqa: BLE001 - classified below
            box["exc"] = exc

    start = time.perf_counter()
    worker = threading.Thread(target=target, name=f"bad-input {case.name}", daemon=True)
    worker.start()
    worker.join(limit)
    seconds = time.perf_counter() - start
    if worker.is_alive():
        return Outcome(case, "hang", f"still running after {limit:.0f} s", seconds)
    exc = box.get("exc")
    if exc is not None:
        text = f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, Exception):
            return Outcome(case, "crash", text, seconds)
        if isinstance(exc, JinaLocalError):
            return Outcome(case, "typed" if re.search(case.names, str(exc)) else "unclear", text, seconds)
        return Outcome(case, "untyped", text, seconds)
    value = box.get("value")
    if case.bad is not None and isinstance(value, AddSummary):
        kind, detail = _judge_summary(case, value)
        return Outcome(case, kind, detail, seconds)
    return Outcome(case, "silent", f"returned {type(value).__name__}", seconds)


def run_all(ctx: Ctx, table: list[Case]) -> list[Outcome]:
    """Every case, in the scratch folder (a location misread as a folder name lands there, not in the repo)."""
    here = os.getcwd()
    os.chdir(ctx.tmp)
    try:
        with only_dead_port(int(ctx.dead_url.rsplit(":", 1)[1])):
            make_stores(ctx)
            try:
                return [run_case(case, ctx) for case in table]
            finally:
                ctx.store.close()
                ctx.dense.close()
    finally:
        os.chdir(here)


def distinct_inputs(table: list[Case]) -> set[tuple[str, str]]:
    """(entry point, input): the same input on both model families counts once."""
    return {(case.entry.split("[")[0], case.name) for case in table}


def count_table(outcomes: list[Outcome]) -> str:
    """The counts per entry point, as a markdown table."""
    entries = sorted({o.case.entry.split("[")[0] for o in outcomes})
    distinct = distinct_inputs([o.case for o in outcomes])
    lines = ["| entry point | cases | distinct inputs | " + " | ".join(KINDS) + " |", "|---" * (len(KINDS) + 3) + "|"]
    for entry in [*entries, "total"]:
        mine = [o for o in outcomes if entry == "total" or o.case.entry.split("[")[0] == entry]
        counts = Counter(o.kind for o in mine)
        n_distinct = len([d for d in distinct if entry == "total" or d[0] == entry])
        cells = " | ".join(str(counts.get(k, 0)) for k in KINDS)
        lines.append(f"| {entry} | {len(mine)} | {n_distinct} | {cells} |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ pytest
@pytest.fixture(scope="module")
def outcomes(tiny_v4, tiny_clip, tiny_v4_dir, tmp_path_factory) -> list[Outcome]:
    tmp = tmp_path_factory.mktemp("bad-inputs")
    table = cases(tmp)
    ctx = Ctx(v4=tiny_v4, clip=tiny_clip, v4_dir=tiny_v4_dir, tmp=tmp, dead_url=f"http://127.0.0.1:{_free_port()}")
    return run_all(ctx, table)


def test_at_least_150_distinct_bad_inputs_across_the_public_api(outcomes) -> None:
    table = [o.case for o in outcomes]
    assert len({(c.entry, c.name) for c in table}) == len(table)  # no case twice
    assert len(distinct_inputs(table)) >= 150
    entries = {c.entry.split("[")[0] for c in table}
    assert entries >= {"encode", "stream", "add", "add_embeddings", "search", "open", "load"}


def test_every_bad_input_gets_a_typed_error_that_names_it(outcomes) -> None:
    print("\n" + count_table(outcomes))
    wrong = [f"{o.case.entry} {o.case.name}: {o.kind}: {o.detail[:300]}" for o in outcomes if o.kind != "typed"]
    assert not wrong, "\n".join(wrong)
    assert sum(o.seconds for o in outcomes) < 120  # a table, not a benchmark


if __name__ == "__main__":  # python tests/integration/test_bad_inputs.py [--rows]
    import tempfile
    import warnings

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from fixture_clip import write_clip_checkpoint
    from fixture_v4 import write_v4_checkpoint

    import jina_local

    warnings.filterwarnings("ignore")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        v4_dir = write_v4_checkpoint(root / "v4", "tiny", seed=0)
        v4 = jina_local.load(v4_dir, device="cpu", dtype="float32")
        clip = jina_local.load(write_clip_checkpoint(root / "clip"), device="cpu", dtype="float32")
        (root / "work").mkdir()
        ctx = Ctx(v4=v4, clip=clip, v4_dir=v4_dir, tmp=root / "work", dead_url=f"http://127.0.0.1:{_free_port()}")
        results = run_all(ctx, cases(ctx.tmp))
    if "--rows" in sys.argv:
        for o in results:
            print(f"| {o.case.entry} | {o.case.name[:60]} | {o.kind} | {o.detail[:110]} | {1000 * o.seconds:.0f} ms |")
    print(count_table(results))
