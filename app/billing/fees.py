"""指導料・管理料 of today's visit: the picker's list (what applies first, the rest greyed with the reason, search
by kana, name or code), choosing and removing a fee, and the lines a full-chart note writes into its P.

Every check is made again when a fee is chosen (unknown or expired code, quantity, the disease it needs, age,
monthly limit, an exclusive fee), so the list and the choice cannot disagree. A change bumps the visit's bill
revision and queues its 中途データ again (app/billing/visit_claim.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.billing import fee_rules, visit_claim, visit_send
from app.billing.first_visit import first_visit
from app.billing.models import Procedure, VisitBill, VisitFee
from app.billing.procedures import points_text, procedures_by_code, search_procedures
from app.clinics.models import Clinic
from app.core.audit import Actor, record_audit
from app.core.errors import NotFoundError, ValidationError
from app.core.jp import age_on, search_key
from app.core.timeutil import to_japan_time
from app.db import utcnow
from app.diagnoses.models import Diagnosis, Disease
from app.documents.models import FINAL, ReferralLetter
from app.prescriptions.models import ISSUED, Prescription
from app.reception.models import CANCELLED, PAID, Visit

MAX_QUANTITY = 9


@dataclass
class FeeOption:
    """One fee of the picker."""

    code: str
    name: str
    points: str
    applies: bool
    suggested: bool
    reason: str
    source: str
    chosen: bool


def visit_for(session: Session, clinic_id: int, visit_id: int) -> Visit:
    """A visit of the clinic (404 otherwise)."""
    visit = session.get(Visit, visit_id)
    if visit is None or visit.clinic_id != clinic_id:
        raise NotFoundError("受付が見つかりません")
    return visit


#: The visit's bill (the one 中途データ of the visit), made on first use when `create`.
bill_for = visit_send.bill_for


def chosen_fees(session: Session, visit: Visit) -> list[VisitFee]:
    """The fees chosen for the visit and not removed, in the order chosen."""
    return list(session.scalars(select(VisitFee).where(
        VisitFee.clinic_id == visit.clinic_id, VisitFee.visit_id == visit.id, VisitFee.removed_at.is_(None))
        .order_by(VisitFee.id)))


def _month(day: date) -> tuple[date, date]:
    start = day.replace(day=1)
    return start, date(start.year + start.month // 12, start.month % 12 + 1, 1)


def main_diseases(session: Session, visit: Visit) -> tuple[list[str], list[str]]:
    """Names of the patient's current main diagnoses on the visit's day that are 特定疾患 (傷病名マスター's
    特定疾患等対象区分 05) and 生活習慣病 targets (one query)."""
    specific: list[str] = []
    lifestyle: list[str] = []
    for name, icd10, kind in session.execute(
            select(Diagnosis.display_name, Diagnosis.icd10, Disease.specific_disease)
            .join(Disease, Disease.code == Diagnosis.disease_code, isouter=True).where(
                Diagnosis.clinic_id == visit.clinic_id, Diagnosis.patient_id == visit.patient_id,
                Diagnosis.superseded_at.is_(None), Diagnosis.retracted.is_(False), Diagnosis.is_main.is_(True),
                Diagnosis.outcome == "continuing", Diagnosis.is_suspected.is_(False),
                Diagnosis.started_on <= visit.visit_date)):
        if kind == fee_rules.SPECIFIC_DISEASE_CLASS:
            specific.append(name)
        if (icd10 or "")[:3] in fee_rules.LIFESTYLE_ICD10:
            lifestyle.append(name)
    return specific, lifestyle


def facts_of(session: Session, visit: Visit, chosen: list[VisitFee], first: bool | None = None,
             bill: VisitBill | None = None, masters: dict[str, Procedure] | None = None) -> fee_rules.VisitFacts:
    """What the rules read about the visit: a bounded number of queries, whatever the patient's history.
    `first`: 初診 by ORCA's 初診算定日 (app/billing/first_visit.py); None when ORCA could not say. `bill` and
    `masters` (the master rows of at least the chosen codes): when the caller has read them, else read here."""
    clinic_id, patient_id, day = visit.clinic_id, visit.patient_id, visit.visit_date
    bill = bill if bill is not None else bill_for(session, visit)
    facts = fee_rules.VisitFacts(age=age_on(visit.patient.birth_date, day), online=bool(bill and bill.online))
    facts.specific_diseases, facts.lifestyle_diseases = main_diseases(session, visit)
    facts.letter_today = any(
        letter.confirmed_at is not None and to_japan_time(letter.confirmed_at).date() == day
        for letter in session.scalars(select(ReferralLetter).where(
            ReferralLetter.clinic_id == clinic_id, ReferralLetter.patient_id == patient_id,
            ReferralLetter.status == FINAL).order_by(ReferralLetter.id.desc()).limit(5)))
    facts.prescription_today = bool(session.scalar(select(func.count()).select_from(Prescription).where(
        Prescription.clinic_id == clinic_id, Prescription.patient_id == patient_id, Prescription.issued_on == day,
        Prescription.status == ISSUED)))
    facts.chosen_groups = {fee.group for fee in chosen}
    for fee in chosen:
        rule = fee_rules.rule_for(fee.code)
        if rule is not None:
            facts.chosen_names[rule.group] = fee.name
            facts.chosen_excludes[rule.group] = rule.excludes
    if first:
        facts.chosen_groups.add(fee_rules.FIRST_VISIT_GROUP)
    codes = {f.code for f in chosen}
    masters = masters if masters is not None else procedures_by_code(session, codes)
    facts.chosen_chapters = {masters[code].chapter for code in codes if code in masters}
    start, end = _month(day)
    # Times billed, not rows: a fee chosen with 回数 2 counts twice toward its monthly limit.
    for code, count in session.execute(select(VisitFee.code, func.sum(VisitFee.quantity)).where(
            VisitFee.clinic_id == clinic_id, VisitFee.patient_id == patient_id, VisitFee.removed_at.is_(None),
            VisitFee.visit_date >= start, VisitFee.visit_date < end, VisitFee.visit_id != visit.id)
            .group_by(VisitFee.code)):
        facts.month_counts[code] = int(count)
    facts.groups_ever = set(session.scalars(select(VisitFee.group).distinct().where(
        VisitFee.clinic_id == clinic_id, VisitFee.patient_id == patient_id, VisitFee.removed_at.is_(None),
        VisitFee.visit_id != visit.id, VisitFee.group.in_(("eiyo_first", "eiyo_next")))))
    return facts


def _matches(rule: fee_rules.FeeRule, master: Procedure | None, key: str, text: str) -> bool:
    if not text:
        return True
    if text.isdigit():
        return rule.code.startswith(text)
    return key in search_key(rule.rule) or (master is not None and (key in master.kana_key or key in master.name_key))


def fee_options(session: Session, visit: Visit, text: str = "", first: bool | None = None,
                chosen: list[VisitFee] | None = None, bill: VisitBill | None = None) -> list[FeeOption]:
    """The picker's list: fees that apply (suggested first), then greyed ones with their reason; then, when
    searching, other 医学管理等 (B) and 在宅 (C) procedures of the master that have no rule (the doctor's call).
    `chosen` and `bill`: the visit's chosen fees and bill when the caller (the picker's page) has read them."""
    chosen = chosen_fees(session, visit) if chosen is None else chosen
    chosen_codes = {fee.code for fee in chosen}
    # The rules' master rows and the chosen fees' in one query, which facts_of reads the chapters from.
    masters = procedures_by_code(session, {r.code for r in fee_rules.rules()} | chosen_codes)
    # A chosen fee is judged without itself, so it is not greyed by its own group.
    facts = facts_of(session, visit, chosen, first, bill, masters)
    text = (text or "").strip()
    key = search_key(text)
    options = []
    for rule in fee_rules.rules():
        master = masters.get(rule.code)
        if not _matches(rule, master, key, text):
            continue
        own = fee_rules.VisitFacts(**{**facts.__dict__, "chosen_groups": facts.chosen_groups - (
            {rule.group} if rule.code in chosen_codes else set())})
        applies, suggested, reason = fee_rules.judge(rule, own, master is not None and master.end_date is None)
        options.append(FeeOption(code=rule.code, name=rule.rule, points=points_text(master.points) if master else "",
                                 applies=applies, suggested=suggested, reason=reason, source=rule.source,
                                 chosen=rule.code in chosen_codes))
    if text:
        ruled = {r.code for r in fee_rules.rules()}
        for proc in search_procedures(session, text):
            if proc.code not in ruled and proc.chapter in ("B", "C"):
                options.append(FeeOption(code=proc.code, name=proc.name, points=points_text(proc.points), applies=True,
                                         suggested=False, reason="医師の判断で算定", source=f"告示 {proc.section}",
                                         chosen=proc.code in chosen_codes))
    options.sort(key=lambda o: (not o.chosen, not o.suggested, not o.applies))
    return options


def open_visit(visit: Visit) -> None:
    """Refuse a change to a cancelled, paid (会計済) or incomplete (no 診療科・医師) visit."""
    if visit.status == CANCELLED:
        raise ValidationError("取り消された受付には算定できません")
    if visit.status == PAID:
        raise ValidationError("この受付はORCAで会計済みです。変更はORCAの「21 診療行為」で行ってください")
    if not visit.department_code or not visit.physician_code:
        raise ValidationError("受付に診療科・医師がないため算定できません。受付を確認してください")


def _parse_quantity(raw: str | int | None) -> int:
    text = str(raw if raw is not None else "1").strip() or "1"
    if not text.isdigit() or not 1 <= int(text) <= MAX_QUANTITY:
        raise ValidationError(f"回数は1から{MAX_QUANTITY}の整数で入力してください", field="quantity")
    return int(text)


def choose_fee(session: Session, clinic: Clinic, actor: Actor, visit: Visit, code: str,
               quantity: str | int | None = 1) -> VisitFee:
    """Add a fee to the visit after checking it as the list does; queues the visit's 中途データ."""
    open_visit(visit)
    code = (code or "").strip()
    if not code:
        raise ValidationError("診療行為コードを入力してください", field="code")
    count = _parse_quantity(quantity)
    master = procedures_by_code(session, {code}).get(code)
    if master is None:
        raise ValidationError(f"診療行為コード「{code}」は医科診療行為マスターにありません", field="code")
    if master.end_date is not None and master.end_date <= visit.visit_date:
        raise ValidationError(f"「{master.name}」は{master.end_date:%Y-%m-%d}に廃止されています", field="code")
    chosen = chosen_fees(session, visit)
    if any(fee.code == code for fee in chosen):
        raise ValidationError(f"「{master.name}」はすでに選ばれています", field="code")
    rule = fee_rules.rule_for(code)
    if rule is None and master.chapter not in ("B", "C"):
        raise ValidationError(f"「{master.name}」は指導料・管理料（医学管理等・在宅）ではありません", field="code")
    if rule is not None:
        facts = facts_of(session, visit, chosen, first_visit(session, clinic, visit).first)
        applies, _, reason = fee_rules.judge(rule, facts, True)
        if not applies:
            raise ValidationError(f"「{rule.rule}」は算定できません: {reason}", field="code")
        done = facts.month_counts.get(code, 0)
        if rule.monthly_limit and done + count > rule.monthly_limit:
            raise ValidationError(f"回数は月{rule.monthly_limit}回までです" + (
                f"（今月すでに{done}回算定: あと{rule.monthly_limit - done}回）" if done else ""), field="quantity")
    fee = VisitFee(clinic_id=visit.clinic_id, visit_id=visit.id, patient_id=visit.patient_id,
                   visit_date=visit.visit_date, code=code, name=rule.rule if rule else master.name, quantity=count,
                   group=rule.group if rule else "", chosen_by_id=actor.user_id)
    session.add(fee)
    session.flush()
    record_audit(session, actor, "visit_fee.chosen", clinic_id=visit.clinic_id, entity_type="visit_fee",
                 entity_id=fee.id, patient_id=visit.patient_id, summary={"after": {"code": code, "quantity": count}})
    visit_claim.changed(session, clinic, bill_for(session, visit, create=True))
    return fee


