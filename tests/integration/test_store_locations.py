"""Where a collection lives: an unreachable server and an unknown location are typed errors naming them.

Server tests only ever connect to 127.0.0.1, on a port where nothing listens.
"""

from __future__ import annotations

import pickle
import socket
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient

from jina_local.errors import JinaLocalError, OptionError, StoreConnectionError
from jina_local.qdrant import MultiVectorCollection
from jina_local.qdrant._base import SCHEMA_VERSION
from jina_local.qdrant._client_backend import ClientBackend

pytestmark = pytest.mark.filterwarnings("ignore:Failed to obtain server version")


@pytest.fixture()
def dead_url() -> str:
    """An http URL on 127.0.0.1 whose port was free a moment ago (nothing listens there)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_open_on_an_unreachable_server_names_the_url(dead_url) -> None:
    for location in (dead_url, "HTTP" + dead_url[4:], QdrantClient(url=dead_url, timeout=2)):
        with pytest.raises(StoreConnectionError, match="cannot be reached.*check that it is running") as caught:
            MultiVectorCollection.open(location, "docs", dense_dim=8, timeout=2)
        assert "127.0.0.1:" in str(caught.value) and caught.value.url
        assert isinstance(caught.value, ConnectionError) and isinstance(caught.value, JinaLocalError)
    again = pickle.loads(pickle.dumps(caught.value))
    assert again.url == caught.value.url and str(again) == str(caught.value)


def test_every_request_to_a_server_that_went_away_is_a_typed_error(dead_url) -> None:
    # A collection whose server stopped after open: each first request must fail typed, naming the URL.
    backend = ClientBackend(
        QdrantClient(url=dead_url, timeout=2), "docs", label=dead_url, owns_client=True, local=False
    )
    meta = {"schema": SCHEMA_VERSION, "dense_dim": 8, "multi": False, "tasks": ["retrieval"], "kinds": ["text"]}
    store = MultiVectorCollection(backend, "docs", None, meta)
    calls = [
        lambda: store.count(),
        lambda: store.get(["00000000-0000-0000-0000-000000000001"]),
        lambda: list(store.scroll()),
        lambda: store.delete(["00000000-0000-0000-0000-000000000001"]),
        lambda: store.search_embeddings(np.ones(8, np.float32), mode="dense"),
        lambda: store.add_embeddings(np.ones((2, 8), np.float32), progress=False),
        lambda: store.clear(),
    ]
    for call in calls:
        with pytest.raises(StoreConnectionError, match=r"127\.0\.0\.1"):
            call()
    store.close()


@pytest.mark.parametrize(
    ("location", "says"),
    [
        ("qdrant://??", "URL scheme 'qdrant:'"),
        ("qdrant:/??", "URL scheme 'qdrant:'"),
        ("grpc://127.0.0.1:6334", "URL scheme 'grpc:'"),
        ("ftp://example.com/x", "URL scheme 'ftp:'"),
        ("file:///tmp/index", "pass the folder path itself"),
        ("localhost:6333", "looks like host:port.*'http://localhost:6333'"),
        ("http://", "names no host"),
        ("https://:6333", "names no host"),
        ("http://127.0.0.1:notaport", "not a valid URL"),
        ("http://127.0.0.1:99999", "not a valid URL"),
        ("http://[::1", "not a valid URL"),
        ("", "empty"),
        ("   ", "empty"),
        ("idx\x00x", "NUL"),
        (b"/tmp/index", "bytes"),
        (5, "got int"),
        (None, "got NoneType"),
    ],
)
def test_unknown_locations_are_refused_before_anything_is_created(tmp_path: Path, monkeypatch, location, says):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OptionError, match=says):
        MultiVectorCollection.open(location, "docs", dense_dim=8)
    assert list(tmp_path.iterdir()) == []  # no folder named after the string


def test_a_path_object_with_a_colon_is_a_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with MultiVectorCollection.open(Path("q:x"), "docs", dense_dim=8, multi=False) as store:
        assert store.count() == 0
    with MultiVectorCollection.open("q:x", "docs") as store:  # an existing folder is a folder
        assert store.dense_dim == 8
