"""The base drawings a シェーマ is drawn over, drawn by this project: each a few outlines on a 600×800 canvas, from
which both the SVG the editor shows and the server's PNG are made (one source, so the two never differ)."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

WIDTH, HEIGHT = 600, 800
OUTLINE = "#8a8f98"

Point = tuple[float, float]


@dataclass(frozen=True)
class Ellipse:
    """An ellipse outline."""

    cx: float
    cy: float
    rx: float
    ry: float


@dataclass(frozen=True)
class Line:
    """A polyline (closed when its last point is its first)."""

    points: tuple[Point, ...]


Shape = Ellipse | Line


def _mirror(half: list[Point], axis: float = 300) -> tuple[Point, ...]:
    """A closed outline from its right half (listed top to bottom), mirrored about the vertical axis."""
    right = [(axis + dx, y) for dx, y in half]
    left = [(axis - dx, y) for dx, y in reversed(half)]
    return tuple([*right, *left, right[0]])


_BODY_HALF = [(18, 130), (20, 155), (75, 175), (95, 200), (110, 300), (120, 400), (130, 460), (135, 490),
              (120, 500), (100, 450), (90, 380), (80, 300), (65, 240), (62, 330), (58, 400), (70, 460), (68, 560),
              (60, 680), (55, 760), (75, 785), (20, 785), (22, 700), (20, 600), (10, 500), (0, 490)]
_BODY = (Ellipse(300, 80, 42, 52), Line(_mirror(_BODY_HALF)))
_TORSO_HALF = [(60, 60), (200, 110), (230, 200), (215, 420), (205, 600), (230, 760), (0, 760)]

BASES: dict[str, tuple[str, tuple[Shape, ...]]] = {
    "body_front": ("全身（前面）", (*_BODY, Line(((280, 240), (300, 250), (320, 240))), Ellipse(300, 380, 4, 4))),
    "body_back": ("全身（背面）", (*_BODY, Line(((300, 160), (300, 470))), Ellipse(255, 240, 22, 34),
                                   Ellipse(345, 240, 22, 34), Line(((250, 470), (300, 490), (350, 470))))),
    "head_face": ("頭部・顔面", (Ellipse(300, 380, 200, 260), Ellipse(220, 330, 40, 18), Ellipse(380, 330, 40, 18),
                                 Line(((300, 340), (285, 450), (315, 455))), Line(((240, 540), (300, 560), (360, 540))),
                                 Ellipse(90, 380, 22, 55), Ellipse(510, 380, 22, 55),
                                 Line(((170, 290), (260, 280))), Line(((340, 280), (430, 290))))),
    "chest": ("胸部", (Line(_mirror(_TORSO_HALF)), Line(((120, 130), (290, 150))), Line(((310, 150), (480, 130))),
                        Line(((300, 150), (300, 460))), Ellipse(200, 380, 8, 8), Ellipse(400, 380, 8, 8),
                        Line(((110, 520), (300, 470), (490, 520))))),
    "abdomen": ("腹部", (Line(_mirror(_TORSO_HALF)), Line(((110, 140), (300, 90), (490, 140))),
                         Ellipse(300, 420, 10, 10), Line(((300, 150), (300, 700))), Line(((90, 420), (510, 420))),
                         Line(((140, 700), (300, 760), (460, 700))))),
    "limbs": ("四肢", (Line(((60, 60), (100, 60), (120, 330), (130, 360), (95, 360), (80, 330), (60, 60))),
                        Ellipse(110, 400, 30, 40), Line(((300, 40), (380, 40), (375, 400), (360, 720), (400, 760),
                                                         (300, 765), (310, 720), (300, 400), (300, 40))),
                        Ellipse(340, 420, 20, 16), Line(((470, 60), (520, 60), (540, 330), (505, 335), (470, 60))),
                        Ellipse(520, 390, 28, 45))),
}


def base_label(key: str) -> str:
    """The Japanese name of a base drawing."""
    return BASES[key][0]


def base_svg(key: str) -> Markup:
    """The base drawing as inline SVG (numbers only: nothing of a user's reaches it)."""
    parts = []
    for shape in BASES[key][1]:
        if isinstance(shape, Ellipse):
            parts.append(f'<ellipse cx="{shape.cx}" cy="{shape.cy}" rx="{shape.rx}" ry="{shape.ry}"/>')
        else:
            points = " ".join(f"{x},{y}" for x, y in shape.points)
            parts.append(f'<polyline points="{points}"/>')
    # Every value is one of this module's numbers or constants: nothing typed by anyone reaches the markup.
    svg = (f'<svg class="schema-base" viewBox="0 0 {WIDTH} {HEIGHT}" xmlns="http://www.w3.org/2000/svg" '
           f'fill="none" stroke="{OUTLINE}" stroke-width="2" stroke-linejoin="round" aria-hidden="true">'
           + "".join(parts) + "</svg>")
    return Markup(svg)  # noqa: S704
