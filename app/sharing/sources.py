"""Records of other domains as the 6 information and referral letters take them.

- `lab_results_for`: the patient's lab results (app/labs) with their JLAC10 code.
- `key_images_for`: the patient's key images (app/imaging), from the stored copy (never the PACS).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.timeutil import JST, japan_today
from app.imaging.models import KeyImage as KeyImageRecord
from app.imaging.services import key_images_for_patient, sha256_hex
from app.labs.models import LabResult as LabResultRecord
from app.sharing.fhir.mapping import LabResult

#: How far back results are shared and quoted: a year, the window of the national service's lab results.
LAB_WINDOW = timedelta(days=365)


@dataclass(frozen=True)
class KeyImage:
    """A key image as letters use it: id (to attach), title, the date it was taken, and the stored image."""

    id: int
    title: str
    study_date: str
    image_bytes: bytes
    media_type: str
    sha256: str


def lab_results_for(session: Session, clinic_id: int, patient_id: int) -> list[LabResult]:
    """The patient's current results of the last year that carry a JLAC10 code, newest first (a result the lab
    corrected counts once, as corrected; one without JLAC10 cannot be coded for the service)."""
    since = japan_today() - LAB_WINDOW
    rows = session.scalars(select(LabResultRecord).where(
        LabResultRecord.clinic_id == clinic_id, LabResultRecord.patient_id == patient_id,
        LabResultRecord.superseded_at.is_(None), LabResultRecord.retracted.is_(False),
        LabResultRecord.jlac10 != "", LabResultRecord.result_status.in_(("F", "C")),
        LabResultRecord.collected_on >= since)
        .order_by(LabResultRecord.collected_on.desc(), LabResultRecord.lab_code))
    return [as_lab_result(r) for r in rows]


def as_lab_result(record: LabResultRecord) -> LabResult:
    """One stored result as the FHIR mapping takes it."""
    return LabResult(local_code=record.lab_code, name=record.name, jlac10=record.jlac10,
                     value=record.numeric_value if record.numeric_value is not None else record.value,
                     unit=record.unit, effective=_effective(record), record_id=record.id,
                     lineage_id=record.lineage_id or record.id, order_id=record.order_id or 0)


def _effective(result: LabResultRecord) -> datetime:
    if result.collected_at is not None:
        moment = result.collected_at
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.combine(result.collected_on, time(0), tzinfo=JST)


def key_images_for(session: Session, clinic_id: int, patient_id: int) -> list[KeyImage]:
    """The patient's current key images, oldest first, each with the image as it was kept."""
    return [KeyImage(id=k.id, title=k.caption, study_date=k.taken_on.isoformat() if k.taken_on else "",
                     image_bytes=k.image_bytes, media_type=k.media_type, sha256=k.sha256)
            for k in key_images_for_patient(session, clinic_id, patient_id) if k.is_intact]


def key_images_by_id(session: Session, clinic_id: int, patient_id: int, ids: list[int]) -> list[KeyImage]:
    """The key images a letter attached, in its order, exactly as they were attached (a caption corrected later
    is a new version with a new id; the letter keeps showing the one it was written with). A copy whose bytes no
    longer match their SHA-256 is left out rather than printed wrong."""
    if not ids:
        return []
    rows = {k.id: k for k in session.scalars(select(KeyImageRecord).where(
        KeyImageRecord.clinic_id == clinic_id, KeyImageRecord.patient_id == patient_id,
        KeyImageRecord.id.in_(ids)))}
    return [KeyImage(id=k.id, title=k.caption, study_date=k.study_date.isoformat() if k.study_date else "",
                     image_bytes=k.image_bytes, media_type=k.media_type, sha256=k.image_sha256)
            for k in (rows.get(i) for i in ids) if k is not None and sha256_hex(k.image_bytes) == k.image_sha256]
