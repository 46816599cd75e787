"""A small drawing helper over a ReportLab canvas: millimetres from the top left, like a paper form.

Text that does not fit its box is made smaller down to a floor, then narrowed (horizontal scale), so
nothing printed is ever cut off or spills over a ruled line.
"""

from __future__ import annotations

from functools import lru_cache

from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from app.core.errors import ValidationError
from app.printing.fonts import first_missing_glyph

PT_TO_MM = 25.4 / 72
#: Where the baseline sits below the middle of a line of CJK text, as a share of the font size.
BASELINE_DROP = 0.36


class UnprintableTextError(ValidationError):
    """A text holds a character the embedded font has no glyph for: refused, never printed as another one."""

    code = "unprintable_character"


def check_printable(text: str, font: str) -> None:
    """Refuse a text with a character the font cannot draw, naming the character (a form must show a name
    exactly as written, so 𠮷 is not printed as 吉 or as an empty box)."""
    char = first_missing_glyph(font, text)
    if char is not None:
        context = text if len(text) <= 20 else text[:20] + "…"
        raise UnprintableTextError(f"「{context}」の「{char}」(U+{ord(char):04X})は印刷用フォントにない文字のため"
                                   "印刷できません。登録内容をこの文字を使わない表記に直してください")


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
        check_printable(text, font)
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
        """One line of text at x, y (points), narrowed to `scale` of its width."""
        line = self.canvas.beginText(x, y)
        line.setFont(font, size)
        if scale != 1.0:
            line.setHorizScale(scale * 100)
        line.textOut(text)
        self.canvas.drawText(line)

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
