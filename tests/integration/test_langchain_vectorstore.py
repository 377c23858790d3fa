"""``JinaLocalVectorStore`` against LangChain's unmodified standard suite, and its MaxSim path.

``VectorStoreIntegrationTests`` brings its own 6-d fake embeddings, so it runs the dense-only path
(any LangChain ``Embeddings``), on ``":memory:"`` and on an embedded-engine folder. The jina-local
path (multi-vectors, per-task routing, two-stage MaxSim) is checked against the collection itself
with the tiny v4 and jina-clip-v2 checkpoints.
"""

from __future__ import annotations

import copy
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.vectorstores import InMemoryVectorStore
from langchain_tests.integration_tests import VectorStoreIntegrationTests
from llama_index.core.vector_stores.types import FilterOperator, MetadataFilter, MetadataFilters
from PIL import Image
from qdrant_client import QdrantClient, models

from jina_local import DimensionError, InputError, NotPicklableError, OptionError, TaskError
from jina_local.errors import CollectionConfigError
from jina_local.qdrant import FilterError, MultiVectorCollection
from langchain_jina_local import JinaLocalEmbeddings, JinaLocalVectorStore

PROSE = [
    "Cats sleep sixteen hours a day.",
    "The quarterly revenue grew by ten percent.",
    "Paris is the capital of France.",
    "Rain is expected tomorrow afternoon.",
]
CODE = ["def add(a, b):\n    return a + b", "for i in range(10):\n    print(i * i)"]


def _async_suite(cls: type) -> type:
    cls = pytest.mark.asyncio(cls)
    return pytest.mark.filterwarnings("ignore:.*is marked with '@pytest.mark.asyncio':pytest.PytestWarning")(cls)


# ---------------------------------------------------------------------- LangChain's standard suite
@_async_suite
class TestStandardInMemory(VectorStoreIntegrationTests):
    """Dense-only path on qdrant-client's local mode."""

    @pytest.fixture()
    def vectorstore(self) -> Any:
        store = JinaLocalVectorStore(
            location=QdrantClient(":memory:"), collection_name="standard", embedding=self.get_embeddings()
        )
        yield store
        store.close()


@_async_suite
class TestStandardEmbeddedFolder(VectorStoreIntegrationTests):
    """Dense-only path on the embedded engine (qdrant-edge-py) in a folder."""

    @pytest.fixture()
    def vectorstore(self, tmp_path: Path) -> Any:
        store = JinaLocalVectorStore(
            location=tmp_path / "index", collection_name="standard", embedding=self.get_embeddings()
        )
        yield store
        store.close()


# ---------------------------------------------------------------------- the jina-local path
def _png(path: Path, colour: tuple[int, int, int]) -> Path:
    Image.new("RGB", (56, 56), colour).save(path)
    return path


@pytest.fixture()
def jina_store(any_model: Any) -> Any:
    store = JinaLocalVectorStore.from_texts(
        PROSE + CODE,
        JinaLocalEmbeddings(model=any_model),
        metadatas=[{"lang": "en", "n": i} for i in range(4)] + [{"lang": "py", "n": 4 + i} for i in range(2)],
        ids=[f"doc/{i}" for i in range(6)],
        collection_name="jina",
    )
    yield store
    store.close()


def test_jina_path_stores_what_the_collection_would_and_searches_the_same(jina_store: Any, any_model: Any) -> None:
    coll = jina_store.collection
    assert jina_store.uses_jina_local and coll.count() == 6 and coll.has_multi == any_model.info.has_multi
    # per-item routing inside our own store: code documents on the code adapter (v4), queries follow per task
    assert set(coll.tasks) == ({"code", "retrieval"} if any_model.info.has_multi else {"retrieval"})
    ref = MultiVectorCollection.open(":memory:", "ref", model=any_model, multi=any_model.info.has_multi)
    ref.add(PROSE + CODE)
    query = "how long do cats sleep"
    want = [h.payload["text"] for h in ref.search(query, limit=6)]
    got = jina_store.similarity_search_with_score(query, k=6)
    assert [d.page_content for d, _ in got] == want
    assert [s for _, s in got] == pytest.approx([h.score for h in ref.search(query, limit=6)], abs=1e-5)
    doc = next(d for d, _ in got if d.page_content == CODE[0])
    assert doc.id == "doc/4" and doc.metadata == {"lang": "py", "n": 4}  # metadata exactly as given
    ref.close()


