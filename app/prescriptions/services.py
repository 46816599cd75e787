"""Prescription rules: read the order form into a draft, validate it, issue it (immutable), cancel it, copy it
(Do処方), and list what a patient currently takes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.clinics.services import get_staff
from app.core.audit import Actor, record_audit
from app.core.errors import ValidationError
from app.core.forms import to_number
from app.core.jp import strip_control_chars
from app.core.paging import Page
from app.core.timeutil import japan_today
from app.core.versioning import clean_reason
from app.db import scoped, utcnow
from app.prescriptions.drug_master import get_drug, search_drugs
from app.prescriptions.models import (
    CANCELLED,
    ISSUE_MODES,
    ISSUED,
    RP_FORMS,
    Drug,
    Prescription,
    PrescriptionLine,
    PrescriptionRp,
)
from app.prescriptions.usage import USAGE_ROUTE, find_usage
from app.printing.rx_symbol import symbol_text_problem
from app.sharing.registration import record_confirmed

MAX_RPS, MAX_LINES = 15, 10
MAX_DAYS, RX_PER_PAGE = 365, 30  # the longest supply; prescriptions on one page of the list
VALID_DAYS = 4  # 処方箋の使用期間: 交付の日を含めて4日以内 (the form's default)
#: Which drug 剤形 (y master column 27) fits which Rp form; 注射 is for self-injection (insulin …).
FORM_FITS = {1: {1}, 2: {1}, 3: {6}, 5: {4}}
FORM_LABELS = {**RP_FORMS, 5: "注射（自己注射）"}
FORM_ROUTE_DIGIT = {1: "1", 2: "1", 3: "2"}


class PrescriptionError(ValueError):
    """A prescription that cannot be issued or cancelled; str() is a Japanese message."""


@dataclass
class DraftLine:
    """One drug line as typed: the raw values, the drug when resolved, and messages."""

    query: str = ""
    drug_code: str = ""
    dose: str = ""
    by_generic_name: bool = False
    no_substitution: bool = False
    drug: Drug | None = None
    candidates: list[Any] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def dose_value(self) -> float | None:
        """The dose as a number (None when not valid)."""
        try:
            return float(to_number(self.dose))
        except ValueError:
            return None


@dataclass
class DraftRp:
    """One Rp as typed."""

    form: str = "1"
    usage_code: str = ""
    usage_text: str = ""
    quantity: str = ""
    lines: list[DraftLine] = field(default_factory=lambda: [DraftLine()])
    errors: list[str] = field(default_factory=list)

    @property
    def form_number(self) -> int:
        """The Rp form as a number (1 内服 …)."""
        return int(self.form) if self.form.isdigit() else 0

    @property
    def quantity_value(self) -> int | None:
        """Days or times as a number."""
        text = self.quantity.translate(str.maketrans("０１２３４５６７８９", "0123456789")).strip()
        return int(text) if text.isdigit() else None


@dataclass
class Draft:
    """A prescription being written (never stored until issued)."""

    rps: list[DraftRp] = field(default_factory=lambda: [DraftRp()])
    remarks: str = ""
    mode: str = "paper"
    #: Consent to the service's duplicate check (card, oral, ""), and リフィル uses (0, 2, 3).
    consent: str = ""
    refill_count: int = 0
    replaces_id: int | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        """Whether any message stops issuing."""
        return bool(self.errors or any(rp.errors or any(line.errors for line in rp.lines) for rp in self.rps))

    def filled_lines(self) -> list[tuple[DraftRp, DraftLine]]:
        """Lines that name a drug, with their Rp."""
        return [(rp, line) for rp in self.rps for line in rp.lines if line.drug is not None]


def _text(form: Mapping[str, str], name: str, limit: int = 200) -> str:
    return strip_control_chars(form.get(name, "") or "").strip()[:limit]


def _count(form: Mapping[str, str], name: str, limit: int) -> int:
    """A row counter of the order form (1 … limit); a missing or tampered one counts as 1, never an error."""
    value = (form.get(name) or "").strip()
    return min(max(int(value), 1), limit) if value.isdigit() and len(value) <= 3 else 1


def draft_from_form(form: Mapping[str, str]) -> Draft:
    """Read the posted order form (rp{i}_…, rp{i}_l{j}_…) into a draft, without validating."""
    refill = form.get("refill_count", "0")
    draft = Draft(remarks=_text(form, "remarks", 1000), mode=form.get("mode", "paper"),
                  consent=form.get("consent", ""), refill_count=int(refill) if refill in ("0", "2", "3") else -1)
    replaces = form.get("replaces_id", "")
    draft.replaces_id = int(replaces) if replaces.isdigit() else None
    rp_count = _count(form, "rp_count", MAX_RPS)
    draft.rps = []
    for i in range(rp_count):
        rp = DraftRp(form=form.get(f"rp{i}_form", "1"), usage_code=_text(form, f"rp{i}_usage_code", 16),
                     usage_text=_text(form, f"rp{i}_usage_text", 100), quantity=_text(form, f"rp{i}_quantity", 10))
        line_count = _count(form, f"rp{i}_line_count", MAX_LINES)
        rp.lines = [DraftLine(query=_text(form, f"rp{i}_l{j}_query"), drug_code=_text(form, f"rp{i}_l{j}_drug", 9),
                              dose=_text(form, f"rp{i}_l{j}_dose", 12),
                              by_generic_name=form.get(f"rp{i}_l{j}_generic") == "1",
                              no_substitution=form.get(f"rp{i}_l{j}_nosub") == "1")
                    for j in range(line_count)]
        draft.rps.append(rp)
    return draft


def draft_from_prescription(prescription: Prescription) -> Draft:
    """A copy of an earlier prescription to edit and issue again (Do処方)."""
    rps = [DraftRp(form=str(rp.form), usage_code=rp.usage_code, usage_text=rp.usage_text, quantity=str(rp.quantity),
                   lines=[DraftLine(query=line.drug_name, drug_code=line.drug_receipt_code, dose=f"{line.dose:g}",
                                    by_generic_name=line.by_generic_name, no_substitution=line.no_substitution)
                          for line in rp.lines])
           for rp in prescription.rps]
    return Draft(rps=rps or [DraftRp()], remarks=prescription.remarks, mode=prescription.mode,
                 consent=prescription.consent, refill_count=prescription.refill_count)


def _resolve_line(session: Session, line: DraftLine, known: dict[str, Drug]) -> None:
    if line.drug_code:
        line.drug = known.get(line.drug_code) or get_drug(session, line.drug_code)
        if line.drug is None:
            line.errors.append(f"医薬品コード「{line.drug_code}」は医薬品マスターにありません")
            return
        line.query = line.drug.name
    elif line.query:
        hits = search_drugs(session, line.query, limit=10)
        exact = [h for h in hits if h.name == line.query]
        if len(hits) == 1 or len(exact) == 1:
            line.drug = get_drug(session, (exact or hits)[0].receipt_code)
            line.drug_code = line.drug.receipt_code
        else:
            line.candidates = hits
            line.errors.append("候補から薬剤を選んでください" if hits else f"「{line.query}」に当たる薬剤がありません")
            return
    else:
        return
    drug = line.drug
    if drug.end_date is not None and drug.end_date <= japan_today():
        line.errors.append(f"{drug.name}は{drug.end_date.isoformat()}で薬価基準から削除されています")
    if drug.transitional_deadline is not None and drug.transitional_deadline < japan_today():
        line.errors.append(f"{drug.name}は経過措置期限（{drug.transitional_deadline.isoformat()}）を過ぎています")
    dose = line.dose_value
    if not line.dose:
        line.errors.append("用量を入力してください")
    elif dose is None:
        line.errors.append(f"用量「{line.dose}」が数値ではありません")
    elif dose <= 0:
        line.errors.append("用量は0より大きい値にしてください")
    elif dose > 99999:
        line.errors.append(f"用量 {line.dose} はありえない値です")
    if line.by_generic_name and not drug.generic_code:
        line.errors.append(f"{drug.name}には一般名コードがないため一般名処方にできません")


def _validate_rp(rp: DraftRp) -> None:
    if rp.form_number not in FORM_LABELS:
        rp.errors.append("剤形（内服・頓服・外用）を選んでください")
        return
    usage = find_usage(rp.usage_code) if rp.usage_code else None
    if rp.usage_code and usage is None:
        rp.errors.append(f"用法コード「{rp.usage_code}」は用法マスターにありません")
    if usage:
        rp.usage_text = usage.text
        expected = FORM_ROUTE_DIGIT.get(rp.form_number)
        if expected and usage.route_digit != expected:
            rp.errors.append(f"用法「{usage.text}」は{USAGE_ROUTE.get(usage.route_digit, '')}の用法で、"
                             f"{FORM_LABELS[rp.form_number]}の剤には使えません")
    elif not rp.usage_text:
        rp.errors.append("用法を選ぶか入力してください（頓服は「疼痛時」などの条件）")
    elif problem := symbol_text_problem("用法", rp.usage_text):
        rp.errors.append(problem)
    quantity = rp.quantity_value
    unit = "回分" if rp.form_number == 2 else "日分"
    if quantity is None:
        rp.errors.append(f"{unit}を数字で入力してください")
    elif quantity < 1 or quantity > MAX_DAYS:
        rp.errors.append(f"{quantity}{unit}はありえない値です（1〜{MAX_DAYS}）")
    for line in rp.lines:
        if line.drug is not None and line.drug.dosage_form not in FORM_FITS.get(rp.form_number, set()):
            form_name = {1: "内用薬", 4: "注射薬", 6: "外用薬"}.get(line.drug.dosage_form, "この剤形")
            line.errors.append(f"{line.drug.name}は{form_name}で、{FORM_LABELS[rp.form_number]}の剤に入れられません")


def validate_draft(session: Session, draft: Draft) -> Draft:
    """Resolve every drug against the master and check doses, usages and days; messages go on the draft."""
    codes = {line.drug_code for rp in draft.rps for line in rp.lines if line.drug_code}
    # One query for all the lines' drugs (the check page resolves them on every press of チェック).
    known = {d.receipt_code: d for d in session.scalars(select(Drug).where(Drug.receipt_code.in_(codes)))} \
        if codes else {}
    for rp in draft.rps:
        rp.errors.clear()
        for line in rp.lines:
            line.errors.clear()
            _resolve_line(session, line, known)
        if any(line.drug for line in rp.lines) or rp.usage_code or rp.quantity:
            _validate_rp(rp)
    if not draft.filled_lines():
        draft.errors.append("薬剤を1つ以上入力してください")
    if draft.mode not in ISSUE_MODES or draft.consent not in ("card", "oral", "") or draft.refill_count < 0:
        draft.errors.append("発行方法・同意・リフィルの回数（2回か3回）を選び直してください")
    if problem := symbol_text_problem("備考", draft.remarks):
        draft.errors.append(problem)
    return draft


def check_replaced(session: Session, clinic_id: int, patient_id: int, replaces_id: int | None) -> None:
    """A replacement must name a cancelled prescription of the same patient in the same clinic."""
    if replaces_id is None:
        return
    replaced = session.scalar(scoped(Prescription, clinic_id).where(Prescription.id == replaces_id,
                                                                    Prescription.patient_id == patient_id))
    if replaced is None:
        raise PrescriptionError("置き換える処方箋がこの患者の処方箋にありません")
    if replaced.status != CANCELLED:
        raise PrescriptionError("置き換える処方箋はまだ取り消されていません。先に取り消してください")


def store_issued(session: Session, clinic_id: int, actor: Actor, patient_id: int, draft: Draft,
                 acknowledged: list[dict[str, Any]], *, check_master_version: str = "") -> Prescription:
    """Store a validated, checked draft as an issued prescription (never changed afterwards) and audit it. Only
    checking.issue_prescription calls this, after running every check and seeing them acknowledged."""
    if draft.has_errors:
        raise PrescriptionError("入力に誤りがあるため発行できません")
    check_replaced(session, clinic_id, patient_id, draft.replaces_id)
    staff = get_staff(session, clinic_id, actor.user_id) if actor.user_id else None
    today = japan_today()
    prescription = Prescription(clinic_id=clinic_id, patient_id=patient_id, doctor_id=actor.user_id,
                                doctor_name=staff.display_name if staff else (actor.login_id or ""),
                                issued_on=today, valid_until=today + timedelta(days=VALID_DAYS - 1),
                                status=ISSUED, mode=draft.mode, remarks=draft.remarks, consent=draft.consent,
                                refill_count=draft.refill_count,
                                acknowledged_checks=acknowledged, replaces_id=draft.replaces_id, issued_at=utcnow(),
                                check_master_version=check_master_version)
    number = 0
    for rp in draft.rps:
        lines = [line for line in rp.lines if line.drug is not None]
        if not lines:
            continue
        number += 1
        usage = find_usage(rp.usage_code) if rp.usage_code else None
        row = PrescriptionRp(number=number, form=rp.form_number, usage_code=rp.usage_code, usage_text=rp.usage_text,
                             times_per_day=usage.times_per_day if usage else None, quantity=rp.quantity_value or 0)
        for seq, line in enumerate(lines, start=1):
            drug = line.drug
            row.lines.append(PrescriptionLine(
                seq=seq, drug_receipt_code=drug.receipt_code, drug_name=drug.name, yj_code=drug.yj_code,
                by_generic_name=line.by_generic_name, generic_code=drug.generic_code, generic_name=drug.generic_name,
                no_substitution=line.no_substitution, dose=line.dose_value or 0, unit=drug.unit))
        prescription.rps.append(row)
    session.add(prescription)
    session.flush()
    record_audit(session, actor, "prescription.issue", clinic_id=clinic_id, entity_type="prescription",
                 entity_id=prescription.id, patient_id=patient_id,
                 summary={"after": {"lines": [f"Rp{rp.number} {line.printed_name} {line.dose:g}{line.unit} "
                                              f"{rp.usage_text} {rp.quantity}" for rp in prescription.rps
                                              for line in rp.lines], "mode": draft.mode,
                                    "replaces": draft.replaces_id, "acknowledged": len(acknowledged),
                                    "check_master": check_master_version}})
    record_confirmed(session, prescription)  # 6 information: 処方 (no-op when not connected)
    return prescription


def cancel(session: Session, clinic_id: int, actor: Actor, prescription: Prescription, reason: str) -> Prescription:
    """Cancel an issued prescription (the record stays; a change is a cancellation plus a new prescription)."""
    if prescription.status != ISSUED:
        raise PrescriptionError("この処方箋はすでに取り消されています")
    try:  # the same rule as every change's reason: cleaned, required, refused (never cut) past 200 characters
        reason = clean_reason(reason, missing="取消の理由を入力してください")
    except ValidationError as exc:
        raise PrescriptionError(exc.message) from exc
    prescription.status = CANCELLED
    prescription.cancelled_at = utcnow()
    prescription.cancel_reason = reason
    record_audit(session, actor, "prescription.cancel", clinic_id=clinic_id, entity_type="prescription",
                 entity_id=prescription.id, patient_id=prescription.patient_id,
                 summary={"before": {"status": ISSUED}, "after": {"status": CANCELLED}, "reason": reason})
    record_confirmed(session, prescription)  # the service hears the 処方 is cancelled
    return prescription


def get_prescription(session: Session, clinic_id: int, patient_id: int, prescription_id: int) -> Prescription | None:
    """One prescription of this clinic's patient, with its Rps and lines (one query: a prescription has a few
    rows, and each round trip counts when it is printed)."""
    return session.scalars(scoped(Prescription, clinic_id).where(Prescription.id == prescription_id,
                                                                 Prescription.patient_id == patient_id)
                           .options(joinedload(Prescription.rps).joinedload(PrescriptionRp.lines))
                           ).unique().one_or_none()


def list_prescriptions(session: Session, clinic_id: int, patient_id: int, page: int = 1,
                       per_page: int = RX_PER_PAGE) -> tuple[list, Page]:
    """One page of the patient's prescriptions, newest first, and the page with the count of all (ten years: 300)."""
    mine = scoped(Prescription, clinic_id).where(Prescription.patient_id == patient_id)
    shown = Page(page, session.scalar(select(func.count()).select_from(mine.subquery())) or 0, per_page)
    rows = mine.options(selectinload(Prescription.rps).selectinload(PrescriptionRp.lines)).offset(shown.offset)
    return list(session.scalars(rows.order_by(Prescription.issued_at.desc()).limit(per_page))), shown


