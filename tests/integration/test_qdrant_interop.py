"""Moving between engines and tools: other readers, older layouts, copy_to, foreign collections.

* langchain-qdrant's and llama-index's own ``QdrantVectorStore`` read a jina-local collection's
  content and metadata, whichever jina-local writer filled it;
* collections in the flat layout 1 keep working next to new points;
* ``copy_to`` between every pair of locations available here, checked point by point, and resumed;
* dense-only collections written by langchain-qdrant / llama-index: refused with advice that works,
  and opened for dense search with ``vector_name=``;
* a ``QdrantClient(path=...)`` pointed at an embedded-engine folder says what happened.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langchain_core.documents import Document
from langchain_qdrant import QdrantVectorStore as LangChainQdrant
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery
from llama_index.vector_stores.jina_local import JinaLocalVectorStore as LlamaJinaStore
from llama_index.vector_stores.qdrant import QdrantVectorStore as LlamaQdrant
from PIL import Image
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
def _fill(writer: str, client: QdrantClient, model: Any) -> None:
    texts = PROSE + [CODE]
    if writer == "collection":
        coll = MultiVectorCollection.open(client, "docs", model=model, multi=model.info.has_multi)
        assert coll.add(texts, payloads=META).ok
    elif writer == "langchain":
        coll = MultiVectorCollection.open(client, "docs", model=model, multi=model.info.has_multi)
        JinaLocalVectorStore(collection=coll).add_texts(texts, META, ids=[f"k{i}" for i in range(4)])
    else:
        store = LlamaJinaStore(location=client, collection_name="docs", model=model)
        store.add([TextNode(text=t, metadata=m, id_=f"node-{i}") for i, (t, m) in enumerate(zip(texts, META))])


@pytest.mark.parametrize("writer", ["collection", "langchain", "llamaindex"])
def test_langchain_qdrant_and_llama_index_read_content_and_metadata(
    writer: str, any_model: Any, tmp_path: Path
) -> None:
    for client in (QdrantClient(":memory:"), QdrantClient(path=str(tmp_path / writer))):
        _fill(writer, client, any_model)
        emb = JinaLocalEmbeddings(model=any_model, document_task="retrieval")
        lc = LangChainQdrant(
            client=client,
            collection_name="docs",
            embedding=emb,
            vector_name="dense",
            content_payload_key="text",
            metadata_payload_key="metadata",
        )
        docs = lc.similarity_search(PROSE[0], k=4)
        assert {d.page_content for d in docs} == set(PROSE) | {CODE}
        for d in docs:
            mine = {
                k: v for k, v in d.metadata.items() if k not in ("_id", "_collection_name")
            }  # langchain-qdrant's own
            assert mine == META[(PROSE + [CODE]).index(d.page_content)]
        llama = LlamaQdrant(collection_name="docs", client=client, dense_vector_name="dense")
        result = llama.query(VectorStoreQuery(query_embedding=emb.embed_query(PROSE[0]), similarity_top_k=4))
        assert {n.get_content() for n in result.nodes} == set(PROSE) | {CODE}
        for node in result.nodes:
            assert node.metadata == META[(PROSE + [CODE]).index(node.get_content())]
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


# ---------------------------------------------------------------------- copy_to between every pair
def _source(kind: str, tmp_path: Path, model: Any) -> tuple[MultiVectorCollection, list[str]]:
    location: Any = {
        "memory": ":memory:",
        "edge": tmp_path / "src-edge",
        "client-path": tmp_path / "src-client",
        "client": QdrantClient(":memory:"),
    }[kind]
    extra = {"backend": "client"} if kind == "client-path" else {}
    if kind == "edge":
        extra["multi_dtype"] = "float16"
    coll = MultiVectorCollection.open(location, "docs", model=model, multi=model.info.has_multi, **extra)
    image = tmp_path / f"{kind}.png"
    Image.new("RGB", (56, 56), (200, 30, 30)).save(image)
    summary = coll.add(PROSE + [CODE, image], payloads=META + [{"lang": "img", "n": 4}])
    assert summary.ok
    return coll, [i for i in summary.ids if i]


def _target(kind: str, tmp_path: Path) -> tuple[Any, dict[str, Any]]:
    if kind == "edge":
        return tmp_path / "dst-edge", {}
    if kind == "client-path":
        return tmp_path / "dst-client", {"backend": "client"}
    return QdrantClient(":memory:"), {}


def _points(coll: MultiVectorCollection, ids: list[str]) -> dict[str, Any]:
    return {p["id"]: p for p in coll.get(ids, with_vectors=True)}


@pytest.mark.parametrize("target_kind", ["edge", "client-path", "client"])
@pytest.mark.parametrize("source_kind", ["memory", "edge", "client-path", "client"])
def test_copy_to_between_every_pair_of_locations(
    source_kind: str, target_kind: str, any_model: Any, tmp_path: Path
) -> None:
    source, ids = _source(source_kind, tmp_path, any_model)
    location, open_kwargs = _target(target_kind, tmp_path)
    summary = source.copy_to(location, batch_size=2, **open_kwargs)
    assert (summary.total, summary.copied, summary.skipped) == (5, 5, 0)
    target = MultiVectorCollection.open(location, "docs", model=any_model, **open_kwargs)
    assert target.count() == 5 and target.tasks == source.tasks and target.dense_dim == source.dense_dim
    assert target.metadata["model_fingerprint"] == any_model.info.fingerprint
    want, got = _points(source, ids), _points(target, ids)
    for pid in ids:
        assert got[pid]["stored"] == want[pid]["stored"]
        for name, vec in want[pid]["vector"].items():
            np.testing.assert_allclose(np.asarray(got[pid]["vector"][name]), np.asarray(vec), atol=2e-3)
    q = "how long do cats sleep"
    assert [h.id for h in target.search(q, limit=5)] == [h.id for h in source.search(q, limit=5)]
    assert [h.text for h in target.search(q, filter={"lang": "py"})] == [CODE]
    target.close()
    again = source.copy_to(location, batch_size=2, **open_kwargs)  # nothing missing: everything skipped
    assert (again.copied, again.skipped) == (0, 5)
    source.close()


def test_copy_to_resumes_after_an_interruption(tiny_v4: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jina_local.qdrant import _edge_backend

    source, ids = _source("memory", tmp_path, tiny_v4)
    real_upsert = _edge_backend.EdgeBackend.upsert
    calls = {"n": 0}

    def failing(self: Any, points: list[Any]) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        real_upsert(self, points)

    monkeypatch.setattr(_edge_backend.EdgeBackend, "upsert", failing)
    with pytest.raises(OSError, match="disk full"):
        source.copy_to(tmp_path / "dst", batch_size=2)
    monkeypatch.setattr(_edge_backend.EdgeBackend, "upsert", real_upsert)
    summary = source.copy_to(tmp_path / "dst", batch_size=2)
    assert (summary.skipped, summary.copied, summary.total) == (2, 3, 5)
    target = MultiVectorCollection.open(tmp_path / "dst", "docs", model=tiny_v4)
    assert target.count() == 5 and sorted(p["id"] for p in target.scroll()) == sorted(ids)
    target.close()


def test_copy_to_refuses_what_cannot_work(tiny_v4: Any, tmp_path: Path) -> None:
    source, _ = _source("edge", tmp_path, tiny_v4)
    with pytest.raises(CollectionConfigError, match="QdrantClient\\(':memory:'\\) you keep"):
        source.copy_to(":memory:")
    with pytest.raises(CollectionConfigError, match="the source collection itself"):
        source.copy_to(tmp_path / "src-edge")
    other = MultiVectorCollection.open(tmp_path / "dst", "docs", dense_dim=source.dense_dim // 2)
    other.close()
    with pytest.raises(CollectionConfigError, match="dense vector size"):
        source.copy_to(tmp_path / "dst")
    source.close()


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