def test_ids_are_any_strings_and_come_back_as_given(jina_store: Any) -> None:
    assert [d.id for d in jina_store.get_by_ids(["doc/2", "missing", "doc/0"])] == ["doc/2", "doc/0"]
    jina_store.delete(["doc/0", "doc/5"])
    assert jina_store.collection.count() == 4 and jina_store.get_by_ids(["doc/0"]) == []
    ids = jina_store.add_texts(["Dogs bark at the mailman."], [{"lang": "en"}])
    assert ids == jina_store.add_texts(["Dogs bark at the mailman."], [{"lang": "en"}])  # derived ids: idempotent
    assert jina_store.collection.count() == 5
    jina_store.delete(filter={"lang": "py"})
    assert jina_store.collection.count() == 4
    jina_store.delete(filter=MetadataFilters(filters=[MetadataFilter(key="n", value=1)]))  # LlamaIndex's too
    assert jina_store.collection.count() == 3 and jina_store.get_by_ids(["doc/1"]) == []
    jina_store.delete()
    assert jina_store.collection.count() == 0


def test_filters_per_call_in_every_form(jina_store: Any) -> None:
    def langs(flt: Any) -> set[str]:
        return {d.metadata["lang"] for d in jina_store.similarity_search("cats", k=6, filter=flt)}

    assert langs({"lang": "py"}) == {"py"}
    assert langs({"n": {"$gte": 4}}) == {"py"}
    assert langs({"$or": [{"n": 0}, {"n": 5}]}) == {"en", "py"}
    assert langs({"must": [{"key": "metadata.lang", "match": {"value": "en"}}]}) == {"en"}
    assert langs(models.Filter(must=[models.FieldCondition(key="lang", match=models.MatchValue(value="py"))])) == {"py"}
    assert len(jina_store.similarity_search("cats", k=6, filter={"lang": {"$nin": ["py"]}})) == 4
    with pytest.raises(FilterError, match="'n'.*'\\$around'"):
        jina_store.similarity_search("cats", filter={"n": {"$around": 3}})
    with pytest.raises(
        FilterError, match="must be a qdrant_client.models.Filter, a dict or LlamaIndex MetadataFilters"
    ):
        jina_store.similarity_search("cats", filter="lang=py")
    retriever = jina_store.as_retriever(search_kwargs={"k": 2, "filter": {"lang": "py"}})
    assert {d.metadata["lang"] for d in retriever.invoke("add numbers")} == {"py"}
    # LlamaIndex MetadataFilters: read by the core (the collection imports no framework)
    py = MetadataFilters(filters=[MetadataFilter(key="n", value=4, operator=FilterOperator.GTE)])
    assert langs(py) == {"py"}
    assert {h.metadata["lang"] for h in jina_store.collection.search("cats", limit=6, filter=py)} == {"py"}
    assert {d.metadata["lang"] for d in jina_store.as_retriever(search_kwargs={"filter": py}).invoke("x")} == {"py"}
    empty_in = MetadataFilters(filters=[MetadataFilter(key="n", value=[], operator=FilterOperator.IN)])
    with pytest.raises(FilterError, match="'n': \\$in takes a non-empty list"):
        jina_store.similarity_search("cats", filter=empty_in)


