"""Moving between engines and tools: other readers, older layouts, copy_to, foreign collections.

* langchain-qdrant's and llama-index's own ``QdrantVectorStore`` read a jina-local collection's
  content and metadata, whichever jina-local writer filled it (``add``, ``add_embeddings``,
  ``index_files``, both framework stores, LangChain's dense-only path too);
* collections in the flat layout 1 keep working next to new points;
* dense-only collections written by langchain-qdrant / llama-index: refused with advice that works,
  and opened for dense search with ``vector_name=``;
* a ``QdrantClient(path=...)`` pointed at an embedded-engine folder says what happened.

``copy_to`` has its own file, test_copy_to.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_qdrant import QdrantVectorStore as LangChainQdrant
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery
from llama_index.vector_stores.jina_local import JinaLocalVectorStore as LlamaJinaStore
from llama_index.vector_stores.qdrant import QdrantVectorStore as LlamaQdrant
from qdrant_client import QdrantClient

from jina_local.errors import CollectionConfigError
from jina_local.qdrant import MultiVectorCollection
from jina_local.qdrant._base import PointRecord
from langchain_jina_local import JinaLocalEmbeddings, JinaLocalVectorStore

PROSE = [
    "Cats sleep sixteen hours a day.",
    "The quarterly revenue grew by ten percent.",
    "Paris is the capital of France.",
]
CODE = "def add(a, b):\n    return a + b"
META = [{"lang": "en", "n": 0}, {"lang": "en", "n": 1}, {"lang": "en", "n": 2}, {"lang": "py", "n": 3}]

pytestmark = pytest.mark.filterwarnings("ignore:Payload indexes have no effect")


# ---------------------------------------------------------------------- other tools read our collections
def _fill(writer: str, client: QdrantClient, model: Any, folder: Path) -> tuple[dict[str, dict[str, Any]], Any]:
    """Fill collection "docs" with one jina-local writer; returns {content: metadata} and the embeddings to query with."""
    texts = PROSE + [CODE]
    emb: Any = JinaLocalEmbeddings(model=model, document_task="retrieval")
    if writer == "langchain-dense":  # any LangChain Embeddings: the dense-only path
        emb = DeterministicFakeEmbedding(size=16)
        JinaLocalVectorStore(location=client, collection_name="docs", embedding=emb).add_texts(texts, META)
        return dict(zip(texts, META)), emb
    if writer == "llamaindex":
        store = LlamaJinaStore(location=client, collection_name="docs", model=model)
        store.add([TextNode(text=t, metadata=m, id_=f"node-{i}") for i, (t, m) in enumerate(zip(texts, META))])
        return dict(zip(texts, META)), emb
    coll = MultiVectorCollection.open(client, "docs", model=model, multi=model.info.has_multi)
    if writer == "collection":
        assert coll.add(texts, payloads=META).ok
    elif writer == "langchain":
        JinaLocalVectorStore(collection=coll).add_texts(texts, META, ids=[f"k{i}" for i in range(4)])
    elif writer == "add_embeddings":
        encoded = model.encode_document(texts, output="both" if coll.has_multi else "dense")
        assert coll.add_embeddings(encoded, payloads=META, texts=texts).ok
    else:  # index_files: one small file each, so one chunk each; index_files writes its own metadata
        folder.mkdir()
        for i, text in enumerate(texts):
            (folder / (f"f{i}.py" if text == CODE else f"f{i}.md")).write_text(text + "\n", encoding="utf-8")
        assert coll.index_files(folder).ok
        stored = {p["stored"]["text"]: p["stored"]["metadata"] for p in coll.scroll()}
        assert {t.strip() for t in stored} == set(texts) and all(m.get("source") for m in stored.values())
        return stored, emb
    return dict(zip(texts, META)), emb


WRITERS = ["collection", "langchain", "llamaindex", "add_embeddings", "index_files", "langchain-dense"]


@pytest.mark.parametrize("writer", WRITERS)
def test_langchain_qdrant_and_llama_index_read_content_and_metadata(
    writer: str, any_model: Any, tmp_path: Path
) -> None:
    for n, client in enumerate((QdrantClient(":memory:"), QdrantClient(path=str(tmp_path / writer)))):
        want, emb = _fill(writer, client, any_model, tmp_path / f"files-{n}")
        lc = LangChainQdrant(
            client=client,
            collection_name="docs",
            embedding=emb,
            vector_name="dense",
            content_payload_key="text",
            metadata_payload_key="metadata",
        )
        docs = lc.similarity_search(PROSE[0], k=4)
        assert {d.page_content for d in docs} == set(want)
        for d in docs:
            mine = {
                k: v for k, v in d.metadata.items() if k not in ("_id", "_collection_name")
            }  # not langchain-qdrant's
            assert mine == want[d.page_content]
        llama = LlamaQdrant(collection_name="docs", client=client, dense_vector_name="dense")
        result = llama.query(VectorStoreQuery(query_embedding=emb.embed_query(PROSE[0]), similarity_top_k=4))
        assert {n.get_content() for n in result.nodes} == set(want)
        for node in result.nodes:
            assert node.metadata == want[node.get_content()]
        if writer == "llamaindex":
            assert {n.node_id for n in result.nodes} == {f"node-{i}" for i in range(4)}
        client.close()


# ---------------------------------------------------------------------- the flat layout 1 keeps working
def test_layout_1_points_are_read_and_filtered_beside_new_ones(tiny_v4: Any, tmp_path: Path) -> None:
    coll = MultiVectorCollection.open(tmp_path, "old", model=tiny_v4)
    res = tiny_v4.encode_document(["An old flat point."], output="both")
    old_id = "00000000-0000-4000-8000-000000000001"
    coll._backend.upsert(
        [
            PointRecord(
                old_id,
                res.dense[0],
                res.multi[0],  # written as jina-local 0.1 did
                {
                    "kind": "text",
                    "task": "retrieval",
                    "source": "old.md",
                    "text": "An old flat point.",
                    "lang": "en",
                    "n": 9,
                },
            )
        ]
    )
    meta = coll.metadata
    meta.pop("payload_layout")
    meta["tasks"], meta["kinds"] = ["retrieval"], ["text"]
    coll._backend.set_metadata(meta)
    coll.close()
    coll = MultiVectorCollection.open(tmp_path, "old", model=tiny_v4)  # a layout-1 collection
    coll.add(["A new nested point."], payloads=[{"lang": "en", "n": 10}])
    hits = coll.search("point", limit=5, filter={"lang": "en"})
    assert {h.text for h in hits} == {"An old flat point.", "A new nested point."}
    old = next(h for h in hits if h.id == old_id)
    assert old.metadata == {"lang": "en", "n": 9} and old.payload["source"] == "old.md"
    assert [h.text for h in coll.search("point", filter={"n": {"$gte": 10}})] == ["A new nested point."]
    assert [h.text for h in coll.search("point", filter={"n": {"$ne": 10}})] == ["An old flat point."]
    store = JinaLocalVectorStore(collection=coll)
    (doc,) = store.get_by_ids([old_id])
    assert doc == Document(page_content="An old flat point.", metadata={"lang": "en", "n": 9}, id=old_id)
    (node,) = LlamaJinaStore(collection=coll).get_nodes([old_id])
    assert node.get_content() == "An old flat point." and node.metadata == {"lang": "en", "n": 9}
    coll.close()


# ---------------------------------------------------------------------- other tools' collections
def test_foreign_dense_collections_advice_and_vector_name(tiny_v4: Any) -> None:
    emb = JinaLocalEmbeddings(model=tiny_v4)
    lc = LangChainQdrant.from_texts(PROSE, emb, metadatas=META[:3], location=":memory:", collection_name="lc")
    client = lc.client
    llama = LlamaQdrant(collection_name="li", client=client)
    llama.add([TextNode(text=t, metadata=m, embedding=emb.embed_documents([t])[0]) for t, m in zip(PROSE, META)])
    for name in ("lc", "li"):
        with pytest.raises(CollectionConfigError) as err:
            MultiVectorCollection.open(client, name, model=tiny_v4)
        message = str(err.value)
        assert "was not written by jina-local" in message and "vector_name=''" in message
        assert "How to fix: or" not in message
        coll = MultiVectorCollection.open(client, name, model=tiny_v4, vector_name="")  # the advice, followed
        assert coll.is_foreign and not coll.has_multi and coll.count() == 3
        hits = coll.search(PROSE[1], limit=3)
        assert {h.text for h in hits} == set(PROSE)
        (hit,) = coll.search(PROSE[1], limit=3, filter={"n": 2})
        assert hit.text == PROSE[2] and hit.metadata["lang"] == "en"
        with pytest.raises(CollectionConfigError, match="read-only"):
            coll.add(["more"])
        with pytest.raises(CollectionConfigError, match="copy it with that tool"):
            coll.copy_to(QdrantClient(":memory:"))
        assert len(coll.search_embeddings(dense=np.asarray(emb.embed_query("cats")), limit=2, mode="dense")) == 2
    with pytest.raises(CollectionConfigError, match="no dense vector 'text-dense'"):
        MultiVectorCollection.open(client, "lc", model=tiny_v4, vector_name="text-dense")


def test_qdrant_client_on_an_embedded_folder_is_explained(tmp_path: Path) -> None:
    MultiVectorCollection.open(tmp_path, "docs", dense_dim=8).close()
    client = QdrantClient(path=str(tmp_path))
    with pytest.raises(CollectionConfigError, match="QdrantClient\\(path=...\\) cannot read it"):
        MultiVectorCollection.open(client, "docs", dense_dim=8)
    client.close()
    with pytest.raises(CollectionConfigError, match="cannot read it"):
        MultiVectorCollection.open(tmp_path, "docs", dense_dim=8, backend="client")
    again = MultiVectorCollection.open(tmp_path, "docs", dense_dim=8)  # the meta.json left behind does not mislead
    assert again.backend_label.startswith("qdrant-edge-py")
    again.close()
