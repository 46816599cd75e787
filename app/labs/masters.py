"""The lab-item master: the shipped subset (data/lab_items.csv, lab_sets.csv; sources in data/SOURCES.md), a lab
company's master file loaded all-or-nothing, and search by name, kana or code as staff type."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.core.jp import search_key
from app.db import in_chunks
from app.labs.hl7 import Message, components
from app.labs.models import LabItem, LabSet

DATA = Path(__file__).parent / "data"
JLAC_PATTERN = re.compile(r"^[0-9A-Z]{17}$")
RANGE_PATTERN = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*[-～〜~]\s*(-?\d+(?:\.\d+)?)\s*$")
REQUIRED = ("lab_code", "jlac10", "name", "specimen", "specimen_code", "container")
MAX_RESULTS = 30


class LabMasterError(ValueError):
    """A master file that cannot be loaded; str() is a Japanese message naming the line."""


def _item_values(raw: dict[str, str], where: str) -> dict[str, Any]:
    values = {key: (raw.get(key) or "").strip() for key in (
        "lab_code", "jlac10", "jlac11", "name", "short_name", "kana", "specimen", "specimen_code", "container",
        "unit", "unit_ascii", "value_type", "ref_male", "ref_female", "receipt_code")}
    for key in REQUIRED:
        if not values[key]:
            raise LabMasterError(f"{where}: {key} がありません")
    if len(values["lab_code"]) > 16:
        raise LabMasterError(f"{where}: 項目コード「{values['lab_code']}」が長すぎます（16文字まで）")
    for key in ("jlac10", "jlac11"):
        if values[key] and not JLAC_PATTERN.match(values[key]):
            raise LabMasterError(f"{where}: {key.upper()}「{values[key]}」が17桁の英数字ではありません")
    if values["receipt_code"] and not re.fullmatch(r"\d{9}", values["receipt_code"]):
        raise LabMasterError(f"{where}: 診療行為コード「{values['receipt_code']}」が9桁の数字ではありません")
    if not re.fullmatch(r"\d{3}", values["specimen_code"]):
        raise LabMasterError(f"{where}: 材料コード「{values['specimen_code']}」が3桁の数字ではありません")
    values["value_type"] = values["value_type"] or "NM"
    if values["value_type"] not in ("NM", "ST"):
        raise LabMasterError(f"{where}: 結果の型「{values['value_type']}」は NM か ST です")
    if values["value_type"] == "NM":
        for key in ("ref_male", "ref_female"):
            if values[key] and not RANGE_PATTERN.match(values[key]):
                raise LabMasterError(f"{where}: 基準範囲「{values[key]}」が「下限-上限」の形ではありません")
    values["short_name"] = values["short_name"] or values["name"][:12]
    values["unit_ascii"] = values["unit_ascii"] or values["unit"]
    values["name_key"] = search_key(values["name"] + " " + values["short_name"])
    values["kana_key"] = search_key(values["kana"])
    return values


def _decode(data: bytes) -> str:
    for codec in ("utf-8-sig", "cp932"):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    raise LabMasterError("文字コードが UTF-8 でも Shift_JIS（CP932）でもありません")


def parse_item_file(data: bytes) -> list[dict[str, Any]]:
    """Read a lab company's item master (CSV with a header; format in data/SOURCES.md); LabMasterError on a bad row."""
    reader = csv.DictReader(io.StringIO(_decode(data)))
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise LabMasterError(f"見出し行に列 {', '.join(missing)} がありません")
    rows, seen = [], set()
    has_receipt_codes = "receipt_code" in (reader.fieldnames or [])
    for number, raw in enumerate(reader, start=2):
        if not any((v or "").strip() for v in raw.values()):
            continue
        values = _item_values(raw, f"{number}行目")
        if not has_receipt_codes:  # a lab's file without the column keeps the billing codes already mapped
            del values["receipt_code"]
        if values["lab_code"] in seen:
            raise LabMasterError(f"{number}行目: 項目コード「{values['lab_code']}」が重複しています")
        seen.add(values["lab_code"])
        rows.append(values)
    if not rows:
        raise LabMasterError("項目が1件もありません")
    return rows


def _upsert_items(session: Session, rows: list[dict[str, Any]]) -> int:
    known = {item.lab_code: item for item in session.scalars(select(LabItem))}
    for values in rows:
        item = known.get(values["lab_code"])
        if item is None:
            session.add(LabItem(**values, is_active=True))
        else:
            for key, value in values.items():
                setattr(item, key, value)
            item.is_active = True
    session.flush()
    return len(rows)


def import_item_file(session: Session, path: Path) -> int:
    """Load a lab company's master file into the table (new codes added, known ones updated); all rows or none."""
    return _upsert_items(session, parse_item_file(path.read_bytes()))