def test_mmr_on_the_multi_vector_path(any_model: Any) -> None:
    emb = JinaLocalEmbeddings(model=any_model)
    texts = [PROSE[0], PROSE[0] + " ", PROSE[0] + "  ", PROSE[2], PROSE[3]]  # three near-copies
    store = JinaLocalVectorStore.from_texts(texts, emb, ids=[str(i) for i in range(5)])
    by_relevance = [d.id for d in store.similarity_search(PROSE[0], k=3)]
    assert [
        d.id for d in store.max_marginal_relevance_search(PROSE[0], k=3, fetch_k=5, lambda_mult=1.0)
    ] == by_relevance
    diverse = [d.id for d in store.max_marginal_relevance_search(PROSE[0], k=2, fetch_k=5, lambda_mult=0.0)]
    # lambda 0: after the most relevant, the document least like it (cosine of the stored dense vectors)
    points = {
        p["stored"]["item_id"]: p["vector"]["dense"]
        for p in store.collection.get([p["id"] for p in store.collection.scroll()], with_vectors=True)
    }
    first = np.asarray(points[diverse[0]])
    sims = {
        k: float(np.dot(first, v) / np.linalg.norm(first) / np.linalg.norm(v))
        for k, v in points.items()
        if k != diverse[0]
    }
    assert diverse[0] == by_relevance[0] and diverse[1] == min(sims, key=sims.get)
    assert sims[diverse[1]] < max(sims.values())  # the near-copies of the first were passed over
    mmr = store.as_retriever(search_type="mmr", search_kwargs={"k": 2, "fetch_k": 5}).invoke(PROSE[0])
    assert len(mmr) == 2
    store.close()


def test_images_on_the_jina_path(any_model: Any, tmp_path: Path) -> None:
    store = JinaLocalVectorStore(
        location=":memory:", collection_name="img", embedding=JinaLocalEmbeddings(model=any_model)
    )
    red, blue = _png(tmp_path / "red.png", (200, 30, 30)), _png(tmp_path / "blue.png", (20, 30, 220))
    ids = store.add_images([str(red), str(blue)], [{"colour": "red"}, {"colour": "blue"}], ids=["r", "b"])
    store.add_texts(PROSE[:2])
    (hit,) = store.similarity_search_by_image(
        str(_png(tmp_path / "red2.png", (200, 30, 30))), k=1, filter={"kind": "image"}
    )
    assert ids == ["r", "b"] and hit.id == "r" and hit.page_content == str(red) and hit.metadata == {"colour": "red"}
    store.close()


async def test_async_and_from_documents(any_model: Any, tmp_path: Path) -> None:
    docs = [Document(page_content=t, metadata={"n": i}, id=f"d{i}") for i, t in enumerate(PROSE)]
    store = await JinaLocalVectorStore.afrom_documents(
        docs, JinaLocalEmbeddings(model=any_model), location=tmp_path / "index", collection_name="docs"
    )
    found = await store.asimilarity_search(PROSE[1], k=1)
    assert found[0].id == "d1" and found[0].metadata == {"n": 1}
    assert [d.id for d in await store.aget_by_ids(["d3"])] == ["d3"]
    await store.adelete(["d3"])
    store.close()
    again = JinaLocalVectorStore(
        location=tmp_path / "index", collection_name="docs", embedding=JinaLocalEmbeddings(model=any_model)
    )  # persisted in the folder
    assert again.collection.count() == 3
    again.close()


def test_dense_only_path_with_other_embeddings(tmp_path: Path) -> None:
    fake = DeterministicFakeEmbedding(size=8)
    store = JinaLocalVectorStore.from_texts(
        PROSE, fake, metadatas=[{"n": i} for i in range(4)], location=tmp_path, collection_name="fake"
    )
    assert not store.uses_jina_local and not store.collection.has_multi and store.collection.dense_dim == 8
    (doc,) = store.similarity_search(PROSE[2], k=1)
    assert doc.page_content == PROSE[2]
    (doc,) = store.similarity_search_by_vector(fake.embed_query(PROSE[3]), k=1)
    assert doc.metadata == {"n": 3}
    scored = store.similarity_search_with_relevance_scores(PROSE[3], k=1)
    assert scored[0][1] == pytest.approx(1.0, abs=1e-5)
    assert len(store.max_marginal_relevance_search(PROSE[0], k=2, fetch_k=4)) == 2
    with pytest.raises(InputError, match="JinaLocalEmbeddings"):
        store.similarity_search("x", mode="multi")
    store.close()


