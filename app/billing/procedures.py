"""The 医科診療行為マスター (支払基金 s): the shipped subset (data/procedures.csv, 2024 points; data/SOURCES.md) and
the official file a clinic loads with `flask masters import-procedures FILE` (s_ALLyyyymmdd.csv: cp932, no header,
150 columns, by index as masters.md §医科診療行為 lists) — all rows or none, the edition kept — and search by kana,
name or code."""

from __future__ import annotations

import csv
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.billing.models import Procedure, ProcedureMasterVersion
from app.core.jp import search_key
from app.diagnoses.masters import MasterError as ProcedureMasterError
from app.diagnoses.masters import read_official_file, upsert_rows

DATA = Path(__file__).parent / "data"
SHIPPED_VERSION = "shipped-subset-2024"
#: 0-based columns of the official s file.
S_COLUMNS = {"kind": 1, "code": 2, "name": 4, "kana": 6, "points_kind": 10, "points": 11, "chapter": 84,
             "change_date": 86, "end_date": 87, "section_no": 91, "basic_name": 112}
OPEN_ENDED = ("", "0", "00000000", "99999999")
MAX_RESULTS = 30
LABEL = "医科診療行為マスター"


def _day(text: str, label: str, where: str) -> date | None:
    text = (text or "").strip()
    if text in OPEN_ENDED:
        return None
    try:
        if len(text) != 8:
            raise ValueError(text)
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError as exc:
        raise ProcedureMasterError(f"{where}: {label}「{text}」が yyyymmdd の日付ではありません") from exc


def _values(raw: dict[str, str], where: str, version: str) -> dict[str, Any]:
    code = (raw.get("code") or "").strip()
    if not re.fullmatch(r"1\d{8}", code):
        raise ProcedureMasterError(f"{where}: 診療行為コード「{code}」が1で始まる9桁の数字ではありません")
    name = (raw.get("name") or "").strip()
    if not name:
        raise ProcedureMasterError(f"{where}: 名称がありません")
    try:
        points = Decimal((raw.get("points") or "").strip())
    except InvalidOperation as exc:
        raise ProcedureMasterError(f"{where}: 点数「{raw.get('points')}」が数ではありません") from exc
    if not points.is_finite() or points < 0 or points >= Decimal("100000000"):
        raise ProcedureMasterError(f"{where}: 点数「{raw.get('points')}」が範囲外です")
    kana = (raw.get("kana") or "").strip()
    section = (raw.get("section_no") or "").strip()
    return {"code": code, "name": name, "kana": kana, "name_key": search_key(name), "kana_key": search_key(kana),
            "points_kind": (raw.get("points_kind") or "3").strip()[:1], "points": points,
            "chapter": (raw.get("chapter") or "").strip()[:1], "section_no": section.zfill(3)[-3:] if section else "",
            "basic_name": (raw.get("basic_name") or "").strip() or name,
            "changed_on": _day(raw.get("change_date", ""), "変更年月日", where),
            "end_date": _day(raw.get("end_date", ""), "廃止年月日", where), "master_version": version}


def _store(session: Session, rows: list[dict[str, Any]], version: str, source: str) -> int:
    upsert_rows(session, Procedure, rows)
    session.add(ProcedureMasterVersion(version=version, source_name=source[:200], row_count=len(rows)))
    session.flush()
    return len(rows)


def load_shipped_subset(session: Session) -> int:
    """Fill the master from data/procedures.csv (idempotent); the number of rows."""
    with (DATA / "procedures.csv").open(encoding="utf-8", newline="") as handle:
        rows = [_values(raw, f"procedures.csv {n}行目", SHIPPED_VERSION)
                for n, raw in enumerate(csv.DictReader(handle), start=2)]
    if session.scalar(select(func.count()).select_from(Procedure)) == len(rows):
        return len(rows)
    return _store(session, rows, SHIPPED_VERSION, "data/procedures.csv")


def import_procedure_file(session: Session, path: Path) -> int:
    """Load an official 医科診療行為マスター file; nothing is written when any line is wrong (the caller rolls
    back). The file name (s_ALL20240601.csv) is kept as the edition."""
    version = path.stem[:60]
    rows = read_official_file(path, S_COLUMNS, "S", LABEL, lambda raw, where: _values(raw, where, version))
    seen: set[str] = set()
    for number, values in enumerate(rows, start=1):
        if values["code"] in seen:
            raise ProcedureMasterError(f"{number}件目: 診療行為コード「{values['code']}」が重複しています")
        seen.add(values["code"])
    return _store(session, rows, version, path.name)


def points_text(points: Decimal | None) -> str:
    """Points as read: 225, 0.5."""
    return "" if points is None else f"{points.normalize():f}"


def current_version(session: Session) -> ProcedureMasterVersion | None:
    """The edition loaded last."""
    return session.scalars(select(ProcedureMasterVersion).order_by(ProcedureMasterVersion.id.desc())).first()


def procedures_by_code(session: Session, codes: set[str] | list[str]) -> dict[str, Procedure]:
    """The master rows of some codes (one query)."""
    wanted = {c for c in codes if c}
    if not wanted:
        return {}
    return {p.code: p for p in session.scalars(select(Procedure).where(Procedure.code.in_(wanted)))}


def search_procedures(session: Session, text: str, limit: int = MAX_RESULTS) -> list[Procedure]:
    """Procedures in use whose code starts with the text, or whose kana or name contains it (any kana form)."""
    raw = (text or "").strip()
    key = search_key(raw)
    if not key:
        return []
    query = select(Procedure).where(Procedure.end_date.is_(None))
    if raw.isdigit():
        query = query.where(Procedure.code.startswith(raw, autoescape=True))
    else:
        query = query.where(or_(Procedure.kana_key.contains(key, autoescape=True),
                                Procedure.name_key.contains(key, autoescape=True)))
    return list(session.scalars(query.order_by(Procedure.code).limit(limit)))
