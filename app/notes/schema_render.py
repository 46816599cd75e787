"""The PNG of a シェーマ, rendered on the server from the base drawing and the checked strokes (with Pillow): the
eraser clears ink only, never the base drawing; pressure widens a pen stroke where the device gave it."""

from __future__ import annotations

import io
from functools import lru_cache
from itertools import groupby
from typing import Any

from PIL import Image, ImageColor, ImageDraw, ImageFont

from app.notes.schema_bases import BASES, HEIGHT, OUTLINE, WIDTH, Ellipse
from app.notes.schema_strokes import SCALE_PRESSURE, SCALE_XY
from app.printing.fonts import GOTHIC, font_path

#: Pressure is shown in steps of a quarter of the pen's width (a run of points of one step is one polyline).
_PRESSURE_STEPS = 4
#: A stored pressure (hundredths) divided by this is its step; a stored coordinate (tenths) times this is pixels.
_STEP = SCALE_PRESSURE // _PRESSURE_STEPS
_PIXEL = 1 / SCALE_XY


@lru_cache(maxsize=16)
def _base_image(key: str) -> Image.Image:
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    for shape in BASES[key][1]:
        if isinstance(shape, Ellipse):
            draw.ellipse((shape.cx - shape.rx, shape.cy - shape.ry, shape.cx + shape.rx, shape.cy + shape.ry),
                         outline=OUTLINE, width=2)
        else:
            draw.line(shape.points, fill=OUTLINE, width=2, joint="curve")
    return image


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(GOTHIC)), size)


def _xy(flat: list[int]) -> list[float]:
    """The stroke's x and y in pixels, interleaved as ImageDraw takes them (slices and maps: no loop per point)."""
    xy = [0.0] * (len(flat) // 3 * 2)
    xy[0::2] = map(_PIXEL.__mul__, flat[0::3])
    xy[1::2] = map(_PIXEL.__mul__, flat[1::3])
    return xy


def _runs(flat: list[int]) -> list[tuple[int, list[float]]]:
    """The stroke cut where its pressure step changes: (step, flat xy), consecutive runs sharing an end point."""
    steps = list(map(_STEP.__rfloordiv__, flat[2::3]))
    xy = _xy(flat)
    if min(steps) == max(steps):  # a steady hand (or a finger): one run
        return [(steps[0], xy)]
    runs: list[tuple[int, list[float]]] = []
    start = 0
    for step, group in groupby(steps):
        end = start + len(list(group))
        runs.append((step, xy[2 * max(0, start - 1):2 * end]))
        start = end
    return runs


def _stroke(draw: ImageDraw.ImageDraw, item: dict[str, Any], fill: tuple[int, ...]) -> None:
    for step, run in _runs(item["p"]):
        width = max(1, round(item["w"] * (0.5 + step / _PRESSURE_STEPS))) if item["t"] == "pen" else round(item["w"])
        if len(run) == 2:
            x, y = run
            radius = width / 2
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill)
        else:
            # Round joints only show on a thick line; on a thin one they cost time and no pixel.
            draw.line(run, fill=fill, width=width, joint="curve" if width > 4 else None)


def render_png(base: str, drawing: dict[str, Any]) -> bytes:
    """The drawing over its base as PNG bytes."""
    ink = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
    draw = ImageDraw.Draw(ink)
    for item in drawing["items"]:
        if item["t"] == "text":
            draw.text((item["x"], item["y"]), item["s"], fill=item["c"], font=_font(round(item["z"])), anchor="ls")
        else:
            colour = (0, 0, 0, 0) if item["t"] == "eraser" else (*ImageColor.getrgb(item["c"]), 255)
            _stroke(draw, item, colour)
    image = _base_image(base).copy()
    image.paste(ink, (0, 0), ink)
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()

