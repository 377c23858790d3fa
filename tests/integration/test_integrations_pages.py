"""Search results of a collection built by ``index_files`` in both integrations: locations in the metadata,
and image and PDF-page hits that carry a real image (a page is a cached render, not the PDF)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fixture_docs import write_pdf, write_png
from llama_index.core.schema import ImageNode, TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery
from llama_index.retrievers.jina_local import JinaLocalRetriever as LlamaRetriever
from llama_index.vector_stores.jina_local import JinaLocalVectorStore as LlamaStore
from PIL import Image

from jina_local.documents import PdfRenderer, page_pixels
from jina_local.qdrant import MultiVectorCollection
from langchain_jina_local import JinaLocalEmbeddings, JinaLocalRetriever, JinaLocalVectorStore

QUERY = "quarterly revenue"
NOTES = "# Revenue\n\nRevenue grew in the third quarter.\n\nCosts fell.\n"


@pytest.fixture
def indexed(any_model: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("JINA_LOCAL_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "docs"
    folder.mkdir()
    write_pdf(folder / "report.pdf", ["Quarterly revenue grew", "Costs fell"])
    write_png(folder / "chart.png")
    (folder / "notes.md").write_text(NOTES, encoding="utf-8")
    store = MultiVectorCollection.open(tmp_path / "index", "docs", any_model)
    summary = store.index_files([folder], progress=False)
    assert len(summary.indexed) == 3 and store.count() == 4  # 2 pages, 1 image, 1 text chunk
    yield store, folder.resolve()
    store.close()


def _check_page(path: str, metadata: dict[str, Any], folder: Path, model: Any, cache: Path) -> None:
    """A page hit's image is a PNG render in the cache, the size indexing rendered, of the PDF and page named."""
    assert metadata["path"] == str(folder / "report.pdf") and metadata["page"] in (1, 2)
    render = Path(path)
    assert render.is_file() and render.parent == cache / "pages" and render.suffix == ".png"
    with PdfRenderer() as renderer:
        want = renderer.render(Path(metadata["path"]), metadata["page"], page_pixels(model.info))
    with Image.open(render) as image:
        image.load()
        assert image.size == want.size
        assert np.array_equal(np.asarray(image.convert("RGB")), np.asarray(want))


def _check_image(path: str, metadata: dict[str, Any], folder: Path) -> None:
    assert path == metadata["path"] == str(folder / "chart.png") and "page" not in metadata
    with Image.open(path) as image:
        image.load()


def _check_text(metadata: dict[str, Any], folder: Path) -> None:
    assert metadata["path"] == str(folder / "notes.md") and metadata["lines"] == [1, 5]


def test_langchain_hits_carry_locations_and_images(any_model: Any, indexed: Any, tmp_path: Path) -> None:
    store, folder = indexed
    retriever_docs = JinaLocalRetriever(collection=store, k=10).invoke(QUERY)
    lc_store = JinaLocalVectorStore(collection=store, embedding=JinaLocalEmbeddings(model=any_model))
    for docs in (retriever_docs, lc_store.similarity_search(QUERY, k=10)):
        assert len(docs) == 4
        pages = set()
        for doc in docs:
            meta = doc.metadata
            if meta["file_type"] == "pdf":
                assert doc.page_content == meta["page_image"] != meta["path"]
                _check_page(doc.page_content, meta, folder, any_model, tmp_path / "cache")
                pages.add(meta["page"])
            elif meta["file_type"] == "image":
                _check_image(doc.page_content, meta, folder)
            else:
                _check_text(meta, folder)
                assert doc.page_content == NOTES.strip()
        assert pages == {1, 2}


def test_llamaindex_hits_carry_locations_and_images(any_model: Any, indexed: Any, tmp_path: Path) -> None:
    store, folder = indexed
    retrieved = [n.node for n in LlamaRetriever(store, similarity_top_k=10).retrieve(QUERY)]
    queried = LlamaStore(store).query(VectorStoreQuery(query_str=QUERY, similarity_top_k=10)).nodes or []
    for nodes in (retrieved, queried):
        assert len(nodes) == 4
        pages = set()
        for node in nodes:
            meta = node.metadata
            if meta["file_type"] == "pdf":
                assert isinstance(node, ImageNode) and node.image_path is not None
                _check_page(node.image_path, meta, folder, any_model, tmp_path / "cache")
                pages.add(meta["page"])
            elif meta["file_type"] == "image":
                assert isinstance(node, ImageNode) and node.image_path is not None
                _check_image(node.image_path, meta, folder)
            else:
                assert isinstance(node, TextNode)
                _check_text(meta, folder)
        assert pages == {1, 2}


def test_renders_are_reused_and_a_vanished_pdf_is_a_warning(any_model: Any, indexed: Any, tmp_path: Path) -> None:
    store, folder = indexed
    retriever = JinaLocalRetriever(collection=store, k=10, filter={"file_type": "pdf"})
    first = sorted(d.page_content for d in retriever.invoke(QUERY))
    stamps = [Path(p).stat().st_mtime_ns for p in first]
    assert sorted(d.page_content for d in retriever.invoke(QUERY)) == first
    assert [Path(p).stat().st_mtime_ns for p in first] == stamps  # not rendered again

    (folder / "report.pdf").unlink()
    for render in (tmp_path / "cache" / "pages").iterdir():
        render.unlink()  # cleaning the cache is deleting it
    with pytest.warns(RuntimeWarning, match="no page image for .*report.pdf#page=.*no such file"):
        docs = retriever.invoke(QUERY)
    assert sorted(d.page_content for d in docs) == [f"{folder / 'report.pdf'}#page={p}" for p in (1, 2)]
    assert all("page_image" not in d.metadata for d in docs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        nodes = LlamaRetriever(store, similarity_top_k=10, filter={"file_type": "pdf"}).retrieve(QUERY)
    assert [n.node.image_path for n in nodes] == [None, None]  # type: ignore[attr-defined]
    assert sorted(n.node.metadata["page"] for n in nodes) == [1, 2]
