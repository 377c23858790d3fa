"""``llama_index.vector_stores.jina_local.JinaLocalVectorStore`` end to end, with the tiny v4 and jina-clip-v2.

LlamaIndex has no standard vector-store suite, so this runs the framework's own machinery on the
store: ``VectorStoreIndex`` over a ``StorageContext``, ``IngestionPipeline`` with docstore dedup,
``MultiModalVectorStoreIndex`` with image nodes (and the docs' ``image_store`` example), every
``MetadataFilters`` operator, the async twins, and pickling / deep copies of the store.
"""

from __future__ import annotations

import asyncio
import copy
import pickle
import re
from pathlib import Path
from typing import Any

import llama_index.vector_stores.jina_local as vs_pkg
import numpy as np
import pytest
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.indices.multi_modal import MultiModalVectorStoreIndex
from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import (
    ImageNode,
    NodeRelationship,
    RelatedNodeInfo,
    TextNode,
)
from llama_index.core.storage.docstore import SimpleDocumentStore
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)
from llama_index.embeddings.jina_local import JinaLocalEmbedding
from llama_index.retrievers.jina_local import JinaLocalRetriever
from llama_index.vector_stores.jina_local import JinaLocalVectorStore
from PIL import Image

from jina_local import InputError, NotPicklableError
from jina_local.qdrant import FilterError, MultiVectorCollection

PROSE = [
    "Cats sleep sixteen hours a day.",
    "The quarterly revenue grew by ten percent.",
    "Paris is the capital of France.",
    "Rain is expected tomorrow afternoon.",
]
CODE = "def add(a, b):\n    return a + b"


def _nodes() -> list[TextNode]:
    nodes = []
    for i, text in enumerate(PROSE + [CODE]):
        node = TextNode(
            text=text,
            id_=f"node-{i}",
            metadata={"n": i, "lang": "py" if text == CODE else "en", "tags": ["a", "b"] if i % 2 else ["a"]},
            excluded_embed_metadata_keys=["n", "lang", "tags"],
        )
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=f"doc-{i // 2}")
        nodes.append(node)
    return nodes


@pytest.fixture()
def store(any_model: Any) -> Any:
    s = JinaLocalVectorStore(location=":memory:", collection_name="li", model=any_model)
    s.add(_nodes())
    yield s
    s.collection.close()


def test_package_and_names() -> None:
    import llama_index.vector_stores

    assert vs_pkg.__all__ == ["JinaLocalVectorStore", "to_filter"]
    assert getattr(llama_index.vector_stores, "__file__", None) is None  # implicit namespace package
    assert (
        JinaLocalVectorStore.class_name() == "JinaLocalVectorStore"
        and JinaLocalVectorStore.model_fields["stores_text"].default
    )


def test_query_string_searches_like_the_collection_and_keeps_nodes_whole(store: Any, any_model: Any) -> None:
    result = store.query(VectorStoreQuery(query_str="how long do cats sleep", similarity_top_k=5))
    ref = MultiVectorCollection.open(":memory:", "ref", model=any_model, multi=any_model.info.has_multi)
    ref.add(PROSE + [CODE])
    want = [h.payload["text"] for h in ref.search("how long do cats sleep", limit=5)]
    assert [n.get_content() for n in result.nodes] == want
    assert result.similarities == pytest.approx(
        [h.score for h in ref.search("how long do cats sleep", limit=5)], abs=1e-5
    )
    by_id = {n.node_id: n for n in result.nodes}
    assert set(by_id) == {f"node-{i}" for i in range(5)} and result.ids == [n.node_id for n in result.nodes]
    assert by_id["node-3"].ref_doc_id == "doc-1" and by_id["node-3"].metadata == {
        "n": 3,
        "lang": "en",
        "tags": ["a", "b"],
    }
    assert by_id["node-4"].excluded_embed_metadata_keys == ["n", "lang", "tags"]
    ref.close()


def test_dense_query_embedding_and_mmr(store: Any, any_model: Any) -> None:
    emb = JinaLocalEmbedding(model=any_model)
    q = emb.get_query_embedding("Paris")
    dense = store.query(VectorStoreQuery(query_embedding=q, similarity_top_k=2))
    assert len(dense.nodes) == 2 and dense.similarities[0] >= dense.similarities[1]
    mmr = store.query(
        VectorStoreQuery(query_str="Paris", similarity_top_k=3, mode=VectorStoreQueryMode.MMR, mmr_threshold=1.0)
    )
    top = store.query(VectorStoreQuery(query_str="Paris", similarity_top_k=3))
    assert [n.node_id for n in mmr.nodes] == [n.node_id for n in top.nodes]  # lambda 1 = by relevance
    with pytest.raises(InputError, match="'hybrid' is not supported"):
        store.query(VectorStoreQuery(query_str="x", mode=VectorStoreQueryMode.HYBRID))


