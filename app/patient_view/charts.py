"""A small trend chart of one test for the patient screen and its print-out: server-drawn SVG (no chart library,
nothing run in the browser), the reference range as a green band, values outside it as larger red dots."""

from __future__ import annotations

from datetime import date

from markupsafe import Markup

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
    parts = [Markup('<svg class="pv-trend" viewBox="0 0 {} {}" width="{}" height="{}" role="img" aria-label="{}">')
             .format(WIDTH, HEIGHT, WIDTH, HEIGHT, f"{name}の推移：{said}")]
    if band:
        top, bottom = y(band[1]), y(band[0])
        parts.append(Markup('<rect x="{}" y="{}" width="{}" height="{}" fill="#dff0d8"/>')
                     .format(LEFT, top, WIDTH - LEFT - RIGHT, round(bottom - top, 1)))
    line = " ".join(f"{x(d)},{y(v)}" for d, v, _flag in points)
    parts.append(Markup('<polyline fill="none" stroke="#1f5f8b" stroke-width="3" points="{}"/>').format(line))
    for day, value, flag in points:
        colour, radius = ("#b3261e", 7) if flag else ("#1f5f8b", 5)
        parts.append(Markup('<circle cx="{}" cy="{}" r="{}" fill="{}"/>').format(x(day), y(value), radius, colour))
        parts.append(Markup('<text x="{}" y="{}" font-size="15" fill="{}" text-anchor="middle">{}</text>')
                     .format(x(day), round(y(value) - 11, 1), colour, f"{value:g}"))
    baseline = HEIGHT - 6
    parts.append(Markup('<text x="{}" y="{}" font-size="14" fill="#333">{}</text>')
                 .format(LEFT, baseline, f"{points[0][0].year}年{points[0][0].month}月"))
    parts.append(Markup('<text x="{}" y="{}" font-size="14" fill="#333" text-anchor="end">{}</text>')
                 .format(WIDTH - RIGHT, baseline, f"{points[-1][0].year}年{points[-1][0].month}月"))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)
