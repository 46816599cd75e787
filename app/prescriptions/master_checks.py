"""Checks against the 支払基金 チェックマスタ: 併用禁忌 (with the new drugs, the patient's current medicines and other
institutions' prescriptions), 病名禁忌 against the current diagnoses, and the maximum daily dose and days of the
医薬品適応・投与量 rows that apply to the patient. Every query reads only the rows of the prescription's drugs.

A finding names the edition it was read in; a drug the edition has no row for is 未確認, never passed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.prescriptions import models
from app.prescriptions.checks import CheckResult
from app.prescriptions.services import CurrentMedicine, DraftLine, DraftRp

UNCODED_DISEASE = "0000999"  # 未コード化傷病名: no code to look up
SEX_CODES = {"M": "1", "F": "2"}


@dataclass(frozen=True)
class PatientFacts:
    """What the rules depend on: age in years, sex as the master codes it, and current diagnoses
    (code, name as shown)."""

    age: int
    sex: str
    diagnoses: tuple[tuple[str, str], ...]


def patient_facts(patient: Any, diagnoses: list[Any], today: date) -> PatientFacts:
    """The patient's age, sex and continuing diagnoses (suspected ones included: the doctor treats for them)."""
    born = patient.birth_date
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    current = tuple((d.disease_code, d.display_name) for d in diagnoses if d.outcome == "continuing")
    return PatientFacts(age, SEX_CODES.get(patient.sex, ""), current)


def _source(version: models.CheckMasterVersion, table: str, row_source: str) -> str:
    text = f"支払基金 チェックマスタ {version.version}（{table}）"
    return f"{text}; {row_source}" if row_source else text


def _unchecked(check: str, message: str, source: str, reason: str) -> CheckResult:
    return CheckResult(check, "unchecked", message, source, reason)


def _interactions(session: Session, version: models.CheckMasterVersion, lines: list[tuple[DraftRp, DraftLine]],
                  others: list[CurrentMedicine], known: dict[str, models.CheckMasterDrug]) -> list[CheckResult]:
    new = {line.drug.receipt_code: line.drug.name for _, line in lines if line.drug.receipt_code in known}
    partners: dict[str, list[str]] = defaultdict(list)
    for code, name in new.items():
        partners[code].append(name)
    results = []
    for medicine in others:
        if medicine.drug_receipt_code:
            partners[medicine.drug_receipt_code].append(medicine.described)
        else:
            results.append(_unchecked("interaction", f"{medicine.described}: 医薬品マスターに当たる薬剤がないため、"
                                      "併用禁忌を確認できません", "医薬品マスター", "no_code"))
    if not new:
        return results
    rows = _rules(session, models.CheckInteraction, models.CheckInteraction.other_code, new, partners)
    seen: set[tuple[str, str]] = set()
    for code, other, row_source in rows:
        for other_name in partners[other]:
            if other_name == new[code] or (other_name, new[code]) in seen:
                continue  # the same line, or a pair of two new lines already reported the other way round
            seen.add((new[code], other_name))
            results.append(CheckResult("interaction", "stop", f"併用禁忌: {new[code]} と {other_name}",
                                       _source(version, "医薬品併用禁忌", row_source)))
    return results


def _diseases(session: Session, version: models.CheckMasterVersion, lines: list[tuple[DraftRp, DraftLine]],
              facts: PatientFacts) -> list[CheckResult]:
    names = {line.drug.receipt_code: line.drug.name for _, line in lines}
    coded = {code: name for code, name in facts.diagnoses if code != UNCODED_DISEASE}
    results = [_unchecked("contraindication", f"未コード化傷病名「{name}」は傷病名コードがないため病名禁忌を"
                          "確認できません", "傷病名マスター", "uncoded_diagnosis")
               for code, name in facts.diagnoses if code == UNCODED_DISEASE]
    if not coded:
        return results
    rows = _rules(session, models.CheckDiseaseRule, models.CheckDiseaseRule.disease_code, names, coded)
    for drug_code, disease_code, row_source in rows:
        results.append(CheckResult("contraindication", "stop", f"病名禁忌: {names[drug_code]} は傷病名「"
                                   f"{coded[disease_code]}」の患者に禁忌です",
                                   _source(version, "傷病名禁忌", row_source)))
    return results


def _rules(session: Session, table: Any, other: Any, drugs: Iterable[str], others: Iterable[str]) -> Any:
    """(drug code, other code, source) of the rows of a pair table (併用禁忌, 病名禁忌) between these drugs and these
    others, in code order."""
    return session.execute(select(table.drug_code, other, table.source)
                           .where(table.drug_code.in_(list(drugs)), other.in_(list(others)))
                           .order_by(table.drug_code, other))


