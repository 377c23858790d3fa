"""jina_local.ray's row logic without running a Ray job: file listings, column types, payload values, retries."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("ray.data", reason="Ray Data is not installed: pip install -e '.[test]' (or jina-local[ray])")

import pyarrow as pa

from jina_local.errors import CollectionConfigError, OptionError
from jina_local.ray import embed_dataset, is_transient, write_collection
from jina_local.ray._columns import info_from_metadata, info_metadata, multi_array
from jina_local.ray._rows import _row_error, prepare_rows
from jina_local.ray._sink import _schema_dims
from jina_local.ray._writer import _plain


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def loaded_once(tiny_v4: Any) -> Any:
    """``jina_local.load`` handing out the session's tiny model: these tests call the encoder in this process,
    so there is no need to load the same checkpoint again (the Ray tests load it in each actor)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("jina_local.load", lambda *args, **kwargs: tiny_v4)
        yield tiny_v4


@pytest.fixture(scope="module")
def encoder(tiny_v4_dir: Path, loaded_once: Any) -> Any:
    from jina_local.ray import EncodeBatches

    return EncodeBatches(str(tiny_v4_dir), device="cpu", dtype="float32")


def test_file_listing_becomes_the_chunks_index_files_makes(encoder: Any, tmp_path: Path) -> None:
    from fixture_docs import write_pdf

    (tmp_path / "a.md").write_text("# Title\n\nFirst paragraph.\n\nSecond one.")
    (tmp_path / "b.bin").write_bytes(b"\x00\x01 binary")
    write_pdf(tmp_path / "r.pdf", ["page one text", "page two text"])
    names = ("a.md", "b.bin", "r.pdf", "missing.md")
    listing = pa.table({"path": [str(tmp_path / n) for n in names], "tag": ["x", "y", "z", "w"]})
    out = encoder(prepare_rows(listing, "item", late_chunking=False)).to_pylist()
    by_name: dict[str, list[dict]] = {}
    for row in out:
        by_name.setdefault(Path(row["path"]).name, []).append(row)
    [md] = by_name["a.md"]
    assert md["item"].startswith("# Title") and md["error"] is None and md["kind"] == "text"
    assert md["lines"] == [1, 5] and md["file_type"] == "markdown" and md["tag"] == "x" and md["source"] == md["path"]
    assert "binary" in by_name["b.bin"][0]["error"] and by_name["b.bin"][0]["dense"] is not None
    pages = by_name["r.pdf"]
    assert [p["page"] for p in pages] == [1, 2] and all(p["kind"] == "image" and p["error"] is None for p in pages)
    assert all(p["item"] is None for p in pages)  # page pixels are not shipped to the writers (ids are known)
    assert "could not be read" in by_name["missing.md"][0]["error"]
    from jina_local.qdrant import MultiVectorCollection

    with MultiVectorCollection.open(tmp_path / "idx", "docs", encoder._model) as store:
        store.index_files([tmp_path / n for n in ("a.md", "r.pdf")])
        stored = {p["id"] for p in store.scroll()}
    assert {r["id"] for r in out if r["error"] is None} == stored  # the ids index_files gives


def test_read_binary_files_rows_use_their_bytes(encoder: Any) -> None:
    png = _png()
    listing = pa.table({"bytes": [png, b"print('hi')\n"], "path": ["s3://b/chart.png", "s3://b/run.py"]})
    out = encoder(prepare_rows(listing, "item", late_chunking=False)).to_pylist()
    assert [(r["path"], r["kind"], r["error"]) for r in out] == [
        ("s3://b/chart.png", "image", None),
        ("s3://b/run.py", "code", None),
    ]
    assert out[1]["item"] == "print('hi')"  # the chunker drops the trailing newline


def test_path_items_are_files_and_other_items_pass(encoder: Any, tmp_path: Path) -> None:
    (tmp_path / "n.md").write_text("a note")
    text_only = pa.table({"item": ["plain text", "more"]})
    assert prepare_rows(text_only, "item", late_chunking=False) is text_only  # nothing to do: no copy
    binary = prepare_rows(pa.table({"item": [_png()]}), "item", late_chunking=False)
    assert isinstance(binary.schema.field("item").type, pa.ExtensionType)  # merges with text blocks later
    from ray.data.extensions import ArrowPythonObjectArray

    mixed = pa.table({"item": ArrowPythonObjectArray.from_objects([tmp_path / "n.md", "inline text"])})
    rows = encoder(prepare_rows(mixed, "item", late_chunking=False)).to_pylist()
    assert [(r["item"], Path(r["path"]).name if r["path"] else None) for r in rows] == [
        ("a note", "n.md"),
        ("inline text", None),
    ]
    assert all(r["error"] is None for r in rows)


