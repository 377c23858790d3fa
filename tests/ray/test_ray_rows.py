"""jina_local.ray's row logic without running a Ray job: file listings, column types, payload values, retries."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("ray.data", reason="Ray Data is not installed: pip install -e '.[test]' (or jina-local[ray])")

import pyarrow as pa  # noqa: E402

from jina_local.errors import CollectionConfigError, OptionError  # noqa: E402
from jina_local.ray import embed_dataset, file_chunks, is_transient, write_collection  # noqa: E402
from jina_local.ray._columns import info_from_metadata, info_metadata, multi_array  # noqa: E402
from jina_local.ray._embed import _row_error, prepare_rows  # noqa: E402
from jina_local.ray._sink import _plain, _schema_dims  # noqa: E402


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buf, format="PNG")
    return buf.getvalue()


def test_file_listing_becomes_chunk_rows(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("First paragraph.\n\nSecond one.")
    (tmp_path / "b.bin").write_bytes(b"\x00\x01 binary")
    (tmp_path / "c.txt").write_bytes("caf\xe9".encode("latin-1"))
    listing = pa.table({"path": [str(tmp_path / n) for n in ("a.md", "b.bin", "c.txt", "missing.md")],
                        "bytes": [None, None, None, None], "tag": ["x", "y", "z", "w"]})
    out = prepare_rows(listing, "item", late_chunking=False)
    assert "bytes" not in out.column_names and out.schema.field("item").type == pa.string()
    rows = out.to_pylist()
    assert rows[0] == {"item": "First paragraph.\n\nSecond one.", "path": str(tmp_path / "a.md"), "chunk": 0,
                       "source": f"{tmp_path / 'a.md'}#0", "error": None, "tag": "x"}
    assert [r["item"] for r in rows[1:]] == [None, None, None]
    assert "binary" in rows[1]["error"] and "not UTF-8" in rows[2]["error"] and "cannot be read" in rows[3]["error"]
    assert [r["tag"] for r in rows] == ["x", "y", "z", "w"]  # listing columns travel with their file


def test_read_binary_files_rows_use_their_bytes_and_keep_images_as_objects(tmp_path: Path) -> None:
    png = _png()
    listing = pa.table({"bytes": [png, b"print('hi')\n"], "path": ["s3://b/chart.png", "s3://b/run.py"]})
    out = prepare_rows(listing, "item", late_chunking=False)
    assert isinstance(out.schema.field("item").type, pa.ExtensionType)  # str and bytes in one column
    assert out.column("item").to_pylist() == [png, "print('hi')\n"]
    assert out.column("source").to_pylist() == ["s3://b/chart.png#0", "s3://b/run.py#0"]


def test_path_items_are_read_as_files_and_other_items_pass(tmp_path: Path) -> None:
    (tmp_path / "n.md").write_text("a note")
    text_only = pa.table({"item": ["plain text", "more"]})
    assert prepare_rows(text_only, "item", late_chunking=False) is text_only  # nothing to do: no copy
    binary = prepare_rows(pa.table({"item": [_png()]}), "item", late_chunking=False)
    assert isinstance(binary.schema.field("item").type, pa.ExtensionType)  # merges with text blocks later
    from ray.data.extensions import ArrowPythonObjectArray

    mixed = pa.table({"item": ArrowPythonObjectArray.from_objects([tmp_path / "n.md", "inline text"])})
    rows = prepare_rows(mixed, "item", late_chunking=False).to_pylist()
    assert [(r["item"], r["path"]) for r in rows] == [("a note", str(tmp_path / "n.md")), ("inline text", None)]


def test_late_chunking_groups_a_files_chunks_into_one_row(tmp_path: Path) -> None:
    (tmp_path / "long.md").write_text("\n\n".join(f"Paragraph {i} " + "word " * 300 for i in range(3)))
    rows = prepare_rows(pa.table({"path": [str(tmp_path / "long.md")]}), "item", late_chunking=True).to_pylist()
    assert len(rows) == 1 and len(rows[0]["item"]) == 3 and rows[0]["source"] == str(tmp_path / "long.md")


def test_missing_column_is_a_clear_error() -> None:
    with pytest.raises(OptionError, match="no column 'text'.*columns: \\['body'\\]"):
        prepare_rows(pa.table({"body": ["x"]}), "text", late_chunking=False)


def test_file_chunks_refuses_pdfs_until_the_documents_layer() -> None:
    [row] = file_chunks("/x/report.pdf", b"%PDF-1.7 ...")
    assert row["item"] is None and "documents layer" in row["error"]


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

    assert _row_error(InputError("item 7 contains a lone surrogate")) == "InputError: the item contains a lone surrogate"


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
