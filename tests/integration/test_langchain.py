"""LangChain plugin end to end with the tiny jina-embeddings-v4 checkpoint (no fakes).

LangChain's own standard suites (``EmbeddingsUnitTests``, ``EmbeddingsIntegrationTests``,
``RetrieversIntegrationTests``) run against the real adapter, plus the contract the suites do not
cover: roles and tasks, Matryoshka dims, images, multi-vectors, lazy loading, the retriever's
documents over a ``MultiVectorCollection`` and the settings it checks when built (tasks, filters in
every form: qdrant ``Filter``, LangChain-style and Qdrant-shaped dicts, LlamaIndex ``MetadataFilters``).
"""

from __future__ import annotations

import asyncio
import base64
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langchain_core.documents import Document
from langchain_tests.integration_tests import EmbeddingsIntegrationTests, RetrieversIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests
from llama_index.core.vector_stores.types import MetadataFilter, MetadataFilters
from PIL import Image
from qdrant_client import models

import langchain_jina_local
from jina_local.errors import DimensionError, FilterError, InputError, TaskError
from jina_local.qdrant import MultiVectorCollection
from langchain_jina_local import JinaLocalEmbeddings, JinaLocalRetriever, MultiVectorEmbeddings

PROSE = [
    "Cats sleep sixteen hours a day.",
    "The quarterly revenue grew by ten percent.",
    "Paris is the capital of France.",
    "Rain is expected tomorrow afternoon.",
]
CODE = "def add(a, b):\n    return a + b"
RED = (200, 30, 30)


# The standard suites hold bare ``async def`` tests; mark the classes for pytest-asyncio's strict
# mode, and silence its note that the suites' sync tests carry the mark too.
def _async_suite(cls: type) -> type:
    cls = pytest.mark.asyncio(cls)
    return pytest.mark.filterwarnings("ignore:.*is marked with '@pytest.mark.asyncio':pytest.PytestWarning")(cls)


def _png(path: Path, colour: tuple[int, int, int] = RED) -> Path:
    Image.new("RGB", (56, 56), colour).save(path)
    return path


def _np(vectors: Any) -> np.ndarray:
    return np.asarray(vectors, dtype=np.float32)


# ---------------------------------------------------------------------- LangChain standard suites
class TestJinaLocalEmbeddingsUnit(EmbeddingsUnitTests):
    """Construction is cheap: a model name is only loaded on first use."""

    @property
    def embeddings_class(self) -> type[JinaLocalEmbeddings]:
        return JinaLocalEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model_name": "jinaai/jina-embeddings-v4", "dimensions": 128}


@_async_suite
class TestJinaLocalEmbeddingsIntegration(EmbeddingsIntegrationTests):
    """The real tiny model behind the standard embeddings checks (sync and async)."""

    @pytest.fixture(autouse=True)
    def _use_tiny(self, tiny_v4: Any) -> None:
        self._tiny = tiny_v4

    @property
    def embeddings_class(self) -> type[JinaLocalEmbeddings]:
        return JinaLocalEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": self._tiny}


@pytest.fixture(scope="module")
def image_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _png(tmp_path_factory.mktemp("images") / "red.png")


@pytest.fixture(scope="module")
def store(tiny_v4: Any, image_file: Path):
    """Four prose passages, one code snippet (auto-routed to the code adapter) and one image."""
    collection = MultiVectorCollection.open(":memory:", "lc", model=tiny_v4)
    summary = collection.add(PROSE + [CODE, image_file], payloads=[{"lang": "en"}] * 6)
    assert summary.ok
    yield collection
    collection.close()


@_async_suite
class TestJinaLocalRetrieverStandard(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _use_store(self, store: MultiVectorCollection) -> None:
        self._store = store

    @property
    def retriever_constructor(self) -> type[JinaLocalRetriever]:
        return JinaLocalRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"collection": self._store}

    @property
    def retriever_query_example(self) -> str:
        return "how long do cats sleep"


# ---------------------------------------------------------------------- embeddings contract
def test_public_names_are_pinned() -> None:
    assert langchain_jina_local.__all__ == [
        "JinaLocalEmbeddings",
        "JinaLocalRetriever",
        "JinaLocalVectorStore",
        "MultiVectorEmbeddings",
    ]
    assert issubclass(JinaLocalEmbeddings, MultiVectorEmbeddings)


