"""The 処方内容（控え） the simulated service hands back (PIR06): a small A5 PDF of the registered prescription."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A5
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

#: A Japanese font embedded in the 控え when the machine has it (else a standard CID font, not embedded).
FONT_FILE = Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf")


def japanese_font() -> str:
    """Register and name the Japanese font the simulators' PDFs are written in."""
    if FONT_FILE.exists():
        pdfmetrics.registerFont(TTFont("SimGothic", str(FONT_FILE)))
        return "SimGothic"
    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiKakuGo-W5"))
    return "HeiseiKakuGo-W5"


def reference_pdf(item: dict[str, Any]) -> bytes:
    """The 控え of one registered prescription."""
    font = japanese_font()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A5, invariant=1)
    canvas.setTitle("処方内容（控え）")
    canvas.setFont(font, 14)
    canvas.drawCentredString(A5[0] / 2, A5[1] - 50, "処方内容（控え）")
    canvas.setFont(font, 10)
    canvas.drawString(40, A5[1] - 80, f"引換番号 {item['access_code']}")
    canvas.drawString(40, A5[1] - 96, f"{item['institution']}　{item['registered_on'].isoformat()}")
    for index, (_, name) in enumerate(item["drugs"]):
        canvas.drawString(40, A5[1] - 124 - 16 * index, name)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
