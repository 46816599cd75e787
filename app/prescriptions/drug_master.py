"""Loading and searching the drug master (医薬品マスター, y).

Two sources: the subset shipped in data/drugs.csv (demo and tests) and the official SSK file
(y_ALLyyyymmdd.csv: cp932, no header, 42 columns, by index as docs/standards/masters.md says)
that a clinic loads with `flask masters import-drugs FILE`. Either load is all-or-nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.core.jp import search_key
from app.core.master_rows import coded_name
from app.prescriptions.models import Drug

SHIPPED_SUBSET = Path(__file__).parent / "data" / "drugs.csv"
OPEN_ENDED = "99999999"
#: Columns of the official y file (0-based), as masters.md lists them.
Y_COLUMNS = {"kind": 1, "receipt_code": 2, "name": 4, "kana": 6, "unit": 9, "price": 11, "narcotic_class": 13,
             "generic_flag": 16, "dosage_form": 27, "end_date": 30, "yj_code": 31, "transitional_deadline": 33,
             "generic_code": 36, "generic_name": 37, "listing_date": 35}
Y_MIN_COLUMNS = 38


class DrugMasterError(ValueError):
    """A master file that cannot be loaded; str() is a Japanese message naming the line."""


@dataclass(frozen=True)
class DrugHit:
    """A search result, with what a list shows."""

    receipt_code: str
    name: str
    unit: str
    yj_code: str
    generic_name: str
    narcotic_label: str
    ended: bool


def _date_or_none(text: str, where: str) -> date | None:
    text = (text or "").strip()
    if not text or text in (OPEN_ENDED, "0", "00000000"):
        return None
    if len(text) != 8 or not text.isdigit():
        raise DrugMasterError(f"{where}: 日付「{text}」が yyyymmdd ではありません")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError as exc:
        raise DrugMasterError(f"{where}: 日付「{text}」はありません") from exc


def _int(text: str, where: str, label: str) -> int:
    text = (text or "0").strip() or "0"
    if not text.isdigit():
        raise DrugMasterError(f"{where}: {label}「{text}」が数字ではありません")
    return int(text)


def _row_values(raw: dict[str, str], where: str, version: str) -> dict[str, Any]:
    code, name, kana = coded_name(raw, where, DrugMasterError, code_key="receipt_code", digits=9,
                                  code_label="医薬品コード", name_label="医薬品名")
    yj = raw.get("yj_code", "").strip()
    if yj and len(yj) != 12:
        raise DrugMasterError(f"{where}: 薬価基準収載医薬品コード「{yj}」が12桁ではありません")
    price_text = raw.get("price", "").strip()
    try:
        price = float(price_text) if price_text else None
    except ValueError as exc:
        raise DrugMasterError(f"{where}: 薬価「{price_text}」が数値ではありません") from exc
    return {
        "receipt_code": code, "name": name, "kana": kana, "name_key": search_key(name),
        "kana_key": search_key(kana), "unit": raw.get("unit", "").strip(), "yj_code": yj,
        "generic_code": raw.get("generic_code", "").strip(), "generic_name": raw.get("generic_name", "").strip(),
        "generic_key": search_key(raw.get("generic_name", "").strip().removeprefix("【般】")),
        "price": price, "narcotic_class": _int(raw.get("narcotic_class", ""), where, "麻薬等区分"),
        "is_generic": raw.get("generic_flag", "").strip() == "1",
        "dosage_form": _int(raw.get("dosage_form", ""), where, "剤形"),
        "end_date": _date_or_none(raw.get("end_date", ""), where),
        "transitional_deadline": _date_or_none(raw.get("transitional_deadline", ""), where),
        "listing_date": _date_or_none(raw.get("listing_date", ""), where),
        "master_version": version or raw.get("master_version", "").strip(),
    }


def _replace_rows(session: Session, rows: Iterable[dict[str, Any]]) -> int:
    """Upsert rows by code; all rows were validated before anything is written."""
    rows = list(rows)
    existing = set(session.scalars(select(Drug.receipt_code).where(
        Drug.receipt_code.in_([r["receipt_code"] for r in rows])))) if len(rows) < 30000 else None
    if existing is None:
        existing = set(session.scalars(select(Drug.receipt_code)))
    for values in rows:
        if values["receipt_code"] in existing:
            session.merge(Drug(**values))
        else:
            session.add(Drug(**values))
    session.flush()
    return len(rows)


def load_shipped_subset(session: Session) -> int:
    """Fill the drug table from data/drugs.csv (idempotent). Returns the number of rows."""
    with SHIPPED_SUBSET.open(encoding="utf-8", newline="") as handle:
        rows = [_row_values(raw, f"drugs.csv {n}行目", "") for n, raw in enumerate(csv.DictReader(handle), start=2)]
    return _replace_rows(session, rows)


def _official_rows(text: str) -> Iterator[dict[str, Any]]:
    version = ""
    for number, fields in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not fields or all(not f.strip() for f in fields):
            continue
        where = f"{number}行目"
        if len(fields) < Y_MIN_COLUMNS:
            raise DrugMasterError(
                f"{where}: 項目数が{len(fields)}で、医薬品マスター（{Y_MIN_COLUMNS}項目以上）ではありません")
        raw = {key: fields[index] if index < len(fields) else "" for key, index in Y_COLUMNS.items()}
        if raw["kind"].strip().upper() != "Y":
            raise DrugMasterError(f"{where}: マスター種別が「{raw['kind']}」で、医薬品マスター（Y）ではありません")
        values = _row_values(raw, where, version)
        if fields[0].strip() == "9" and values["end_date"] is None:  # 変更区分 9 = 廃止
            values["end_date"] = _date_or_none(fields[29], where) or date.today()
        yield values


def import_official_file(session: Session, path: Path) -> int:
    """Load an official y_ALL file (cp932, no header). Raises DrugMasterError naming the line; writes nothing then."""
    try:
        text = path.read_bytes().decode("cp932")
    except UnicodeDecodeError as exc:
        raise DrugMasterError(f"文字コードが Shift_JIS（CP932）ではありません（{exc.start}バイト目）") from exc
    rows = list(_official_rows(text))
    if not rows:
        raise DrugMasterError("医薬品の行がひとつもありません")
    return _replace_rows(session, rows)


def search_drugs(session: Session, text: str, *, limit: int = 20, include_ended: bool = False) -> list[DrugHit]:
    """Products whose kana, name or 一般名 starts with the text (any kana form, width folded).

    Three index-ordered prefix queries rather than one OR: each uses its own index, so the search stays a few
    milliseconds over the full master (about 20,000 products).
    """
    key = search_key(text or "").strip()
    if not key:
        return []
    found: dict[str, Drug] = {}
    for column in (Drug.kana_key, Drug.name_key, Drug.generic_key):
        query = select(Drug).where(column.startswith(key, autoescape=True))
        if not include_ended:
            query = query.where(Drug.end_date.is_(None))
        for drug in session.scalars(query.order_by(column).limit(limit)):
            found.setdefault(drug.receipt_code, drug)
        if len(found) >= limit:
            break
    drugs = sorted(found.values(), key=lambda d: d.kana_key)[:limit]
    return [DrugHit(d.receipt_code, d.name, d.unit, d.yj_code, d.generic_name, d.narcotic_label, d.end_date is not None)
            for d in drugs]


def get_drug(session: Session, receipt_code: str) -> Drug | None:
    """One product by its レセ電 code."""
    return session.get(Drug, (receipt_code or "").strip())


def drug_count(session: Session) -> int:
    """How many products the master holds."""
    return session.scalar(select(func.count()).select_from(Drug)) or 0


def clear_master(session: Session) -> None:
    """Empty the table (tests of the importer)."""
    session.execute(delete(Drug))
