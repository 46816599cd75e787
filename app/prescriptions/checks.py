"""Safety checks run before a prescription is issued. Each result says what, why and from which source; a
check that has no data to run on says so ("unchecked") instead of passing silently.

Matching is by the 12-character 薬価基準 code (and the 一般名コード for 一般名処方): the first 7 characters
name the ingredient and route, the first 4 the 薬効分類 (masters.md).
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import asdict, dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.prescriptions.services import CurrentMedicine, Draft, DraftLine, DraftRp

#: 併用注意 pairs read in package inserts (the チェックマスタ holds 併用禁忌 only; see master_checks).
INTERACTIONS_FILE = Path(__file__).parent / "data" / "interactions.csv"
NEW_DRUG_DAY_LIMIT = 14

#: Severity order: stop (must not, unless the doctor overrides knowingly) > warn > unchecked > info.
SEVERITY_LABELS = {"stop": "禁忌", "warn": "注意", "unchecked": "未確認", "info": "参考"}
#: Why something could not be checked (the screen counts them by these).
UNCHECKED_REASONS = {
    "master_not_loaded": "チェックマスタ未読込", "no_master_row": "チェックマスタに行がない",
    "no_indication": "適応病名の行がない", "uncoded_diagnosis": "未コード化傷病名",
    "no_code": "照合できるコードがない", "orca_unreachable": "ORCAに問い合わせできない",
    "orca_error": "ORCAがエラー・読めない応答", "national_unavailable": "他院の処方を照合できない",
    "eprescription_unavailable": "電子処方箋管理サービスに問い合わせできない",
}


@dataclass(frozen=True)
class CheckResult:
    """One finding shown before issuing; `key` identifies it for the acknowledgement."""

    check: str  # allergy, contraindication, interaction, duplicate, dose, days, pregnancy
    severity: str
    message: str
    source: str
    #: For 未確認: why it could not be checked (a key of UNCHECKED_REASONS).
    reason: str = ""

    @property
    def key(self) -> str:
        """A stable id of this finding (the form posts it back as acknowledged)."""
        return hashlib.sha256(f"{self.check}|{self.message}".encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        """禁忌 / 注意 / 未確認 / 参考."""
        return SEVERITY_LABELS[self.severity]

    def as_record(self) -> dict[str, Any]:
        """What is kept with the issued prescription."""
        return asdict(self) | {"key": self.key}


def _codes(line_yj: str, generic_code: str) -> list[str]:
    return [c for c in (line_yj, generic_code) if c]


def _matches(match_code: str | None, codes: list[str]) -> bool:
    if not match_code:
        return False
    if len(match_code) >= 12:
        return any(c == match_code for c in codes)
    return any(c.startswith(match_code) for c in codes)


@lru_cache(maxsize=1)
def interaction_table() -> tuple[str, dict[frozenset[str], dict[str, str]]]:
    """(version, pairs keyed by the two 7-character ingredient codes) from data/interactions.csv."""
    version = "未収載"
    pairs: dict[frozenset[str], dict[str, str]] = {}
    if not INTERACTIONS_FILE.exists():
        return version, pairs
    with INTERACTIONS_FILE.open(encoding="utf-8", newline="") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    for row in csv.DictReader(lines):
        version = row.get("version") or version
        pairs[frozenset({row["ingredient_a"], row["ingredient_b"]})] = row
    return version, pairs


def _allergy_checks(lines: list[tuple[DraftRp, DraftLine]], items: list[Any]) -> list[CheckResult]:
    results = []
    for _, line in lines:
        codes = _codes(line.drug.yj_code, line.drug.generic_code)
        for item in items:
            if not _matches(item.drug_match_code, codes) and item.drug_receipt_code != line.drug.receipt_code:
                continue
            if getattr(item, "category", None) == "drug":
                reaction = f"（{item.reaction}）" if item.reaction else ""
                message = f"{line.drug.name}: 薬剤アレルギー「{item.substance}」{reaction}に該当します"
                results.append(CheckResult("allergy", "stop", message, "患者プロフィール（アレルギー）"))
            else:
                message = f"{line.drug.name}: 薬剤禁忌「{item.substance}」（理由: {item.reason}）に該当します"
                results.append(CheckResult("contraindication", "stop", message, "患者プロフィール（薬剤禁忌）"))
    return results


def _duplicate_checks(lines: list[tuple[DraftRp, DraftLine]], current: list[CurrentMedicine]) -> list[CheckResult]:
    results = []
    seen: list[tuple[str, str, str]] = []  # (ingredient, class, name) of lines already looked at
    others = []
    for m in current:
        if len(m.yj_code) == 12:
            others.append((m.yj_code[:7], m.yj_code[:4], m.described))
        elif m.generic_code:  # 一般名 code: its first 9 characters are those of the 薬価基準 code
            others.append((m.generic_code[:7], m.generic_code[:4], m.described))
        else:
            results.append(CheckResult("duplicate", "unchecked", f"{m.described}: 薬価基準コードがないため重複投与を"
                                       "確認できません", "医薬品マスター", "no_code"))
    for _, line in lines:
        drug = line.drug
        if len(drug.yj_code) != 12:
            results.append(CheckResult("duplicate", "unchecked", f"{drug.name}: 薬価基準コードがないため重複投与を"
                                       "確認できません", "医薬品マスター", "no_code"))
            continue
        ingredient, klass = drug.yj_code[:7], drug.yj_code[:4]
        for other_ingredient, other_class, other_name in seen + others:
            if other_ingredient == ingredient:
                results.append(CheckResult("duplicate", "warn", f"重複投与（同一成分）: {drug.name} と {other_name}",
                                           "医薬品マスター 薬価基準コード上7桁"))
            elif other_class == klass:
                results.append(CheckResult("duplicate", "info", f"同じ薬効分類（{klass}）: {drug.name} と {other_name}",
                                           "医薬品マスター 薬価基準コード上4桁"))
        seen.append((ingredient, klass, drug.name))
    return results


def _caution_checks(lines: list[tuple[DraftRp, DraftLine]], current: list[CurrentMedicine]) -> list[CheckResult]:
    """併用注意 from data/interactions.csv (a few pairs; its absence of a pair is no statement)."""
    version, pairs = interaction_table()
    source = f"併用注意データ 版 {version}（data/interactions.csv）"
    new = [(line.drug.yj_code[:7], line.drug.name) for _, line in lines if line.drug.yj_code]
    existing = [(m.yj_code[:7], m.described) for m in current if m.yj_code]
    results = []
    for index, (code, name) in enumerate(new):
        for other_code, other_name in new[index + 1:] + existing:
            row = pairs.get(frozenset({code, other_code}))
            if row:
                results.append(CheckResult("interaction", "warn", f"併用{row['level']}: {name} と {other_name} — "
                                           f"{row.get('effect', '')}", f"{source}; {row.get('source', '')}"))
    return results


def _dose_and_days_checks(lines: list[tuple[DraftRp, DraftLine]], today: date) -> list[CheckResult]:
    results = []
    for rp, line in lines:
        drug = line.drug
        days = rp.quantity_value or 0
        if rp.form_number == 1 and drug.listing_date and days > NEW_DRUG_DAY_LIMIT:
            # 新医薬品: 薬価収載の翌月から1年間は1回14日分まで (療担規則 第20条).
            first_of_next = date(drug.listing_date.year + (drug.listing_date.month // 12),
                                 drug.listing_date.month % 12 + 1, 1)
            limit_until = date(first_of_next.year + 1, first_of_next.month, 1)
            if today < limit_until:
                message = (f"{drug.name}: 新医薬品のため{limit_until.isoformat()}の前日までは"
                           f"1回{NEW_DRUG_DAY_LIMIT}日分までです（{days}日分）")
                results.append(CheckResult("days", "stop", message,
                                           "療担規則第20条（新医薬品の投与期間制限）・医薬品マスター 収載日"))
    return results


def run_checks(draft: Draft, *, allergies_and_contraindications: list[Any], current: list[CurrentMedicine],
               today: date) -> list[CheckResult]:
    """The checks that need no master beyond the drug master (allergies and 薬剤禁忌 of the profile, 併用注意,
    duplicates, the new-drug day limit), most severe first; `current` includes other institutions' medicines."""
    lines = draft.filled_lines()
    results = (_allergy_checks(lines, allergies_and_contraindications) + _caution_checks(lines, current)
               + _duplicate_checks(lines, current) + _dose_and_days_checks(lines, today))
    return by_severity(results)


def by_severity(results: list[CheckResult]) -> list[CheckResult]:
    """Most severe first (stable within a severity)."""
    order = list(SEVERITY_LABELS)
    return sorted(results, key=lambda r: order.index(r.severity))


def needs_acknowledgement(results: list[CheckResult]) -> list[CheckResult]:
    """The findings the doctor must tick before issuing (all but 参考)."""
    return [r for r in results if r.severity != "info"]
