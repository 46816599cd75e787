"""Test studies in the run's Orthanc: each test gets PatientIDs of its own (no interference between tests)."""

from __future__ import annotations

import uuid
from datetime import date

from app.imaging.synthetic import PatientNames, SeriesSpec, make_study

YAMADA = PatientNames("Yamada^Tarou", "山田^太郎", "やまだ^たろう")


def new_patient_id() -> str:
    """A PACS PatientID no other test uses."""
    return f"T{uuid.uuid4().hex[:12].upper()}"


def upload_study(orthanc, patient_id: str, *, study_date: date = date(2026, 10, 1), description: str = "胸部単純",
                 series: list[SeriesSpec] | None = None) -> tuple[str, list[bytes]]:
    """Generate a small study for `patient_id`, store it in Orthanc; its StudyInstanceUID and files."""
    study_uid, files = make_study(patient_id=patient_id, names=YAMADA, birth_date=date(1958, 3, 2), sex="M",
                                  study_date=study_date, description=description,
                                  accession=uuid.uuid4().hex[:16].upper(),
                                  series=series or [SeriesSpec("CR", "胸部正面", size=64)])
    for data in files:
        orthanc.upload(data)
    return study_uid, files


def broken_pixels(dicom: bytes) -> bytes:
    """The same instance with its pixel data cut short: a file the PACS stores but cannot render."""
    import io

    import pydicom

    ds = pydicom.dcmread(io.BytesIO(dicom))
    ds.PixelData = ds.PixelData[:100]
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()