def test_get_delete_clear_and_async(store: Any) -> None:
    assert [n.node_id for n in store.get_nodes(["node-2", "node-0"])] == ["node-2", "node-0"]
    assert {n.node_id for n in store.get_nodes(filters={"lang": "py"})} == {"node-4"}
    store.delete("doc-0")  # nodes 0 and 1
    assert store.collection.count() == 3
    store.delete_nodes(["node-2"])
    store.delete_nodes(filters=MetadataFilters(filters=[MetadataFilter(key="lang", value="py")]))
    assert [n.node_id for n in store.get_nodes()] == ["node-3"]

    async def run() -> Any:
        await store.async_add(_nodes())
        found = await store.aquery(VectorStoreQuery(query_str="cats", similarity_top_k=10))
        await store.adelete("doc-0")
        await store.adelete_nodes(["node-2"])
        await store.adelete_nodes(filters=MetadataFilters(filters=[MetadataFilter(key="lang", value="py")]))
        await store.adelete_nodes(["node-3"], filters={"n": {"$lt": 3}})  # ids AND filter: matches none
        after_deletes = [n.node_id for n in await store.aget_nodes()]
        await store.aclear()
        return found, after_deletes, await store.aget_nodes()

    found, after_deletes, left = asyncio.run(run())
    assert {n.node_id for n in found.nodes} == {f"node-{i}" for i in range(5)}
    assert after_deletes == ["node-3"] and left == []


def test_every_metadata_filter_operator(store: Any) -> None:
    def ids(*filters: Any, condition: FilterCondition = FilterCondition.AND) -> set[int]:
        flt = MetadataFilters(filters=list(filters), condition=condition)
        return {
            n.metadata["n"]
            for n in store.query(VectorStoreQuery(query_str="cats", similarity_top_k=10, filters=flt)).nodes
        }

    F, Op = MetadataFilter, FilterOperator
    assert ids(F(key="n", value=2)) == {2}
    assert ids(F(key="n", value=2, operator=Op.NE)) == {0, 1, 3, 4}
    assert ids(F(key="n", value=2, operator=Op.GT)) == {3, 4}
    assert ids(F(key="n", value=2, operator=Op.GTE)) == {2, 3, 4}
    assert ids(F(key="n", value=2, operator=Op.LT)) == {0, 1}
    assert ids(F(key="n", value=2, operator=Op.LTE)) == {0, 1, 2}
    assert ids(F(key="n", value=[0, 4], operator=Op.IN)) == {0, 4}
    assert ids(F(key="n", value=[0, 4], operator=Op.NIN)) == {1, 2, 3}
    assert ids(F(key="tags", value=["b", "z"], operator=Op.ANY)) == {1, 3}
    assert ids(F(key="tags", value=["a", "b"], operator=Op.ALL)) == {1, 3}
    assert ids(F(key="tags", value="b", operator=Op.CONTAINS)) == {1, 3}
    assert ids(F(key="lang", value="py", operator=Op.TEXT_MATCH)) == {4}
    assert ids(F(key="missing", value=None, operator=Op.IS_EMPTY)) == {0, 1, 2, 3, 4}
    assert ids(F(key="n", value=0), F(key="n", value=4), condition=FilterCondition.OR) == {0, 4}
    assert ids(F(key="n", value=0), F(key="n", value=4), condition=FilterCondition.NOT) == {1, 2, 3}
    nested = MetadataFilters(
        filters=[
            F(key="lang", value="en"),
            MetadataFilters(filters=[F(key="n", value=0), F(key="n", value=3)], condition=FilterCondition.OR),
        ]
    )
    assert ids(nested) == {0, 3}
    # both text matches are Qdrant's MatchText: whole words, any case (test_filters_everywhere pins the rest)
    assert ids(F(key="lang", value="PY", operator=Op.TEXT_MATCH_INSENSITIVE)) == {4}
    assert ids(F(key="lang", value="PY", operator=Op.TEXT_MATCH)) == {4}
    assert ids(F(key="lang", value="p", operator=Op.TEXT_MATCH_INSENSITIVE)) == set()  # not a substring
    with pytest.raises(FilterError, match="MetadataFilter on 'lang': operator 'near'"):
        ids(F.model_construct(key="lang", value="py", operator="near"))
    result = store.query(VectorStoreQuery(query_str="cats", similarity_top_k=10, doc_ids=["doc-2"]))
    assert {n.node_id for n in result.nodes} == {"node-4"}
    result = store.query(VectorStoreQuery(query_str="cats", similarity_top_k=10, node_ids=["node-1", "node-2"]))
    assert {n.node_id for n in result.nodes} == {"node-1", "node-2"}


