"""The clinic's PACS connection: settings (URL, credentials, PatientID mapping), and the patient-checked look-ups
every imaging screen goes through. A study, series or image is served only after the PACS has confirmed that it
belongs to the PatientID this patient maps to; images are matched by PatientID, never by name."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.core.audit import Actor, record_audit, summarize_change
from app.core.errors import ValidationError
from app.core.urls import connection_url
from app.integrations.pacs.client import DicomWebClient, Instance, PacsNotConfigured, PacsNotFound, Series, Study
from app.patients.models import Patient

#: Where a patient's PACS PatientID comes from: the ORCA patient number (what the modality worklist usually
#: carries) or Kamikarte's own id; either with an optional fixed prefix.
ID_SOURCES = {"orca": "ORCA患者番号", "kamikarte": "かみかるてID"}
#: Seconds a confirmed "this study's images belong to this PatientID" answer is reused while swiping.
OWNERSHIP_TTL = 60.0
MAX_CACHED = 512
NOT_CONFIGURED = "この医療機関にはPACS（画像サーバー）が設定されていません。管理者が「PACS接続設定」で設定できます"


@dataclass(frozen=True)
class PacsSettings:
    """One clinic's PACS connection as stored in clinic.integrations["pacs"]."""

    base_url: str
    username: str
    password: str
    id_source: str = "orca"
    id_prefix: str = ""
    timeout: float = 5.0

    @classmethod
    def of(cls, clinic: Clinic) -> PacsSettings | None:
        """The clinic's settings, or None when no PACS is configured."""
        raw = clinic.integration("pacs")
        if not raw.get("base_url"):
            return None
        return cls(base_url=raw["base_url"], username=raw.get("username", ""), password=raw.get("password", ""),
                   id_source=raw.get("id_source", "orca"), id_prefix=raw.get("id_prefix", ""),
                   timeout=float(raw.get("timeout", 5.0)))

    def patient_id_for(self, patient: Patient) -> str:
        """The PatientID this patient carries in the PACS."""
        own = patient.orca_patient_id if self.id_source == "orca" else str(patient.id)
        return f"{self.id_prefix}{own}"

    def client(self) -> DicomWebClient:
        """A DICOMweb client on these settings."""
        return DicomWebClient(self.base_url, self.username, self.password, timeout=self.timeout)


def settings_or_error(clinic: Clinic) -> PacsSettings:
    """The clinic's PACS settings, or PacsNotConfigured with a plain message."""
    settings = PacsSettings.of(clinic)
    if settings is None:
        raise PacsNotConfigured(NOT_CONFIGURED)
    return settings


def update_pacs_settings(session: Session, clinic: Clinic, actor: Actor, data: dict[str, Any]) -> Clinic:
    """Set the PACS connection (an empty password keeps the current one); audited without the secret."""
    base_url = connection_url(data.get("base_url"), "PACS", "画像")
    source = data.get("id_source") or "orca"
    if source not in ID_SOURCES:
        raise ValidationError("患者IDの対応づけの選択肢にない値です", field="id_source")
    prefix = (data.get("id_prefix") or "").strip()
    if not re.fullmatch(r"[A-Za-z0-9\-_.]{0,16}", prefix):
        raise ValidationError("接頭辞は英数字と - _ . で16文字までにしてください", field="id_prefix")
    pacs = clinic.integration("pacs")
    keys = ("base_url", "username", "id_source", "id_prefix")
    before = {k: pacs.get(k) for k in keys}
    pacs.update({"base_url": base_url, "username": (data.get("username") or "").strip(), "id_source": source,
                 "id_prefix": prefix})
    if data.get("password"):
        pacs["password"] = data["password"]
    clinic.set_integration("pacs", pacs)
    session.flush()
    forget_clinic(clinic.id)
    record_audit(session, actor, "clinic.pacs_settings", clinic_id=clinic.id, entity_type="clinic",
                 entity_id=clinic.id, summary={**summarize_change(before, {k: pacs.get(k) for k in keys}),
                                               "password_changed": bool(data.get("password"))})
    return clinic


# Confirmed ownership: (clinic id, PACS address, PACS PatientID, study UID) → (time, images of that study). Keyed
# by clinic, PACS and PatientID so that nothing confirmed for one clinic or patient is ever reused for another, and
# so that a PACS setting changed by another process (another web worker or machine, which cannot clear this
# process's memory) is never answered from here: the new settings make a new key.
_owned: dict[tuple[int, str, str, str], tuple[float, list[Instance]]] = {}
_owned_lock = threading.Lock()


def forget_clinic(clinic_id: int) -> None:
    """Drop what was confirmed for a clinic (its PACS settings changed)."""
    with _owned_lock:
        for key in [k for k in _owned if k[0] == clinic_id]:
            del _owned[key]


