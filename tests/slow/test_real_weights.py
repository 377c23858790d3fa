"""Checks on the real published weights (deselected by default: ``pytest -m slow``).

Set ``JINA_LOCAL_MODEL_DIR`` to a folder holding jinaai/jina-embeddings-v4 (``hf download
jinaai/jina-embeddings-v4 --local-dir ...``); ``JINA_LOCAL_CLIP_DIR`` likewise for jina-clip-v2.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import jina_local

pytestmark = pytest.mark.slow

V4_DIR = os.environ.get("JINA_LOCAL_MODEL_DIR")


@pytest.fixture(scope="module")
def real_v4():
    if not V4_DIR:
        pytest.fail("set JINA_LOCAL_MODEL_DIR to a folder with jinaai/jina-embeddings-v4 to run the slow tests")
    return jina_local.load(V4_DIR)


def test_real_v4_dims_and_tasks(real_v4):
    info = real_v4.info
    assert info.dense_dim == 2048 and info.multi_dim == 128
    assert info.matryoshka_dims == (128, 256, 512, 1024, 2048)
    assert set(info.tasks) == {"retrieval", "text-matching", "code"}


def test_real_v4_ranks_the_relevant_passage_first(real_v4):
    docs = real_v4.encode_document(
        ["Cats sleep between twelve and sixteen hours a day.", "The stock market closed higher on Friday."],
        output="both",
    )
    query = real_v4.encode_query("How long do cats sleep?", output="both")
    dense = docs.dense @ query.dense[0]
    assert dense[0] > dense[1]
    maxsim = [float((query.multi[0] @ d.T).max(axis=1).sum()) for d in docs.multi]
    assert maxsim[0] > maxsim[1]


def test_real_v4_code_adapter_finds_code(real_v4):
    docs = real_v4.encode_document(["def add(a, b):\n    return a + b", "def read_file(p):\n    return open(p).read()"])
    assert docs.tasks == ["code", "code"]
    query = real_v4.encode_query("function that sums two numbers", task="code")
    assert int(np.argmax(docs.dense @ query.dense[0])) == 0