def test_query_role_and_tasks(tiny_v4: Any) -> None:
    emb = JinaLocalEmbeddings(model=tiny_v4)
    text = PROSE[0]
    query, doc = _np(emb.embed_query(text)), _np(emb.embed_documents([text])[0])
    np.testing.assert_allclose(query, tiny_v4.encode_query(text, task="retrieval").dense[0], atol=1e-5)
    np.testing.assert_allclose(doc, tiny_v4.encode_document(text).dense[0], atol=1e-5)
    assert not np.allclose(query, doc, atol=1e-3)  # query prompt vs passage prompt
    code_q = JinaLocalEmbeddings(model=tiny_v4, query_task="code").embed_query(text)
    np.testing.assert_allclose(code_q, tiny_v4.encode_query(text, task="code").dense[0], atol=1e-5)
    sym = JinaLocalEmbeddings(model=tiny_v4, query_task="text-matching")  # documents follow: one adapter
    ref = tiny_v4.encode_query(text, task="text-matching").dense[0]
    np.testing.assert_allclose(sym.embed_query(text), ref, atol=1e-5)
    np.testing.assert_allclose(
        sym.embed_documents([text])[0], tiny_v4.encode_document(text, task="text-matching").dense[0], atol=1e-5
    )
    forced = JinaLocalEmbeddings(model=tiny_v4, document_task="code").embed_documents([text])[0]
    np.testing.assert_allclose(forced, tiny_v4.encode_document(text, task="code").dense[0], atol=1e-5)
    with pytest.raises(TaskError, match="valid tasks"):
        JinaLocalEmbeddings(model=tiny_v4, query_task="qa").embed_query(text)


def test_batch_equals_single_and_floats(tiny_v4: Any) -> None:
    emb = JinaLocalEmbeddings(model=tiny_v4, batch_size=2)
    batch = emb.embed_documents(PROSE + [CODE])
    assert all(type(x) is float for x in batch[0])
    singles = [emb.embed_documents([t])[0] for t in PROSE + [CODE]]
    np.testing.assert_allclose(_np(batch), _np(singles), atol=1e-5)
    assert emb.embed_documents([]) == [] and emb.embed_image([]) == [] and emb.embed_documents_multi([]) == []


def test_matryoshka_dimensions(tiny_v4: Any) -> None:
    small = min(tiny_v4.info.matryoshka_dims)
    emb = JinaLocalEmbeddings(model=tiny_v4, dimensions=small)
    q, docs = _np(emb.embed_query("cats")), _np(emb.embed_documents(PROSE))
    assert q.shape == (small,) and docs.shape == (len(PROSE), small)
    np.testing.assert_allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    with pytest.raises(DimensionError, match="valid"):
        JinaLocalEmbeddings(model=tiny_v4, dimensions=small + 1).embed_query("cats")


def test_images_from_path_str_bytes_pil_data_uri(tiny_v4: Any, image_file: Path) -> None:
    emb = JinaLocalEmbeddings(model=tiny_v4)
    raw = image_file.read_bytes()
    uri = "data:image/png;base64," + base64.b64encode(raw).decode()
    pil = Image.open(image_file)
    vectors = _np(
        emb.embed_image([str(image_file), f"file://{image_file}", image_file, raw, io.BytesIO(raw), pil, uri])
    )
    np.testing.assert_allclose(vectors, np.repeat(vectors[:1], len(vectors), axis=0), atol=1e-5)
    np.testing.assert_allclose(vectors[0], tiny_v4.encode_document(image_file).dense[0], atol=1e-5)
    assert emb.embed_images == emb.embed_image  # the langchain-community spelling
    with pytest.raises(InputError, match="not an existing file"):
        emb.embed_image([str(image_file.with_name("missing.png"))])
    with pytest.raises(InputError, match="not an image"):
        emb.embed_image(["data:text/plain;base64,aGk="])
    with pytest.raises(TypeError, match="embed_image"):
        emb.embed_documents([raw])  # type: ignore[list-item]


def test_multi_vectors(tiny_v4: Any, image_file: Path) -> None:
    emb = JinaLocalEmbeddings(model=tiny_v4, dimensions=16)  # dims apply to dense only
    docs = emb.embed_documents_multi(PROSE[:2])
    ref = tiny_v4.encode_document(PROSE[:2], output="multi").multi
    assert [len(d) for d in docs] == [len(r) for r in ref] and len(docs[0][0]) == 128
    np.testing.assert_allclose(_np(docs[1]), ref[1], atol=1e-5)
    q = emb.embed_query_multi("cats")
    np.testing.assert_allclose(
        _np(q), tiny_v4.encode_query("cats", task="retrieval", output="multi").multi[0], atol=1e-5
    )
    assert len(emb.embed_image_multi([image_file])[0][0]) == 128
    assert len(asyncio.run(emb.aembed_documents_multi(PROSE[:1]))) == 1
    assert len(asyncio.run(emb.aembed_query_multi("cats"))[0]) == 128


