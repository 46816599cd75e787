"""The demo PACS: studies generated with pydicom for the fixed demo patients of clinic A, stored in this run's
Orthanc over DICOMweb (STOW-RS), clinic A pointed at it, and one key image of 山田 太郎 kept the first time.

UIDs are derived from fixed seeds, so the studies are the same at every start (the Orthanc of a demo run lives in
a temporary directory) and the key image kept in the database still points at the same image."""

from __future__ import annotations

import logging
import zlib
from datetime import timedelta

import jaconv
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.core.timeutil import japan_today
from app.demo.clinical import _actor
from app.imaging import pacs as pacs_settings
from app.imaging import services as key_images
from app.imaging.synthetic import PatientNames, SeriesSpec, make_study
from app.integrations.pacs.client import DicomWebClient, PacsError
from app.patients import services as patients

log = logging.getLogger(__name__)
CLINIC_A = "1310123458"
#: Romaji of the fixed demo patients who have studies (the PN's alphabetic component).
ROMAJI = {"00001": "Yamada^Tarou", "00002": "Takahashi^Misaki"}


def _names(patient) -> PatientNames:
    family, _, given = patient.name.replace("\u3000", " ").partition(" ")
    kana_family, _, kana_given = jaconv.kata2hira(patient.kana.replace("\u3000", " ")).partition(" ")
    return PatientNames(ROMAJI.get(patient.orca_patient_id, ""), f"{family}^{given}", f"{kana_family}^{kana_given}")


def _chest_cr() -> SeriesSpec:
    return SeriesSpec("CR", "胸部 PA", size=128, body_part="CHEST", phantom=True)


def _studies(orca_id: str) -> list[tuple[str, int, str, list[SeriesSpec]]]:
    """(seed, days ago, description, series) of each demo study of a patient."""
    if orca_id == "00001":
        return [
            ("yamada-ct", 14, "胸部CT 単純", [SeriesSpec("CT", "胸部 5mm", images=6, size=128, body_part="CHEST",
                                                         phantom=True)]),
            ("yamada-cr-2", 14, "胸部X線 正面", [_chest_cr()]),
            ("yamada-us", 90, "腹部超音波", [SeriesSpec("US", "肝・胆・膵", frames=8, size=96, body_part="ABDOMEN",
                                                      phantom=True)]),
            ("yamada-cr-1", 400, "胸部X線 正面", [_chest_cr()]),
        ]
    if orca_id == "00002":
        return [("takahashi-cr", 30, "胸部X線 正面", [_chest_cr()])]
    return []


def seed_demo_pacs(session: Session, dicomweb_url: str, username: str, password: str) -> bool:
    """Store the demo studies, configure clinic A to use this PACS, keep 山田's key image once; False when the
    fixed patients are not there yet."""
    clinic = session.scalar(select(Clinic).where(Clinic.institution_code == CLINIC_A))
    if clinic is None:
        return False
    previous = clinic.integration("pacs")
    clinic.set_integration("pacs", {
        **previous, "base_url": dicomweb_url, "username": username, "password": password,
        "id_source": previous.get("id_source", "orca"), "id_prefix": previous.get("id_prefix", "")})
    session.flush()
    pacs_settings.forget_clinic(clinic.id)
    client = DicomWebClient(dicomweb_url, username, password, timeout=30)
    today = japan_today()
    yamada = None
    for orca_id in ("00001", "00002"):
        patient = patients.find_by_orca_id(session, clinic.id, orca_id)
        if patient is None:
            return False
        yamada = yamada or patient
        for seed, days_ago, description, series in _studies(orca_id):
            _uid, files = make_study(patient_id=orca_id, names=_names(patient), birth_date=patient.birth_date,
                                     sex=patient.sex, study_date=today - timedelta(days=days_ago),
                                     description=description, accession=f"DEMO{zlib.crc32(seed.encode()) % 10**8:08d}",
                                     series=series, uid_seed=f"kamikarte-demo-{seed}")
            for data in files:
                client.store(data)
    if not key_images.current_key_images(session, clinic.id, yamada.id):
        _keep_yamada_key_image(session, clinic, yamada)
    return True


def _keep_yamada_key_image(session: Session, clinic: Clinic, patient) -> None:
    """A CT slice in the lung window with the doctor's caption, as a doctor would keep it from the viewer."""
    ct = next(s for s in pacs_settings.list_studies(clinic, patient) if "CT" in s.modalities)
    images = pacs_settings.study_images(clinic, patient, ct.study_uid)
    image = next((i for i in images if i.number == 3), images[len(images) // 2])  # the slice with the nodule
    try:
        key_images.add_key_image(session, clinic, _actor(session, clinic, "doctor"), patient, study_uid=ct.study_uid,
                                 series_uid=image.series_uid, instance_uid=image.instance_uid, frame=1,
                                 window=(-600, 1500), caption="右肺下葉に小結節（径約8mm）。前回と著変なし")
    except PacsError as exc:  # the demo still starts; the page will say what is wrong
        log.warning("demo key image not kept: %s", exc.message_ja)
