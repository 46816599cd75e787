"""The PNG of a シェーマ, rendered on the server from the base drawing and the checked strokes (with Pillow): the
eraser clears ink only, never the base drawing; pressure widens a pen stroke where the device gave it."""

from __future__ import annotations

import io
from functools import lru_cache
from itertools import groupby
from typing import Any

from PIL import Image, ImageColor, ImageDraw, ImageFont

from app.notes.schema_bases import BASES, HEIGHT, OUTLINE, WIDTH, Ellipse
from app.printing.fonts import GOTHIC, font_path

#: Pressure is shown in steps of a quarter of the pen's width (a run of points of one step is one polyline).
_PRESSURE_STEPS = 4


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


def _runs(points: list[list[float]]) -> list[tuple[int, list[tuple[float, float]]]]:
    """The stroke cut where its pressure step changes: (step, points), consecutive runs sharing an end point."""
    runs: list[tuple[int, list[tuple[float, float]]]] = []
    last = None
    for step, group in groupby(points, key=lambda p: min(_PRESSURE_STEPS, int(p[2] * _PRESSURE_STEPS))):
        run = [(p[0], p[1]) for p in group]
        runs.append((step, [last, *run] if last else run))
        last = run[-1]
    return runs


def _stroke(draw: ImageDraw.ImageDraw, item: dict[str, Any], fill: tuple[int, ...]) -> None:
    for step, run in _runs(item["p"]):
        width = max(1, round(item["w"] * (0.5 + step / _PRESSURE_STEPS))) if item["t"] == "pen" else round(item["w"])
        if len(run) == 1:
            x, y = run[0]
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