OWN_SOURCE = "当院処方"


@dataclass(frozen=True)
class CurrentMedicine:
    """A drug the patient is taking now: from an issued prescription whose days have not run out."""

    drug_receipt_code: str
    name: str
    yj_code: str
    generic_code: str
    issued_on: date
    until: date
    source: str  # 当院処方, or 他院処方 and the institution (from the 電子カルテ情報共有サービス)

    @property
    def described(self) -> str:
        """The name with where and when it was prescribed, as findings show it."""
        when = (f"{self.issued_on.isoformat()}〜{self.until.isoformat()}" if self.source == OWN_SOURCE
                else f"{self.issued_on.isoformat()} 処方")
        return f"{self.name}（{self.source} {when}）"


def current_medicines(session: Session, clinic_id: int, patient_id: int,
                      on: date | None = None) -> list[CurrentMedicine]:
    """Drugs from issued prescriptions still being taken on a day (内服 by its days; 頓服・外用 for 30 days)."""
    on = on or japan_today()
    since = on - timedelta(days=MAX_DAYS)
    # One query over the three tables (the check page waits for it; a round trip per table costs more than rows).
    rows = session.execute(_CURRENT_LINES, {"clinic_id": clinic_id, "patient_id": patient_id, "since": since})
    found: list[CurrentMedicine] = []
    for issued_on, form, quantity, code, name, by_generic, generic_name, yj_code, generic_code in rows:
        until = issued_on + timedelta(days=(quantity if form == 1 else 30) - 1)
        if until >= on:
            printed = generic_name if by_generic and generic_name else name
            found.append(CurrentMedicine(code, printed, yj_code, generic_code, issued_on, until, OWN_SOURCE))
    return found