# ---------------------------------------------------------------------- one adapter space per plain store
def test_in_memory_store_with_prose_and_code_shares_one_space(tiny_v4: Any) -> None:
    texts = PROSE[:2] + CODE
    emb = JinaLocalEmbeddings(model=tiny_v4)
    store = InMemoryVectorStore.from_texts(texts, emb, ids=[str(i) for i in range(len(texts))])
    stored = np.stack([store.store[str(i)]["vector"] for i in range(len(texts))])
    # every document, code included, is on the queries' adapter (retrieval), like the query itself
    np.testing.assert_allclose(stored, tiny_v4.encode_document(texts, task="retrieval").dense, atol=1e-5)
    np.testing.assert_allclose(
        emb.embed_query("add"), tiny_v4.encode_query("add", task="retrieval").dense[0], atol=1e-5
    )
    assert not np.allclose(stored[2:], tiny_v4.encode_document(CODE).dense, atol=1e-3)  # auto would use 'code'
    code_emb = JinaLocalEmbeddings(model=tiny_v4, query_task="code")  # a code index: both sides on 'code'
    np.testing.assert_allclose(
        code_emb.embed_documents(PROSE[:1]), tiny_v4.encode_document(PROSE[:1], task="code").dense, atol=1e-5
    )
    routed = JinaLocalEmbeddings(model=tiny_v4, document_task="auto")  # opt-in per-item routing
    np.testing.assert_allclose(routed.embed_documents(texts), tiny_v4.encode_document(texts).dense, atol=1e-5)


# ---------------------------------------------------------------------- conventions
def test_conventions_names_kwargs_and_early_errors(tiny_v4: Any, tiny_v4_dir: Path) -> None:
    name = str(tiny_v4_dir)
    assert JinaLocalEmbeddings(model=name).model_name == name  # a string model is the model name
    jina_names = JinaLocalEmbeddings(model=tiny_v4, query_task="retrieval.query", document_task="retrieval.passage")
    default = JinaLocalEmbeddings(model=tiny_v4)
    np.testing.assert_allclose(jina_names.embed_query("cats"), default.embed_query("cats"), atol=1e-6)
    np.testing.assert_allclose(jina_names.embed_documents(CODE), default.embed_documents(CODE), atol=1e-6)
    code_q = JinaLocalEmbeddings(model=tiny_v4, query_task="code.query").embed_query("add")
    np.testing.assert_allclose(code_q, tiny_v4.encode_query("add", task="code").dense[0], atol=1e-6)
    with pytest.raises(TaskError, match="valid tasks"):
        JinaLocalEmbeddings(model=tiny_v4, query_task="qa")  # at construction: the model is loaded
    with pytest.raises(TaskError, match="not a Jina task name"):
        JinaLocalEmbeddings(model_name=name, query_task="retrieval.questions")
    with pytest.raises(DimensionError, match="valid"):
        JinaLocalEmbeddings(model=tiny_v4, dimensions=7)
    hf = JinaLocalEmbeddings(
        model_name=name,
        model_kwargs={"device": "cpu", "torch_dtype": "float32"},
        encode_kwargs={"batch_size": 3, "normalize_embeddings": True},
    )
    assert (hf.device, hf.dtype, hf.batch_size) == ("cpu", "float32", 3)
    for kwargs, needle in (
        ({"model_kwargs": {"trust_remote_code": True}}, "never runs remote code"),
        ({"encode_kwargs": {"normalize_embeddings": False}}, "always L2-normalised"),
        ({"encode_kwargs": {"precision": "int8"}}, r"encode_kwargs\['precision'\]"),
        ({"model_kwargs": {"attn_implementation": "sdpa"}}, "model_kwargs\\['attn_implementation'\\]"),
    ):
        with pytest.raises(InputError, match=needle):
            JinaLocalEmbeddings(model_name=name, **kwargs)
    short = JinaLocalEmbeddings(model=tiny_v4, max_length=4)
    assert not np.allclose(short.embed_documents([PROSE[0]]), default.embed_documents([PROSE[0]]), atol=1e-4)
    np.testing.assert_allclose(
        short.embed_documents([PROSE[0]]),
        tiny_v4.encode_document([PROSE[0]], task="retrieval", max_length=4).dense,
        atol=1e-6,
    )


