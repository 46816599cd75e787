"""The pictograms of when to take a medicine, drawn by this project as SVG: 朝・昼・夕・寝る前 and 食前・食後・食間.
Each is decoration beside its word (aria-hidden): the word is always printed too. Used by the screen and by the
print-out, so the two show the same drawings."""

from __future__ import annotations

import math

from markupsafe import Markup

_OPEN = '<svg class="picto" viewBox="0 0 {w} 64" width="{shown}" height="56" aria-hidden="true" focusable="false">'
_SUN = "#e8a317"
_DUSK = "#d0602a"
_NIGHT = "#31507a"
_INK = "#1c2430"
_RICE = "#ffffff"
_BOWL = "#8a4b2a"
_PILL_A = "#1f5f8b"
_PILL_B = "#f2c94c"


def _rays(cx: int, cy: int, inner: int, outer: int, angles: tuple[int, ...], colour: str) -> str:
    """Sun rays: short lines around (cx, cy) at the given angles (degrees, 0 = right, counter-clockwise)."""
    lines = []
    for angle in angles:
        dx, dy = math.cos(math.radians(angle)), -math.sin(math.radians(angle))
        lines.append(f'<line x1="{cx + dx * inner:.1f}" y1="{cy + dy * inner:.1f}" x2="{cx + dx * outer:.1f}" '
                     f'y2="{cy + dy * outer:.1f}" stroke="{colour}" stroke-width="4" stroke-linecap="round"/>')
    return "".join(lines)


def _bowl(x: float) -> str:
    """A rice bowl (ご飯茶碗), 36 wide, whose left edge is at x."""
    return (f'<path d="M{x} 32h36a18 18 0 0 1-36 0z" fill="{_BOWL}"/>'
            f'<path d="M{x + 3} 32a15 11 0 0 1 30 0z" fill="{_RICE}" stroke="{_INK}" stroke-width="2"/>')


def _pill(x: float, y: float) -> str:
    """A capsule, two colours, 28 long, centred on (x, y)."""
    return (f'<path d="M{x - 14} {y}a7 7 0 0 1 7-7h7v14h-7a7 7 0 0 1-7-7z" fill="{_PILL_A}" stroke="{_INK}" '
            f'stroke-width="1.5"/>'
            f'<path d="M{x} {y - 7}h7a7 7 0 0 1 0 14h-7z" fill="{_PILL_B}" stroke="{_INK}" stroke-width="1.5"/>')


def _arrow(x: float) -> str:
    """An arrow pointing right, 16 long, from x."""
    return (f'<path d="M{x} 36h9" stroke="{_INK}" stroke-width="4"/>'
            f'<path d="M{x + 9} 29l8 7-8 7z" fill="{_INK}"/>')


_DRAWINGS = {
    # 朝: the sun rising over the horizon.
    "morning": (f'<path d="M14 44a18 18 0 0 1 36 0z" fill="{_SUN}"/>'
                + _rays(32, 44, 22, 29, (0, 30, 60, 90, 120, 150, 180), _SUN)
                + f'<path d="M4 46h56" stroke="{_INK}" stroke-width="3"/>'
                + f'<path d="M26 58l6-7 6 7" fill="none" stroke="{_INK}" stroke-width="3"/>'),
    # 昼: the whole sun high in the sky.
    "noon": (f'<circle cx="32" cy="32" r="13" fill="{_SUN}"/>'
             + _rays(32, 32, 18, 26, (0, 45, 90, 135, 180, 225, 270, 315), _SUN)),
    # 夕: the sun going down, red, under a darkening sky.
    "evening": (f'<rect x="4" y="6" width="56" height="10" rx="3" fill="{_NIGHT}" opacity=".35"/>'
                f'<path d="M16 46a16 16 0 0 1 32 0z" fill="{_DUSK}"/>'
                + f'<path d="M4 46h56" stroke="{_INK}" stroke-width="3"/>'
                + f'<path d="M26 51l6 7 6-7" fill="none" stroke="{_INK}" stroke-width="3"/>'),
    # 寝る前: a crescent moon and Zz.
    "bedtime": (f'<path d="M36 10a22 22 0 1 0 18 34a18 18 0 1 1-18-34z" fill="{_NIGHT}"/>'
                f'<text x="40" y="26" font-size="16" font-weight="bold" fill="{_INK}">Z</text>'
                f'<text x="50" y="16" font-size="11" font-weight="bold" fill="{_INK}">z</text>'),
    # 食前: the medicine, then the meal.
    "before_meal": _pill(16, 36) + _arrow(33) + _bowl(56),
    # 食後: the meal, then the medicine.
    "after_meal": _bowl(2) + _arrow(42) + _pill(78, 36),
    # 食間: the medicine between two meals.
    "between_meals": _bowl(1) + _pill(48, 36) + _bowl(59),
}
#: The meal pictograms are wider than the times of day (two things side by side).
_WIDE = {"before_meal", "after_meal", "between_meals"}


def pictogram(key: str) -> Markup:
    """The SVG of one pictogram (morning, noon, evening, bedtime, before_meal, after_meal, between_meals)."""
    wide = key in _WIDE
    opening = _OPEN.format(w=96 if wide else 64, shown=84 if wide else 56)
    return Markup(opening + _DRAWINGS[key] + "</svg>")  # noqa: S704 (our own constant drawings, no outside text)
