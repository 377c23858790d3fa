"""LlamaIndex plugin end to end with the tiny jina-embeddings-v4 checkpoint (no fakes).

LlamaIndex has no standard suite, so this is our own contract: the five abstract methods and the
batch hooks exist, batch == single, query != document under retrieval, path == BytesIO == PIL for
images, empty in -> empty out, Matryoshka dims, and the retriever's nodes over a
``MultiVectorCollection``.
"""

from __future__ import annotations

import asyncio
import base64
import io
from pathlib import Path
from typing import Any

import llama_index.embeddings.jina_local as emb_pkg
import llama_index.retrievers.jina_local as ret_pkg
import numpy as np
import pytest
from llama_index.core.embeddings import MultiModalEmbedding
from llama_index.core.schema import ImageNode, MetadataMode, NodeWithScore, QueryBundle, TextNode
from llama_index.embeddings.jina_local import JinaLocalEmbedding
from llama_index.retrievers.jina_local import JinaLocalRetriever
from PIL import Image
from qdrant_client import models

from jina_local.errors import DimensionError, InputError, OptionError
from jina_local.qdrant import MultiVectorCollection

PROSE = [
    "Cats sleep sixteen hours a day.",
    "The quarterly revenue grew by ten percent.",
    "Paris is the capital of France.",
    "Rain is expected tomorrow afternoon.",
]
CODE = "def add(a, b):\n    return a + b"


def _np(vectors: Any) -> np.ndarray:
    return np.asarray(vectors, dtype=np.float32)


@pytest.fixture(scope="module")
def image_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("li-images") / "red.png"
    Image.new("RGB", (56, 56), (200, 30, 30)).save(path)
    return path


@pytest.fixture(scope="module")
def embed(tiny_v4: Any) -> JinaLocalEmbedding:
    return JinaLocalEmbedding(model=tiny_v4, embed_batch_size=2)


# ---------------------------------------------------------------------- embeddings contract
def test_public_names_and_namespace_packages() -> None:
    import llama_index.embeddings
    import llama_index.retrievers

    assert emb_pkg.__all__ == ["JinaLocalEmbedding"] and ret_pkg.__all__ == ["JinaLocalRetriever"]
    assert issubclass(JinaLocalEmbedding, MultiModalEmbedding)
    assert JinaLocalEmbedding.class_name() == "JinaLocalEmbedding"
    # implicit namespace packages: we must not own llama_index.embeddings / .retrievers
    assert getattr(llama_index.embeddings, "__file__", None) is None
    assert getattr(llama_index.retrievers, "__file__", None) is None
    hooks = [
        "_get_query_embedding",
        "_aget_query_embedding",
        "_get_text_embedding",
        "_aget_text_embedding",
        "_get_text_embeddings",
        "_aget_text_embeddings",
        "_get_image_embedding",
        "_aget_image_embedding",
        "_get_image_embeddings",
        "_aget_image_embeddings",
    ]
    for name in hooks:  # batching is never lost to the base class's one-by-one loops
        assert name in JinaLocalEmbedding.__dict__, name
    assert not JinaLocalEmbedding.__abstractmethods__


def test_batch_equals_single(embed: JinaLocalEmbedding, tiny_v4: Any) -> None:
    texts = PROSE + [CODE]
    batch = embed.get_text_embedding_batch(texts)  # 3 calls of the batch hook (embed_batch_size=2)
    singles = [embed.get_text_embedding(t) for t in texts]
    np.testing.assert_allclose(_np(batch), _np(singles), atol=1e-5)
    # documents take the queries' adapter by default (one space in any store), code included
    np.testing.assert_allclose(_np(batch), tiny_v4.encode_document(texts, task="retrieval").dense, atol=1e-5)
    assert all(type(x) is float for x in batch[0])


