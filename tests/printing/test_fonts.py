"""Japanese fonts come from the Debian package fonts-ipaexfont and are embedded as a subset."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.printing import font_subsets, fonts
from app.printing.prescription import render_prescription_pdf
from tests.printing.rx_factory import make_prescription_print, with_patient

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


def test_setup_installs_what_printing_and_its_tests_need():
    packages = re.search(r"DEBIAN_PACKAGES=\(([^)]*)\)", SETUP.read_text(encoding="utf-8")).group(1).split()
    assert {"fonts-ipaexfont", "poppler-utils", "zbar-tools"} <= set(packages)


def test_the_forms_printed_text_is_embedded_once_per_process():
    render_prescription_pdf(make_prescription_print())
    built = font_subsets._subset_file.cache_info().misses
    pdf = render_prescription_pdf(with_patient(make_prescription_print(), name="森　次郎"))
    # Labels and notes fill the same first subsets in every document; only the values' subset is new.
    assert font_subsets._subset_file.cache_info().misses <= built + 1
    assert len(re.findall(rb"/FontFile2", pdf)) == 3
