"""Loading and searching the disease (b) and modifier (z) masters.

Sources: the subsets shipped in data/ (demo, tests) and the official files (b_yyyymmdd.txt, z_yyyymmdd.txt:
cp932, no header, comma separated, text quoted, by column index as data/SOURCES.md lists) that a clinic
loads with `flask masters import-diseases / import-modifiers`. A load is all-or-nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.core.jp import search_key
from app.core.master_rows import coded_name
from app.diagnoses.models import Disease, Modifier

DATA = Path(__file__).parent / "data"
OPEN_ENDED = "99999999"
B_COLUMNS = {"kind": 1, "code": 2, "name": 5, "short_name": 7, "kana": 9, "medis_key": 10, "exchange_code": 12,
             "icd10": 15, "icd10_2": 16, "standalone_prohibited": 18, "non_billable": 19, "specific_disease": 20,
             "end_date": 23, "nanbyo": 42}
Z_COLUMNS = {"kind": 1, "code": 2, "name": 6, "kana": 9, "end_date": 15, "medis_key": 16, "exchange_code": 17}
#: 変更区分 that end a row: 1 抹消, 9 廃止.
ENDING_CHANGES = {"1", "9"}


class MasterError(ValueError):
    """A master file that cannot be loaded; str() is a Japanese message naming the line."""


def _end_date(text: str, where: str) -> date | None:
    text = (text or "").strip()
    if not text or text in (OPEN_ENDED, "0", "00000000"):
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8])) if len(text) == 8 else _bad_date(text, where)
    except ValueError as exc:
        raise MasterError(f"{where}: 廃止年月日「{text}」はありません") from exc


def _bad_date(text: str, where: str) -> date:
    raise MasterError(f"{where}: 廃止年月日「{text}」が yyyymmdd ではありません")


def _disease_values(raw: dict[str, str], where: str) -> dict[str, Any]:
    code, name, kana = coded_name(raw, where, MasterError, code_key="code", digits=7, code_label="傷病名コード",
                                  name_label="傷病名")
    return {"code": code, "name": name, "short_name": raw.get("short_name", "").strip(), "kana": kana,
            "name_key": search_key(name), "kana_key": search_key(kana), "medis_key": raw.get("medis_key", "").strip(),
            "exchange_code": raw.get("exchange_code", "").strip(), "icd10": raw.get("icd10", "").strip(),
            "icd10_2": raw.get("icd10_2", "").strip(),
            "standalone_prohibited": raw.get("standalone_prohibited", "").strip() not in ("", "0", "00"),
            "non_billable": raw.get("non_billable", "").strip() not in ("", "0", "00"),
            "specific_disease": raw.get("specific_disease", "").strip() or "00",
            "nanbyo": raw.get("nanbyo", "").strip() or "00", "end_date": _end_date(raw.get("end_date", ""), where)}


def _modifier_values(raw: dict[str, str], where: str) -> dict[str, Any]:
    code, name, kana = coded_name(raw, where, MasterError, code_key="code", digits=4, code_label="修飾語コード",
                                  name_label="修飾語")
    # The レセ電 specification numbers suffixes 8000–8999; everything else precedes the disease name.
    kind = "接尾語" if code.startswith("8") else "接頭語"
    return {"code": code, "name": name, "kana": kana, "name_key": search_key(name), "kana_key": search_key(kana),
            "kind": kind, "exchange_code": raw.get("exchange_code", "").strip(),
            "medis_key": raw.get("medis_key", "").strip(),
            "end_date": _end_date(raw.get("end_date", ""), where)}


def modifier_choices(session: Session) -> tuple[list[Modifier], list[Modifier]]:
    """The modifiers in force for the entry form, in kana order: (prefixes, suffixes); の疑い (8002) is left out,
    the form's 疑い checkbox says it."""
    prefixes, suffixes = [], []
    for row in session.scalars(select(Modifier).where(Modifier.end_date.is_(None)).order_by(Modifier.kana_key)):
        (suffixes if row.is_suffix else prefixes).append(row)
    return prefixes, [s for s in suffixes if s.code != "8002"]


def upsert_rows(session: Session, model: type, rows: list[dict[str, Any]]) -> int:
    """Insert new codes and update known ones; one query for the known codes, not one per row (any code master
    keyed by `code`)."""
    known = {obj.code: obj for obj in session.scalars(select(model))}
    for values in rows:
        existing = known.get(values["code"])
        if existing is None:
            session.add(model(**values))
        else:
            for key, value in values.items():
                setattr(existing, key, value)
    session.flush()
    return len(rows)


