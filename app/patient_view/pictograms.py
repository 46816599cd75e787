"""The pictograms of when to take a medicine, drawn by this project as SVG: 朝・昼・夕・寝る前 and 食前・食後・食間.
Each is decoration beside its word (aria-hidden): the word is always printed too. Used by the screen and by the
print-out, so the two show the same drawings."""

from __future__ import annotations

import math

from markupsafe import Markup

_OPEN = '<svg class="picto" viewBox="0 0 64 64" width="56" height="56" aria-hidden="true" focusable="false">'
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


def _bowl(x: int) -> str:
    """A rice bowl (ご飯茶碗) whose left edge is at x."""
    return (f'<path d="M{x} 38h26a13 13 0 0 1-26 0z" fill="{_BOWL}"/>'
            f'<path d="M{x + 2} 38a11 8 0 0 1 22 0z" fill="{_RICE}" stroke="{_INK}" stroke-width="1.5"/>')


def _pill(x: int, y: int) -> str:
    """A capsule, two colours, centred on (x, y)."""
    return (f'<path d="M{x - 9} {y}a5 5 0 0 1 5-5h4v10h-4a5 5 0 0 1-5-5z" fill="{_PILL_A}"/>'
            f'<path d="M{x} {y - 5}h4a5 5 0 0 1 0 10h-4z" fill="{_PILL_B}" stroke="{_INK}" stroke-width="1"/>')


def _arrow(x: int) -> str:
    return (f'<path d="M{x} 40h8" stroke="{_INK}" stroke-width="3"/>'
            f'<path d="M{x + 8} 35l6 5-6 5z" fill="{_INK}"/>')


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
    "before_meal": _pill(11, 40) + _arrow(21) + _bowl(36),
    # 食後: the meal, then the medicine.
    "after_meal": _bowl(2) + _arrow(30) + _pill(53, 40),
    # 食間: the medicine between two meals.
    "between_meals": (f'<g transform="scale(.62) translate(0 18)">{_bowl(2)}</g>' + _pill(32, 40)
                      + f'<g transform="scale(.62) translate(74 18)">{_bowl(2)}</g>'),
}


def pictogram(key: str) -> Markup:
    """The SVG of one pictogram (morning, noon, evening, bedtime, before_meal, after_meal, between_meals)."""
    return Markup(_OPEN + _DRAWINGS[key] + "</svg>")  # noqa: S704 (our own constant drawings, no outside text)
