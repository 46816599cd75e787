"""Lab benchmarks (issues 7 and 20): the result table of a patient with ten years of monthly panels, the
specimen-label PDF, and result import — a lab's file drop spread over many patients and orders, imported by a
process of its own through `import_messages` (so the lab-item master is cold, as after a restart), and single
messages pushed to the clinic's endpoint over HTTP."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.core.audit import Actor
from app.labs import services as labs
from app.labs.masters import load_shipped_subset
from app.labs.models import LabItem, LabMessage, LabOrder, LabResult
from app.patients.models import Patient
from tests.labs.helpers import panel_message

PANEL = ["K0101", "K0102", "K0103", "K0111", "K0112", "K0113", "K0121", "K0122", "K0123", "K0131", "K0132", "K0133",
         "K0141", "K0142", "K0143", "K0144", "K0161"]  # one serum tube: 17 results a message


def _patient(session: Session, clinic_id: int, orca_id: str) -> Patient:
    patient = Patient(clinic_id=clinic_id, orca_patient_id=orca_id, name="検査 太郎", kana="ケンサ タロウ",
                      name_key="検査太郎", kana_key="ケンサタロウ", sex="M", birth_date=date(1958, 3, 2))
    session.add(patient)
    session.flush()
    return patient


def seed_history(session: Session, clinic_id: int, years: int = 10) -> int:
    """A patient with `years` of monthly panels (≈ 33 results a month) written straight into the table; their id."""
    load_shipped_subset(session)
    patient = _patient(session, clinic_id, "LAB00002")
    items = list(session.scalars(select(LabItem).where(LabItem.value_type == "NM")))
    rows = []
    today = date.today()
    for month in range(years * 12):
        day = today - timedelta(days=30 * month)
        # Each month's panel is one order reported by one message (what every result refers to).
        order = LabOrder(clinic_id=clinic_id, patient_id=patient.id, order_number=f"H{month:09d}", ordered_on=day,
                         status="complete")
        message = LabMessage(clinic_id=clinic_id, patient_id=patient.id, source="file", raw=b"history %d" % month,
                             sha256=hashlib.sha256(b"history %d" % month).hexdigest(), status="imported")
        session.add_all([order, message])
        session.flush()
        for item in items:
            rows.append({"clinic_id": clinic_id, "patient_id": patient.id, "lab_code": item.lab_code,
                         "order_id": order.id, "message_id": message.id,
                         "jlac10": item.jlac10, "name": item.name, "value": "12.3", "numeric_value": 12.3,
                         "unit": item.unit, "reference_range": item.ref_male, "flag": "H" if month % 7 == 0 else "",
                         "result_status": "F", "collected_on": day, "specimen_number": f"H{month:05d}",
                         "version": 1, "recorded_by_name": "検査会社", "change_reason": "", "retracted": False,
                         "comment": "本検体は乳び" if month % 11 == 0 else "", "sub_id": "", "value_type": "NM"})
    session.execute(insert(LabResult), rows)
    session.commit()
    return patient.id


def label_order(session: Session, clinic_id: int) -> tuple[int, int]:
    """A three-container order (生活習慣病セット and 血算) to print labels of: (patient id, order id)."""
    load_shipped_subset(session)
    clinic = session.get(Clinic, clinic_id)
    patient = _patient(session, clinic_id, "LAB00003")
    order = labs.create_order(session, clinic, Actor(None, "bench", clinic_id), patient,
                              labs.OrderInput(set_codes=["S001", "S004"]))
    session.commit()
    return patient.id, order.id


def _fits_the_lab(patient: Patient) -> bool:
    """Whether the patient's name can travel in the lab's ISO-2022-JP messages (JIS X 0208: no 髙 or 﨑)."""
    try:
        f"{patient.name}{patient.kana}".encode("iso2022_jp")
    except UnicodeEncodeError:
        return False
    return True


def _message(patient: Patient, specimen_number: str, items: list[LabItem], control: str, day: date) -> bytes:
    """An OUL^R22 of one serum specimen (17 results) naming the patient as the lab's system does: ORCA number,
    kanji and kana name, birth date and sex — what the import checks against the clinic's record."""
    lines = panel_message(patient.orca_patient_id, specimen_number, items, control, day).decode("iso2022_jp")
    lines = lines.split("\r")
    family, _, given = patient.name.partition("\u3000")
    kana_family, _, kana_given = patient.kana.partition("\u3000")
    lines[1] = (f"PID|1||{patient.orca_patient_id}^^^^PI||{family}^{given}^^^^^L^I~{kana_family}^{kana_given}"
                f"^^^^^L^P||{patient.birth_date:%Y%m%d}|{patient.sex}")
    return "\r".join(lines).encode("iso2022_jp")


def order_results(session: Session, clinic_id: int, n_patients: int, n_orders: int, prefix: str,
                  skip: int = 0) -> list[bytes]:
    """Place `n_orders` panel orders spread over `n_patients` of the clinic's patients (round robin, leaving out
    the first `skip` who fit) and return the lab's result message for each, as a lab reports them: several orders
    a patient, collected on different days."""
    load_shipped_subset(session)
    clinic = session.get(Clinic, clinic_id)
    actor = Actor(None, "bench", clinic_id)
    items = [session.get(LabItem, code) for code in PANEL]
    patients: list[Patient] = []
    for patient in session.scalars(select(Patient).where(Patient.clinic_id == clinic_id,
                                                         Patient.orca_patient_id.like("0%"))
                                   .order_by(Patient.id).offset(1)):
        if _fits_the_lab(patient):
            patients.append(patient)
        if len(patients) == skip + n_patients:
            break
    patients = patients[skip:]
    if len(patients) < n_patients:
        raise SystemExit(f"only {len(patients)} patients for {n_patients} patients' lab results")
    payloads = []
    for n in range(n_orders):
        patient = patients[n % n_patients]
        order = labs.create_order(session, clinic, actor, patient, labs.OrderInput(lab_codes=PANEL))
        session.flush()
        payloads.append(_message(patient, order.specimens[0].specimen_number, items, f"{prefix}{n:08d}",
                                 date.today() - timedelta(days=n // n_patients)))
    session.commit()
    if session.get_bind().dialect.name == "postgresql":
        # Statistics of the orders just made, as autovacuum has them on a live database (orders are placed hours
        # before their results come back). Without them the planner may check each result's composite order key
        # by scanning the clinic's orders (LabResult's docstring).
        session.execute(text("ANALYZE lab_order"))
        session.execute(text("ANALYZE lab_specimen"))
        session.commit()
    return payloads


def write_drop(directory: Path, payloads: list[bytes]) -> list[Path]:
    """The lab's file drop: one file a message."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for n, data in enumerate(payloads):
        path = directory / f"result-{n:05d}.hl7"
        path.write_bytes(data)
        paths.append(path)
    return paths


def drop_figure(lines: int, seconds: float, push_samples: tuple[float, float]) -> dict[str, Any]:
    """The lab_import line: n result lines of the drop, their rate, p50/p95 of one pushed message."""
    return {"n": lines, "p50_ms": push_samples[0], "p95_ms": push_samples[1], "lines_per_s": round(lines / seconds)}
