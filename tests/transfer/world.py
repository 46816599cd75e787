"""A clinic whose patient holds one record of every kind the export carries (and a second patient), for the
export, import and facade tests."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, date, datetime

from PIL import Image

from app.documents.models import ReferralLetter
from app.imaging.models import KeyImage
from app.labs.models import LabOrder, LabResult, LabSpecimen
from app.notes.models import ProgressNote
from app.patients import profile_models as P
from app.reception.models import Visit
from tests.factories import make_patient, make_user
from tests.sharing.records import WHEN, _versioned, arrange


def png() -> bytes:
    """A small real PNG."""
    buffer = io.BytesIO()
    Image.new("L", (8, 8), 128).save(buffer, "PNG")
    return buffer.getvalue()


def _first_versions(session, rows: list) -> list:
    """Add records as first versions (each its own lineage)."""
    session.add_all(rows)
    session.flush()
    for row in rows:
        row.lineage_id = row.id
    return rows


def build(session, *, institution_code: str = "1310123458") -> dict:
    """arrange()'s clinic (diagnosis, allergies, 薬剤禁忌, infection, prescription) plus a visit, vitals, blood
    type, 既往歴, vaccination, 障害, 要介護度, a key image (corrected once), a lab order with two results, a progress
    note and a confirmed referral letter; an administrator; a second patient (妊娠中) with no other records."""
    world = arrange(session, institution_code=institution_code)
    clinic, patient = world["clinic"], world["patient"]
    admin = make_user(session, clinic, role="admin")
    visit = Visit(clinic_id=clinic.id, patient_id=patient.id, visit_date=date(2026, 11, 20), accepted_at=WHEN,
                  department_code="01", department_name="内科", physician_name="医師 一郎", status="examined",
                  source="kamikarte", updated_at=WHEN, status_changed_at=WHEN)
    session.add(visit)
    data = png()
    study = {"study_uid": "1.2.392.1", "series_uid": "1.2.392.1.1", "instance_uid": "1.2.392.1.1.1",
             "study_date": date(2026, 11, 19), "modality": "CR", "study_description": "胸部単純",
             "image_bytes": data, "image_sha256": hashlib.sha256(data).hexdigest()}
    image = _versioned(KeyImage, clinic, patient, caption="右下肺野の浸潤影", **study)
    other = make_patient(session, clinic, name="佐藤　花子", kana="サトウ　ハナコ", sex="F", orca_patient_id="00002",
                         birth_date=date(1990, 1, 5))
    _first_versions(session, [
        _versioned(P.VitalSign, clinic, patient, measured_at=WHEN, height_cm=170.2, weight_kg=65.0, systolic=128,
                   diastolic=78, pulse=72, temperature_c=36.6, spo2=98),
        _versioned(P.BloodType, clinic, patient, abo="A", rh="+", confirmed_by="当院検査"),
        _versioned(P.PastHistory, clinic, patient, disease="虫垂炎", period="2010年", notes="手術"),
        _versioned(P.Vaccination, clinic, patient, vaccine="インフルエンザHAワクチン",
                   administered_on=date(2025, 10, 1), dose_number=1, lot_number="L123", site="左上腕"),
        _versioned(P.Disability, clinic, patient, kind="physical", grade="4級", certificate_number="第123号"),
        _versioned(P.CareLevel, clinic, patient, level="support1", valid_from=date(2026, 4, 1),
                   valid_to=date(2027, 3, 31)),
        _versioned(P.Pregnancy, clinic, other, status="pregnant", since=date(2026, 9, 1), due_on=date(2027, 5, 1)),
        image])
    corrected = KeyImage(clinic_id=clinic.id, patient_id=patient.id, recorded_at=WHEN, recorded_by_name="医師 一郎",
                         lineage_id=image.lineage_id, version=2, caption="右下肺野の浸潤影（訂正）",
                         change_reason="所見の書き直し", **study)
    image.superseded_at = datetime(2026, 11, 21, tzinfo=UTC)
    session.add(corrected)
    order = LabOrder(clinic_id=clinic.id, patient_id=patient.id, order_number="A000000001",
                     ordered_on=date(2026, 11, 20), ordered_at=WHEN, ordered_by_name="医師 一郎", status="complete")
    order.specimens = [LabSpecimen(clinic_id=clinic.id, patient_id=patient.id, seq=1, specimen_number="0000000001",
                                   specimen="血清", specimen_code="023", container="生化学",
                                   items=[{"lab_code": "00001", "jlac10": "3D010000001926101", "name": "グルコース"}])]
    session.add(order)
    session.flush()
    on_order = {"order_id": order.id, "specimen_number": "0000000001", "collected_on": date(2026, 11, 20)}
    results = _first_versions(session, [
        _versioned(LabResult, clinic, patient, lab_code="00001", jlac10="3D010000001926101", name="グルコース",
                   value="135", numeric_value=135.0, unit="mg/dL", reference_range="70-109", flag="H",
                   collected_at=WHEN, **on_order),
        _versioned(LabResult, clinic, patient, lab_code="99999", name="院内メモ項目", value_type="ST", value="陰性",
                   **on_order)])
    note = _first_versions(session, [_versioned(
        ProgressNote, clinic, patient, note_date=date(2026, 11, 20), visit_id=visit.id, subjective="咳が続く",
        objective="体温36.6", assessment="急性気管支炎", plan="経過観察", key_image_ids=[corrected.id],
        department_name="内科", doctor_name="医師 一郎")])[0]
    letter = ReferralLetter(clinic_id=clinic.id, patient_id=patient.id, author_name="医師 一郎",
                            to_institution="みなと総合病院", to_department="呼吸器内科", purpose="精査のお願い",
                            diagnoses="急性気管支炎", written_on=date(2026, 11, 20), status="final",
                            confirmed_at=WHEN, key_image_ids=[corrected.id], created_at=WHEN, updated_at=WHEN)
    session.add(letter)
    session.commit()
    return {**world, "admin": admin, "visit": visit, "order": order, "results": results, "note": note,
            "letter": letter, "image": corrected, "other": other}