def test_async_matches_sync(tiny_v4: Any, image_file: Path) -> None:
    emb = JinaLocalEmbeddings(model=tiny_v4)

    async def run() -> tuple[Any, ...]:
        return await asyncio.gather(
            emb.aembed_query("cats"), emb.aembed_documents(PROSE[:2]), emb.aembed_image([image_file])
        )

    q, d, i = asyncio.run(run())
    np.testing.assert_allclose(q, emb.embed_query("cats"), atol=1e-5)
    np.testing.assert_allclose(d, emb.embed_documents(PROSE[:2]), atol=1e-5)
    np.testing.assert_allclose(i, emb.embed_image([image_file]), atol=1e-5)


def test_lazy_loading_from_a_folder(tiny_v4: Any, tiny_v4_dir: Path) -> None:
    emb = JinaLocalEmbeddings(model_name=str(tiny_v4_dir), device="cpu", dtype="float32", local_files_only=True)
    assert emb.model is None  # nothing loaded yet
    np.testing.assert_allclose(
        emb.embed_query("cats"), JinaLocalEmbeddings(model=tiny_v4).embed_query("cats"), atol=1e-5
    )
    assert emb.model is not None and emb.embedder is emb.model


def test_construction_errors(tiny_v4: Any) -> None:
    with pytest.raises(ValueError, match="needs a model"):
        JinaLocalEmbeddings()
    with pytest.raises(ValueError, match="not both"):
        JinaLocalEmbeddings(model=tiny_v4, model_name="jinaai/jina-clip-v2")
    with pytest.raises(ValueError, match="Extra inputs"):
        JinaLocalEmbeddings(model=tiny_v4, dimension=128)  # typo: extra="forbid"
    assert JinaLocalEmbeddings(model=tiny_v4).model_name == tiny_v4.info.name
    assert "model=" not in repr(JinaLocalEmbeddings(model=tiny_v4))


# ---------------------------------------------------------------------- retriever
def test_retriever_documents(store: MultiVectorCollection, image_file: Path) -> None:
    retriever = JinaLocalRetriever(collection=store, k=6)
    docs = retriever.invoke("how long do cats sleep")
    assert len(docs) == 6 and all(isinstance(d, Document) for d in docs)
    scores = [d.metadata["score"] for d in docs]
    assert scores == sorted(scores, reverse=True)
    by_kind = {d.metadata["kind"]: d for d in docs}
    assert set(by_kind) == {"text", "code", "image"}
    assert by_kind["code"].page_content == CODE and by_kind["code"].metadata["task"] == "code"
    text_docs = [d for d in docs if d.metadata["kind"] == "text"]
    assert {d.page_content for d in text_docs} == set(PROSE)
    for d in docs:
        assert {"source", "task", "id", "score", "raw_score", "lang"} <= set(d.metadata)
        assert "text" not in d.metadata and d.id == d.metadata["id"]
    image = by_kind["image"]
    assert image.page_content == str(image_file) == image.metadata["image"] == image.metadata["source"]
    assert image.metadata["task"] == "retrieval"


def test_retriever_overrides_and_filters(store: MultiVectorCollection) -> None:
    retriever = JinaLocalRetriever(collection=store, k=2, mode="dense")
    assert len(retriever.invoke("cats", k=4)) == 4
    only_code = models.Filter(must=[models.FieldCondition(key="task", match=models.MatchValue(value="code"))])
    docs = retriever.invoke("add two numbers", filter=only_code)
    assert [d.page_content for d in docs] == [CODE]
    texts = JinaLocalRetriever(collection=store, k=10, tasks=["retrieval"], mode="multi").invoke("cats")
    assert {d.metadata["task"] for d in texts} == {"retrieval"} and len(texts) == 5
    with pytest.raises(TypeError, match="unexpected argument"):
        retriever.invoke("cats", limit=3)
    with pytest.raises(ValueError):
        JinaLocalRetriever(collection=store, k=0)


def test_retriever_by_image(store: MultiVectorCollection, image_file: Path, tmp_path: Path) -> None:
    retriever = JinaLocalRetriever(collection=store, k=1, tasks=["retrieval"], mode="multi")
    same = _png(tmp_path / "copy.png")
    for query in (str(same), same.read_bytes(), Image.open(same)):
        (doc,) = retriever.search_by_image(query)
        assert doc.metadata["kind"] == "image" and doc.page_content == str(image_file)


