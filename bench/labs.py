"""Lab benchmarks (issue 7): result import throughput, the result table of a patient with ten years of monthly
panels, the specimen-label PDF. Seeded through the real services and the real import."""

from __future__ import annotations

import hashlib
import statistics
import time
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, select, text

from app.core.audit import Actor
from app.labs import services as labs
from app.labs.importer import import_messages
from app.labs.masters import ItemMaster, load_shipped_subset
from app.labs.models import LabItem, LabMessage, LabOrder, LabResult
from app.patients.models import Patient
from tests.labs.helpers import panel_message

PANEL = ["K0101", "K0102", "K0103", "K0111", "K0112", "K0113", "K0121", "K0122", "K0123", "K0131", "K0132", "K0133",
         "K0141", "K0142", "K0143", "K0144", "K0161"]  # one serum tube: 17 results a message


def _patient(session, clinic_id: int, orca_id: str) -> Patient:
    patient = Patient(clinic_id=clinic_id, orca_patient_id=orca_id, name="検査 太郎", kana="ケンサ タロウ",
                      name_key="検査太郎", kana_key="ケンサタロウ", sex="M", birth_date=date(1958, 3, 2))
    session.add(patient)
    session.flush()
    return patient


def import_case(app: Any, messages: int) -> dict[str, Any]:
    """Import `messages` OUL^R22 (17 results each) for as many orders; lines per second and ms per message."""
    factory = app.extensions["db_sessionmaker"]
    with factory() as session:
        load_shipped_subset(session)
        clinic_id = session.scalar(select(Patient.clinic_id).limit(1))
        items = [session.get(LabItem, code) for code in PANEL]
        from app.clinics.models import Clinic

        clinic = session.get(Clinic, clinic_id)
        patient = _patient(session, clinic_id, "LAB00001")
        session.commit()
        actor = Actor(None, "bench", clinic_id)
        payloads = []
        for n in range(messages):
            order = labs.create_order(session, clinic, actor, patient, labs.OrderInput(lab_codes=PANEL))
            session.commit()
            payloads.append(panel_message(patient.orca_patient_id, order.specimens[0].specimen_number, items,
                                          f"B{n:08d}", date.today() - timedelta(days=n)))
        if session.get_bind().dialect.name == "postgresql":
            # Statistics of the orders just made, as autovacuum has them on a live database (orders are placed
            # hours before their results come back). Without them the planner may check each result's composite
            # order key by scanning the clinic's orders (LabResult's docstring).
            session.execute(text("ANALYZE lab_order"))
            session.execute(text("ANALYZE lab_specimen"))
            session.commit()
        master = ItemMaster(session)
        started = time.perf_counter()
        outcomes = import_messages(session, clinic_id, [(data, f"bench-{n}") for n, data in enumerate(payloads)],
                                   source="file", master=master)
        elapsed = time.perf_counter() - started
        failed = [o.error for o in outcomes if not o.ok]
        if failed:
            raise SystemExit(f"bench import failed: {failed[0]}")
        # One message on its own (what a push or a poll does), for the per-message figures.
        samples = []
        for n in range(20):
            extra = labs.create_order(session, clinic, actor, patient, labs.OrderInput(lab_codes=PANEL))
            session.commit()
            data = panel_message(patient.orca_patient_id, extra.specimens[0].specimen_number, items, f"S{n:08d}",
                                 date.today())
            one = time.perf_counter()
            import_messages(session, clinic_id, [(data, "single")], source="push", master=master)
            samples.append((time.perf_counter() - one) * 1000)
    lines = messages * len(PANEL)
    samples.sort()  # the percentiles below are read from the sorted samples
    return {"n": lines, "p50_ms": round(statistics.median(samples), 2),
            "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 2), "lines_per_s": round(lines / elapsed)}


def seed_history(app: Any, years: int = 10) -> int:
    """A patient with `years` of monthly panels (≈ 33 results a month) written straight into the table; their id."""
    factory = app.extensions["db_sessionmaker"]
    with factory() as session:
        load_shipped_subset(session)
        clinic_id = session.scalar(select(Patient.clinic_id).limit(1))
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


def label_order(app: Any) -> tuple[int, int]:
    """A three-container order (生活習慣病セット and 血算) to print labels of: (patient id, order id)."""
    from app.clinics.models import Clinic

    factory = app.extensions["db_sessionmaker"]
    with factory() as session:
        clinic_id = session.scalar(select(Patient.clinic_id).limit(1))
        clinic = session.get(Clinic, clinic_id)
        patient = _patient(session, clinic_id, "LAB00003")
        order = labs.create_order(session, clinic, Actor(None, "bench", clinic_id), patient,
                                  labs.OrderInput(set_codes=["S001", "S004"]))
        session.commit()
        return patient.id, order.id
