"""What every published master shares: reading one row of its file (傷病名, 修飾語, 医薬品) — the code, name and
kana it starts with — and, in its table, the search keys of name and kana with their prefix indexes."""

from __future__ import annotations

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column


class SearchKeys:
    """Mixin of a master table found by what staff type: the name and the kana as app.core.jp.search_key folds
    them (width, kana and variants)."""

    name_key: Mapped[str] = mapped_column(String(200))
    kana_key: Mapped[str] = mapped_column(String(200))


def prefix_indexes(table: str, *columns: str) -> tuple[Index, ...]:
    """The indexes of a prefix search (LIKE 'x%') on `columns`, named ix_<table>_<column>. varchar_pattern_ops:
    PostgreSQL uses them under any collation, not only "C"."""
    return tuple(Index(f"ix_{table}_{column}", column, postgresql_ops={column: "varchar_pattern_ops"})
                 for column in columns)


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
