"""The rule of issuing: every check runs again when a prescription is issued (from the order form, the demo seed or
any future caller), and issuing is refused while a finding is not acknowledged — a 禁忌 with the doctor's reason.
The acknowledgements and the check-master edition are kept with the prescription."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from app.core.audit import Actor
from app.core.timeutil import japan_today
from app.diagnoses.services import current_diagnoses
from app.onshi.medications import history_medicines
from app.patients import profile as profiles
from app.prescriptions import check_master, checks, eprescription, services
from app.prescriptions.checks import UNCHECKED_REASONS, CheckResult
from app.prescriptions.master_checks import master_checks, patient_facts
from app.prescriptions.models import Prescription
from app.prescriptions.orca_checks import orca_checks
from app.sharing.medications import other_institution_medicines

MAX_REASON = 200
#: Whom the package insert's section speaks of, by 妊娠・授乳 status.
INSERT_SECTIONS = {"pregnant": "妊婦", "lactating": "授乳婦", "possible": "妊娠する可能性のある女性"}
PREGNANCY_SOURCE = "患者プロフィール（妊娠・授乳）"


@dataclass
class CheckReport:
    """The findings for a draft, most severe first, and the check-master edition they were read in."""

    results: list[CheckResult] = field(default_factory=list)
    master_version: str = ""

    @property
    def unchecked(self) -> list[CheckResult]:
        """What could not be checked."""
        return [r for r in self.results if r.severity == "unchecked"]

    def unchecked_counts(self) -> list[tuple[str, int]]:
        """(why, how many) of what could not be checked, most frequent first."""
        counts = Counter(r.reason or "other" for r in self.unchecked)
        return [(UNCHECKED_REASONS.get(reason, "その他"), n) for reason, n in counts.most_common()]


class ChecksNotAcknowledged(services.PrescriptionError):
    """Issuing refused: findings not acknowledged, or a 禁忌 without the doctor's reason; carries the report."""

    def __init__(self, message: str, report: CheckReport, missing: list[CheckResult]) -> None:
        super().__init__(message)
        self.report = report
        self.missing = missing


def check_prescription(session: Session, clinic: Any, patient: Any, draft: services.Draft,
                       today: date | None = None) -> CheckReport:
    """Run every check on a validated draft: the patient's allergies and 薬剤禁忌, duplicates and 併用注意, the check
    master (併用禁忌, 病名禁忌, dose and days) against our and other institutions' current medicines, ORCA's
    併用禁忌チェック and the 電子処方箋管理サービス's 重複投薬等チェック when connected (each of its hits a 禁忌-level
    finding: going on needs the doctor's 投与理由); what could not be checked is reported as 未確認 with its reason."""
    today = today or japan_today()
    lines = draft.filled_lines()
    current = services.current_medicines(session, clinic.id, patient.id, today)
    national = other_institution_medicines(session, clinic, patient, today)
    history = history_medicines(session, clinic, patient, today)  # オンライン資格確認's 薬剤情報, as last fetched
    others = current + national.medicines + history.medicines
    results = checks.run_checks(
        draft, allergies_and_contraindications=profiles.drug_allergies_and_contraindications(
            session, clinic.id, patient.id), current=others, today=today)
    version = check_master.current_version(session)
    facts = patient_facts(patient, current_diagnoses(session, clinic.id, patient.id), today)
    results += master_checks(session, version, lines, others, facts)
    results += orca_checks(clinic, patient, lines, today)
    # 妊娠・授乳 is recorded for female patients only: no query for the others.
    pregnancy = profiles.active_pregnancy(session, clinic.id, patient.id, today) if patient.sex == "F" else None
    results += pregnancy_cautions(pregnancy, lines)
    results += eprescription.service_check(clinic, patient, draft)
    if national.problem and lines:  # not using the service at all is said, but is no failed check
        results.append(CheckResult("duplicate", "unchecked" if national.connected else "info", national.problem,
                                   "電子カルテ情報共有サービス", "national_unavailable" if national.connected else ""))
    if history.problem and lines:
        results.append(CheckResult("duplicate", "info", history.problem, "オンライン資格確認（薬剤情報）"))
    return CheckReport(checks.by_severity(results), version.version if version else "")


def pregnancy_cautions(entry: Any, lines: list) -> list[CheckResult]:
    """While the patient is pregnant, breast-feeding or possibly pregnant: a caution for every drug, to be read in
    its package insert. We hold no master of which drugs are safe then (the check master's 傷病名禁忌 rows apply to
    a coded pregnancy diagnosis, which the 病名禁忌 check already reads), so no drug is passed or stopped here."""
    if entry is None:
        return []
    state, section = profiles.pregnancy_label(entry), INSERT_SECTIONS.get(entry.status, "妊婦")
    seen: set[str] = set()
    results = []
    for _rp, line in lines:
        if line.drug is None or line.drug.receipt_code in seen:
            continue
        seen.add(line.drug.receipt_code)
        results.append(CheckResult("pregnancy", "warn", f"{state}：{line.drug.name} — {section}への投与は添付文書で"
                                   "確認してください（妊娠・授乳の禁忌マスタはありません）", PREGNANCY_SOURCE))
    return results


def issue_prescription(session: Session, clinic: Any, actor: Actor, patient: Any, draft: services.Draft,
                       acknowledgements: dict[str, str], today: date | None = None) -> Prescription:
    """Issue a validated draft after running every check again. `acknowledgements` maps a finding's key to the
    doctor's reason ("" when only ticked); every finding but 参考 must be acknowledged and every 禁忌 needs a
    reason, else ChecksNotAcknowledged. The findings, their acknowledgements and the edition are stored."""
    services.check_replaced(session, clinic.id, patient.id, draft.replaces_id)
    report = check_prescription(session, clinic, patient, draft, today)
    reasons = {key: (text or "").strip()[:MAX_REASON] for key, text in acknowledgements.items()}
    missing = [r for r in checks.needs_acknowledgement(report.results) if r.key not in reasons]
    no_reason = [r for r in report.results if r.severity == "stop" and r.key in reasons and not reasons[r.key]]
    if missing or no_reason:
        parts = []
        if missing:
            parts.append(f"確認が必要な項目が{len(missing)}件あります。内容を確認してチェックを入れてください")
        if no_reason:
            parts.append(f"禁忌の{len(no_reason)}件には、それでも処方する理由を入力してください")
        raise ChecksNotAcknowledged("。".join(parts), report, missing + no_reason)
    records = [r.as_record() | {"acknowledged": r.key in reasons, "ack_reason": reasons.get(r.key, "")}
               for r in report.results]
    return services.store_issued(session, clinic.id, actor, patient.id, draft, records,
                                 check_master_version=report.master_version)