def _applies(rule: models.CheckDoseRule, facts: PatientFacts) -> bool:
    return (not rule.sex or rule.sex == facts.sex) and rule.age_min <= facts.age <= rule.age_max


def _dose_and_days(session: Session, version: models.CheckMasterVersion, lines: list[tuple[DraftRp, DraftLine]],
                   facts: PatientFacts, known: dict[str, models.CheckMasterDrug]) -> list[CheckResult]:
    codes = [line.drug.receipt_code for _, line in lines if known[line.drug.receipt_code].has_dose_rules]
    rules: dict[str, list[models.CheckDoseRule]] = defaultdict(list)
    if codes:
        diseases = [code for code, _ in facts.diagnoses] + [models.ANY_DISEASE]
        for rule in session.scalars(select(models.CheckDoseRule).where(models.CheckDoseRule.drug_code.in_(codes),
                                                                models.CheckDoseRule.disease_code.in_(diseases))):
            if _applies(rule, facts):
                rules[rule.drug_code].append(rule)
    results = []
    for rp, line in lines:
        drug = line.drug
        if not known[drug.receipt_code].has_dose_rules:
            results.append(_unchecked("dose", f"{drug.name}: チェックマスタに適応・投与量の行がないため、用量と日数の"
                                      "上限を確認できません", _source(version, "医薬品適応・投与量", ""),
                                      "no_master_row"))
            continue
        applicable = rules.get(drug.receipt_code, [])
        if not applicable:
            results.append(_unchecked("dose", f"{drug.name}: 患者の傷病名・年齢・性別に当たる適応の行がないため、用量の"
                                      "上限を確認できません（適応病名の登録漏れがないか確認してください）",
                                      _source(version, "医薬品適応・投与量", ""), "no_indication"))
            continue
        results += _limits(version, rp, line, applicable)
    return results


def _limits(version: models.CheckMasterVersion, rp: DraftRp, line: DraftLine,
            rules: list[models.CheckDoseRule]) -> list[CheckResult]:
    """The largest dose and days among the rules that apply (the patient may be treated for any of them)."""
    drug, results = line.drug, []
    dosed = [r for r in rules if r.max_dose is not None]
    dose = line.dose_value or 0
    if dosed and rp.form_number in (1, 2):  # a 頓服 dose is one time's: above the daily maximum it is too much
        top = max(dosed, key=lambda r: r.max_dose or 0)
        if dose > (top.max_dose or 0):
            per = "1日" if rp.form_number == 1 else "1回"
            adjustable = "（適宜増減あり）" if top.is_adjustable else ""
            results.append(CheckResult(
                "dose", "warn" if top.is_adjustable else "stop",
                f"用量超過: {drug.name} {per}{dose:g}{drug.unit} は1日最大{top.max_dose:g}{drug.unit}を超えています"
                f"{adjustable}", _source(version, "医薬品適応・投与量", top.source)))
    limited = [r for r in rules if r.max_days is not None]
    days = rp.quantity_value or 0
    if limited and rp.form_number == 1:
        top = max(limited, key=lambda r: r.max_days or 0)
        if days > (top.max_days or 0):
            results.append(CheckResult("days", "stop", f"投与日数超過: {drug.name} {days}日分は1回{top.max_days}日分"
                                       "までです", _source(version, "医薬品適応・投与量", top.source)))
    return results


def master_checks(session: Session, version: models.CheckMasterVersion | None, lines: list[tuple[DraftRp, DraftLine]],
                  others: list[CurrentMedicine], facts: PatientFacts) -> list[CheckResult]:
    """Every check-master finding for the draft's lines, and what could not be checked and why."""
    if not lines:
        return []
    if version is None:
        return [_unchecked("interaction", "支払基金チェックマスタが読み込まれていないため、併用禁忌・病名禁忌・用量と"
                           "日数の上限を確認できません（管理者が読み込む必要があります）",
                           "支払基金 チェックマスタ（未読込）", "master_not_loaded")]
    codes = sorted({line.drug.receipt_code for _, line in lines})
    known = {row.drug_code: row for row in session.scalars(select(models.CheckMasterDrug)
                                                            .where(models.CheckMasterDrug.drug_code.in_(codes)))}
    results = [_unchecked("interaction", f"{line.drug.name}: 支払基金チェックマスタ {version.version} にこの薬剤の行が"
                          "ないため、併用禁忌・病名禁忌・用量と日数の上限を確認できません",
                          f"支払基金 チェックマスタ {version.version}", "no_master_row")
               for _, line in lines if line.drug.receipt_code not in known]
    found = [(rp, line) for rp, line in lines if line.drug.receipt_code in known]
    return (results + _interactions(session, version, found, others, known) + _diseases(session, version, found, facts)
            + _dose_and_days(session, version, found, facts, known))
