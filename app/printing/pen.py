"""A small drawing helper over a ReportLab canvas: millimetres from the top left, like a paper form.

Text that does not fit its box is made smaller down to a floor, then narrowed (horizontal scale), so
nothing printed is ever cut off or spills over a ruled line.
"""

from __future__ import annotations

from functools import cache, lru_cache

from reportlab.lib.rl_accel import escapePDF, fp_str
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import getFont, stringWidth
from reportlab.pdfgen.canvas import Canvas

from app.core.jp import normalize_variants

PT_TO_MM = 25.4 / 72
#: Where the baseline sits below the middle of a line of CJK text, as a share of the font size.
BASELINE_DROP = 0.36


#: Printed for a character the font has no glyph for, after trying its everyday form (the spec's 外字 mark).
MISSING_GLYPH = "■"


@cache
def _glyphs(font: str) -> frozenset[int]:
    return frozenset(getFont(font).face.charToGlyph)


def printable(text: str, font: str) -> str:
    """The text with characters the font cannot draw folded to their everyday form (𠮷→吉), else ■."""
    glyphs = _glyphs(font)
    if glyphs.issuperset(map(ord, text)):
        return text
    out = []
    for char in text:
        if ord(char) in glyphs or char.isspace():
            out.append(char)
            continue
        folded = normalize_variants(char)
        out.append(folded if all(ord(c) in glyphs for c in folded) else MISSING_GLYPH)
    return "".join(out)


#: Characters a Japanese line may not start with (行頭禁則): they hang at the end of the line before.
NO_LINE_START = frozenset("、。，．）」』】〕？！ー・：；ぁぃぅぇぉっゃゅょァィゥェォッャュョ")


@lru_cache(maxsize=256)
def wrap_text(text: str, font: str, size: float, width: float) -> tuple[str, ...]:
    """Lines of a text no wider than `width` mm (closing punctuation may hang); cached, since the form's
    printed notes repeat on every page."""
    lines: list[str] = []
    current, current_width = "", 0.0
    for char in text:
        char_width = stringWidth(char, font, size) * PT_TO_MM
        if current and current_width + char_width > width and char not in NO_LINE_START:
            lines.append(current)
            current, current_width = "", 0.0
        current += char
        current_width += char_width
    if current:
        lines.append(current)
    return tuple(lines)


def wrap_words(text: str, font: str, size: float, width: float) -> list[str]:
    """Lines broken at spaces where the words fit (an address: 〒 and postcode, street, building)."""
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and stringWidth(candidate, font, size) * PT_TO_MM <= width:
            lines[-1] = candidate
        else:
            lines.extend(wrap_text(word, font, size, width))
    return lines


