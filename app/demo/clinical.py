"""Clinical demo data for the fixed demo patients (docs/demo.md): added once their records exist, that is
after the first pull from the ORCA simulator; running it again adds nothing."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.billing.procedures import current_version as current_procedure_master
from app.billing.procedures import load_shipped_subset as load_procedure_subset
from app.clinics.models import Clinic, StaffUser
from app.core.audit import Actor
from app.core.timeutil import JST, japan_today
from app.diagnoses import services as diagnoses
from app.diagnoses.masters import disease_count
from app.diagnoses.masters import load_shipped_subsets as load_disease_subsets
from app.patients import profile as profiles
from app.patients import services as patients
from app.patients.models import Patient
from app.patients.profile_forms import KINDS
from app.prescriptions import billing as rx_billing
from app.prescriptions import checking as rx_checking
from app.prescriptions import checks as rx_checks
from app.prescriptions import eprescription as rx_eprescription
from app.prescriptions import services as rx_services
from app.prescriptions.check_master import current_version as current_check_master
from app.prescriptions.check_master import load_demo_edition as load_demo_check_master
from app.prescriptions.drug_master import drug_count, load_shipped_subset, search_drugs

log = logging.getLogger(__name__)
CLINIC_A = "1310123458"


def load_masters_if_empty(session: Session) -> None:
    """Fill the national code tables from the shipped subsets on a fresh database."""
    if drug_count(session) == 0:
        load_shipped_subset(session)
    if disease_count(session) == 0:
        load_disease_subsets(session)
    if current_check_master(session) is None:
        load_demo_check_master(session)
    if current_procedure_master(session) is None:
        load_procedure_subset(session)


def _yamada_diagnoses(session: Session, clinic: Clinic, patient_id: int) -> None:
    """A main disease, two more chronic ones, a suspected one and an ended one (codes from the shipped master)."""
    doctor = _actor(session, clinic, "doctor")
    today = japan_today()
    for code, prefixes, suspected, main, started, outcome, ended in (
        ("8833421", [], False, True, today - timedelta(days=4000), "continuing", None),  # 高血圧症
        ("8844446", [], False, False, today - timedelta(days=2200), "continuing", None),  # 脂質異常症
        ("8841212", [], True, False, today - timedelta(days=60), "continuing", None),  # 労作性狭心症の疑い
        ("7242031", [], False, False, today - timedelta(days=400), "continuing", None),  # 慢性腰痛症
        # 急性上気道炎, cured
        ("4659007", [], False, False, today - timedelta(days=150), "cured", today - timedelta(days=140)),
    ):
        diagnoses.add_diagnosis(session, clinic.id, doctor, patient_id, diagnoses.DiagnosisInput(
            disease_code=code, prefix_codes=prefixes, is_suspected=suspected, is_main=main,
            started_on=started.isoformat(), outcome=outcome, ended_on=ended.isoformat() if ended else ""))


def _actor(session: Session, clinic: Clinic, login_id: str) -> Actor:
    user = session.scalar(select(StaffUser).where(StaffUser.login_id == login_id, StaffUser.clinic_id == clinic.id))
    if user is None:
        raise LookupError(login_id)
    return Actor(user.id, user.login_id, clinic.id, user.role)


def _drug(session: Session, text: str, name_prefix: str) -> str:
    """The receipt code of the shipped product whose name starts with name_prefix (never a typed code)."""
    return next(h.receipt_code for h in search_drugs(session, text, limit=50) if h.name.startswith(name_prefix))


def _add(session: Session, clinic: Clinic, actor: Actor, slug: str, patient_id: int, values: dict[str, Any],
         drug_code: str = "") -> None:
    kind = KINDS[slug]
    full = {spec.name: values.get(spec.name, "" if spec.kind in ("text", "textarea") else None) for spec in kind.fields}
    profiles.resolve_drug(session, kind, full, drug_code)
    profiles.add_item(session, clinic.id, actor, kind, patient_id, full)


def _yamada_profile(session: Session, clinic: Clinic, patient_id: int) -> None:
    nurse, doctor = _actor(session, clinic, "nurse"), _actor(session, clinic, "doctor")
    today = japan_today()
    # A year of monthly visits: weight coming down, blood pressure improving on treatment.
    for months_ago in range(12, -1, -1):
        day = today - timedelta(days=30 * months_ago)
        _add(session, clinic, nurse, "vitals", patient_id, {
            "measured_at": datetime.combine(day, time(9, 20), tzinfo=JST),
            "height_cm": 168.0 if months_ago in (12, 6, 0) else None,
            "weight_kg": round(74.0 - (12 - months_ago) * 0.35, 1), "systolic": 152 - (12 - months_ago) * 2,
            "diastolic": 94 - (12 - months_ago), "pulse": 76 - (months_ago % 3),
            "temperature_c": 36.4 + (months_ago % 2) / 10, "spo2": 97 + (months_ago % 2)})
    _add(session, clinic, nurse, "blood-type", patient_id, {"abo": "A", "rh": "+", "confirmed_by": "当院検査",
                                                            "confirmed_on": today - timedelta(days=400)})
    _add(session, clinic, doctor, "allergies", patient_id,
         {"category": "food", "substance": "えび", "reaction": "蕁麻疹", "severity": "moderate"})
    _add(session, clinic, doctor, "contraindications", patient_id,
         {"drug_scope": "ingredient", "reason": "胃潰瘍の既往（NSAIDs）"}, _drug(session, "ロキソニン", "ロキソニン錠"))
    _add(session, clinic, doctor, "past-history", patient_id, {"disease": "虫垂炎（虫垂切除術）", "period": "1975年"})
    _add(session, clinic, doctor, "past-history", patient_id, {"disease": "胃潰瘍", "period": "2010年",
                                                               "notes": "ピロリ菌除菌済み"})
    for kind, days in (("hbs_ag", 380), ("hcv_ab", 380), ("tpha", 380)):
        _add(session, clinic, nurse, "infections", patient_id, {"kind": kind, "result": "negative",
                                                                "tested_on": today - timedelta(days=days)})
    _add(session, clinic, nurse, "vaccinations", patient_id, {
        "vaccine": "インフルエンザHAワクチン", "administered_on": today - timedelta(days=40), "dose_number": 1,
        "lot_number": "HA-2026-118", "site": "左上腕"})
    _add(session, clinic, nurse, "vaccinations", patient_id, {
        "vaccine": "23価肺炎球菌莢膜ポリサッカライドワクチン", "administered_on": today - timedelta(days=700),
        "dose_number": 1, "lot_number": "PN-0423", "site": "右上腕"})
    _add(session, clinic, doctor, "disability", patient_id, {"kind": "physical", "grade": "4級",
                                                             "certificate_number": "第2019-0420号",
                                                             "notes": "心臓機能障害"})
    _add(session, clinic, doctor, "care-level", patient_id, {"level": "support1",
                                                             "valid_from": today - timedelta(days=200),
                                                             "valid_to": today + timedelta(days=530)})


def _yamada_prescription(session: Session, clinic: Clinic, patient_id: int) -> None:
    """A 院外処方箋 of three drugs, one of them 一般名処方, issued after its checks as a doctor would; registered with
    the 電子処方箋管理サービス as 紙 with an 引換番号 when the clinic is connected (the patient consented at the card
    reader)."""
    doctor = _actor(session, clinic, "doctor")
    draft = rx_services.Draft(rps=[
        rx_services.DraftRp(form="1", usage_code="1011000400000000", quantity="28", lines=[
            rx_services.DraftLine(drug_code=_drug(session, "アムロジピン", "アムロジピン"), dose="1",
                                  by_generic_name=True),
            rx_services.DraftLine(drug_code=_drug(session, "メインテート", "メインテート錠２．５"), dose="1",
                                  no_substitution=True)]),
        rx_services.DraftRp(form="2", usage_text="疼痛時", quantity="10", lines=[
            rx_services.DraftLine(drug_code=_drug(session, "カロナール", "カロナール錠３００"), dose="1",
                                  by_generic_name=True)]),
    ], remarks="胃潰瘍の既往のためNSAIDsを避け、鎮痛はアセトアミノフェンの頓用とする")
    if rx_eprescription.is_available(clinic):
        draft.mode, draft.consent = "paper_exchange", "card"
    rx_services.validate_draft(session, draft)
    patient = session.get(Patient, patient_id)
    report = rx_checking.check_prescription(session, clinic, patient, draft)
    if draft.has_errors or any(r.severity == "stop" for r in report.results):  # a demo must not show a bad one
        raise RuntimeError(f"demo prescription does not pass its checks: {[r.message for r in report.results]}")
    # The doctor has read every 注意 and 未確認 (e.g. ORCA not answering while the demo starts) before issuing.
    prescription = rx_checking.issue_prescription(
        session, clinic, doctor, patient, draft, {r.key: "" for r in rx_checks.needs_acknowledgement(report.results)})
    rx_billing.queue_billing(session, clinic, prescription)  # today's 受付 is in ORCA: the clerk finds it there
    rx_eprescription.register(session, clinic, prescription, patient, None)


def _takahashi_profile(session: Session, clinic: Clinic, patient_id: int) -> None:
    doctor = _actor(session, clinic, "doctor")
    _add(session, clinic, doctor, "allergies", patient_id, {
        "category": "drug", "drug_scope": "ingredient", "reaction": "全身の薬疹", "severity": "severe",
        "onset_on": japan_today() - timedelta(days=900)}, _drug(session, "フロモックス", "フロモックス錠"))
    # Breast-feeding since her child was born: her banner shows it, and her check page asks for the package insert.
    _add(session, clinic, _actor(session, clinic, "nurse"), "pregnancy", patient_id, {
        "status": "lactating", "since": japan_today() - timedelta(days=150)})


def seed_clinical_demo(session: Session) -> bool:
    """Give the fixed demo patients of clinic A their clinical records; False when they are not synced yet or
    already have them."""
    clinic = session.scalar(select(Clinic).where(Clinic.institution_code == CLINIC_A))
    if clinic is None:
        return False
    load_masters_if_empty(session)
    yamada = patients.find_by_orca_id(session, clinic.id, "00001")
    takahashi = patients.find_by_orca_id(session, clinic.id, "00002")
    if yamada is None or takahashi is None or profiles.has_any_entry(session, clinic.id, yamada.id):
        return False
    _yamada_profile(session, clinic, yamada.id)
    _yamada_diagnoses(session, clinic, yamada.id)
    _yamada_prescription(session, clinic, yamada.id)
    _takahashi_profile(session, clinic, takahashi.id)
    log.info("demo clinical records added")
    return True

