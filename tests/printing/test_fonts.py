"""Japanese fonts come from the Debian package fonts-ipaexfont and are embedded as a subset."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.printing import fonts
from app.printing.prescription import render_prescription_pdf
from tests.printing.pdf_tools import pdf_fonts
from tests.printing.rx_factory import make_prescription_print

SETUP = Path(__file__).resolve().parents[2] / "scripts" / "setup.sh"


def test_a_missing_font_names_the_package_to_install(monkeypatch):
    monkeypatch.setitem(fonts.FONT_FILES, fonts.GOTHIC, (Path("/nonexistent/ipaexg.ttf"),))
    with pytest.raises(fonts.FontMissingError, match="fonts-ipaexfont"):
        fonts.font_path(fonts.GOTHIC)


def test_the_pdf_embeds_a_subset_of_ipaex_gothic():
    pdf = render_prescription_pdf(make_prescription_print())
    assert re.search(rb"/BaseFont /[A-Z]{6}\+IPAexGothic", pdf)
    assert b"/FontFile2" in pdf
    assert len(pdf) < 400_000  # a subset, not the 6 MB font


def test_every_font_the_prescription_names_is_embedded(tmp_path):
    fonts_named = pdf_fonts(render_prescription_pdf(make_prescription_print()), tmp_path)
    assert fonts_named and all(embedded for _, embedded in fonts_named), fonts_named
    assert all(name.endswith("+IPAexGothic") for name, _ in fonts_named)


def test_setup_installs_what_printing_and_its_tests_need():
    packages = re.search(r"DEBIAN_PACKAGES=\(([^)]*)\)", SETUP.read_text(encoding="utf-8")).group(1).split()
    assert {"fonts-ipaexfont", "poppler-utils", "zbar-tools"} <= set(packages)
