"""Conventions of the Qdrant store that both framework stores rely on.

* Jina's task names in the core: ``add_embeddings(tasks=["code.passage"])``, ``add(task=...)``;
  query-role names are refused where documents are stored, with the passage name to use instead;
* task settings are checked when a store or retriever is built over a loaded model;
* LangChain ``Document`` / LlamaIndex nodes given to ``MultiVectorCollection.add`` name the store
  that takes them (the core imports neither framework).
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.documents import Document
from llama_index.core.schema import TextNode
from llama_index.retrievers.jina_local import JinaLocalRetriever as LlamaRetriever
from llama_index.vector_stores.jina_local import JinaLocalVectorStore as LlamaStore

from jina_local import TaskError
from jina_local.qdrant import MultiVectorCollection
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