def load_shipped_subset(session: Session) -> tuple[int, int]:
    """Fill the master and the sets from data/ (idempotent). Returns (items, sets)."""
    count = _upsert_items(session, parse_item_file((DATA / "lab_items.csv").read_bytes()))
    known = {s.code: s for s in session.scalars(select(LabSet))}
    with (DATA / "lab_sets.csv").open(encoding="utf-8", newline="") as handle:
        sets = list(csv.DictReader(handle))
    for raw in sets:
        values = {"code": raw["set_code"], "name": raw["name"], "kana": raw["kana"],
                  "name_key": search_key(raw["name"]), "kana_key": search_key(raw["kana"]),
                  "lab_codes": raw["lab_codes"].split()}
        if raw["set_code"] in known:
            for key, value in values.items():
                setattr(known[raw["set_code"]], key, value)
        else:
            session.add(LabSet(**values))
    session.flush()
    return count, len(sets)


def item_count(session: Session) -> int:
    """How many items the master holds."""
    return session.scalar(select(func.count()).select_from(LabItem)) or 0


def search_items(session: Session, text: str) -> tuple[list[LabSet], list[LabItem]]:
    """Sets and items whose name, abbreviation, kana, lab code or JLAC10 starts with (or name contains) the text."""
    key = search_key(text)
    raw = text.strip().upper()
    if not key and not raw:
        return list(session.scalars(select(LabSet).order_by(LabSet.code))), []
    like = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    sets = session.scalars(select(LabSet).where(or_(LabSet.kana_key.like(like + "%", escape="\\"),
                                                    LabSet.name_key.like("%" + like + "%", escape="\\")))
                           .order_by(LabSet.code).limit(10))
    items = session.scalars(select(LabItem).where(LabItem.is_active.is_(True), or_(
        LabItem.kana_key.like(like + "%", escape="\\"), LabItem.name_key.like("%" + like + "%", escape="\\"),
        LabItem.lab_code == raw, LabItem.jlac10.like(raw.replace("%", "") + "%"))).order_by(LabItem.lab_code)
        .limit(MAX_RESULTS))
    return list(sets), list(items)


class ItemMaster:
    """The lab-item master as an import reads it: only the items its messages name, read in one IN query per
    group of messages (`preload`), then looked up for every OBX. Lives for one import: nothing is kept between
    imports, so a master loaded meanwhile is seen by the next one."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.by_lab_code: dict[str, LabItem] = {}
        self.by_jlac10: dict[str, LabItem] = {}
        self.by_prefix: dict[str, list[LabItem]] = {}
        self._asked: set[str] = set()

    def preload(self, messages: list[Message]) -> None:
        """Read the items these messages' OBX-3 name (JLAC10 or the lab's code, either coding) in one IN query
        (a chunk of codes each); a 17-character code the master does not hold as such has its 12-character
        prefix read too (one more query, only then)."""
        codes: set[str] = set()
        for message in messages:
            for segment in message.segments:
                if segment.name == "OBX":
                    parts = components(segment.get(3))
                    codes.update(parts[0:4:3])
        self._load(codes)

    def _load(self, codes: set[str]) -> None:
        wanted = sorted(codes - self._asked - {""})
        self._asked.update(wanted)
        for chunk in in_chunks(wanted):
            for item in self.session.scalars(select(LabItem).where(
                    or_(LabItem.jlac10.in_(chunk), LabItem.lab_code.in_(chunk)))):
                self.by_lab_code[item.lab_code] = item
                self.by_jlac10.setdefault(item.jlac10, item)
        prefixes = sorted({code[:12] for code in wanted if len(code) == 17 and code not in self.by_jlac10}
                          - self.by_prefix.keys())
        for chunk in in_chunks(prefixes):
            self.by_prefix.update((prefix, []) for prefix in chunk)
            for item in self.session.scalars(select(LabItem).where(func.substr(LabItem.jlac10, 1, 12).in_(chunk))
                                             .order_by(LabItem.lab_code)):
                self.by_prefix[item.jlac10[:12]].append(item)

    def find_code(self, parts: list[str]) -> LabItem | None:
        """The master item OBX-3 (split into its unescaped components) names: JLAC10, else the lab's local code,
        else the one item with the same analyte, identification and material (lab.md's fallback when only the method
        differs)."""
        code, system = parts[0], parts[2] if len(parts) > 2 else ""
        alt_code = parts[3] if len(parts) > 3 else ""
        alt_system = parts[5] if len(parts) > 5 else ""
        self._load({code, alt_code})  # nothing to read when preloaded
        if system in ("JC10", "JC11") or len(code) == 17:
            item = self.by_jlac10.get(code)
            if item:
                return item
        for local, local_system in ((code, system), (alt_code, alt_system)):
            if local and local_system.startswith("99") and local in self.by_lab_code:
                return self.by_lab_code[local]
        if len(code) == 17:
            candidates = self.by_prefix.get(code[:12], [])
            if len(candidates) == 1:
                return candidates[0]
        return None