def test_pickle_deepcopy_and_one_shared_model(tiny_v4: Any, tiny_v4_dir: Path) -> None:
    emb = JinaLocalEmbeddings(model=tiny_v4, dimensions=16)
    blob = pickle.dumps(emb)
    assert len(blob) < 20_000  # no weights inside
    back = pickle.loads(blob)
    assert back.model is None and back.dimensions == 16
    np.testing.assert_allclose(back.embed_query("cats"), emb.embed_query("cats"), atol=1e-6)
    assert back.embedder is tiny_v4  # reloaded by name: the copy already in this process
    clone = copy.deepcopy(emb)
    assert clone.model is tiny_v4 and clone is not emb
    a = JinaLocalEmbeddings(model_name=str(tiny_v4_dir), device="cpu", dtype="float32")
    b = JinaLocalEmbeddings(model_name=str(tiny_v4_dir), device="cpu", dtype="float32")
    assert a.embedder is b.embedder is tiny_v4


def test_store_construction_errors(tiny_v4: Any) -> None:
    with pytest.raises(OptionError, match="needs collection"):  # a jina_local error (and a ValueError)
        JinaLocalVectorStore(location=":memory:")
    bare = MultiVectorCollection.open(":memory:", "bare", dense_dim=64)
    with pytest.raises(OptionError, match="without a model"):
        JinaLocalVectorStore(collection=bare)
    with pytest.raises(CollectionConfigError, match="without a model"):
        JinaLocalVectorStore(collection=bare, embedding=JinaLocalEmbeddings(model=tiny_v4))
    with pytest.raises(TypeError, match="unexpected argument"):
        JinaLocalVectorStore(collection=bare, embedding=DeterministicFakeEmbedding(size=64)).similarity_search(
            "x", lim=2
        )
    bare.close()


def test_late_chunking_is_passed_through_only_when_set(tiny_v4: Any) -> None:
    import inspect

    plain = JinaLocalEmbeddings(model=tiny_v4)
    assert "late_chunking" not in plain.encode_options()  # unset: the core's default, whatever it is
    chunked = JinaLocalEmbeddings(model=tiny_v4, late_chunking=True)
    if "late_chunking" in inspect.signature(tiny_v4.encode).parameters:
        np.testing.assert_allclose(
            chunked.embed_documents(PROSE[:2]),
            tiny_v4.encode_document(PROSE[:2], task="retrieval", late_chunking=True).dense,
            atol=1e-5,
        )
    else:
        with pytest.raises(InputError, match="late_chunking=True needs a jina-local whose encode"):
            chunked.embed_documents(PROSE[:2])


def test_store_pickles_by_reopening_and_deep_copies_sharing_the_collection(tiny_v4: Any, tmp_path: Path) -> None:
    emb = JinaLocalEmbeddings(model=tiny_v4, dimensions=32)
    store = JinaLocalVectorStore.from_texts(
        PROSE, emb, ids=["a", "b", "c", "d"], location=tmp_path, collection_name="p"
    )
    want = [(d.id, round(s, 5)) for d, s in store.similarity_search_with_score(PROSE[1], k=2)]
    clone = copy.deepcopy(store)
    assert clone.collection is store.collection and clone.embeddings.embedder is tiny_v4
    blob = pickle.dumps(store)
    assert len(blob) < 20_000  # where to reopen it and the embeddings' settings; no points, no weights
    store.close()  # a folder has one writer; another process would reopen it the same way
    back = pickle.loads(blob)
    assert back.collection.model is tiny_v4 and back.embeddings.dimensions == 32 and back.collection.dense_dim == 32
    assert [(d.id, round(s, 5)) for d, s in back.similarity_search_with_score(PROSE[1], k=2)] == want
    back.add_texts(["Dogs bark at the mailman."], ids=["e"])
    assert back.collection.count() == 5
    back.close()
    fake = JinaLocalVectorStore.from_texts(PROSE, DeterministicFakeEmbedding(size=8), location=tmp_path / "fake")
    blob = pickle.dumps(fake)
    fake.close()
    assert pickle.loads(blob).similarity_search(PROSE[2], k=1)[0].page_content == PROSE[2]  # dense-only path too
    memory = JinaLocalVectorStore.from_texts(PROSE[:1], emb)
    with pytest.raises(NotPicklableError, match="exists only in this process.*folder or a Qdrant server URL"):
        pickle.dumps(memory)
    assert copy.deepcopy(memory).similarity_search(PROSE[0], k=1)[0].page_content == PROSE[0]
