"""Real clients, none written by us, against a real server: vectors equal in-process ``encode``."""

from __future__ import annotations

import base64
import io

import httpx
import numpy as np
import pytest
from PIL import Image
from server_helpers import live_server

TEXTS = ["Cats sleep sixteen hours a day.", "def add(a, b):\n    return a + b", "Berlin is the capital of Germany."]


def _close(got, want, tol=1e-6):
    got = np.asarray(got, dtype=np.float32)
    want = np.asarray(want, dtype=np.float32)
    assert got.shape == want.shape
    assert float(np.max(np.abs(got - want))) <= tol


def _png_b64(color=(200, 30, 60), size=(48, 40)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


# --------------------------------------------------------------------------- openai SDK
def test_openai_sdk_float_and_default_base64(v4_server, tiny_v4):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=f"{v4_server.url}/v1", api_key="unused", max_retries=0)
    want = tiny_v4.encode(TEXTS, role="query", task="text-matching").dense  # no task: text-matching
    floats = client.embeddings.create(model="jina-embeddings-v4", input=TEXTS, encoding_format="float")
    _close([d.embedding for d in floats.data], want)
    assert [d.index for d in floats.data] == [0, 1, 2]
    assert floats.usage.total_tokens == sum(tiny_v4.count_tokens(t) for t in TEXTS) == floats.usage.prompt_tokens
    default = client.embeddings.create(model="jina-embeddings-v4", input=TEXTS)  # the SDK asks for base64
    _close([d.embedding for d in default.data], want)


def test_openai_sdk_task_and_dimensions_via_extra_body(v4_server, tiny_v4):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=f"{v4_server.url}/v1", api_key="unused", max_retries=0)
    got = client.embeddings.create(
        model="jina-embeddings-v4", input=TEXTS, dimensions=32, extra_body={"task": "retrieval.passage"}
    )
    _close([d.embedding for d in got.data], tiny_v4.encode(TEXTS, role="document", task="retrieval", dim=32).dense)
    query = client.embeddings.create(
        model="jina-embeddings-v4", input="how long do cats sleep", extra_body={"task": "code.query"}
    )
    _close(query.data[0].embedding, tiny_v4.encode(["how long do cats sleep"], role="query", task="code").dense[0])


def test_openai_sdk_error_is_a_bad_request_naming_the_field(v4_server):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=f"{v4_server.url}/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        client.embeddings.create(model="jina-embeddings-v4", input=["a"], dimensions=7)
    assert "dimensions" in str(caught.value) and "8, 16, 32, 64" in str(caught.value)
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="text-embedding-3-small", input=["a"])


# --------------------------------------------------------------------------- LangChain, LlamaIndex
def test_langchain_openai_embeddings(v4_server, tiny_v4):
    lc = pytest.importorskip("langchain_openai")
    emb = lc.OpenAIEmbeddings(
        base_url=f"{v4_server.url}/v1",
        model="jina-embeddings-v4",
        api_key="unused",
        check_embedding_ctx_length=False,
        max_retries=0,
    )
    want = tiny_v4.encode(TEXTS, role="query", task="text-matching").dense
    _close(emb.embed_documents(TEXTS), want)
    _close(emb.embed_query(TEXTS[0]), want[0])


async def test_langchain_openai_embeddings_async(v4_server, tiny_v4):
    lc = pytest.importorskip("langchain_openai")
    emb = lc.OpenAIEmbeddings(
        base_url=f"{v4_server.url}/v1",
        model="jina-embeddings-v4",
        api_key="unused",
        check_embedding_ctx_length=False,
        max_retries=0,
    )
    _close(await emb.aembed_documents(TEXTS), tiny_v4.encode(TEXTS, role="query", task="text-matching").dense)


def test_llamaindex_openai_like_embedding(v4_server, tiny_v4):
    mod = pytest.importorskip("llama_index.embeddings.openai_like")
    emb = mod.OpenAILikeEmbedding(
        model_name="jina-embeddings-v4",
        api_base=f"{v4_server.url}/v1",
        api_key="unused",
        embed_batch_size=2,
        max_retries=0,
    )
    sent = [t.replace("\n", " ") for t in TEXTS]  # LlamaIndex's OpenAI classes send newlines as spaces
    want = tiny_v4.encode(sent, role="query", task="text-matching").dense
    _close(emb.get_text_embedding_batch(TEXTS), want)
    _close(emb.get_query_embedding(TEXTS[1]), want[1])


