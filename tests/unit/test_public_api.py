"""The public surface is pinned, typed, and free of framework imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jina_local

EXPECTED_ALL = [
    "ArgumentError",
    "BatchEvent",
    "CheckpointError",
    "CollectionConfigError",
    "DimensionError",
    "Embedder",
    "EncodeResult",
    "Encoded",
    "EncodingError",
    "EngineStats",
    "ErrorMode",
    "FetchError",
    "FetchPolicy",
    "FilterError",
    "InputError",
    "JinaLocalError",
    "Kind",
    "ModelInfo",
    "ModelNotFoundError",
    "NotPicklableError",
    "OptionError",
    "Output",
    "OutputError",
    "Role",
    "Task",
    "TaskError",
    "URLNotAllowedError",
    "UnsupportedModelError",
    "__version__",
    "detect_kind",
    "hf_style_options",
    "image_reference",
    "load",
    "paired_document_task",
    "parse_document_task",
    "parse_task",
]


def test_all_is_pinned():
    assert sorted(jina_local.__all__) == sorted(EXPECTED_ALL)
    for name in jina_local.__all__:
        assert hasattr(jina_local, name), name


def test_package_is_typed():
    assert (Path(jina_local.__file__).parent / "py.typed").is_file()


def test_import_needs_no_rag_framework():
    # Block langchain and llama_index at import time and check that the core still imports.
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'langchain', 'langchain_core', 'llama_index'}:\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import jina_local, jina_local.models.jina_v4, jina_local.qdrant\n"
        "jina_local.qdrant.check_filter({'lang': 'py'})\n"
        "print('ok', sorted(m for m in sys.modules if m.startswith(('langchain', 'llama_index'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok []"


def test_errors_share_one_base():
    for name in EXPECTED_ALL:
        obj = getattr(jina_local, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, jina_local.JinaLocalError)


def test_version_and_module_entry_point():
    result = subprocess.run(
        [sys.executable, "-m", "jina_local", "--version"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and result.stdout.strip() == f"jina-local {jina_local.__version__}"


def test_filter_error_is_in_the_error_tree():
    from jina_local.errors import FilterError, JinaLocalError
    from jina_local.qdrant import FilterError as FromQdrant

    assert FromQdrant is FilterError and issubclass(FilterError, (JinaLocalError, ValueError))
    assert jina_local.detect_kind("def f():\n    return 1\n") == "code"
