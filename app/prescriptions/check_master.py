"""Loading the 支払基金 チェックマスタ (コンピュータチェック対象事例ファイル): 医薬品併用禁忌 (IY_HeiyoKinki),
傷病名禁忌 (IY_ShobyoKinki) and 医薬品適応・投与量 (IY_Tekio), from the published ZIP or a directory of its files.

Layout (docs/check_master.md): CSV, cp932, one header line; drug codes are 9-digit レセ電 医薬品コード, disease
codes 7-digit 傷病名コード; rows whose 変更区分 is 1 or 9 (削除・廃止) are skipped. A load is all or nothing: any bad
line refuses the whole edition, naming the file and line, and the edition loaded before stays in use.

An optional SOURCES.csv (UTF-8: file, line, source) gives rows their source; the demo edition shipped in
data/check_master_demo/ uses it to say where each fact was read (the official files carry none).
"""

from __future__ import annotations

import csv
import io
import math
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from app.db import utcnow
from app.prescriptions.models import (
    ANY_DISEASE,
    CheckDiseaseRule,
    CheckDoseRule,
    CheckInteraction,
    CheckMasterDrug,
    CheckMasterVersion,
    Drug,
)

DEMO_EDITION = Path(__file__).parent / "data" / "check_master_demo"
DEMO_VERSION = "デモ版 2026-12（添付文書から作成）"
SOURCES_FILE = "SOURCES.csv"
SKIPPED_CHANGES = {"1", "9"}  # 変更区分: 削除, 廃止
DOSE_CHUNK = 20_000  # 適応・投与量 rows written at a time


class CheckMasterError(ValueError):
    """An edition that cannot be loaded; str() is a Japanese message naming the file and line."""


@dataclass(frozen=True)
class Layout:
    """One file of the edition: name prefix, column count, and the 0-based columns read."""

    prefix: str
    label: str
    columns: int
    change_column: int
    ref_column: int


HEIYO = Layout("IY_HeiyoKinki", "医薬品併用禁忌", 10, 8, 9)
SHOBYO = Layout("IY_ShobyoKinki", "傷病名禁忌", 8, 6, 7)
TEKIO = Layout("IY_Tekio", "医薬品適応・投与量", 24, 22, 23)
LAYOUTS = (HEIYO, SHOBYO, TEKIO)


@dataclass
class Edition:
    """An edition being read: the pairs and disease rules validated in full, the dose rules (a million rows) as they
    are read, so that they are written in chunks rather than held in memory all at once."""

    pairs: list[dict[str, Any]]
    disease_rules: list[dict[str, Any]]
    dose_rules: Iterator[dict[str, Any]]


def _insert(session: Session, model: type, rows: list[dict]) -> None:
    """Many rows in one executemany (SQLAlchemy batches them into multi-row INSERTs); nothing for no rows."""
    if rows:
        session.execute(insert(model.__table__), rows)


def _members(path: Path) -> dict[str, Callable[[], bytes]]:
    """File name → reader, for a directory or a ZIP (a damaged or truncated ZIP is refused)."""
    if path.is_dir():
        return {p.name: p.read_bytes for p in sorted(path.iterdir()) if p.is_file()}
    try:
        archive = zipfile.ZipFile(path)
        broken = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise CheckMasterError(f"{path.name}: ZIPファイルとして読めません（途中までしかない可能性があります）: {exc}") \
            from exc
    if broken:
        raise CheckMasterError(f"{path.name}: ZIPの中の {broken} が壊れています")
    return {Path(name).name: (lambda n=name: archive.read(n)) for name in archive.namelist() if not name.endswith("/")}


def _pick(members: dict[str, Callable[[], bytes]], layout: Layout) -> tuple[str, bytes]:
    names = [n for n in members if n.startswith(layout.prefix) and n.lower().endswith(".csv")]
    if not names:
        raise CheckMasterError(f"{layout.label}のファイル（{layout.prefix}*.csv）がありません。"
                               "チェックマスタのZIPが揃っているか確認してください")
    if len(names) > 1:
        raise CheckMasterError(f"{layout.label}のファイルが複数あります（{'、'.join(names)}）")
    try:
        return names[0], members[names[0]]()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise CheckMasterError(f"{names[0]}: 読めません（ZIPが壊れています）: {exc}") from exc