def test_batch_hook_gets_whole_batches(
    embed: JinaLocalEmbedding, tiny_v4: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = tiny_v4.encode

    def spy(items: Any, **kwargs: Any) -> Any:
        calls.append(len(items))
        return real(items, **kwargs)

    monkeypatch.setattr(tiny_v4, "encode", spy)
    embed.get_text_embedding_batch(PROSE + [CODE])
    asyncio.run(embed.aget_text_embedding_batch(PROSE))
    assert calls == [2, 2, 1, 2, 2]


def test_query_differs_from_document_under_retrieval(embed: JinaLocalEmbedding, tiny_v4: Any) -> None:
    text = PROSE[0]
    query, doc = _np(embed.get_query_embedding(text)), _np(embed.get_text_embedding(text))
    assert not np.allclose(query, doc, atol=1e-3)
    np.testing.assert_allclose(query, tiny_v4.encode_query(text, task="retrieval").dense[0], atol=1e-5)
    code = JinaLocalEmbedding(model=tiny_v4, query_task="code")
    np.testing.assert_allclose(
        code.get_query_embedding(text), tiny_v4.encode_query(text, task="code").dense[0], atol=1e-5
    )
    sym = JinaLocalEmbedding(model=tiny_v4, query_task="text-matching")  # documents follow
    np.testing.assert_allclose(
        sym.get_text_embedding(text), tiny_v4.encode_document(text, task="text-matching").dense[0], atol=1e-5
    )
    agg = embed.get_agg_embedding_from_queries([text])
    np.testing.assert_allclose(agg, query, atol=1e-5)


def test_images_path_bytesio_pil(embed: JinaLocalEmbedding, image_file: Path, tiny_v4: Any) -> None:
    raw = image_file.read_bytes()
    node = ImageNode(image=base64.b64encode(raw).decode())
    refs: list[Any] = [str(image_file), io.BytesIO(raw), node.resolve_image(), Image.open(image_file), image_file]
    vectors = _np(embed.get_image_embedding_batch(refs))
    np.testing.assert_allclose(vectors, np.repeat(vectors[:1], len(refs), axis=0), atol=1e-5)
    np.testing.assert_allclose(vectors[0], tiny_v4.encode_document(Image.open(image_file)).dense[0], atol=1e-5)
    np.testing.assert_allclose(embed.get_image_embedding(str(image_file)), vectors[0], atol=1e-5)
    np.testing.assert_allclose(asyncio.run(embed.aget_image_embedding(str(image_file))), vectors[0], atol=1e-5)
    assert len(asyncio.run(embed.aget_image_embedding_batch([str(image_file)] * 3))) == 3
    with pytest.raises(InputError, match="not an existing file"):
        embed.get_image_embedding(str(image_file.with_name("missing.png")))


def test_empty_in_empty_out(embed: JinaLocalEmbedding) -> None:
    assert embed.get_text_embedding_batch([]) == []
    assert embed.get_image_embedding_batch([]) == []
    assert embed._get_text_embeddings([]) == [] and embed._get_image_embeddings([]) == []


def test_dimensions_honoured(tiny_v4: Any, image_file: Path) -> None:
    small = min(tiny_v4.info.matryoshka_dims)
    emb = JinaLocalEmbedding(model=tiny_v4, dimensions=small)
    vectors = [
        emb.get_query_embedding("cats"),
        emb.get_text_embedding("cats"),
        emb.get_image_embedding(str(image_file)),
    ]
    assert [len(v) for v in vectors] == [small] * 3
    np.testing.assert_allclose(np.linalg.norm(_np(vectors), axis=1), 1.0, atol=1e-5)
    with pytest.raises(DimensionError, match="valid"):
        JinaLocalEmbedding(model=tiny_v4, dimensions=small + 1).get_query_embedding("cats")


def test_async_text_and_query(embed: JinaLocalEmbedding) -> None:
    async def run() -> tuple[Any, ...]:
        return await asyncio.gather(embed.aget_query_embedding("cats"), embed.aget_text_embedding("cats"))

    q, t = asyncio.run(run())
    np.testing.assert_allclose(q, embed.get_query_embedding("cats"), atol=1e-5)
    np.testing.assert_allclose(t, embed.get_text_embedding("cats"), atol=1e-5)


def test_construction_and_serialisation(tiny_v4: Any) -> None:
    with pytest.raises(OptionError, match="needs a model"):
        JinaLocalEmbedding()
    with pytest.raises(ValueError, match="not both"):
        JinaLocalEmbedding(model=tiny_v4, model_name="jinaai/jina-clip-v2")
    with pytest.raises(TypeError, match="jina_local.Embedder"):
        JinaLocalEmbedding(model=123)  # type: ignore[arg-type]
    named = JinaLocalEmbedding(model="jinaai/jina-embeddings-v4")  # a string is the model name, loaded lazily
    assert named.model_name == "jinaai/jina-embeddings-v4" and named._model is None
    with pytest.raises(ValueError, match="Extra inputs"):
        JinaLocalEmbedding(model=tiny_v4, dimension=128)  # typo: extra="forbid"
    emb = JinaLocalEmbedding(model=tiny_v4, dimensions=16, query_task="code")
    data = emb.to_dict()
    assert data["class_name"] == "JinaLocalEmbedding" and data["model_name"] == tiny_v4.info.name
    again = JinaLocalEmbedding.from_dict(data)  # lazy: nothing is loaded until first use
    assert again._model is None and again.dimensions == 16 and again.query_task == "code"


# ---------------------------------------------------------------------- retriever
@pytest.fixture(scope="module")
def store(tiny_v4: Any, image_file: Path):
    collection = MultiVectorCollection.open(":memory:", "li", model=tiny_v4)
    assert collection.add(PROSE + [CODE, image_file], payloads=[{"lang": "en"}] * 6).ok
    yield collection
    collection.close()


def test_retriever_nodes(store: MultiVectorCollection, image_file: Path) -> None:
    results = JinaLocalRetriever(store, similarity_top_k=6).retrieve("how long do cats sleep")
    assert len(results) == 6 and all(isinstance(r, NodeWithScore) for r in results)
    scores = [r.score for r in results]
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    images = [r.node for r in results if isinstance(r.node, ImageNode)]
    texts = [r.node for r in results if not isinstance(r.node, ImageNode)]
    assert len(images) == 1 and all(isinstance(n, TextNode) for n in texts)
    assert images[0].image_path == str(image_file) and images[0].metadata["kind"] == "image"
    assert {n.text for n in texts} == set(PROSE) | {CODE}
    for r in results:
        meta = r.node.metadata
        assert {"source", "task", "kind", "raw_score", "lang"} <= set(meta) and "text" not in meta
        assert meta["task"] == ("code" if r.node.get_content() == CODE else "retrieval")
        llm_view = r.node.get_metadata_str(MetadataMode.LLM)  # bookkeeping hidden from the LLM
        assert "lang: en" in llm_view and "task" not in llm_view and "raw_score" not in llm_view
    assert len({r.node.node_id for r in results}) == 6


def test_retriever_filters_modes_image_and_async(
    store: MultiVectorCollection, image_file: Path, tmp_path: Path
) -> None:
    only_code = models.Filter(must=[models.FieldCondition(key="task", match=models.MatchValue(value="code"))])
    (hit,) = JinaLocalRetriever(store, filter=only_code, mode="dense").retrieve("add two numbers")
    assert hit.node.get_content() == CODE
    ret = JinaLocalRetriever(store, similarity_top_k=1, tasks=["retrieval"], mode="multi")
    copy = tmp_path / "copy.png"
    Image.new("RGB", (56, 56), (200, 30, 30)).save(copy)
    (by_image,) = ret.retrieve(QueryBundle(query_str="", image_path=str(copy)))
    assert isinstance(by_image.node, ImageNode) and by_image.node.image_path == str(image_file)
    sync = JinaLocalRetriever(store, similarity_top_k=3).retrieve("cats")
    async_ = asyncio.run(JinaLocalRetriever(store, similarity_top_k=3).aretrieve("cats"))
    assert [r.node.node_id for r in sync] == [r.node.node_id for r in async_]
    with pytest.raises(OptionError, match="similarity_top_k"):
        JinaLocalRetriever(store, similarity_top_k=0)
    with pytest.raises(OptionError, match="mode"):
        JinaLocalRetriever(store, mode="sparse")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="MultiVectorCollection"):
        JinaLocalRetriever("./index")  # type: ignore[arg-type]


