"""What a pharmacy's tools see in a PDF: its text (pdftotext) and its QR symbols (pdftoppm + zbarimg).

poppler-utils and zbar-tools are Debian packages that scripts/setup.sh installs; a missing tool fails
the test loudly rather than skipping it.
"""

from __future__ import annotations

import shutil
import subprocess  # noqa: S404 -- fixed commands on files this test wrote
from pathlib import Path

import pytest
import segno
from PIL import Image

#: zbarimg's exit status when it found no symbol at all.
ZBAR_NOTHING_FOUND = 4


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run scripts/setup.sh (poppler-utils, zbar-tools)")
    return path


def pdf_text(pdf: bytes, tmp_path: Path, layout: bool = True) -> str:
    """The text pdftotext extracts from the PDF (all pages)."""
    source = tmp_path / "doc.pdf"
    source.write_bytes(pdf)
    args = [_tool("pdftotext"), *(["-layout"] if layout else []), str(source), "-"]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout  # noqa: S603


def page_images(pdf: bytes, tmp_path: Path, dpi: int = 300) -> list[Path]:
    """Each page rasterised as PNG at `dpi`, the way a scanner sees the printout."""
    source = tmp_path / "scan.pdf"
    source.write_bytes(pdf)
    subprocess.run([_tool("pdftoppm"), "-r", str(dpi), "-png", str(source), str(tmp_path / "page")],  # noqa: S603
                   check=True, capture_output=True)
    return sorted(tmp_path.glob("page-*.png"))


def decode_symbols(image: Path) -> bytes:
    """The raw bytes zbarimg reads from the QR symbols of an image (a structured-append set joined)."""
    result = subprocess.run([_tool("zbarimg"), "--quiet", "--nodbus", "--raw", "-Sbinary", "-Sqrcode.enable=1",  # noqa: S603
                             str(image)], capture_output=True)
    if result.returncode == ZBAR_NOTHING_FOUND:
        return b""
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


def pdf_info(pdf: bytes, tmp_path: Path) -> dict[str, str]:
    """pdfinfo's fields (Pages, Page size, Title …)."""
    source = tmp_path / "info.pdf"
    source.write_bytes(pdf)
    out = subprocess.run([_tool("pdfinfo"), str(source)], check=True, capture_output=True, text=True).stdout  # noqa: S603
    return {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in out.splitlines())}


def scan_side_by_side(symbols: list[segno.QRCode], tmp_path: Path, scale: int = 5) -> bytes:
    """What a reader gets from the symbols saved side by side, in the order given, in one image."""
    images = []
    for index, symbol in enumerate(symbols):
        path = tmp_path / f"symbol-{index}.png"
        symbol.save(str(path), scale=scale, border=4)
        images.append(Image.open(path).convert("L"))
    sheet = Image.new("L", (sum(i.width for i in images), max(i.height for i in images)), 255)
    left = 0
    for image in images:
        sheet.paste(image, (left, 0))
        left += image.width
    sheet.save(tmp_path / "side-by-side.png")
    return decode_symbols(tmp_path / "side-by-side.png")


def pdf_fonts(pdf: bytes, tmp_path: Path) -> list[tuple[str, bool]]:
    """pdffonts' list: each font's name and whether the PDF embeds it."""
    source = tmp_path / "fonts.pdf"
    source.write_bytes(pdf)
    out = subprocess.run([_tool("pdffonts"), str(source)], check=True, capture_output=True, text=True).stdout  # noqa: S603
    rows = [line.split() for line in out.splitlines()[2:] if line.strip()]
    return [(row[0], row[-5] == "yes") for row in rows]