def _lines(name: str, raw: bytes, layout: Layout) -> Iterator[tuple[str, list[str]]]:
    """(where, fields) of each data line; the header is checked and skipped."""
    try:
        text = raw.decode("cp932")
    except UnicodeDecodeError as exc:
        raise CheckMasterError(f"{name}: 文字コードが Shift_JIS（CP932）ではありません（{exc.start}バイト目）") from exc
    rows = csv.reader(io.StringIO(text))
    header = next(rows, None)
    if header is None:
        raise CheckMasterError(f"{name}: 空のファイルです")
    if len(header) != layout.columns or re.fullmatch(r"\d{9}", header[0].strip()):
        raise CheckMasterError(f"{name} 1行目: 見出し行が{layout.label}（{layout.columns}項目）のものではありません"
                               f"（{len(header)}項目: {','.join(header[:3])}…）")
    for number, fields in enumerate(rows, start=2):
        if not fields or all(not f.strip() for f in fields):
            continue
        where = f"{name} {number}行目"
        if len(fields) != layout.columns:
            raise CheckMasterError(f"{where}: 項目数が{len(fields)}で、{layout.label}の{layout.columns}項目と違います")
        if fields[layout.change_column].strip() in SKIPPED_CHANGES:
            continue
        yield where, [f.strip() for f in fields]


def _drug_code(text: str, where: str, known: set[str]) -> str:
    if not re.fullmatch(r"\d{9}", text):
        raise CheckMasterError(f"{where}: 医薬品コード「{text}」が9桁の数字ではありません")
    if text not in known:
        raise CheckMasterError(f"{where}: 医薬品コード「{text}」が医薬品マスターにありません"
                               "（先に最新の医薬品マスターを読み込んでください）")
    return text


def _disease_code(text: str, where: str) -> str:
    if not re.fullmatch(r"\d{7}", text):
        raise CheckMasterError(f"{where}: 傷病名コード「{text}」が7桁の数字ではありません")
    return text


def _number(text: str, where: str, label: str, *, integer: bool = False) -> float | None:
    if not text:
        return None
    try:
        value = int(text) if integer else float(text)
    except ValueError as exc:
        raise CheckMasterError(f"{where}: {label}「{text}」が数値ではありません") from exc
    if value < 0 or not math.isfinite(value):
        raise CheckMasterError(f"{where}: {label}「{text}」はありえない値です")
    return value


def _sources(members: dict[str, Callable[[], bytes]]) -> dict[tuple[str, int], str]:
    if SOURCES_FILE not in members:
        return {}
    text = members[SOURCES_FILE]().decode("utf-8")
    return {(row["file"], int(row["line"])): row["source"] for row in csv.DictReader(io.StringIO(text))}


def read_edition(path: Path, known_drugs: set[str]) -> Edition:
    """Read the three files (the dose rules as they are consumed); CheckMasterError names the first bad line."""
    members = _members(path)
    sources = _sources(members)
    edition = Edition([], [], iter(()))
    seen_pairs: set[tuple[str, str]] = set()
    name, raw = _pick(members, HEIYO)
    for where, f in _lines(name, raw, HEIYO):
        a, b = _drug_code(f[0], where, known_drugs), _drug_code(f[1], where, known_drugs)
        source = sources.get((name, _line_of(where)), "")
        for left, right in ((a, b), (b, a)):  # the file may list both directions: keep each once
            if (left, right) not in seen_pairs:
                seen_pairs.add((left, right))
                edition.pairs.append({"drug_code": left, "other_code": right, "ref_range": f[9][:10],
                                      "source": source[:300]})
    name, raw = _pick(members, SHOBYO)
    for where, f in _lines(name, raw, SHOBYO):
        edition.disease_rules.append({
            "drug_code": _drug_code(f[0], where, known_drugs), "disease_code": _disease_code(f[1], where),
            "ref_range": f[7][:10], "source": sources.get((name, _line_of(where)), "")[:300]})
    name, raw = _pick(members, TEKIO)
    edition.dose_rules = _dose_rules(name, raw, known_drugs, sources)
    return edition


