"""Both integrations: late chunking touches documents only, and image URLs follow a ``FetchPolicy``.

* ``late_chunking=True`` on ``JinaLocalEmbeddings`` / ``JinaLocalEmbedding`` changes document vectors
  (to the core's ``encode(..., late_chunking=True)``) and nothing else: query and image vectors are the
  plain ones, for both model families.
* ``fetch=`` (a ``jina_local.FetchPolicy``) reaches every place the integrations read an image URL:
  embeddings, retrievers and vector stores. A local server on 127.0.0.1 counts the requests it gets.
"""

from __future__ import annotations

import copy
import io
import pickle
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import urlsplit

import numpy as np
import pytest
from llama_index.core.schema import ImageNode, QueryBundle
from llama_index.embeddings.jina_local import JinaLocalEmbedding
from llama_index.retrievers.jina_local import JinaLocalRetriever as LlamaRetriever
from llama_index.vector_stores.jina_local import JinaLocalVectorStore as LlamaStore
from PIL import Image

from jina_local import FetchError, FetchPolicy, OptionError, URLNotAllowedError
from jina_local.qdrant import MultiVectorCollection
from langchain_jina_local import JinaLocalEmbeddings, JinaLocalRetriever, JinaLocalVectorStore

PROSE = [
    "Cats sleep sixteen hours a day.",
    "Most of that sleep is light, and they wake easily.",
    "Kittens and old cats sleep even longer.",
]
QUERY = "how long do cats sleep"
_png = io.BytesIO()
Image.new("RGB", (40, 28), (30, 160, 90)).save(_png, "PNG")
PNG = _png.getvalue()
OFF = FetchPolicy(allow_urls=False)
LOCAL = FetchPolicy(allowed_networks=("127.0.0.1/32",), deadline=5.0, connect_timeout=2.0, read_timeout=3.0)


# ---------------------------------------------------------------------- late chunking: documents only
def test_langchain_late_chunking_changes_documents_only(any_model: Any) -> None:
    plain = JinaLocalEmbeddings(model=any_model)
    late = JinaLocalEmbeddings(model=any_model, late_chunking=True)
    assert plain.embed_query(QUERY) == late.embed_query(QUERY)  # identical, not merely close
    task, role = late.document_spec()
    want = any_model.encode(PROSE, role=role, task=task, late_chunking=True).dense
    np.testing.assert_allclose(late.embed_documents(PROSE), want, atol=1e-5)
    assert not np.allclose(plain.embed_documents(PROSE), want, atol=1e-3)
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    assert plain.embed_image([image]) == late.embed_image([image])  # images are never late-chunked
    if any_model.info.has_multi:
        assert plain.embed_query_multi(QUERY) == late.embed_query_multi(QUERY)
        want_multi = any_model.encode(PROSE, role=role, task=task, output="multi", late_chunking=True).multi
        for got, expected in zip(late.embed_documents_multi(PROSE), want_multi):
            np.testing.assert_allclose(got, expected, atol=1e-5)


def test_llamaindex_late_chunking_changes_documents_only(any_model: Any) -> None:
    plain = JinaLocalEmbedding(model=any_model)
    late = JinaLocalEmbedding(model=any_model, late_chunking=True)
    assert plain.get_query_embedding(QUERY) == late.get_query_embedding(QUERY)
    task, role = late.document_spec()
    want = any_model.encode(PROSE, role=role, task=task, late_chunking=True).dense
    np.testing.assert_allclose(late.get_text_embedding_batch(PROSE), want, atol=1e-5)
    assert not np.allclose(plain.get_text_embedding_batch(PROSE), want, atol=1e-3)
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    assert plain.get_image_embedding(image) == late.get_image_embedding(image)


# ---------------------------------------------------------------------- fetch policy
class _ImageServer(BaseHTTPRequestHandler):
    seen: ClassVar[Counter[str]] = Counter()

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).seen[self.path] += 1
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(PNG)))
        self.end_headers()
        self.wfile.write(PNG)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _ImageServer)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture
def url(server: str, request: pytest.FixtureRequest) -> str:
    path = f"/{request.node.name}.png"
    _ImageServer.seen[path] = 0
    return server + path


def _requests(url: str) -> int:
    return _ImageServer.seen[urlsplit(url).path]


