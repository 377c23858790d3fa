"""read_file: one file -> chunks with locations (path, page, lines / chars, chunk index, file hash)."""

from __future__ import annotations

import hashlib
import json

import pytest
from fixture_docs import (
    binary_without_nul,
    break_page,
    encrypted_pdf_bytes,
    write_pdf,
    write_png,
)

from jina_local.documents import read_file
from jina_local.errors import DocumentError

MARKDOWN = "# Cats\n\nCats sleep sixteen hours a day.\n\n## Food\n\n" + "They eat fish. " * 40 + "\n"


def test_markdown_chunks_carry_lines_chars_and_sections(any_model, tmp_path):
    path = tmp_path / "notes.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    fc = read_file(path, any_model, chunk_tokens=40, overlap_tokens=0)
    assert fc.file_type == "markdown" and fc.file_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [c.chunk for c in fc.chunks] == list(range(len(fc.chunks))) and len(fc.chunks) > 2
    lines = MARKDOWN.split("\n")
    for c in fc.chunks:
        assert c.path == str(path.resolve()) and c.content == "text"
        assert c.text == MARKDOWN[c.chars[0] : c.chars[1]]
        assert c.text.split("\n")[0] in lines[c.lines[0] - 1]
    assert fc.chunks[0].section == "Cats" and fc.chunks[-1].section == "Cats > Food"
    assert fc.chunks[0].location == f"{path.resolve()}:1-3"


def test_code_chunks_have_language_and_line_ranges(any_model, tmp_path):
    path = tmp_path / "m.py"
    source = "def a():\n    return 1\n\n\ndef b():\n    return 2\n"
    path.write_text(source, encoding="utf-8")
    budget = any_model.count_tokens("def a():\n    return 1") + 2
    assert any_model.count_tokens(source) > budget
    fc = read_file(path, any_model, chunk_tokens=budget, overlap_tokens=0)
    assert fc.file_type == "code"
    assert [(c.lines, c.language) for c in fc.chunks] == [((1, 2), "python"), ((5, 6), "python")]


def test_pdf_pages_and_their_text(any_model, tmp_path):
    path = write_pdf(tmp_path / "r.pdf", ["Revenue grew", "Costs fell", "Outlook"])
    plain = read_file(path, any_model)
    assert [(c.content, c.page, c.page_text) for c in plain.chunks] == [
        ("image", 1, "Revenue grew"),
        ("image", 2, "Costs fell"),
        ("image", 3, "Outlook"),
    ]
    assert plain.chunks[1].location == f"{path.resolve()}#page=2"
    with_text = read_file(path, any_model, pdf_text=True)
    assert [(c.content, c.page, c.text) for c in with_text.chunks] == [
        ("image", 1, None),
        ("text", 1, "Revenue grew"),
        ("image", 2, None),
        ("text", 2, "Costs fell"),
        ("image", 3, None),
        ("text", 3, "Outlook"),
    ]
    assert with_text.chunks[1].chars == (0, 12)


def test_a_bad_pdf_page_is_a_warning(any_model, tmp_path):
    path = tmp_path / "bad.pdf"
    path.write_bytes(break_page(write_pdf(tmp_path / "ok.pdf", ["one", "two", "three"]).read_bytes(), 7))
    fc = read_file(path, any_model)
    assert [c.page for c in fc.chunks] == [1, 3] and "page 2" in fc.warnings[0]


def test_images_are_their_own_chunk(any_model, tmp_path):
    path = write_png(tmp_path / "pic.png")
    [chunk] = read_file(path, any_model).chunks
    assert (chunk.content, chunk.file_type, chunk.path, chunk.location) == ("image", "image", str(path), str(path))


def test_encodings_are_decoded(any_model, tmp_path):
    (tmp_path / "u16.txt").write_bytes("Note: meet on Tuesday.".encode("utf-16"))
    (tmp_path / "l1.txt").write_bytes("Café crème".encode("latin-1"))
    assert read_file(tmp_path / "u16.txt", any_model).chunks[0].text == "Note: meet on Tuesday."
    fc = read_file(tmp_path / "l1.txt", any_model)
    assert (fc.chunks[0].text, fc.encoding) == ("Café crème", "cp1252")


@pytest.mark.parametrize(
    "name, data, reason",
    [
        ("blob.dat", binary_without_nul(), "not text"),
        ("zeros.bin", bytes(100), "NUL"),
        ("empty.txt", b" \n\n ", "empty"),
        ("corrupt.pdf", b"%PDF-1.4 nonsense", "corrupt"),
    ],
)
def test_files_that_are_not_indexed_raise_with_the_reason(any_model, tmp_path, name, data, reason):
    (tmp_path / name).write_bytes(data)
    with pytest.raises(DocumentError, match=reason):
        read_file(tmp_path / name, any_model)


def test_encrypted_and_large_files(any_model, tmp_path):
    plain = write_pdf(tmp_path / "p.pdf", ["secret"]).read_bytes()
    (tmp_path / "locked.pdf").write_bytes(encrypted_pdf_bytes(plain))
    with pytest.raises(DocumentError, match="encrypted"):
        read_file(tmp_path / "locked.pdf", any_model)
    (tmp_path / "big.txt").write_text("word " * 1000)
    with pytest.raises(DocumentError, match="larger than"):
        read_file(tmp_path / "big.txt", any_model, max_file_bytes=1024)


def test_payloads_are_json(any_model, tmp_path):
    path = tmp_path / "n.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    for chunk in read_file(path, any_model).chunks:
        payload = json.loads(json.dumps(chunk.payload()))
        assert payload["path"] == str(path.resolve()) and payload["lines"] == list(chunk.lines)
        assert payload["chars"] == list(chunk.chars) and payload["file_hash"] == chunk.file_hash