def load_shipped_subsets(session: Session) -> tuple[int, int]:
    """Fill both tables from data/*.csv (idempotent). Returns (diseases, modifiers)."""
    def read(name: str, convert: Callable[[dict[str, str], str], dict[str, Any]]) -> list[dict[str, Any]]:
        with (DATA / name).open(encoding="utf-8", newline="") as handle:
            return [convert(raw, f"{name} {n}行目") for n, raw in enumerate(csv.DictReader(handle), start=2)]

    return (upsert_rows(session, Disease, read("diseases.csv", _disease_values)),
            upsert_rows(session, Modifier, read("modifiers.csv", _modifier_values)))


def read_official_file(path: Path, columns: dict[str, int], kind: str, label: str,
              convert: Callable[[dict[str, str], str], dict[str, Any]]) -> list[dict[str, Any]]:
    try:
        text = path.read_bytes().decode("cp932")
    except UnicodeDecodeError as exc:
        raise MasterError(f"文字コードが Shift_JIS（CP932）ではありません（{exc.start}バイト目）") from exc
    rows = []
    needed = max(columns.values()) + 1
    for number, fields in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not fields or all(not f.strip() for f in fields):
            continue
        where = f"{number}行目"
        if len(fields) < needed:
            raise MasterError(f"{where}: 項目数が{len(fields)}で、{label}（{needed}項目以上）ではありません")
        if fields[columns["kind"]].strip().upper() != kind:
            found = fields[columns["kind"]]
            raise MasterError(f"{where}: マスター種別が「{found}」で、{label}（{kind}）ではありません")
        values = convert({key: fields[index] for key, index in columns.items()}, where)
        if fields[0].strip() in ENDING_CHANGES and values["end_date"] is None:
            values["end_date"] = date.today()
        rows.append(values)
    if not rows:
        raise MasterError(f"{label}の行がひとつもありません")
    return rows


def import_disease_file(session: Session, path: Path) -> int:
    """Load an official 傷病名マスター file (b, 46 columns); nothing is written when any line is wrong."""
    return upsert_rows(session, Disease, read_official_file(path, B_COLUMNS, "B", "傷病名マスター", _disease_values))


def import_modifier_file(session: Session, path: Path) -> int:
    """Load an official 修飾語マスター file (z, 19 columns); nothing is written when any line is wrong."""
    return upsert_rows(session, Modifier, read_official_file(path, Z_COLUMNS, "Z", "修飾語マスター", _modifier_values))


def search_diseases(session: Session, text: str, limit: int = 20) -> list[Disease]:
    """Diseases whose kana or name starts with the text (any kana form), then those whose name contains it."""
    key = search_key(text or "").strip()
    if not key:
        return []
    base = select(Disease).where(Disease.end_date.is_(None), Disease.code != "0000999")
    found = list(session.scalars(base.where(or_(Disease.kana_key.startswith(key, autoescape=True),
                                                Disease.name_key.startswith(key, autoescape=True)))
                                 .order_by(func.length(Disease.name), Disease.kana_key).limit(limit)))
    if len(found) < limit:
        seen = {d.code for d in found}
        more = session.scalars(base.where(Disease.name_key.contains(key, autoescape=True))
                               .order_by(func.length(Disease.name), Disease.kana_key).limit(limit))
        found += [d for d in more if d.code not in seen][: limit - len(found)]
    return found


def search_modifiers(session: Session, text: str, kind: str | None = None, limit: int = 20) -> list[Modifier]:
    """Modifiers whose kana or name starts with the text (the の of suffixes may be left out)."""
    key = search_key(text or "").strip()
    if not key:
        return []
    query = select(Modifier).where(Modifier.end_date.is_(None))
    if kind:
        query = query.where(Modifier.kind == kind)
    return list(session.scalars(query.where(or_(
        Modifier.kana_key.startswith(key, autoescape=True), Modifier.name_key.startswith(key, autoescape=True),
        Modifier.name_key.startswith("ノ" + key, autoescape=True)))  # keys are katakana: の → ノ
        .order_by(func.length(Modifier.name)).limit(limit)))


def disease_count(session: Session) -> int:
    """How many diseases the master holds."""
    return session.scalar(select(func.count()).select_from(Disease)) or 0
