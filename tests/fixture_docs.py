"""Files for the documents tests: PDFs written by ``examples/make_sample_docs.py`` (and broken on purpose),
text in several encodings, binaries, and a mixed folder like a user's."""

from __future__ import annotations

import importlib.util
import os
import random
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def sample_docs_module() -> ModuleType:
    """``examples/make_sample_docs.py`` imported by path (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("make_sample_docs", ROOT / "examples" / "make_sample_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_pdf(path: Path, page_texts: list[str]) -> Path:
    """A PDF with one page per text (one line each)."""
    docs = sample_docs_module()
    return docs.write_pdf(path, [docs.text_ops(text.split("\n")) for text in page_texts])


def encrypted_pdf_bytes(plain: bytes) -> bytes:
    """``plain`` with a standard-security /Encrypt entry whose user password is not empty."""
    entry = (
        b"/Root 1 0 R /Encrypt << /Filter /Standard /V 1 /R 2 /O <"
        + b"00" * 32
        + b"> /U <"
        + b"11" * 32
        + b"> /P -4 >> /ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>]"
    )
    return plain.replace(b"/Root 1 0 R", entry)


def break_page(plain: bytes, object_number: int) -> bytes:
    """``plain`` with object ``object_number`` (a page) replaced by a string: PDFium cannot load that page."""
    start = plain.find(b"%d 0 obj" % object_number)
    end = plain.find(b"endobj", start)
    return plain[:start] + b"%d 0 obj\n(not a page)\n" % object_number + plain[end:]


def binary_without_nul(size: int = 4096, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    return bytes(b for b in (rng.randrange(256) for _ in range(size)) if b)


def write_png(path: Path, color: tuple[int, int, int] = (200, 40, 40), size: tuple[int, int] = (48, 32)) -> Path:
    from PIL import Image

    Image.new("RGB", size, color).save(path)
    return path


def build_corpus(root: Path, outside: Path) -> Path:
    """A folder with every kind of file ``index_files`` meets; ``outside`` gets the target of an escaping link."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "notes.md").write_text(
        "# Cats\n\nCats sleep sixteen hours a day.\n\n## Food\n\nThey eat fish and chicken.\n", encoding="utf-8"
    )
    (root / "plain.txt").write_text("The quick brown fox jumps over the lazy dog. " * 12, encoding="utf-8")
    (root / "code.py").write_text(
        "import os\n\n\ndef add(a, b):\n    return a + b\n\n\nclass Box:\n    def size(self):\n        return 3\n",
        encoding="utf-8",
    )
    (root / "utf16.txt").write_bytes("Note: the meeting moved to Tuesday.".encode("utf-16"))
    (root / "latin1.txt").write_bytes("Café crème à la française.".encode("latin-1"))
    (root / "blob.dat").write_bytes(binary_without_nul())
    (root / "empty.txt").write_text("   \n", encoding="utf-8")
    write_png(root / "chart.png")
    write_pdf(root / "report.pdf", ["Quarterly revenue grew", "Costs fell", "Outlook is good"])
    (root / "corrupt.pdf").write_bytes(b"%PDF-1.4\nthis is not a real pdf\n")
    (root / "locked.pdf").write_bytes(encrypted_pdf_bytes(write_pdf(outside / "plain.pdf", ["secret"]).read_bytes()))
    (root / ".hidden.md").write_text("# hidden\n", encoding="utf-8")
    (root / ".gitignore").write_text("ignored.md\nbuild/\n", encoding="utf-8")
    (root / "ignored.md").write_text("# ignored\n", encoding="utf-8")
    (root / "build").mkdir(exist_ok=True)
    (root / "build" / "out.txt").write_text("build output\n", encoding="utf-8")
    sub = root / "sub"
    sub.mkdir(exist_ok=True)
    (sub / "deep.md").write_text("Deep note about the lighthouse keeper.\n", encoding="utf-8")
    target = outside / "secret.txt"
    target.write_text("outside the root\n", encoding="utf-8")
    os.symlink(target, root / "escape.txt")
    return root
