"""Import DICOM files a patient brings (持参CD, images from another hospital) into the clinic's PACS.

The files carry the other hospital's PatientID; they are stored under this clinic's PatientID for the patient
(the original kept in OtherPatientIDsSequence, as IHE's import reconciliation does), so that the study is found
by PatientID like every other. A file that is not DICOM, or that lacks the UIDs an image needs, is refused with
its name and the reason; nothing of a refused batch is stored."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.core.audit import Actor, record_audit
from app.core.errors import ValidationError
from app.imaging import pacs
from app.integrations.pacs.client import valid_uid
from app.patients.models import Patient

MAX_FILES = 200
REQUIRED_UIDS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")


@dataclass(frozen=True)
class ImportResult:
    """What was stored: the studies and the number of images."""

    study_uids: tuple[str, ...]
    images: int


def _read(name: str, data: bytes) -> Dataset:
    try:
        ds = pydicom.dcmread(io.BytesIO(data))
    except (InvalidDicomError, EOFError, ValueError, KeyError, OSError) as exc:
        raise ValidationError(f"「{name}」はDICOMファイルとして読めません（壊れているか、DICOMではありません）",
                              field="files") from exc
    for keyword in REQUIRED_UIDS:
        if not valid_uid(str(ds.get(keyword, ""))):
            raise ValidationError(f"「{name}」に {keyword} がないか、正しくありません", field="files")
    if "PixelData" not in ds:
        raise ValidationError(f"「{name}」には画像（Pixel Data）がありません", field="files")
    return ds


def _reconcile(ds: Dataset, patient_id: str) -> bytes:
    original = str(ds.get("PatientID", "") or "")
    if original and original != patient_id:
        other = Dataset()
        other.PatientID = original
        other.IssuerOfPatientID = str(ds.get("InstitutionName", "") or "")[:64]
        ds.OtherPatientIDsSequence = [*list(ds.get("OtherPatientIDsSequence", [])), other]
    ds.PatientID = patient_id
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def import_dicom_files(session: Session, clinic: Clinic, actor: Actor, patient: Patient,
                       files: list[tuple[str, bytes]]) -> ImportResult:
    """Check every file first, then store them all under the patient's PACS PatientID; audited."""
    if not files:
        raise ValidationError("取り込むDICOMファイルを選んでください", field="files")
    if len(files) > MAX_FILES:
        raise ValidationError(f"一度に取り込めるのは{MAX_FILES}ファイルまでです", field="files")
    settings = pacs.settings_or_error(clinic)
    patient_id = settings.patient_id_for(patient)
    datasets = [(name, _read(name, data)) for name, data in files]  # all read before any is stored
    client = settings.client()
    studies: list[str] = []
    for _name, ds in datasets:
        client.store(_reconcile(ds, patient_id))
        if str(ds.StudyInstanceUID) not in studies:
            studies.append(str(ds.StudyInstanceUID))
    pacs.forget_clinic(clinic.id)
    record_audit(session, actor, "imaging.import", clinic_id=clinic.id, entity_type="patient", entity_id=patient.id,
                 patient_id=patient.id, summary={"studies": studies, "images": len(datasets),
                                                 "pacs_patient_id": patient_id})
    return ImportResult(tuple(studies), len(datasets))