#: The lines of a patient's prescriptions issued since a day, built once (the patient page and every check run it).
_CURRENT_LINES = (
    select(Prescription.issued_on, PrescriptionRp.form, PrescriptionRp.quantity, PrescriptionLine.drug_receipt_code,
           PrescriptionLine.drug_name, PrescriptionLine.by_generic_name, PrescriptionLine.generic_name,
           PrescriptionLine.yj_code, PrescriptionLine.generic_code)
    .join(PrescriptionRp, PrescriptionRp.prescription_id == Prescription.id)
    .join(PrescriptionLine, PrescriptionLine.rp_id == PrescriptionRp.id)
    .where(Prescription.clinic_id == bindparam("clinic_id"), Prescription.patient_id == bindparam("patient_id"),
           Prescription.status == ISSUED, Prescription.issued_on >= bindparam("since"))
    .order_by(Prescription.issued_at, Prescription.id, PrescriptionRp.number, PrescriptionLine.seq))


def latest_prescription(session: Session, clinic_id: int, patient_id: int) -> Prescription | None:
    """The newest issued prescription (for Do処方)."""
    return session.scalar(scoped(Prescription, clinic_id).where(Prescription.patient_id == patient_id,
                                                                Prescription.status == ISSUED)
                          .order_by(Prescription.issued_at.desc()).limit(1))