# --------------------------------------------------------------------------- httpx, Jina schema
def _jina(url: str, **body):
    response = httpx.post(f"{url}/v1/embeddings", json={"model": "jina-embeddings-v4", **body}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def test_jina_schema_float_base64_binary_ubinary(v4_server, tiny_v4):
    want = tiny_v4.encode(TEXTS, role="document", task="retrieval", dim=64).dense
    base = {"input": [{"text": t} for t in TEXTS], "task": "retrieval.passage"}
    floats = _jina(v4_server.url, **base, embedding_type="float")
    _close([d["embedding"] for d in floats["data"]], want)
    assert floats["model"] == "jina-embeddings-v4" and floats["usage"]["total_tokens"] > 0
    b64 = _jina(v4_server.url, **base, embedding_type="base64")
    for row, d in zip(want, b64["data"]):
        assert base64.b64decode(d["embedding"]) == row.astype("<f4").tobytes()
    bits = np.packbits(want > 0, axis=1)  # sign bits of in-process encode, MSB first, 8 dims per byte
    ubinary = np.asarray([d["embedding"] for d in _jina(v4_server.url, **base, embedding_type="ubinary")["data"]])
    binary = np.asarray([d["embedding"] for d in _jina(v4_server.url, **base, embedding_type="binary")["data"]])
    assert ubinary.shape == binary.shape == (len(TEXTS), 64 // 8)
    assert np.array_equal(ubinary, bits)  # ubinary: the packed bytes as uint8
    assert np.array_equal(binary, ubinary - 128)  # binary: the offset convention (quantize_embeddings, Cohere)
    assert binary.min() >= -128 and binary.max() <= 127 and ubinary.min() >= 0 and ubinary.max() <= 255
    # the int8 bytes are the uint8 bytes with the top bit flipped: Hamming distances are the same either way
    as_bytes = binary.astype(np.int8).view(np.uint8)
    assert np.array_equal(as_bytes, ubinary.astype(np.uint8) ^ 0x80)
    hamming_u = np.unpackbits(ubinary[0].astype(np.uint8) ^ ubinary[1].astype(np.uint8)).sum()
    assert np.unpackbits(as_bytes[0] ^ as_bytes[1]).sum() == hamming_u


def test_jina_schema_images_and_multivectors(v4_server, tiny_v4):
    png = _png_b64()
    items = [{"image": png}, {"image": f"data:image/png;base64,{png}"}, "a red square"]
    got = _jina(v4_server.url, input=items, task="retrieval.passage")
    raw = base64.b64decode(png)
    want = tiny_v4.encode([raw, raw, "a red square"], role="document", task="retrieval").dense
    _close([d["embedding"] for d in got["data"]], want)
    multi = _jina(v4_server.url, input=items, task="retrieval.passage", return_multivector=True)
    want_multi = tiny_v4.encode([raw, raw, "a red square"], role="document", task="retrieval", output="multi").multi
    for d, m in zip(multi["data"], want_multi):
        _close(d["embedding"], m)


def test_default_task_option_and_text_matching_default(tiny_v4):
    with live_server(tiny_v4, default_task="retrieval.query") as server:
        got = _jina(server.url, input=TEXTS)
    _close([d["embedding"] for d in got["data"]], tiny_v4.encode(TEXTS, role="query", task="retrieval").dense)


def test_clip_maps_every_task_to_its_one_task(tiny_clip):
    png = _png_b64((10, 200, 90))
    with live_server(tiny_clip) as server:
        models = httpx.get(f"{server.url}/v1/models").json()
        got = httpx.post(
            f"{server.url}/v1/embeddings",
            json={"input": ["a green square", {"image": png}], "task": "code.passage"},
            timeout=60,
        ).json()
        refused = httpx.post(f"{server.url}/v1/embeddings", json={"input": ["x"], "return_multivector": True})
    want = tiny_clip.encode(["a green square", base64.b64decode(png)], role="document").dense
    _close([d["embedding"] for d in got["data"]], want)
    assert models["data"][0]["multivector_dimensions"] is None
    assert refused.status_code == 422 and refused.json()["field"] == "return_multivector"