def test_policy_pickles_and_copies() -> None:
    assert pickle.loads(pickle.dumps(LOCAL)) == LOCAL and copy.deepcopy(OFF) == OFF
    assert pickle.loads(pickle.dumps(LOCAL))._networks == LOCAL._networks  # the parsed networks travel too


def test_langchain_embeddings_follow_their_policy(tiny_v4: Any, url: str) -> None:
    with pytest.raises(URLNotAllowedError, match="switched off"):
        JinaLocalEmbeddings(model=tiny_v4, fetch=OFF).embed_image([url])
    with pytest.raises(FetchError):
        JinaLocalEmbeddings(model=tiny_v4, fetch=OFF).embed_image_multi([url])
    with pytest.raises(URLNotAllowedError):  # the default policy refuses loopback addresses
        JinaLocalEmbeddings(model=tiny_v4).embed_image([url])
    assert _requests(url) == 0  # refused before any connection
    emb = JinaLocalEmbeddings(model=tiny_v4, fetch=LOCAL)
    np.testing.assert_allclose(emb.embed_image([url]), emb.embed_image([PNG]), atol=1e-6)
    assert _requests(url) == 1
    for clone in (pickle.loads(pickle.dumps(emb)), copy.deepcopy(emb)):
        assert clone.fetch == LOCAL
    with pytest.raises(OptionError, match="not a FetchPolicy"):
        JinaLocalEmbeddings(model=tiny_v4, fetch={"allow_urls": False})


def test_llamaindex_embedding_follows_its_policy(tiny_v4: Any, url: str) -> None:
    with pytest.raises(URLNotAllowedError, match="switched off"):
        JinaLocalEmbedding(model=tiny_v4, fetch=OFF).get_image_embedding(url)
    with pytest.raises(URLNotAllowedError):
        JinaLocalEmbedding(model=tiny_v4).get_image_embedding(url)
    assert _requests(url) == 0
    emb = JinaLocalEmbedding(model=tiny_v4, fetch=LOCAL)
    np.testing.assert_allclose(emb.get_image_embedding(url), emb.get_image_embedding(io.BytesIO(PNG)), atol=1e-6)
    assert _requests(url) == 1
    for clone in (pickle.loads(pickle.dumps(emb)), copy.deepcopy(emb)):
        assert clone.fetch == LOCAL
    with pytest.raises(OptionError, match="not a FetchPolicy"):
        JinaLocalEmbedding(model=tiny_v4, fetch="off")


def test_retrievers_and_stores_follow_their_policy(tiny_v4: Any, url: str) -> None:
    collection = MultiVectorCollection.open(":memory:", "fetch", tiny_v4)
    collection.add([*PROSE, PNG])
    with pytest.raises(URLNotAllowedError):
        JinaLocalRetriever(collection=collection, fetch=OFF).search_by_image(url)
    with pytest.raises(URLNotAllowedError):
        LlamaRetriever(collection, fetch=OFF).retrieve(QueryBundle(query_str="", image_path=url))
    lc_store = JinaLocalVectorStore(collection=collection, embedding=JinaLocalEmbeddings(model=tiny_v4, fetch=OFF))
    with pytest.raises(URLNotAllowedError):
        lc_store.add_images([url])
    with pytest.raises(URLNotAllowedError):
        lc_store.similarity_search_by_image(url)
    li_store = LlamaStore(collection, model=JinaLocalEmbedding(model=tiny_v4, fetch=OFF))  # the embedding's policy
    assert li_store.fetch == OFF
    with pytest.raises(URLNotAllowedError):
        li_store.add([ImageNode(image_url=url)])
    assert _requests(url) == 0

    assert JinaLocalRetriever(collection=collection, fetch=LOCAL).search_by_image(url, k=1)
    assert LlamaRetriever(collection, fetch=LOCAL).retrieve(QueryBundle(query_str="", image_path=url))
    assert LlamaStore(collection, fetch=LOCAL).add([ImageNode(image_url=url, id_="remote")]) == ["remote"]
    assert _requests(url) == 3
    with pytest.raises(OptionError, match="not a FetchPolicy"):
        JinaLocalRetriever(collection=collection, fetch=True)
    with pytest.raises(OptionError, match="not a FetchPolicy"):
        LlamaRetriever(collection, fetch=True)
    collection.close()
