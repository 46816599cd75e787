"""The patient summary benchmark's patient (issue 26): ten years of history written straight into the tables —
by default 1,000 lab results (a panel of the master's numeric items every 83 days), 300 prescriptions, 50 referral
letters, 120 vitals, 15 diagnoses, 4 key images, an open lab order and today's visit. tests/patients/test_summary.py
builds smaller ones with the same function to show that the page's query count does not grow with the history."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.core.jp import name_search_key
from app.core.timeutil import japan_today
from app.diagnoses.models import Diagnosis
from app.documents.models import ReferralLetter
from app.imaging.models import KeyImage
from app.imaging.services import sha256_hex
from app.labs.masters import load_shipped_subset as load_lab_items
from app.labs.models import LabItem, LabMessage, LabOrder, LabResult
from app.patients.models import Patient
from app.patients.profile_models import VitalSign
from app.prescriptions.drug_master import load_shipped_subset as load_drugs
from app.prescriptions.models import Drug, Prescription, PrescriptionLine, PrescriptionRp
from app.reception.models import Visit

#: A 1x1 PNG: the summary never reads a key image's bytes, only that there is one.
PIXEL = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                      "1f15c4890000000d49444154789c6360000002000185d3d2c50000000049454e44ae426082")


@dataclass(frozen=True)
class History:
    """How much of each record the patient has."""

    results: int = 1000
    prescriptions: int = 300
    letters: int = 50
    vitals: int = 120
    diagnoses: int = 15
    key_images: int = 4


def seed_history(session: Session, clinic_id: int, history: History = History(), orca_id: str = "SUM00001") -> int:
    """A patient with `history` spread over ten years up to today, and today's visit; the patient's id."""
    today = japan_today()
    now = datetime.now(UTC)
    patient = Patient(clinic_id=clinic_id, orca_patient_id=orca_id, name="経過　長子", kana="ケイカ　ナガコ",
                      name_key=name_search_key("経過長子"), kana_key=name_search_key("ケイカナガコ"), sex="F",
                      birth_date=date(1950, 7, 1), orca_synced_at=now)
    session.add(patient)
    session.flush()
    own = {"clinic_id": clinic_id, "patient_id": patient.id}
    versioned = {**own, "version": 1, "recorded_at": now, "recorded_by_name": "医師 一郎"}
    session.add(Visit(**own, visit_date=today, accepted_at=now, department_name="内科", physician_name="医師 一郎",
                      status="accepted", source="kamikarte"))
    session.add_all(Diagnosis(**versioned, disease_code="8833421", display_name=f"高血圧症{n or ''}", icd10="I10",
                              started_on=today - timedelta(days=90 * n), is_main=n == 0,
                              outcome="continuing" if n % 3 == 0 else "cured",
                              ended_on=None if n % 3 == 0 else today - timedelta(days=30 * n))
                    for n in range(history.diagnoses))
    session.add_all(VitalSign(**versioned, measured_at=now - timedelta(days=30 * n), systolic=130 + n % 9,
                              diastolic=80 + n % 5, pulse=70 + n % 7, temperature_c=36.5, spo2=98,
                              weight_kg=60.0 + (n % 4) / 2, height_cm=158.0 if n % 12 == 0 else None)
                    for n in range(history.vitals))
    _lab_history(session, own, versioned, history.results, today)
    _prescriptions(session, own, history.prescriptions, today, now)
    session.add_all(ReferralLetter(**own, author_name="医師 一郎", to_institution=f"みなと総合病院{n}",
                                   to_department="循環器内科", written_on=today - timedelta(days=70 * n),
                                   status="final" if n else "draft") for n in range(history.letters))
    session.add_all(KeyImage(**versioned, study_uid=f"1.2.392.200036.9999.{n}", series_uid=f"1.2.392.200036.9999.{n}.1",
                             instance_uid=f"1.2.392.200036.9999.{n}.1.1", study_date=today - timedelta(days=200 * n),
                             modality="CT", study_description="胸部CT", caption=f"所見{n}", media_type="image/png",
                             image_bytes=PIXEL, image_sha256=sha256_hex(PIXEL)) for n in range(history.key_images))
    session.flush()
    for model in (Diagnosis, VitalSign, KeyImage):
        session.query(model).filter(model.patient_id == patient.id, model.lineage_id.is_(None)).update(
            {model.lineage_id: model.id}, synchronize_session=False)
    session.commit()
    return patient.id


def _middle(reference: str) -> float:
    """A value inside a reference range like "13-30" (10 when the range is not two numbers)."""
    low, _, high = reference.partition("-")
    try:
        return round((float(low) + float(high)) / 2, 2)
    except ValueError:
        return 10.0


def _lab_history(session: Session, own: dict, versioned: dict, results: int, today: date) -> None:
    """`results` results: every 83 days (ten years) a panel of the master's numeric items (an order and a message a
    day, as an import leaves them), the oldest day cut short; and one open order."""
    load_lab_items(session)
    items = list(session.scalars(select(LabItem).where(LabItem.value_type == "NM").order_by(LabItem.lab_code)))
    rows: list[dict] = []
    for n in range(-(-results // len(items))):
        day = today - timedelta(days=83 * n)
        order = LabOrder(**own, order_number=f"S{own['patient_id']:06d}{n:04d}", ordered_on=day, status="complete")
        raw = f"summary {own['patient_id']} {n}".encode()
        message = LabMessage(**own, source="file", raw=raw, sha256=hashlib.sha256(raw).hexdigest(), status="imported")
        session.add_all([order, message])
        session.flush()
        for seq, item in enumerate(items[:results - len(rows)]):
            high = seq == n % len(items)  # one result a day twice its normal value, flagged H
            value = _middle(item.ref_male) * (2 if high else 1)
            rows.append({**versioned, "order_id": order.id, "message_id": message.id, "lab_code": item.lab_code,
                         "jlac10": item.jlac10, "name": item.name, "value": f"{value:g}", "numeric_value": value,
                         "unit": item.unit, "reference_range": item.ref_male, "flag": "H" if high else "",
                         "result_status": "F", "collected_on": day, "specimen_number": f"S{n:05d}",
                         "value_type": "NM", "change_reason": "", "retracted": False, "comment": "", "sub_id": ""})
    if rows:
        session.execute(insert(LabResult), rows)
    session.add(LabOrder(**own, order_number=f"S{own['patient_id']:06d}OPEN", ordered_on=today, status="sent"))


def _prescriptions(session: Session, own: dict, count: int, today: date, now: datetime) -> None:
    """`count` prescriptions, one every 12 days back from today, two drugs of the shipped master for 14 days each;
    the newest is still waiting for the 電子処方箋管理サービス."""
    oral = (select(Drug).where(Drug.dosage_form == 1, Drug.narcotic_class == 0).order_by(Drug.receipt_code)
            .limit(2))
    drugs = list(session.scalars(oral))
    if len(drugs) < 2:  # an empty master (tests): the shipped subset; the benchmark's own master is kept
        load_drugs(session)
        drugs = list(session.scalars(oral))
    for n in range(count):
        rx = Prescription(**own, doctor_name="医師 一郎", issued_on=today - timedelta(days=12 * n),
                          valid_until=today - timedelta(days=12 * n - 3), issued_at=now - timedelta(days=12 * n),
                          mode="electronic" if n == 0 else "paper", eprescription_status="sending" if n == 0 else "")
        rp = PrescriptionRp(number=1, form=1, usage_text="１日１回朝食後", times_per_day=1, quantity=14)
        rp.lines = [PrescriptionLine(seq=seq, drug_receipt_code=drug.receipt_code, drug_name=drug.name,
                                     yj_code=drug.yj_code, dose=1, unit=drug.unit)
                    for seq, drug in enumerate(drugs, start=1)]
        rx.rps = [rp]
        session.add(rx)
