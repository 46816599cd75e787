"""Billing benchmark (issue 23): the 指導料・管理料 list of a patient with 20 diagnoses, with the applicability of
every fee; and the visit summary with ORCA's trial calculation (acsimulatev2) answered by the ORCA simulator in
this process — both through HTTP as the doctor's browser asks them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.billing import fees
from app.billing.procedures import load_shipped_subset
from app.clinics.models import Clinic
from app.core.audit import SYSTEM
from app.core.timeutil import japan_today
from app.db import utcnow
from app.diagnoses.masters import load_shipped_subsets
from app.diagnoses.models import Diagnosis, Disease
from app.prescriptions.drug_master import load_shipped_subset as load_drug_subset
from app.prescriptions.models import Drug, Prescription, PrescriptionLine, PrescriptionRp
from app.reception.models import Visit
from bench.server import Browser, measure
from simulators.orca.testing import RunningOrca, start_orca_simulator

DIAGNOSES = 20
#: What the bench visit bills: 特定疾患療養管理料 (the patient has 特定疾患) and 在宅自己注射指導管理料.
FEES = ("113001810", "114040610")


def seed(session: Session, clinic_id: int, patient_id: int) -> int:
    """Masters, 20 current diagnoses (the first four main, 特定疾患 among them), an earlier visit and today's visit
    with two fees;
    the visit's id."""
    load_shipped_subset(session)
    load_shipped_subsets(session)
    specific = list(session.scalars(select(Disease).where(Disease.specific_disease == "05").limit(4)))
    others = list(session.scalars(select(Disease).where(Disease.specific_disease == "00", Disease.icd10 != "")
                                  .limit(DIAGNOSES - len(specific))))
    for index, disease in enumerate(specific + others):
        item = Diagnosis(clinic_id=clinic_id, patient_id=patient_id, disease_code=disease.code,
                         display_name=disease.name, icd10=disease.icd10, is_main=index < 4,
                         started_on=japan_today().replace(year=2020), prefix_codes=[], suffix_codes=[])
        session.add(item)
        session.flush()
        item.lineage_id = item.id
    session.add(Visit(clinic_id=clinic_id, patient_id=patient_id, visit_date=japan_today() - timedelta(days=40),
                      accepted_at=utcnow(), department_code="01", physician_code="10001", status="paid",
                      insurance_combination="0001", source="kamikarte"))  # a 再診: the fees of a return visit apply
    visit = Visit(clinic_id=clinic_id, patient_id=patient_id, visit_date=japan_today(), accepted_at=utcnow(),
                  department_code="01", physician_code="10001", insurance_combination="0001", source="kamikarte")
    session.add(visit)
    session.flush()
    clinic = session.get(Clinic, clinic_id)
    for code in FEES:
        fees.choose_fee(session, clinic, SYSTEM, visit, code)
    # Today's prescription rides in the visit's data: its Rp, 処方箋料 and 加算 are lines of the summary too.
    load_drug_subset(session)
    drug = session.get(Drug, "620098801")  # ロキソニン錠６０ｍｇ of the shipped drug master
    rx = Prescription(clinic_id=clinic_id, patient_id=patient_id, doctor_name="内科 一郎", issued_on=japan_today(),
                      valid_until=japan_today(), orca_billing_status="sending")
    rx.rps.append(PrescriptionRp(number=1, form=1, usage_text="１日３回毎食後", quantity=28, lines=[
        PrescriptionLine(seq=1, drug_receipt_code=drug.receipt_code, drug_name=drug.name, dose=3, unit="錠",
                         by_generic_name=True)]))
    session.add(rx)
    session.commit()
    return visit.id


def start(session: Session, clinic_id: int) -> RunningOrca:
    """The ORCA simulator, the clinic pointed at it (its 医療機関コード is the simulator's clinic A)."""
    orca = start_orca_simulator()
    code = session.scalar(select(Clinic.institution_code).where(Clinic.id == clinic_id))
    user, password = orca.credentials(code)
    integrations = session.scalar(select(Clinic.integrations).where(Clinic.id == clinic_id)) or {}
    session.execute(update(Clinic).where(Clinic.id == clinic_id).values(integrations={
        **integrations, "orca": {"base_url": orca.base_url(code), "user": user, "password": password}}))
    session.commit()
    return orca


def figures(browser: Browser, visit_id: int, n: int) -> list[tuple[str, int, tuple[float, float], int]]:
    """(name, n, (p50, p95), target) of the fee list and the visit summary."""
    picker, summary = f"/billing/visits/{visit_id}/fees", f"/billing/visits/{visit_id}"
    if "特定疾患: " not in browser.get(picker).text:
        raise SystemExit("the fee list shows no 特定疾患: the bench diagnoses are wrong")
    if 'id="orca-points"' not in browser.get(summary).text:
        raise SystemExit("the visit summary shows no ORCA calculation: the bench ORCA set-up is wrong")
    if "120002910" not in browser.get(summary).text:
        raise SystemExit("the visit summary shows no 処方箋料: the bench prescription is not carried")
    return [("billing_fee_list_20_diagnoses", DIAGNOSES, measure(lambda: browser.get(picker), n), 100),
            ("billing_visit_summary_with_orca", len(FEES) + 1, measure(lambda: browser.get(summary), n), 300)]
