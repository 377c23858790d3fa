"""Write the binary files of ``examples/sample-docs/``: a bar chart (PNG, drawn with PIL) and a 3-page PDF.

The markdown notes and the code file are committed as they are; the two binary files are generated, so
the repository holds no opaque blobs (they are listed in ``.gitignore``)::

    python examples/make_sample_docs.py            # writes examples/sample-docs/{revenue-chart.png,q3-report.pdf}
    python examples/make_sample_docs.py OUT_DIR    # or into another folder

The PDF is written by hand (PDF 1.4 syntax: catalog, page tree, Helvetica, one content stream per page) so
that nothing but the standard library is needed for it; :func:`write_pdf` is reused by the tests.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).parent / "sample-docs"

QUARTERS = [("Q1", 8.2), ("Q2", 9.1), ("Q3", 11.4), ("Q4", 10.7)]
"""Revenue per quarter in million euros, shared by the chart, the PDF and the notes."""


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def text_ops(lines: Sequence[str], *, x: int = 72, y: int = 720, size: int = 12, leading: int = 16) -> str:
    """PDF content-stream operators that print ``lines`` top-down in Helvetica."""
    ops = [f"BT /F1 {size} Tf {leading} TL {x} {y} Td"]
    ops += [f"({_escape(line)}) Tj T*" for line in lines]
    ops.append("ET")
    return "\n".join(ops)


def write_pdf(path: Path, pages: Sequence[str], *, size: tuple[int, int] = (612, 792)) -> Path:
    """Write a PDF with one page per content stream in ``pages`` (US Letter by default)."""
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    kids = []
    for ops in pages:
        stream = ops.encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 3 0 R >> >> "
            b"/Contents %d 0 R >>" % (size[0], size[1], len(objects))
        )
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def report_pages() -> list[str]:
    """The three pages of the quarterly report: cover, revenue table with bars, outlook."""
    cover = text_ops(["Northwind Robotics", "Quarterly report, third quarter"], y=600, size=28, leading=40)
    cover += "\n" + text_ops(["Prepared by the finance team. Figures in million euros."], y=480)
    rows = [f"{q}  revenue {v:.1f}" for q, v in QUARTERS]
    table = text_ops(["Revenue by quarter", "", *rows, "", "Q3 grew 25 percent over Q2, driven by warehouse robots."])
    bars = "\n".join(
        f"0.20 0.45 0.75 rg {100 + 110 * i} 150 60 {int(v * 20)} re f" for i, (_, v) in enumerate(QUARTERS)
    )
    outlook = text_ops(
        [
            "Outlook",
            "",
            "We expect Q4 revenue near 10.7 million euros as one large order moves to next year.",
            "Hiring continues in Lyon; the new battery line starts production in spring.",
            "Risks: component prices and the delayed certification of the gripper arm.",
        ]
    )
    return [cover, table + "\n" + bars, outlook]


def write_chart(path: Path) -> Path:
    """A bar chart of revenue per quarter, drawn with PIL."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 400), "white")
    draw = ImageDraw.Draw(image)
    draw.text((20, 15), "Revenue per quarter (million EUR)", fill="black")
    for i, (quarter, value) in enumerate(QUARTERS):
        left, top = 80 + 140 * i, 360 - int(value * 25)
        draw.rectangle((left, top, left + 80, 360), fill=(52, 115, 191))
        draw.text((left + 28, 370), quarter, fill="black")
        draw.text((left + 22, top - 15), f"{value:.1f}", fill="black")
    draw.line((60, 360, 620, 360), fill="black", width=2)
    image.save(path)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    target = Path(args[0]) if args else HERE
    target.mkdir(parents=True, exist_ok=True)
    if target.resolve() != HERE.resolve():  # another folder: copy the committed notes and code beside
        for source in sorted(HERE.iterdir()):
            if source.suffix in {".md", ".py"}:
                (target / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    chart = write_chart(target / "revenue-chart.png")
    report = write_pdf(target / "q3-report.pdf", report_pages())
    print(f"wrote {chart} and {report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
