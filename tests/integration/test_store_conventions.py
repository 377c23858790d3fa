"""Conventions of the Qdrant store that both framework stores rely on.

* Jina's task names in the core: ``add_embeddings(tasks=["code.passage"])``, ``add(task=...)``;
  query-role names are refused where documents are stored, with the passage name to use instead;
* task settings are checked when a store or retriever is built over a loaded model;
* LangChain ``Document`` / LlamaIndex nodes given to ``MultiVectorCollection.add`` name the store
  that takes them (the core imports neither framework);
* a collection pickles as "reopen from the folder / URL with the model's name", deep-copies as
  itself, and a ``:memory:`` or given-client collection refuses to pickle, saying what to do.
"""

from __future__ import annotations

import copy
import pickle
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document
from llama_index.core.schema import TextNode
from llama_index.retrievers.jina_local import JinaLocalRetriever as LlamaRetriever
from llama_index.vector_stores.jina_local import JinaLocalVectorStore as LlamaStore
from qdrant_client import QdrantClient

from jina_local import NotPicklableError, TaskError
from jina_local.errors import CollectionLockedError
from jina_local.qdrant import MultiVectorCollection
from jina_local.qdrant._pickling import reopen_spec
from langchain_jina_local import JinaLocalRetriever as LangChainRetriever

PROSE = ["Cats sleep sixteen hours a day.", "Paris is the capital of France."]
CODE = "def add(a, b):\n    return a + b"


# ---------------------------------------------------------------------- Jina task names in the core
def test_add_embeddings_takes_jina_passage_names_and_refuses_query_names(tiny_v4: Any) -> None:
    coll = MultiVectorCollection.open(":memory:", "emb", model=tiny_v4)
    res = tiny_v4.encode_document([CODE, PROSE[0]], task="code", output="both")
    summary = coll.add_embeddings(
        res.dense, res.multi, tasks=["code.passage", "retrieval.passage"], texts=[CODE, PROSE[0]]
    )
    assert summary.ok and sorted(coll.tasks) == ["code", "retrieval"]
    assert {p["payload"]["task"] for p in coll.scroll()} == {"code", "retrieval"}
    assert coll.add_embeddings(res.dense[:1], res.multi[:1], tasks="text-matching", texts=["x"]).ok
    with pytest.raises(TaskError, match=r"tasks\[1\]='code.query' is a query-role name.*use 'code.passage'"):
        coll.add_embeddings(res.dense, res.multi, tasks=["code.passage", "code.query"])
    with pytest.raises(TaskError, match="not a Jina task name"):
        coll.add_embeddings(res.dense, res.multi, tasks="code.snippet")
    coll.close()


def test_add_refuses_a_query_role_task_and_maps_passage_names(tiny_v4: Any) -> None:
    coll = MultiVectorCollection.open(":memory:", "add", model=tiny_v4)
    with pytest.raises(TaskError, match=r"task='retrieval.query' is a query-role name.*'retrieval.passage'"):
        coll.add(PROSE, task="retrieval.query")
    with pytest.raises(TaskError, match=r"task\[1\]='code.query'"):
        coll.add([PROSE[0], CODE], task=["retrieval.passage", "code.query"])
    with pytest.raises(TaskError, match="valid"):
        coll.add(PROSE, task="qa")
    assert coll.count() == 0  # refused before anything was encoded or stored
    assert coll.add(PROSE, task="code.passage").ok and coll.tasks == ["code"]
    # stored in the document role: the same vectors as encode_document with the code adapter
    stored = {p["payload"]["text"]: p["vector"]["dense"] for p in coll.get([p["id"] for p in coll.scroll()], True)}
    want = tiny_v4.encode_document(PROSE, task="code").dense
    for text, vector in zip(PROSE, want):
        assert stored[text] == pytest.approx(vector.tolist(), abs=1e-5)
    coll.close()


# ---------------------------------------------------------------------- tasks checked when built
def test_stores_and_retrievers_check_tasks_when_built(tiny_v4: Any, tiny_clip: Any) -> None:
    with pytest.raises(TaskError, match=r"document_task='code' is not a task of .*valid: 'retrieval'"):
        LlamaStore(location=":memory:", collection_name="clip", model=tiny_clip, document_task="code")
    with pytest.raises(TaskError, match="document_task='retrieval.query' is a query-role name"):
        LlamaStore(location=":memory:", collection_name="v4", model=tiny_v4, document_task="retrieval.query")
    store = LlamaStore(location=":memory:", collection_name="v4", model=tiny_v4, document_task="code.passage")
    store.add([TextNode(text=PROSE[0], id_="a")])
    assert store.document_task == "code" and store.collection.tasks == ["code"]
    clip = MultiVectorCollection.open(":memory:", "clip", model=tiny_clip)
    for build in (
        lambda: LangChainRetriever(collection=clip, tasks=["code"]),
        lambda: LangChainRetriever(collection=store.collection, tasks=["qa"]),
        lambda: LlamaRetriever(store.collection, tasks=["retrieval", "qa"]),
    ):
        with pytest.raises(TaskError, match=r"'(code|qa)' is not a task of this collection's model; valid"):
            build()
    assert LangChainRetriever(collection=store.collection, tasks=["code.query"]).invoke("cats")[0].page_content
    clip.close()
    store.collection.close()


