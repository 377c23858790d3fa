"""The same integration scenarios on both model families: one load(), one Embedder API, every plugin."""

from __future__ import annotations

import numpy as np
from PIL import Image

import jina_local
from jina_local.qdrant import MultiVectorCollection

TEXTS = ["Cats sleep up to sixteen hours a day.", "Quarterly revenue grew by twelve percent.", "A red bicycle."]


def _image(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (70, 90, 3), dtype=np.uint8))


def test_one_api_for_both(any_model: jina_local.Embedder):
    info = any_model.info
    items = [*TEXTS, _image(0)]
    result = any_model.encode_document(items, progress=False)
    assert result.dense.shape == (4, info.dense_dim) and result.dense.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(result.dense, axis=1), 1.0, atol=1e-5)
    assert result.kinds[-1] == "image" and all(t in info.tasks for t in result.tasks)
    for dim in info.matryoshka_dims:
        cut = any_model.encode_document(items, dim=dim).dense
        expected = result.dense[:, :dim] / np.linalg.norm(result.dense[:, :dim], axis=1, keepdims=True)
        np.testing.assert_allclose(cut, expected, atol=1e-5)
    one_by_one = np.stack([any_model.encode_document(item).dense[0] for item in items])
    np.testing.assert_allclose(result.dense, one_by_one, atol=5e-5)
    query = any_model.encode_query(TEXTS[0]).dense
    assert not np.allclose(query, result.dense[:1], atol=1e-4)  # queries carry their own prompt
    assert any_model.encode([]).dense.shape == (0, info.dense_dim)


def test_qdrant_store_with_both(any_model: jina_local.Embedder, tmp_path):
    multi = any_model.info.has_multi
    with MultiVectorCollection.open(tmp_path / "index", "docs", model=any_model, multi=multi) as store:
        summary = store.add([*TEXTS, _image(1)], payloads=[{"n": i} for i in range(4)])
        assert summary.ok and store.count() == 4
        hits = store.search(TEXTS[1], limit=4)
        assert len(hits) == 4 and all(hits[i].score >= hits[i + 1].score for i in range(3))
        stored = store.get(summary.ids)
        assert {p["payload"]["task"] for p in stored} == {"retrieval"}  # prose and an image
        # The store's dense ranking equals a brute-force ranking of the same vectors.
        query = any_model.encode_query(TEXTS[2]).dense[0]
        scores = any_model.encode_document([*TEXTS, _image(1)]).dense @ query
        dense = store.search(TEXTS[2], limit=4, mode="dense")
        assert [h.payload["n"] for h in dense] == [int(i) for i in np.argsort(-scores)]


def test_langchain_with_both(any_model: jina_local.Embedder):
    from langchain_jina_local import JinaLocalEmbeddings

    embeddings = JinaLocalEmbeddings(model=any_model)
    docs = embeddings.embed_documents(TEXTS)
    assert len(docs) == 3 and isinstance(docs[0][0], float) and len(docs[0]) == any_model.info.dense_dim
    np.testing.assert_allclose(docs, any_model.encode_document(TEXTS).dense, atol=1e-6)
    np.testing.assert_allclose(embeddings.embed_query(TEXTS[0]), any_model.encode_query(TEXTS[0]).dense[0], atol=1e-6)


def test_llamaindex_with_both(any_model: jina_local.Embedder, tmp_path):
    from llama_index.embeddings.jina_local import JinaLocalEmbedding

    path = tmp_path / "pic.png"
    _image(2).save(path)
    embed_model = JinaLocalEmbedding(model=any_model)
    batch = embed_model.get_text_embedding_batch(TEXTS)
    np.testing.assert_allclose(batch, any_model.encode_document(TEXTS).dense, atol=1e-6)
    np.testing.assert_allclose(
        embed_model.get_image_embedding(str(path)), any_model.encode(_image(2)).dense[0], atol=1e-5
    )