def remove_fee(session: Session, clinic: Clinic, actor: Actor, visit: Visit, fee_id: int) -> None:
    """Take a fee off the visit (kept, marked removed); the visit's 中途データ is re-sent as a change."""
    open_visit(visit)
    fee = session.get(VisitFee, fee_id)
    if fee is None or fee.clinic_id != visit.clinic_id or fee.visit_id != visit.id or fee.removed_at is not None:
        raise NotFoundError("選ばれた料金が見つかりません")
    fee.removed_at = utcnow()
    record_audit(session, actor, "visit_fee.removed", clinic_id=visit.clinic_id, entity_type="visit_fee",
                 entity_id=fee.id, patient_id=visit.patient_id, summary={"before": {"code": fee.code}})
    visit_claim.changed(session, clinic, bill_for(session, visit, create=True))


def set_online(session: Session, clinic: Clinic, actor: Actor, visit: Visit, online: bool) -> None:
    """Mark the visit as 情報通信機器を用いた診療 (or face to face); chosen fees of the other kind must go first."""
    open_visit(visit)
    bill = bill_for(session, visit, create=True) or VisitBill()
    for fee in chosen_fees(session, visit):
        rule = fee_rules.rule_for(fee.code)
        if rule is not None and rule.online is not None and rule.online != online:
            raise ValidationError(f"「{fee.name}」を外してから診療の形を変えてください")
    bill.online = online
    record_audit(session, actor, "visit_bill.online", clinic_id=visit.clinic_id, entity_type="visit_bill",
                 entity_id=bill.id, patient_id=visit.patient_id, summary={"after": {"online": online}})


