"""What a day's prescriptions bill in the visit's 中途データ: each Rp as a 剤 of 院外 drugs (212 内服 / 222 頓服 /
232 外用, orca.md §4d; Kamikarte issues only 院外処方箋), and once for the visit's 交付 its 処方箋料 with
一般名処方加算 (告示 F400 注: 加算１ when every drug is prescribed by 一般名, 加算２ when some are) and
特定疾患処方管理加算 when a main disease is a 特定疾患 and a 内服 is prescribed for 28 days or more, once a month
(告示 F400 注: not when an earlier day of the month's data already carried it). Codes and points: the
医科診療行為マスター.

処方箋料 and its 加算 are counted 「交付1回につき」 (告示 F400 注1), and two or more 処方箋 issued at the same
time to the same patient in one consultation are one 交付 (F400 通知; docs/standards/orca.md §4a): a visit that
issues several sheets carries one 処方箋料. The 通知's exception (two 診療科, a different doctor prescribing in
each: one 処方箋料 each) is not told apart: a prescription records no 診療科 and the day's prescriptions ride in
one reception's data (visit_send.carried), so the clerk adds the second 処方箋料 in ORCA's 「21 診療行為」."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.billing import claim_builder
from app.billing.fees import main_diseases
from app.billing.orca_interim import CARRIED
from app.billing.procedures import procedures_by_code
from app.prescriptions.models import CANCELLED, ISSUED, Prescription
from app.reception.models import Visit

#: 処方箋料（リフィル以外・その他）, 一般名処方加算１ / ２, 特定疾患処方管理加算（処方箋料）.
RX_FEE, GENERIC_ALL, GENERIC_SOME, SPECIFIC_RX = "120002910", "120004270", "120003570", "120005710"
LONG_PRESCRIPTION_DAYS = 28


def of_visit(session: Session, visit: Visit, states: tuple[str, ...] = CARRIED) -> list[Prescription]:
    """The patient's issued prescriptions of the visit's day in the billing states asked."""
    wanted = (ISSUED,) if set(states) & set(CARRIED) else (ISSUED, CANCELLED)
    return list(session.scalars(select(Prescription).where(
        Prescription.clinic_id == visit.clinic_id, Prescription.patient_id == visit.patient_id,
        Prescription.issued_on == visit.visit_date, Prescription.status.in_(wanted),
        Prescription.orca_billing_status.in_(states)).order_by(Prescription.id)))


def _long_internal(rx: Prescription) -> bool:
    return any(rp.form == 1 and rp.quantity >= LONG_PRESCRIPTION_DAYS for rp in rx.rps)


def _specific_billed_this_month(session: Session, visit: Visit) -> bool:
    """Whether an earlier day of the month carried 特定疾患処方管理加算 (a long 内服 already billed to ORCA)."""
    start = visit.visit_date.replace(day=1)
    return any(_long_internal(rx) for rx in session.scalars(select(Prescription).where(
        Prescription.clinic_id == visit.clinic_id, Prescription.patient_id == visit.patient_id,
        Prescription.issued_on >= start, Prescription.issued_on < visit.visit_date, Prescription.status == ISSUED,
        Prescription.orca_billing_status.in_(("sending", "sent")))))


def _fee_doses(session: Session, codes: list[str], rx: Prescription) -> list[claim_builder.Dose]:
    """The 処方箋料 剤 of the visit's 交付, shown as the last prescription's. Before the clinic has loaded the
    医科診療行為マスター the fee is left to ORCA, which counts it when the clerk opens the data (as before the visit's
    data carried it)."""
    masters = procedures_by_code(session, codes)
    doses = claim_builder.procedure_doses([(code, masters[code].name, masters[code].chapter,
                                            masters[code].section_no, 1) for code in codes if code in masters])
    for dose in doses:
        dose.record = rx
    return doses


def doses(session: Session, prescriptions: list[Prescription], visit: Visit) -> list[claim_builder.Dose]:
    """The 剤 of the prescriptions (drugs first, each marked with its prescription), then the one 処方箋料 剤 of
    the visit's 交付 however many sheets it issued."""
    if not prescriptions:
        return []
    drugs: list[claim_builder.Dose] = []
    generic: list[bool] = []
    for rx in prescriptions:
        for rp in rx.rps:
            medical_class, class_name = claim_builder.PRESCRIPTION_CLASSES[rp.form]
            # 回数・日数: days for 内服, times for 頓服; a 外用 剤 is counted once (its lines carry the total).
            drugs.append(claim_builder.Dose(medical_class, class_name, rp.quantity if rp.form in (1, 2) else 1, [
                claim_builder.Line(line.drug_receipt_code, line.drug_name, f"{line.dose:g}", line.by_generic_name)
                for line in rp.lines], record=rx))
            generic += [line.by_generic_name for line in rp.lines]
    codes = [RX_FEE] + ([GENERIC_ALL] if generic and all(generic) else [GENERIC_SOME] if any(generic) else [])
    if (any(_long_internal(rx) for rx in prescriptions) and main_diseases(session, visit)[0]
            and not _specific_billed_this_month(session, visit)):
        codes.append(SPECIFIC_RX)
    return drugs + _fee_doses(session, codes, prescriptions[-1])