def study_images(clinic: Clinic, patient: Patient, study_uid: str, *, fresh: bool = False) -> list[Instance]:
    """The images of one of this patient's studies (PacsNotFound if the study is not theirs); `fresh` asks the
    PACS again (the viewer page does, so images that arrived a moment ago are listed)."""
    settings = settings_or_error(clinic)
    pid = settings.patient_id_for(patient)
    key = (clinic.id, settings.base_url, pid, study_uid)
    with _owned_lock:
        hit = _owned.get(key)
    if hit and not fresh and time.monotonic() - hit[0] < OWNERSHIP_TTL:
        return hit[1]
    images = settings.client().instances(study_uid, patient_id=pid)
    if not images:
        raise PacsNotFound("この患者の検査ではないか、PACSにない検査です")
    with _owned_lock:
        if len(_owned) >= MAX_CACHED:
            _owned.clear()
        _owned[key] = (time.monotonic(), images)
    return images


def list_studies(clinic: Clinic, patient: Patient) -> list[Study]:
    """The patient's studies in the clinic's PACS, newest first."""
    settings = settings_or_error(clinic)
    return settings.client().studies(settings.patient_id_for(patient))


def study_detail(clinic: Clinic, patient: Patient, study_uid: str) -> tuple[Study, list[Series], list[Instance]]:
    """One of the patient's studies with its series and images (PacsNotFound for another patient's study)."""
    settings = settings_or_error(clinic)
    client = settings.client()
    study = client.study(settings.patient_id_for(patient), study_uid)
    return study, client.series(study_uid), study_images(clinic, patient, study_uid, fresh=True)


def find_image(clinic: Clinic, patient: Patient, study_uid: str, series_uid: str, instance_uid: str,
               frame: int) -> Instance:
    """One image of the patient's study, with a frame it has (PacsNotFound otherwise)."""
    for image in study_images(clinic, patient, study_uid):
        if image.series_uid == series_uid and image.instance_uid == instance_uid:
            if not 1 <= frame <= image.frames:
                raise PacsNotFound(f"この画像のフレームは1〜{image.frames}です")
            return image
    raise PacsNotFound("この患者の画像ではないか、PACSにない画像です")


def render_image(clinic: Clinic, patient: Patient, study_uid: str, series_uid: str, instance_uid: str, *,
                 frame: int = 1, window: tuple[float, float] | None = None, viewport: tuple[int, int] | None = None,
                 media_type: str = "image/png") -> tuple[bytes, str]:
    """A rendered image of the patient's study, after checking it is theirs; (bytes, media type)."""
    image = find_image(clinic, patient, study_uid, series_uid, instance_uid, frame)
    client = settings_or_error(clinic).client()
    return client.rendered(study_uid, series_uid, instance_uid, frame=frame if image.frames > 1 else None,
                           window=window, viewport=viewport, media_type=media_type)


def thumbnail(clinic: Clinic, patient: Patient, study_uid: str, size: int = 128) -> tuple[bytes, str]:
    """A small JPEG of the study's first image."""
    first = study_images(clinic, patient, study_uid)[0]
    return render_image(clinic, patient, study_uid, first.series_uid, first.instance_uid,
                        viewport=(size, size), media_type="image/jpeg")


@dataclass(frozen=True)
class SeriesFacts:
    """What the viewer shows about a series, read from WADO-RS metadata (first image of the series)."""

    series_uid: str
    body_part: str
    slice_thickness: str
    pixel_spacing: str
    matrix: str
    frames: int
    manufacturer: str


def _meta(item: dict[str, Any], tag: str) -> str:
    values = (item.get(tag) or {}).get("Value") or []
    return "\\".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


def series_facts(clinic: Clinic, patient: Patient, study_uid: str) -> dict[str, SeriesFacts]:
    """Per series of one of the patient's studies: body part, slice thickness, pixel spacing, matrix, frames
    (WADO-RS metadata, asked only after the study is confirmed to be the patient's)."""
    study_images(clinic, patient, study_uid)
    facts: dict[str, SeriesFacts] = {}
    for item in settings_or_error(clinic).client().metadata(study_uid):
        uid = _meta(item, "0020000E")
        if uid in facts:
            continue
        rows, columns = _meta(item, "00280010"), _meta(item, "00280011")
        facts[uid] = SeriesFacts(series_uid=uid, body_part=_meta(item, "00180015"),
                                 slice_thickness=_meta(item, "00180050"),
                                 pixel_spacing=_meta(item, "00280030").replace("\\", " × "),
                                 matrix=f"{columns} × {rows}" if rows and columns else "",
                                 frames=int(_meta(item, "00280008") or 1), manufacturer=_meta(item, "00080070"))
    return facts
