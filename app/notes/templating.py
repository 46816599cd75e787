"""診療録テンプレート as text and as values: the administrator or doctor writes a template in a few plain lines, it
is kept as sections of fields, and the editor's filled-in fields become plain SOAP text.

A template's source, one line each:
    [S] 主訴                      a section: the SOAP part (S, O, A or P) and its heading
    症状: text                    a free-text field
    体温: number ℃ 34-42          a number with its unit and the range a value must lie in
    咽頭発赤: choice あり/なし     a choice among the listed answers
    @include 高血圧フォロー        the sections of another template (by name), taken in when the note is filled
"""

from __future__ import annotations

import re
from decimal import Decimal

from app.core.errors import ValidationError
from app.core.forms import require_finite, to_number
from app.core.jp import strip_control_chars

PART_OF = {"S": "subjective", "O": "objective", "A": "assessment", "P": "plan"}
LETTER_OF = {v: k for k, v in PART_OF.items()}
KINDS = ("text", "number", "choice")
MAX_SOURCE = 8_000
MAX_FIELDS = 80
MAX_VALUE = 2_000
_SECTION = re.compile(r"^\[([SOAP])\]\s*(.{0,40})$")
_RANGE = re.compile(r"^(-?\d+(?:\.\d+)?)-(-?\d+(?:\.\d+)?)$")


def _refuse(message: str, line_no: int | None = None) -> None:
    where = f"{line_no}行目: " if line_no else ""
    raise ValidationError(where + message, field="source")


def parse(source: str) -> list[dict]:
    """The sections a template source describes (ValidationError naming the line for anything unreadable)."""
    text = strip_control_chars(source or "", multiline=True)
    if len(text) > MAX_SOURCE:
        _refuse(f"テンプレートは{MAX_SOURCE:,}文字以内にしてください")
    sections: list[dict] = []
    count = 0
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if match := _SECTION.match(line):
            sections.append({"part": PART_OF[match[1]], "title": match[2].strip(), "fields": []})
            continue
        if not sections:
            _refuse("最初に [S] [O] [A] [P] のどれかで区分を書いてください", no)
        count += 1
        if count > MAX_FIELDS:
            _refuse(f"項目は{MAX_FIELDS}個までです", no)
        sections[-1]["fields"].append(_field(line, no))
    if not sections:
        _refuse("テンプレートが空です。[S] などの区分と項目を書いてください")
    return sections


def _field(line: str, no: int) -> dict:
    if line.startswith("@include"):
        name = line[len("@include"):].strip()
        if not name or len(name) > 60:
            _refuse("@include の後に取り込むテンプレートの名前を書いてください", no)
        return {"kind": "include", "template": name}
    label, sep, spec = line.partition(":")
    label = label.strip()
    if not sep or not label or len(label) > 40:
        _refuse("項目は「名前: 種類」の形で書いてください（例: 体温: number ℃ 34-42）", no)
    words = spec.split()
    kind = words[0] if words else ""
    if kind == "text":
        return {"kind": "text", "label": label}
    if kind == "choice":
        choices = [c.strip() for c in " ".join(words[1:]).split("/") if c.strip()]
        if len(choices) < 2 or any(len(c) > 40 for c in choices):
            _refuse("choice には / で区切った2つ以上の選択肢を書いてください（例: あり/なし）", no)
        return {"kind": "choice", "label": label, "choices": choices}
    if kind == "number":
        field: dict = {"kind": "number", "label": label, "unit": ""}
        for word in words[1:]:
            if match := _RANGE.match(word):
                low, high = Decimal(match[1]), Decimal(match[2])
                if low >= high:
                    _refuse("範囲は「小さい値-大きい値」で書いてください", no)
                field["min"], field["max"] = str(low), str(high)
            elif len(word) <= 12:
                field["unit"] = word
            else:
                _refuse("単位は12文字以内で書いてください", no)
        return field
    _refuse("種類は text・number・choice のどれかです", no)
    return {}