def test_vector_store_index_over_a_storage_context(any_model: Any, tmp_path: Path) -> None:
    store = JinaLocalVectorStore(location=tmp_path / "index", collection_name="docs", model=any_model)
    docs = [Document(text=t, metadata={"n": i}, id_=f"d{i}") for i, t in enumerate(PROSE)]
    index = VectorStoreIndex.from_documents(
        docs,
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=JinaLocalEmbedding(model=any_model),
    )
    hits = index.as_retriever(similarity_top_k=2).retrieve(PROSE[2])
    assert len(hits) == 2 and {h.node.ref_doc_id for h in hits} <= {f"d{i}" for i in range(4)}
    filtered = index.as_retriever(filters=MetadataFilters(filters=[MetadataFilter(key="n", value=1)])).retrieve("x")
    assert [h.node.ref_doc_id for h in filtered] == ["d1"]
    index.delete_ref_doc("d1")
    assert store.collection.count() == 3
    store.collection.close()


def test_ingestion_pipeline_with_docstore_dedup(any_model: Any) -> None:
    store = JinaLocalVectorStore(location=":memory:", collection_name="pipe", model=any_model)
    # the pipeline hands only embedded nodes to a vector store, hence the embedding step
    pipeline = IngestionPipeline(
        transformations=[SentenceSplitter(chunk_size=64, chunk_overlap=0), JinaLocalEmbedding(model=any_model)],
        vector_store=store,
        docstore=SimpleDocumentStore(),
        docstore_strategy=DocstoreStrategy.UPSERTS,
    )
    docs = [Document(text=t, id_=f"d{i}") for i, t in enumerate(PROSE)]
    assert len(pipeline.run(documents=docs)) == 4 and store.collection.count() == 4
    assert pipeline.run(documents=docs) == [] and store.collection.count() == 4  # unchanged: nothing re-encoded
    changed = [Document(text="Cats nap most of the day.", id_="d0")]
    assert len(pipeline.run(documents=changed)) == 1
    texts = {n.get_content() for n in store.get_nodes()}
    assert store.collection.count() == 4 and "Cats nap most of the day." in texts and PROSE[0] not in texts
    store.collection.close()


def test_multimodal_index_keeps_image_paths(any_model: Any, tmp_path: Path) -> None:
    paths = []
    for name, colour in (("red", (200, 30, 30)), ("blue", (20, 30, 220))):
        Image.new("RGB", (56, 56), colour).save(tmp_path / f"{name}.png")
        paths.append(str(tmp_path / f"{name}.png"))
    text_store = JinaLocalVectorStore(location=":memory:", collection_name="text", model=any_model)
    image_store = JinaLocalVectorStore(location=":memory:", collection_name="images", model=any_model)
    emb = JinaLocalEmbedding(model=any_model)
    nodes = [TextNode(text=t) for t in PROSE[:2]] + [
        ImageNode(image_path=p, metadata={"file": Path(p).name}) for p in paths
    ]
    index = MultiModalVectorStoreIndex(
        nodes,
        storage_context=StorageContext.from_defaults(vector_store=text_store, image_store=image_store),
        embed_model=emb,
        image_embed_model=emb,
    )
    assert image_store.collection.count() == 2 and set(image_store.collection.metadata["kinds"]) == {"image"}
    retriever = index.as_retriever(similarity_top_k=1, image_similarity_top_k=2)
    images = retriever.text_to_image_retrieve("a red square")
    assert {n.node.image_path for n in images} == set(paths) and all(isinstance(n.node, ImageNode) for n in images)
    Image.new("RGB", (56, 56), (200, 30, 30)).save(tmp_path / "query.png")
    (best, _) = retriever.image_to_image_retrieve(str(tmp_path / "query.png"))
    assert best.node.image_path == paths[0] and best.node.metadata == {"file": "red.png"}


def test_dense_only_store_uses_the_nodes_embeddings() -> None:
    store = JinaLocalVectorStore(location=":memory:", collection_name="mock", dense_dim=8)
    mock = MockEmbedding(embed_dim=8)
    index = VectorStoreIndex(
        _nodes(), storage_context=StorageContext.from_defaults(vector_store=store), embed_model=mock
    )
    assert not store.collection.has_multi and store.collection.count() == 5
    assert len(index.as_retriever(similarity_top_k=3).retrieve("cats")) == 3
    with pytest.raises(InputError, match="no embedding"):
        store.add([TextNode(text="x")])


