"""The stroke data of a シェーマ as the server accepts it: JSON of known fields only, numbers finite and inside the
canvas, colours from the palette, sizes bounded; text labels as plain text. What is stored is rebuilt from the
checked values, never the client's text (so nothing of markup can be kept)."""

from __future__ import annotations

import json
import math
from typing import Any

from app.core.errors import ValidationError
from app.core.jp import strip_control_chars
from app.notes.schema_bases import HEIGHT, WIDTH

#: Largest stroke document accepted (bytes of JSON), items in a drawing, points in a stroke and in a drawing.
MAX_BYTES = 3_000_000
MAX_ITEMS = 5_000
MAX_POINTS_PER_STROKE = 2_000
MAX_POINTS = 250_000
MAX_LABEL = 40
#: The pen colours of the editor (black, red, blue, green, orange).
PALETTE = ("#202124", "#d93025", "#1a73e8", "#188038", "#e37400")
PEN_WIDTHS = (1.0, 24.0)
ERASER_WIDTHS = (4.0, 60.0)
LABEL_SIZES = (12.0, 48.0)
_FIELDS = {"pen": {"t", "c", "w", "p"}, "eraser": {"t", "w", "p"}, "text": {"t", "c", "x", "y", "s", "z"}}

BAD = "シェーマのデータが読めません。描き直して保存してください"


def _refuse(detail: str) -> ValidationError:
    return ValidationError(f"{BAD}（{detail}）", field="strokes")


def _number(value: Any, low: float, high: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _refuse(f"{what}が数値ではありません")
    if not low <= value <= high:
        raise _refuse(f"{what}が範囲外です")
    return round(float(value), 1)


_NUMBERS = {int, float}
#: A stored point is three integers: x and y in tenths of a pixel, pressure in hundredths (integers keep the
#: JSON small and quick to read and write; a drawing may hold a quarter of a million points).
SCALE_XY, SCALE_PRESSURE = 10, 100
_FLAT_LIMITS = ((0, WIDTH * SCALE_XY), (0, HEIGHT * SCALE_XY), (0, SCALE_PRESSURE))


def _points(raw: Any) -> list[int]:
    """A stroke's points as stored: flat [x, y, pressure, x, y, pressure, …] in integers (SCALE_XY,
    SCALE_PRESSURE). The editor sends them so; the nested form [[x, y, pressure], …] in pixels (pressure may be
    left out of every point: 0.5) of earlier editors is read too and stored flat. Checked a column at a time with
    built-ins; booleans fail the exact type test, NaN and infinities never pass (the JSON reader refuses NaN;
    1e400 fails the range)."""
    if type(raw) is not list or not raw:
        raise _refuse(f"線の点の数は1〜{MAX_POINTS_PER_STROKE}です")
    if type(raw[0]) is list:
        return _nested_points(raw)
    if len(raw) % 3 or len(raw) > 3 * MAX_POINTS_PER_STROKE:
        raise _refuse(f"線の点の数は1〜{MAX_POINTS_PER_STROKE}で、点は x・y・筆圧の3つの数です")
    if set(map(type, raw)) != {int}:
        raise _refuse("座標が数値（整数）ではありません")
    columns = (raw[0::3], raw[1::3], raw[2::3])
    if any(min(values) < low or max(values) > high for values, (low, high) in zip(columns, _FLAT_LIMITS,
                                                                                   strict=True)):
        raise _refuse("座標が範囲外です")
    return raw


def _nested_points(raw: list) -> list[int]:
    """The nested form of earlier editors, checked as before, as flat integers."""
    if len(raw) > MAX_POINTS_PER_STROKE:
        raise _refuse(f"線の点の数は1〜{MAX_POINTS_PER_STROKE}です")
    if set(map(type, raw)) != {list} or len(lengths := set(map(len, raw))) != 1 or lengths - {2, 3}:
        raise _refuse("点の形が違います")
    columns = list(zip(*raw, strict=True))
    if any(set(map(type, values)) - _NUMBERS for values in columns):
        raise _refuse("座標が数値ではありません")
    limits = ((0, WIDTH), (0, HEIGHT), (0, 1))
    if any(min(values) < low or max(values) > high for values, (low, high) in zip(columns, limits, strict=False)):
        raise _refuse("座標が範囲外です")
    pressures = columns[2] if len(columns) == 3 else [0.5] * len(raw)
    flat: list[int] = []
    for x, y, pressure in zip(columns[0], columns[1], pressures, strict=True):
        flat += (round(x * SCALE_XY), round(y * SCALE_XY), round(pressure * SCALE_PRESSURE))
    return flat


def _item(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or raw.get("t") not in _FIELDS or not set(raw) <= _FIELDS[raw["t"]]:
        raise _refuse("知らない項目があります")
    kind = raw["t"]
    if kind != "eraser" and raw.get("c") not in PALETTE:
        raise _refuse("使えない色です")
    if kind == "text":
        text = " ".join(strip_control_chars(str(raw.get("s") or "")).split())
        if not text or len(text) > MAX_LABEL:
            raise _refuse(f"文字ラベルは1〜{MAX_LABEL}文字です")
        return {"t": "text", "c": raw["c"], "x": _number(raw.get("x"), 0, WIDTH, "座標"),
                "y": _number(raw.get("y"), 0, HEIGHT, "座標"), "s": text,
                "z": _number(raw.get("z"), *LABEL_SIZES, "文字の大きさ")}
    widths = PEN_WIDTHS if kind == "pen" else ERASER_WIDTHS
    item = {"t": kind, "w": _number(raw.get("w"), *widths, "線の太さ"), "p": _points(raw.get("p"))}
    return item | ({"c": raw["c"]} if kind == "pen" else {})


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def read_json(raw: str | bytes | None) -> Any:
    """The editor's JSON (what it sends, or the strokes alone), read strictly: no NaN or Infinity, bounded size;
    ValidationError (field "strokes") otherwise."""
    if not raw:
        raise ValidationError("シェーマに何も描かれていません", field="strokes")
    if len(raw) > MAX_BYTES:
        raise _refuse(f"データが大きすぎます（{MAX_BYTES // 1_000_000}MBまで）")
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise _refuse("JSONではありません") from None


def parse_strokes(raw: str | bytes | None) -> dict[str, Any]:
    """The checked drawing from the strokes' JSON text ({"items": [...]})."""
    return check_strokes(read_json(raw))


def check_strokes(document: Any) -> dict[str, Any]:
    """The checked drawing from the strokes as read from JSON; ValidationError (field "strokes") otherwise."""
    if document is None or document == "":
        raise ValidationError("シェーマに何も描かれていません", field="strokes")
    if not isinstance(document, dict) or set(document) - {"v", "items"} or not isinstance(document.get("items"), list):
        raise _refuse("形が違います")
    if len(document["items"]) > MAX_ITEMS:
        raise _refuse(f"線と文字は{MAX_ITEMS:,}個までです")
    items = [_item(i) for i in document["items"]]
    if not items:
        raise ValidationError("シェーマに何も描かれていません", field="strokes")
    if sum(len(i.get("p", ())) for i in items) > 3 * MAX_POINTS:
        raise _refuse(f"点は合わせて{MAX_POINTS:,}個までです")
    return {"v": 2, "items": items}