def test_missing_column_is_a_clear_error() -> None:
    with pytest.raises(OptionError, match=r"no column 'text'.*columns: \['body'\]"):
        prepare_rows(pa.table({"body": ["x"]}), "text", late_chunking=False)


def test_model_record_travels_in_schema_metadata(tiny_v4: object) -> None:
    info = tiny_v4.info  # type: ignore[attr-defined]
    assert info_from_metadata(info_metadata(info)) == info
    assert info_from_metadata(None) is None
    schema = pa.schema([pa.field("dense", pa.float32())])
    assert _schema_dims(schema) == (None, False)


def test_multi_column_handles_empty_batches_and_empty_rows() -> None:
    assert len(multi_array([])) == 0
    arr = multi_array([np.zeros((0, 128), np.float32), np.ones((3, 128), np.float32)])
    assert len(arr) == 2


def test_payload_values_are_plain_json() -> None:
    assert _plain(np.int64(3)) == 3 and _plain(np.float32(0.5)) == 0.5 and _plain(float("nan")) is None
    assert _plain(np.array([1, 2])) == [1, 2] and _plain(b"raw") is None
    assert _plain({"k": np.bool_(True)}) == {"k": True} and _plain(Path("/a")) == "/a"


def test_transient_errors() -> None:
    import httpx
    from qdrant_client.http.exceptions import UnexpectedResponse

    assert is_transient(ConnectionError("reset")) and is_transient(TimeoutError())
    assert is_transient(httpx.ConnectError("refused"))
    assert is_transient(UnexpectedResponse(503, "unavailable", b"", httpx.Headers()))
    assert not is_transient(UnexpectedResponse(400, "bad request", b"", httpx.Headers()))
    assert not is_transient(ValueError("bad vector"))


def test_row_errors_do_not_name_batch_positions() -> None:
    from jina_local.errors import InputError

    assert (
        _row_error(InputError("item 7 contains a lone surrogate")) == "InputError: the item contains a lone surrogate"
    )


def test_options_are_checked_before_anything_runs(tiny_v4: object) -> None:
    with pytest.raises(OptionError, match="not a loaded Embedder"):
        embed_dataset(None, tiny_v4)  # type: ignore[arg-type]
    with pytest.raises(OptionError, match="output="):
        embed_dataset(None, "some/model", output="sparse")  # type: ignore[arg-type]
    with pytest.raises(OptionError, match="batch_size"):
        embed_dataset(None, "some/model", batch_size=0)  # type: ignore[arg-type]
    with pytest.raises(CollectionConfigError, match="':memory:'"):
        write_collection(None, ":memory:", "docs")  # type: ignore[arg-type]
    with pytest.raises(OptionError, match="upsert_batch"):
        write_collection(None, "./x", "docs", upsert_batch=0)  # type: ignore[arg-type]


def test_late_chunking_of_files_matches_index_files(
    tiny_v4_dir: Path, tiny_v4: Any, loaded_once: Any, tmp_path: Path
) -> None:
    from jina_local.qdrant import MultiVectorCollection
    from jina_local.ray import EncodeBatches

    doc = tmp_path / "long.md"
    doc.write_text("\n\n".join(f"## Part {i}\n\n" + f"Sentence {i} about cats. " * 40 for i in range(3)))
    late = EncodeBatches(
        str(tiny_v4_dir), device="cpu", dtype="float32", late_chunking=True, files={"chunk_tokens": 64}
    )
    rows = late(pa.table({"path": [str(doc)]})).to_pylist()
    assert len(rows) > 2 and all(r["error"] is None and r["late_chunking"] for r in rows)
    with MultiVectorCollection.open(tmp_path / "idx", "docs", tiny_v4) as store:
        store.index_files([doc], late_chunking=True, chunk_tokens=64)
        stored = {p["id"]: p for p in store.scroll(with_vectors=True)}
    assert {r["id"] for r in rows} == set(stored)
    for r in rows:
        want = np.asarray(stored[r["id"]]["vector"]["dense"], np.float32)
        assert np.abs(np.asarray(r["dense"]) - want).max() <= 1e-5