def test_retriever_and_store_check_filters_when_built(store: Any) -> None:
    bad = MetadataFilters(filters=[MetadataFilter(key="n", value=[], operator=FilterOperator.IN)])
    with pytest.raises(FilterError, match="'n'.*non-empty list"):
        JinaLocalRetriever(store.collection, filter=bad)
    with pytest.raises(FilterError, match="'n'.*'\\$near'"):
        JinaLocalRetriever(store.collection, filter={"n": {"$near": 1}})
    ok = JinaLocalRetriever(store.collection, filter=MetadataFilters(filters=[MetadataFilter(key="lang", value="py")]))
    assert [r.node.get_content() for r in ok.retrieve("numbers")] == [CODE]


def test_embedding_pickles_and_copies_without_the_model(tiny_v4: Any, tiny_v4_dir: Path) -> None:
    emb = JinaLocalEmbedding(model=tiny_v4, dimensions=16, query_task="code.query")
    blob = pickle.dumps(emb)
    assert len(blob) < 20_000
    back = pickle.loads(blob)
    assert back._model is None and back.query_task == "code.query"
    np.testing.assert_allclose(back.get_query_embedding("add"), emb.get_query_embedding("add"), atol=1e-6)
    assert back.embedder is tiny_v4  # one copy per process
    clone = copy.deepcopy(emb)
    assert clone._model is tiny_v4
    named = JinaLocalEmbedding(model=str(tiny_v4_dir), device="cpu", dtype="float32")
    assert named.embedder is tiny_v4
    with pytest.raises(InputError, match="never runs remote code"):
        JinaLocalEmbedding(model_name=str(tiny_v4_dir), model_kwargs={"trust_remote_code": True})
    hf = JinaLocalEmbedding(
        model_name=str(tiny_v4_dir), model_kwargs={"device": "cpu"}, encode_kwargs={"batch_size": 4}
    )
    assert hf.device == "cpu" and hf.embed_batch_size == 4


def test_store_pickles_by_reopening_and_deep_copies_sharing_the_collection(tiny_v4: Any, tmp_path: Path) -> None:
    store = JinaLocalVectorStore(location=tmp_path / "index", collection_name="docs", model=tiny_v4, mode="dense")
    store.add(_nodes())
    clone = copy.deepcopy(store)
    assert clone is not store and clone.collection is store.collection and clone.mode == "dense"
    blob = pickle.dumps(store)
    assert len(blob) < 5_000  # where to reopen it, not the points or the weights
    store.collection.close()  # a folder has one writer; another process would reopen it the same way
    back = pickle.loads(blob)
    assert back.collection.count() == 5 and back.collection.model is tiny_v4 and back.mode == "dense"
    assert back.get_nodes(["node-3"])[0].ref_doc_id == "doc-1"
    assert len(back.query(VectorStoreQuery(query_str=PROSE[0], similarity_top_k=2)).nodes) == 2
    back.collection.close()
    memory = JinaLocalVectorStore(location=":memory:", collection_name="m", model=tiny_v4)
    with pytest.raises(NotPicklableError, match="exists only in this process.*folder or a Qdrant server URL"):
        pickle.dumps(memory)  # never a silent copy without its collection
    assert copy.deepcopy(memory).collection is memory.collection


def test_docs_image_store_example(any_model: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ``image_store`` example of docs/llamaindex.md runs as written (tiny model, temporary folder)."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "llamaindex.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", docs, flags=re.S) if "image_store=image_store" in b]
    monkeypatch.chdir(tmp_path)
    Path("examples/sample-docs").mkdir(parents=True)
    Image.new("RGB", (56, 56), (200, 30, 30)).save("examples/sample-docs/revenue-chart.png")
    Image.new("RGB", (64, 48), (190, 40, 30)).save("chart-rotated.png")
    chart, rotated = "examples/sample-docs/revenue-chart.png", "chart-rotated.png"
    namespace: dict[str, Any] = {
        "model": any_model,
        "embed_model": JinaLocalEmbedding(model=any_model),
        "MultiModalVectorStoreIndex": MultiModalVectorStoreIndex,
        "TextNode": TextNode,
        "ImageNode": ImageNode,
    }
    exec(compile(block, "docs/llamaindex.md", "exec"), namespace)  # noqa: S102 - our own docs
    images = namespace["retriever"].text_to_image_retrieve("a bar chart of revenue")
    assert {n.node.image_path for n in images} == {chart, rotated}
    assert all(isinstance(n.node, ImageNode) for n in images)
    (best, _) = namespace["retriever"].image_to_image_retrieve(chart)
    assert best.node.image_path == chart and best.node.metadata == {"file": "revenue-chart.png"}
    assert namespace["image_store"].collection.count() == 2
    assert namespace["image_store"].collection.metadata["kinds"] == ["image"]
    assert namespace["text_store"].collection.count() == 1
    for name in ("text_store", "image_store"):
        namespace[name].collection.close()