class Pen:
    """Draws on one page in mm, origin at the top left of a page `height` mm tall."""

    def __init__(self, canvas: Canvas, height: float, font: str) -> None:
        self.canvas = canvas
        self.height = height
        self.font = font

    def _y(self, top: float) -> float:
        return (self.height - top) * mm

    def line(self, x1: float, y1: float, x2: float, y2: float, width: float = 0.3) -> None:
        """A straight rule (width in points)."""
        self.canvas.setLineWidth(width)
        self.canvas.line(x1 * mm, self._y(y1), x2 * mm, self._y(y2))

    def rect(self, x: float, y: float, w: float, h: float, width: float = 0.3) -> None:
        """An outlined box."""
        self.canvas.setLineWidth(width)
        self.canvas.rect(x * mm, self._y(y + h), w * mm, h * mm, stroke=1, fill=0)

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, width: float = 0.5) -> None:
        """An ellipse around a printed choice (男・女, 被保険者・被扶養者)."""
        self.canvas.setLineWidth(width)
        self.canvas.ellipse((cx - rx) * mm, self._y(cy + ry), (cx + rx) * mm, self._y(cy - ry), stroke=1, fill=0)

    def check(self, x: float, y: float, w: float, h: float, size: float = 2.6) -> None:
        """A check mark (✓) of `size` mm centred in a box: the form asks for 「✓」 in 変更不可 and 患者希望."""
        cx, cy = x + w / 2, y + h / 2 + 0.3
        path = self.canvas.beginPath()
        path.moveTo((cx - size * 0.45) * mm, self._y(cy + size * 0.02))
        path.lineTo((cx - size * 0.12) * mm, self._y(cy + size * 0.38))
        path.lineTo((cx + size * 0.48) * mm, self._y(cy - size * 0.45))
        self.canvas.setLineWidth(1.0)
        self.canvas.drawPath(path, stroke=1, fill=0)

    def width_of(self, text: str, size: float, font: str | None = None) -> float:
        """Width of a text in mm."""
        return stringWidth(text, font or self.font, size) * PT_TO_MM

    def text(self, x: float, baseline: float, text: str, size: float, *, font: str | None = None,
             align: str = "left", max_width: float | None = None, min_size: float | None = None) -> None:
        """Draw one line of text; if `max_width` is given, shrink to `min_size`, then narrow it to fit."""
        if not text:
            return
        font = font or self.font
        text = printable(text, font)
        width = self.width_of(text, size, font)
        scale = 1.0
        if max_width is not None and width > max_width:
            floor = min_size or size
            size = max(floor, size * max_width / width)
            width = self.width_of(text, size, font)
            if width > max_width:
                scale, width = max_width / width, max_width
        if align == "center":
            x -= width / 2
        elif align == "right":
            x -= width
        self._show(x * mm, self._y(baseline), text, font, size, scale)

    def _show(self, x: float, y: float, text: str, font: str, size: float, scale: float) -> None:
        """One line of a TrueType font's text at x, y (points): the operators ReportLab's text object writes,
        without its bookkeeping (cursor, leading), which took a fifth of the time to draw a prescription."""
        face, doc = getFont(font), self.canvas._doc
        tf = f" {fp_str(size)} Tf ("
        # Each run of characters from one 256-glyph subset of the font is shown with that subset.
        shows = " ".join(f"{face.getSubsetInternalName(subset, doc)}{tf}{escapePDF(run)}) Tj"
                         for subset, run in face.splitString(text, doc))
        horizontal = f"{fp_str(scale * 100)} Tz " if scale != 1.0 else ""
        self.canvas.addLiteral(f"BT 1 0 0 1 {fp_str(x)} {fp_str(y)} Tm {horizontal}{shows} ET")

    def cell(self, x: float, y: float, w: float, h: float, text: str, size: float, *, font: str | None = None,
             align: str = "center", pad: float = 0.8, min_size: float | None = None) -> None:
        """One line of text centred vertically in a box, aligned left, centre or right within its padding."""
        baseline = y + h / 2 + size * PT_TO_MM * BASELINE_DROP
        anchor = {"left": x + pad, "center": x + w / 2, "right": x + w - pad}[align]
        self.text(anchor, baseline, text, size, font=font, align=align, max_width=w - 2 * pad,
                  min_size=min_size or size * 0.7)

    def lines_in(self, x: float, y: float, w: float, h: float, lines: list[str], size: float, *,
                 font: str | None = None, align: str = "left", leading: float = 1.2) -> None:
        """Several lines centred vertically as a block in a box."""
        step = size * PT_TO_MM * leading
        top = y + h / 2 - step * len(lines) / 2
        for index, line in enumerate(lines):
            self.cell(x, top + index * step, w, step, line, size, font=font, align=align, pad=0.5)

    def wrap(self, text: str, size: float, width: float, font: str | None = None) -> list[str]:
        """Break a Japanese text into lines no wider than `width` mm (any character may end a line)."""
        return list(wrap_text(text, font or self.font, size, width))

    def vertical(self, x: float, y: float, w: float, h: float, text: str, size: float) -> None:
        """A label written top to bottom, one character a line, spread over the box (患者, 処方, 備考)."""
        step = h / (len(text) + 1)
        for index, char in enumerate(text, start=1):
            self.cell(x, y + index * step - step / 2, w, step, char, size, pad=0.2)

    def digit_boxes(self, x: float, y: float, w: float, h: float, count: int, digits: str, size: float) -> None:
        """`count` boxes of width `w` with one digit each, right-aligned (a 6-digit 保険者番号 leaves 2 empty)."""
        digits = digits[-count:] if digits else ""
        offset = count - len(digits)
        for index in range(count):
            box_x = x + index * w
            self.rect(box_x, y, w, h, width=0.3)
            if index >= offset:
                self.cell(box_x, y, w, h, digits[index - offset], size, pad=0.2)