# ---------------------------------------------------------------------- framework objects in add()
def test_add_names_the_store_for_framework_objects(tiny_v4: Any) -> None:
    coll = MultiVectorCollection.open(":memory:", "fw", model=tiny_v4)
    summary = coll.add([Document(page_content=PROSE[0]), TextNode(text=PROSE[1]), CODE])
    assert [f.index for f in summary.failures] == [0, 1] and summary.added == 1
    lc, li = summary.failures[0].error, summary.failures[1].error
    assert "LangChain Document" in lc and "JinaLocalVectorStore(collection=...).add_documents(docs)" in lc
    assert "LlamaIndex TextNode" in li and "llama_index.vector_stores.jina_local.JinaLocalVectorStore" in li
    coll.close()


# ---------------------------------------------------------------------- pickling and copies
@pytest.mark.parametrize("engine", ["edge", "client"])
def test_a_folder_collection_pickles_by_reopening(engine: str, tiny_v4: Any, tmp_path: Path) -> None:
    coll = MultiVectorCollection.open(tmp_path / "index", "docs", model=tiny_v4, backend=engine)  # type: ignore[arg-type]
    coll.add(PROSE)
    want = [(h.id, round(h.score, 5)) for h in coll.search("cats", limit=2)]
    blob = pickle.dumps(coll)
    assert len(blob) < 5_000  # settings, not points or weights
    assert copy.deepcopy(coll) is coll  # a handle: copies share it
    with pytest.raises(CollectionLockedError, match="already open|open in another process"):
        pickle.loads(blob)  # one writer per folder: the original still holds it
    coll.close()
    again = pickle.loads(blob)
    assert (
        again.model is tiny_v4
        and again.count() == 2
        and again.backend_label.startswith("qdrant-edge-py" if engine == "edge" else "qdrant-client")
    )
    assert [(h.id, round(h.score, 5)) for h in again.search("cats", limit=2)] == want
    again.close()


def test_dense_only_and_model_less_collections_pickle(tiny_v4: Any, tmp_path: Path) -> None:
    dense = MultiVectorCollection.open(tmp_path, "dense", model=tiny_v4, multi=False, dense_dim=16)
    dense.add(PROSE)
    bare = MultiVectorCollection.open(tmp_path, "bare", dense_dim=8)
    blobs = pickle.dumps(dense), pickle.dumps(bare)
    dense.close()
    bare.close()
    dense, bare = (pickle.loads(b) for b in blobs)
    assert (dense.has_multi, dense.dense_dim, dense.count(), dense.model) == (False, 16, 2, tiny_v4)
    assert bare.model is None and bare.dense_dim == 8
    dense.close()
    bare.close()


def test_in_process_collections_refuse_to_pickle_saying_what_to_do(tiny_v4: Any) -> None:
    for location in (":memory:", QdrantClient(":memory:")):
        coll = MultiVectorCollection.open(location, "mem", model=tiny_v4)
        with pytest.raises(NotPicklableError, match="exists only in this process.*folder or a Qdrant server URL"):
            pickle.dumps(coll)
        with pytest.raises(TypeError):  # a TypeError, as Python's own "cannot pickle" errors
            pickle.dumps(coll)
        assert copy.deepcopy(coll) is coll
        coll.close()


def test_reopen_spec_keeps_urls_and_makes_folders_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jina_local.qdrant._client_backend import ClientBackend
    from jina_local.qdrant._edge_backend import EdgeBackend

    server = ClientBackend(QdrantClient(":memory:"), "docs", label="server", owns_client=True, local=False)
    spec = reopen_spec("https://qdrant.example:6333", server, "docs", api_key="k", timeout=5, vector_name=None)
    assert (spec.location, spec.backend, spec.api_key, spec.timeout) == (
        "https://qdrant.example:6333",
        "client",
        "k",
        5,
    )
    monkeypatch.chdir(tmp_path)
    spec = reopen_spec("index", EdgeBackend("index", "docs"), "docs", api_key=None, timeout=None, vector_name=None)
    assert spec.location == str(tmp_path.resolve() / "index") and spec.backend == "edge"
    assert reopen_spec(QdrantClient(":memory:"), server, "docs", api_key=None, timeout=None, vector_name=None) is None
