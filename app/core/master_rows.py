"""Reading one row of a published master file (傷病名, 修飾語, 医薬品): what every master's row starts with."""

from __future__ import annotations


def coded_name(raw: dict[str, str], where: str, error: type[Exception], *, code_key: str, digits: int,
               code_label: str, name_label: str) -> tuple[str, str, str]:
    """The row's code (exactly `digits` digits), its name (required) and its kana, each stripped; `error` (the
    master's own) with a Japanese message naming the line (`where`) otherwise."""
    code = raw[code_key].strip()
    if len(code) != digits or not code.isdigit():
        raise error(f"{where}: {code_label}「{code}」が{digits}桁の数字ではありません")
    name = raw["name"].strip()
    if not name:
        raise error(f"{where}: {name_label}がありません")
    return code, name, raw.get("kana", "").strip()
