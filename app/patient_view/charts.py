"""A small trend chart of one test for the patient screen and its print-out: server-drawn SVG (no chart library,
nothing run in the browser), the reference range as a green band, values outside it as larger red dots."""

from __future__ import annotations

from datetime import date

from markupsafe import Markup, escape

from app.labs.masters import RANGE_PATTERN

WIDTH, HEIGHT = 480, 160
LEFT, RIGHT, TOP, BOTTOM = 24, 24, 26, 26


def reference_band(reference_range: str) -> tuple[float, float] | None:
    """The reference range as (low, high) when it is two numbers ("13-30"); None for a text such as (−)."""
    match = RANGE_PATTERN.match(reference_range or "")
    return (float(match.group(1)), float(match.group(2))) if match else None


def trend_svg(name: str, points: list[tuple[date, float, str]], reference_range: str) -> Markup | None:
    """The chart of `points` (day, value, flag), oldest first; None with fewer than two values. Its label says
    every value in words, so the chart is never the only way to read them."""
    if len(points) < 2:
        return None
    band = reference_band(reference_range)
    values = [value for _day, value, _flag in points] + (list(band) if band else [])
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.1
    low, high = low - pad, high + pad
    first, last = points[0][0].toordinal(), points[-1][0].toordinal()
    span = max(last - first, 1)

    def x(day: date) -> float:
        return round(LEFT + (day.toordinal() - first) / span * (WIDTH - LEFT - RIGHT), 1)

    def y(value: float) -> float:
        return round(TOP + (high - value) / (high - low) * (HEIGHT - TOP - BOTTOM), 1)

    said = "、".join(f"{d.month}月{d.day}日 {v:g}" for d, v, _flag in points)
    # Numbers only, but for the label (escaped): formatted as plain text (Markup.format per element cost half of
    # the screen's time for twenty charts).
    parts = [f'<svg class="pv-trend" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
             f'aria-label="{escape(f"{name}の推移：{said}")}">']
    if band:
        top, bottom = y(band[1]), y(band[0])
        parts.append(f'<rect x="{LEFT}" y="{top}" width="{WIDTH - LEFT - RIGHT}" height="{round(bottom - top, 1)}" '
                     f'fill="#dff0d8"/>')
    placed = [(x(d), y(v), v, flag) for d, v, flag in points]  # each point's place worked out once
    line = " ".join(f"{px},{py}" for px, py, _v, _flag in placed)
    parts.append(f'<polyline fill="none" stroke="#1f5f8b" stroke-width="3" points="{line}"/>')
    for px, py, value, flag in placed:
        colour, radius = ("#b3261e", 7) if flag else ("#1f5f8b", 5)
        parts.append(f'<circle cx="{px}" cy="{py}" r="{radius}" fill="{colour}"/>'
                     f'<text x="{px}" y="{round(py - 11, 1)}" font-size="15" fill="{colour}" '
                     f'text-anchor="middle">{value:g}</text>')
    baseline = HEIGHT - 6
    first_day, last_day = points[0][0], points[-1][0]
    parts.append(f'<text x="{LEFT}" y="{baseline}" font-size="14" fill="#333">{first_day.year}年{first_day.month}月'
                 f'</text><text x="{WIDTH - RIGHT}" y="{baseline}" font-size="14" fill="#333" text-anchor="end">'
                 f'{last_day.year}年{last_day.month}月</text></svg>')
    return Markup("".join(parts))  # noqa: S704 (numbers we formatted, and the label escaped above)
