"""Code chunking: definition boundaries first, line ranges, indentation kept."""

from __future__ import annotations

import pytest

from jina_local.documents import chunk_code, language_of, line_range, line_starts

PYTHON = '''"""Module docstring."""

import os


@decorator
def first(a, b):
    """Add."""
    total = a + b
    return total


class Second:
    def method_one(self):
        return 1

    def method_two(self):
        return 2


def third():
    return [i * i for i in range(10)]
'''

JS = """const limit = 10;

function add(a, b) {
  return a + b;
}

function mul(a, b) {
  return a * b;
}
"""


def test_python_chunks_start_at_definitions_with_their_decorators(any_model):
    budget = max(any_model.count_tokens(part) for part in PYTHON.split("\n\n\n")) + 4
    spans = chunk_code(PYTHON, any_model, language="python", chunk_tokens=budget, overlap_tokens=0)
    firsts = [PYTHON[s.start : s.end].split("\n")[0] for s in spans]
    assert "@decorator" in firsts and "class Second:" in firsts
    assert all(not f.startswith("def first") for f in firsts)  # the decorator stays attached
    for s in spans:
        assert any_model.count_tokens(PYTHON[s.start : s.end]) <= budget


def test_methods_keep_their_indentation_when_a_class_is_split(any_model):
    cls = PYTHON[PYTHON.index("class Second") : PYTHON.index("def third")]
    budget = any_model.count_tokens(cls) - 2
    spans = chunk_code(cls, any_model, language="python", chunk_tokens=budget, overlap_tokens=0)
    assert len(spans) >= 2
    assert cls[spans[1].start : spans[1].end].startswith("    def method_")


def test_line_ranges_match_the_text(any_model):
    starts = line_starts(PYTHON)
    lines = PYTHON.split("\n")
    for s in chunk_code(PYTHON, any_model, language="python", chunk_tokens=20, overlap_tokens=4):
        first, last = line_range(starts, s.start, s.end)
        piece = PYTHON[s.start : s.end]
        assert piece.split("\n")[0].strip() in lines[first - 1]
        assert piece.split("\n")[-1].strip() in lines[last - 1]
        assert last - first == piece.count("\n")


def test_javascript_uses_its_own_separators(any_model):
    budget = any_model.count_tokens("function add(a, b) {\n  return a + b;\n}") + 3
    spans = chunk_code(JS, any_model, language="js", chunk_tokens=budget, overlap_tokens=0)
    assert [JS[s.start : s.end].split("\n")[0] for s in spans][1:] == ["function add(a, b) {", "function mul(a, b) {"]


@pytest.mark.parametrize("suffix, language", [(".py", "python"), (".TSX", "ts"), (".rs", "rust"), (".json", None)])
def test_language_of(suffix, language):
    assert language_of(suffix) == language


def test_languages_without_separators_still_chunk(any_model):
    text = "\n".join(f'"key{i}": {i},' for i in range(80))
    spans = chunk_code(text, any_model, language=None, chunk_tokens=30, overlap_tokens=0)
    assert len(spans) > 1 and all(text[s.start] == '"' for s in spans)


def test_documents_and_store_import_without_langchain():
    """LangChain's splitter is imported only when code is chunked: the rest works without any RAG framework."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'langchain', 'langchain_core', 'langchain_text_splitters', 'llama_index'}:\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import jina_local.documents, jina_local.qdrant, jina_local.late_chunking\n"
        "from jina_local.documents import decode_text, walk\n"
        "print('ok', sorted(m for m in sys.modules if m.startswith(('langchain', 'llama_index'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok []"


def test_kept_indentation_never_pushes_a_chunk_over_its_budget(tiny_v4) -> None:
    """Found by the chunker fuzz (seed 1): an indented one-token chunk came back as 2 tokens with its indent."""
    source = "\n    def m(self): "
    for span in chunk_code(source, tiny_v4, language="python", chunk_tokens=1, overlap_tokens=0):
        assert tiny_v4.count_tokens(source[span.start : span.end]) <= 1