def test_retriever_checks_tasks_and_filters_when_built_and_takes_every_filter_form(
    store: MultiVectorCollection, tiny_clip: Any
) -> None:
    with pytest.raises(TaskError, match=r"'qa' is not a task of this collection's model; valid: 'retrieval'"):
        JinaLocalRetriever(collection=store, tasks=["qa"])  # at construction, not at the first invoke
    clip = MultiVectorCollection.open(":memory:", "clip", model=tiny_clip)
    with pytest.raises(TaskError, match="'code' is not a task of this collection's model"):
        JinaLocalRetriever(collection=clip, tasks=["code"])  # jina-clip-v2 has no code adapter
    clip.close()
    for bad, needle in (
        ({"lang": {"$near": "en"}}, r"filter field 'lang': operator\(s\) \['\$near'\]"),
        (MetadataFilters(filters=[MetadataFilter(key="n", value=[], operator="in")]), r"'n': \$in takes a non-empty"),
    ):
        with pytest.raises(FilterError, match=needle):
            JinaLocalRetriever(collection=store, filter=bad)
    # LangChain-style dicts: equality on your metadata and on jina-local's fields, operators, $or
    code_only = JinaLocalRetriever(collection=store, k=6, filter={"kind": "code", "lang": "en"})
    assert [d.page_content for d in code_only.invoke("x")] == [CODE]
    english = JinaLocalRetriever(collection=store, k=6, filter={"lang": "en"})
    assert len(english.invoke("x")) == 6
    assert english.invoke("x", filter={"lang": {"$ne": "en"}}) == []  # a per-call filter replaces the built one
    assert [d.page_content for d in english.invoke("x", filter={"$or": [{"kind": "code"}, {"n": 3}]})] == [CODE]
    shaped = english.invoke("x", filter={"must": [{"key": "kind", "match": {"value": "image"}}]})
    assert [d.metadata["kind"] for d in shaped] == ["image"]
    # LlamaIndex MetadataFilters, at construction and per call
    code_filter = MetadataFilters(filters=[MetadataFilter(key="kind", value="code")])
    assert [d.page_content for d in JinaLocalRetriever(collection=store, filter=code_filter).invoke("x")] == [CODE]
    assert [d.page_content for d in english.invoke("x", filter=code_filter)] == [CODE]
    with pytest.raises(FilterError, match=r"filter field 'lang': operator\(s\) \['\$near'\]"):
        english.invoke("x", filter={"lang": {"$near": "en"}})  # per call, before any encoding
    by_jina_name = JinaLocalRetriever(collection=store, k=6, tasks=["code.query"]).invoke("x")
    assert [d.metadata["task"] for d in by_jina_name] == ["code"]


def test_max_pixels_and_max_length_reach_the_model(tiny_v4: Any) -> None:
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (168, 168, 3), dtype=np.uint8))
    default = JinaLocalEmbeddings(model=tiny_v4)
    small = JinaLocalEmbeddings(model=tiny_v4, max_pixels=3136)  # 56 x 56
    got = _np(small.embed_image([noise]))
    np.testing.assert_allclose(
        got, tiny_v4.encode_document([noise], task="retrieval", max_pixels=3136).dense, atol=1e-5
    )
    assert not np.allclose(got, _np(default.embed_image([noise])), atol=1e-3)  # the option did something
    multi = small.embed_image_multi([noise])[0]
    assert len(multi) == len(
        tiny_v4.encode_document([noise], task="retrieval", max_pixels=3136, output="multi").multi[0]
    )
    short = JinaLocalEmbeddings(model=tiny_v4, max_length=4)
    np.testing.assert_allclose(
        short.embed_query(PROSE[0]), tiny_v4.encode_query(PROSE[0], task="retrieval", max_length=4).dense[0], atol=1e-5
    )


def test_wrong_arguments_are_typed_and_still_type_errors(tiny_v4, tmp_path):
    """An unexpected keyword is jina_local.ArgumentError: a TypeError, as Python's own, and a JinaLocalError."""
    from jina_local import ArgumentError, JinaLocalError
    from langchain_jina_local import JinaLocalVectorStore

    store = JinaLocalVectorStore.from_texts(["a"], JinaLocalEmbeddings(model=tiny_v4), location=":memory:")
    with pytest.raises(ArgumentError, match="unexpected") as caught:
        store.delete(["x"], bogus=1)
    assert isinstance(caught.value, TypeError) and isinstance(caught.value, JinaLocalError)
    with pytest.raises(ArgumentError, match="Embeddings"):
        JinaLocalVectorStore(location=str(tmp_path / "i"), collection_name="c", embedding=object())
