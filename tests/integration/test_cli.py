"""The command line without a model: entry points, --help against docs/documents.md, option parsing helpers."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import cli_env

from jina_local import __version__
from jina_local.cli import _parser, main
from jina_local.cli._common import model_reference
from jina_local.cli.search import _filter
from jina_local.errors import FilterError, OptionError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "documents.md"


@pytest.mark.parametrize("module", ["jina_local", "jina_local.cli"])
def test_python_m_works_like_the_script(module):
    result = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True, env=cli_env())
    assert result.returncode == 0 and result.stdout.strip() == f"jina-local {__version__}"


def _help(command: str, monkeypatch, capsys) -> str:
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit) as exit_info:
        _parser().parse_args([command, "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", ["index", "search", "info"])
def test_docs_show_the_help_exactly(command, monkeypatch, capsys):
    """docs/documents.md's "Command line" section holds each subcommand's --help (at 100 columns) verbatim."""
    text = _help(command, monkeypatch, capsys)
    blocks = re.findall(r"```text\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)
    shown = [b for b in blocks if b.startswith(f"usage: jina-local {command} ")]
    assert shown, f"docs/documents.md has no --help block for `jina-local {command}`"
    assert shown[0] == text, f"regenerate it: COLUMNS=100 jina-local {command} --help"


def test_help_documents_the_exit_codes_and_the_score(monkeypatch, capsys):
    index_help = _help("index", monkeypatch, capsys)
    for code in ("0 ", "1 ", "2 ", "130 "):
        assert re.search(rf"^  {code}", index_help, flags=re.M), code
    search_help = _help("search", monkeypatch, capsys)
    assert "raw_score: MaxSim" in search_help and "raw_score: cosine" in search_help


def test_filters_parse_to_typed_values():
    assert _filter(["kind=code", "page=3", "draft=true", "lang=py", "lang=rs", "name=a=b"]) == {
        "kind": "code",
        "page": 3,
        "draft": True,
        "lang": ["py", "rs"],
        "name": "a=b",
    }
    assert _filter([]) is None
    with pytest.raises(OptionError, match="KEY=VALUE"):
        _filter(["=code"])
    with pytest.raises(FilterError):
        _filter(["$or=1"])


def test_model_references_are_absolute_folders_or_hub_ids(tmp_path, monkeypatch):
    (tmp_path / "models" / "v4").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert model_reference("models/v4") == str((tmp_path / "models" / "v4").resolve())
    assert model_reference("jinaai/jina-clip-v2") == "jinaai/jina-clip-v2"
    monkeypatch.setenv("JINA_LOCAL_MODEL", "./models/v4")
    assert model_reference(None) == str((tmp_path / "models" / "v4").resolve())
    with pytest.raises(OptionError, match="no such folder"):
        model_reference("./models/v5")
    with pytest.raises(OptionError, match="records its model as 'models/old/v4'"):
        model_reference("models/old/v4", recorded=True)  # an index built before paths were resolved


def test_errors_are_one_line_in_process(tmp_path, capsys):
    assert main(["index", str(tmp_path / "nope"), "--index", str(tmp_path / "i")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: not found:") and err.count("\n") == 1