def test_documents_default_to_the_query_adapter(tiny_v4: Any, image_file: Path) -> None:
    texts = [PROSE[0], CODE]  # prose and code: per-item routing would put the code on 'code'
    for query_task, adapter in (("retrieval", "retrieval"), ("code", "code"), ("code.query", "code")):
        emb = JinaLocalEmbedding(model=tiny_v4, query_task=query_task)
        assert emb.document_spec() == (adapter, "document")
        np.testing.assert_allclose(
            _np(emb.get_text_embedding_batch(texts)), tiny_v4.encode_document(texts, task=adapter).dense, atol=1e-5
        )
        np.testing.assert_allclose(
            _np(emb.get_image_embedding(str(image_file))),
            tiny_v4.encode_document([image_file], task=adapter).dense[0],
            atol=1e-5,
        )
    routed = JinaLocalEmbedding(model=tiny_v4, document_task="auto")  # opt-in: per item by content
    np.testing.assert_allclose(
        _np(routed.get_text_embedding_batch(texts)), tiny_v4.encode_document(texts).dense, atol=1e-5
    )
    assert not np.allclose(
        tiny_v4.encode_document([CODE]).dense, tiny_v4.encode_document([CODE], task="retrieval").dense
    )


def test_max_length_max_pixels_and_late_chunking_reach_the_model(tiny_v4: Any) -> None:
    default = JinaLocalEmbedding(model=tiny_v4)
    short = JinaLocalEmbedding(model=tiny_v4, max_length=4)
    want = tiny_v4.encode_document([PROSE[0]], task="retrieval", max_length=4).dense
    np.testing.assert_allclose(_np(short.get_text_embedding_batch([PROSE[0]])), want, atol=1e-5)
    assert not np.allclose(want, _np(default.get_text_embedding_batch([PROSE[0]])), atol=1e-3)
    np.testing.assert_allclose(
        short.get_query_embedding(PROSE[0]),
        tiny_v4.encode_query(PROSE[0], task="retrieval", max_length=4).dense[0],
        atol=1e-5,
    )
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (168, 168, 3), dtype=np.uint8))
    small = JinaLocalEmbedding(model=tiny_v4, max_pixels=3136)
    want = tiny_v4.encode_document([noise], task="retrieval", max_pixels=3136).dense[0]
    np.testing.assert_allclose(small.get_image_embedding(noise), want, atol=1e-5)
    assert not np.allclose(want, _np(default.get_image_embedding(noise)), atol=1e-3)
    chunked = JinaLocalEmbedding(model=tiny_v4, late_chunking=True, embed_batch_size=8)
    want = tiny_v4.encode_document(PROSE, task="retrieval", late_chunking=True).dense  # one forward over the batch
    np.testing.assert_allclose(_np(chunked.get_text_embedding_batch(PROSE)), want, atol=1e-5)
    assert not np.allclose(want, _np(default.get_text_embedding_batch(PROSE)), atol=1e-3)
    assert not JinaLocalEmbedding(model=tiny_v4, late_chunking=False).late_chunking