def to_source(sections: list[dict]) -> str:
    """The lines a stored template is edited as (the inverse of parse)."""
    lines = []
    for section in sections:
        lines.append(f"[{LETTER_OF[section['part']]}] {section['title']}".rstrip())
        for f in section["fields"]:
            if f["kind"] == "include":
                lines.append(f"@include {f['template']}")
            elif f["kind"] == "choice":
                lines.append(f"{f['label']}: choice {'/'.join(f['choices'])}")
            elif f["kind"] == "number":
                bounds = f" {f['min']}-{f['max']}" if "min" in f else ""
                lines.append(f"{f['label']}: number {f['unit']}{bounds}".rstrip())
            else:
                lines.append(f"{f['label']}: text")
    return "\n".join(lines)


def includes(sections: list[dict]) -> list[str]:
    """The names of the templates a template takes in."""
    return [f["template"] for s in sections for f in s["fields"] if f["kind"] == "include"]


def expand(sections: list[dict], lookup, seen: tuple[str, ...]) -> list[dict]:
    """The sections with every @include replaced by the included template's (lookup: name → sections or None).
    A template that takes itself in, directly or through others, is refused."""
    out = []
    for section in sections:
        fields = []
        for f in section["fields"]:
            if f["kind"] != "include":
                fields.append(f)
                continue
            if f["template"] in seen:
                raise ValidationError(f"テンプレート「{f['template']}」が自分自身を取り込んでいます"
                                      f"（{' → '.join([*seen, f['template']])}）", field="source")
            included = lookup(f["template"])
            if included is None:
                raise ValidationError(f"取り込むテンプレート「{f['template']}」が見つかりません", field="source")
            out.append({**section, "fields": fields})
            fields = []
            out.extend(expand(included, lookup, (*seen, f["template"])))
        out.append({**section, "fields": fields})
    return [s for s in out if s["fields"]]


def fill(sections: list[dict], values: dict[str, str]) -> dict[str, str]:
    """The SOAP text filled-in fields make: per part, each section's heading and its answered fields as
    「label: value unit」 lines. Field values are keyed "<section index>.<field index>"; an empty one is left out;
    a number outside its range or not a finite number is refused, naming the field."""
    parts: dict[str, list[str]] = {}
    for si, section in enumerate(sections):
        lines = []
        for fi, f in enumerate(section["fields"]):
            raw = strip_control_chars(str(values.get(f"{si}.{fi}", "") or ""), multiline=True).strip()
            if not raw:
                continue
            if len(raw) > MAX_VALUE:
                raise ValidationError(f"{f['label']}は{MAX_VALUE:,}文字以内で入力してください", field=f"{si}.{fi}")
            lines.append(f"{f['label']}: {_value(f, raw, f'{si}.{fi}')}")
        if lines:
            head = [f"【{section['title']}】"] if section["title"] else []
            parts.setdefault(section["part"], []).append("\n".join(head + lines))
    return {part: "\n".join(chunks) for part, chunks in parts.items()}


def _value(f: dict, raw: str, key: str) -> str:
    if f["kind"] == "choice":
        if raw not in f["choices"]:
            raise ValidationError(f"{f['label']}は選択肢から選んでください", field=key)
        return raw
    if f["kind"] == "number":
        try:
            number = require_finite(to_number(raw), label=f["label"], field=key)
        except (ValueError, ArithmeticError):
            raise ValidationError(f"{f['label']}は数値で入力してください", field=key) from None
        if "min" in f and not Decimal(f["min"]) <= Decimal(str(number)) <= Decimal(f["max"]):
            raise ValidationError(f"{f['label']}は{f['min']}〜{f['max']}{f['unit']}の範囲で入力してください",
                                  field=key)
        return f"{raw} {f['unit']}".rstrip() if f["unit"] else raw
    return raw