def plan_lines(session: Session, clinic_id: int, patient_id: int, day: date) -> list[str]:
    """What a full-chart note writes into its P for the fees chosen on the patient's visits of a day (one line a
    fee): the note calls this with its own patient and date, nothing else of the note changes."""
    return [f"【算定】{fee.name}" + (f" ×{fee.quantity}" if fee.quantity > 1 else "")
            for fee in session.scalars(select(VisitFee).where(
                VisitFee.clinic_id == clinic_id, VisitFee.patient_id == patient_id, VisitFee.visit_date == day,
                VisitFee.removed_at.is_(None)).order_by(VisitFee.id))]


def needs_resend(bill: VisitBill) -> bool:
    """ORCA refused the last send, or a change made while a send was under way has not reached ORCA."""
    return bill.orca_billing_status == "rejected" or (bill.orca_billing_status == "sent"
                                                      and bill.revision > bill.sent_revision)


def resend(session: Session, clinic: Clinic, actor: Actor, visit: Visit, bill: VisitBill | None) -> None:
    """Queue the visit's fees again after ORCA refused them and the cause was corrected."""
    open_visit(visit)
    if bill is None or not needs_resend(bill):
        raise ValidationError("再送が必要な送信はありません")
    bill.orca_billing_status = "sent" if bill.orca_medical_uid else ""
    bill.orca_billing_error = ""
    record_audit(session, actor, "visit_bill.resend", clinic_id=visit.clinic_id, entity_type="visit_bill",
                 entity_id=bill.id, patient_id=visit.patient_id, summary={"after": {"revision": bill.revision + 1}})
    visit_claim.changed(session, clinic, bill)