def _dose_rules(name: str, raw: bytes, known_drugs: set[str], sources: dict[tuple[str, int], str]
                ) -> Iterator[dict[str, Any]]:
    for where, f in _lines(name, raw, TEKIO):
        sex = f[4] if f[4] in ("1", "2") else ""
        if f[4] not in ("", "0", "1", "2"):
            raise CheckMasterError(f"{where}: 性別「{f[4]}」は 0・1・2 のいずれかではありません")
        days = _number(f[14], where, "最長投与日数", integer=True)
        yield {
            "drug_code": _drug_code(f[0], where, known_drugs),
            "disease_code": _disease_code(f[1] or ANY_DISEASE, where),
            "sex": sex, "age_min": int(_number(f[5], where, "年齢下限", integer=True) or 0),
            "age_max": int(_number(f[6], where, "年齢上限", integer=True) or 999) if f[6] else 999,
            "max_dose": _number(f[12], where, "最大投与量"), "max_days": int(days) if days is not None else None,
            "is_adjustable": f[20] == "1", "ref_range": f[23][:10],
            "source": sources.get((name, _line_of(where)), "")[:300]}


def _line_of(where: str) -> int:
    return int(where.rsplit(" ", 1)[1].removesuffix("行目"))


def _version_of(path: Path, given: str | None) -> str:
    if given:
        return given.strip()[:60]
    found = re.search(r"(20\d{6})", path.name)
    if not found:
        raise CheckMasterError(f"{path.name}: 名前から版（yyyymmdd）が分かりません。--version で指定してください")
    return found.group(1)


def import_check_master(session: Session, path: Path, version: str | None = None) -> CheckMasterVersion:
    """Load an edition in the caller's transaction, replacing the one in use. On CheckMasterError the caller rolls
    back: what was written of the edition goes, and the previous edition stays current."""
    version_name = _version_of(path, version)
    known = set(session.scalars(select(Drug.receipt_code)))
    edition = read_edition(path, known)
    for model in (CheckInteraction, CheckDiseaseRule, CheckDoseRule, CheckMasterDrug):
        session.execute(delete(model))
    _insert(session, CheckInteraction, edition.pairs)
    _insert(session, CheckDiseaseRule, edition.disease_rules)
    dose_drugs: set[str] = set()
    dose_count = 0
    while chunk := list(islice(edition.dose_rules, DOSE_CHUNK)):
        _insert(session, CheckDoseRule, chunk)
        dose_count += len(chunk)
        dose_drugs.update(row["drug_code"] for row in chunk)
    if not (edition.pairs or edition.disease_rules or dose_count):
        raise CheckMasterError(f"{path.name}: 有効な行がひとつもありません")
    pair_drugs = {row["drug_code"] for row in edition.pairs}
    disease_drugs = {row["drug_code"] for row in edition.disease_rules}
    _insert(session, CheckMasterDrug, [
        {"drug_code": code, "has_pairs": code in pair_drugs, "has_disease_rules": code in disease_drugs,
         "has_dose_rules": code in dose_drugs} for code in sorted(pair_drugs | disease_drugs | dose_drugs)])
    session.execute(update(CheckMasterVersion).values(is_current=False))
    loaded = CheckMasterVersion(version=version_name, source_name=path.name[:200], loaded_at=utcnow(),
                                pair_count=len(edition.pairs) // 2, disease_rule_count=len(edition.disease_rules),
                                dose_rule_count=dose_count, is_current=True)
    session.add(loaded)
    session.flush()
    return loaded


def load_demo_edition(session: Session) -> CheckMasterVersion:
    """Load the small edition shipped for the demo and tests (needs the shipped drug master)."""
    return import_check_master(session, DEMO_EDITION, DEMO_VERSION)


def current_version(session: Session) -> CheckMasterVersion | None:
    """The edition the checks read, None when none is loaded."""
    return session.scalar(select(CheckMasterVersion).where(CheckMasterVersion.is_current.is_(True))
                          .order_by(CheckMasterVersion.id.desc()).limit(1))
