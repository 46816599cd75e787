"""Key images: keep an image of a PACS study in the chart with its caption and the rendered bytes (and their
SHA-256), correct the caption or withdraw it as a new version; and the read API other domains use
(`key_images_for_patient`, e.g. referral letters printing them)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.core.audit import Actor
from app.core.errors import ValidationError
from app.core.forms import require_finite, to_number
from app.core.jp import strip_control_chars
from app.core.versioning import record_first_version, record_new_version
from app.db import scoped
from app.imaging import pacs
from app.imaging.models import KeyImage
from app.integrations.pacs.client import valid_uid
from app.patients.models import Patient

MAX_CAPTION = 200


@dataclass(frozen=True)
class KeyImageCopy:
    """A key image as other domains (referral letters, notes) use it: the stored bytes, never the PACS."""

    id: int
    caption: str
    image_bytes: bytes
    media_type: str
    sha256: str
    #: Whether the stored bytes still hash to the stored SHA-256 (False: do not print it as evidence).
    is_intact: bool
    taken_on: date | None
    modality: str
    study_description: str
    study_uid: str
    series_uid: str
    instance_uid: str
    frame: int
    recorded_at: datetime
    recorded_by_name: str


def sha256_hex(data: bytes) -> str:
    """SHA-256 of bytes, hex."""
    return hashlib.sha256(data).hexdigest()


def _snapshot(item: KeyImage) -> dict[str, Any]:
    return {"study_uid": item.study_uid, "series_uid": item.series_uid, "instance_uid": item.instance_uid,
            "frame": item.frame, "window_center": item.window_center, "window_width": item.window_width,
            "caption": item.caption, "image_sha256": item.image_sha256}


def _caption(text: str) -> str:
    caption = " ".join(strip_control_chars(text or "", multiline=True).split())
    if not caption:
        raise ValidationError("キー画像の説明（キャプション）を入力してください", field="caption")
    if len(caption) > MAX_CAPTION:
        raise ValidationError(f"キャプションは{MAX_CAPTION}文字以内で入力してください", field="caption")
    return caption


def parse_window(center: str | None, width: str | None) -> tuple[float, float] | None:
    """A window (center, width) from form or query values; None when both are empty."""
    if not center and not width:
        return None
    try:
        c, w = float(to_number(center)), float(to_number(width))
    except ValueError as exc:
        raise ValidationError("ウィンドウ値（WL/WW）は数値で指定してください", field="window") from exc
    if not (-100_000 <= c <= 100_000 and 1 <= w <= 200_000):
        raise ValidationError("ウィンドウ値（WL/WW）が範囲外です", field="window")
    return c, w


def add_key_image(session: Session, clinic: Clinic, actor: Actor, patient: Patient, *, study_uid: str,
                  series_uid: str, instance_uid: str, frame: int, window: tuple[float, float] | None,
                  caption: str) -> KeyImage:
    """Keep one image of the patient's study as a key image: rendered now (checked to be the patient's) and
    stored with its SHA-256. PacsError when the PACS cannot give it; ValidationError for bad input."""
    caption = _caption(caption)
    for value in window or ():
        require_finite(value, label="ウィンドウ値（WL/WW）", field="window")
    if not all(valid_uid(u) for u in (study_uid, series_uid, instance_uid)):
        raise ValidationError("画像の識別子（UID）が正しくありません", field="image")
    study, _series, _images = pacs.study_detail(clinic, patient, study_uid)
    data, media_type = pacs.render_image(clinic, patient, study_uid, series_uid, instance_uid, frame=frame,
                                         window=window)
    modality = next((s.modality for s in _series if s.series_uid == series_uid), "")
    item = KeyImage(clinic_id=clinic.id, patient_id=patient.id, study_uid=study_uid,
                    series_uid=series_uid, instance_uid=instance_uid, frame=frame,
                    window_center=window[0] if window else None, window_width=window[1] if window else None,
                    study_date=study.study_date, modality=modality or ",".join(study.modalities)[:16],
                    study_description=study.description[:200], caption=caption, media_type=media_type,
                    image_bytes=data, image_sha256=sha256_hex(data))
    return record_first_version(session, actor, item, action="key_image.create", snapshot=_snapshot)


def correct_caption(session: Session, clinic_id: int, actor: Actor, item: KeyImage, caption: str,
                    reason: str) -> KeyImage:
    """Change a key image's caption as a new version (the old one stays in the history)."""
    return record_new_version(session, actor, item, {"caption": _caption(caption)}, action="key_image.correct",
                              reason=reason, snapshot=_snapshot)


def retract_key_image(session: Session, clinic_id: int, actor: Actor, item: KeyImage, reason: str) -> KeyImage:
    """Withdraw a key image kept in error; it leaves the lists and stays in its history."""
    return record_new_version(session, actor, item, {}, action="key_image.retract", reason=reason, retract=True,
                              snapshot=_snapshot)


def current_key_images(session: Session, clinic_id: int, patient_id: int) -> list[KeyImage]:
    """The patient's key images as they stand, newest study first."""
    return list(session.scalars(scoped(KeyImage, clinic_id).where(
        KeyImage.patient_id == patient_id, KeyImage.superseded_at.is_(None), KeyImage.retracted.is_(False))
        .order_by(KeyImage.study_date.desc(), KeyImage.id.desc())))


def get_key_image(session: Session, clinic_id: int, patient_id: int, key_image_id: int) -> KeyImage | None:
    """One version of a key image of this clinic's patient (None for another clinic's or patient's)."""
    return session.scalar(scoped(KeyImage, clinic_id).where(KeyImage.id == key_image_id,
                                                            KeyImage.patient_id == patient_id))


def history(session: Session, clinic_id: int, patient_id: int, lineage_id: int) -> list[KeyImage]:
    """Every version of one key image, oldest first."""
    return list(session.scalars(scoped(KeyImage, clinic_id).where(KeyImage.patient_id == patient_id,
                                                                  KeyImage.lineage_id == lineage_id)
                                .order_by(KeyImage.version)))


def key_images_for_patient(session: Session, clinic_id: int, patient_id: int) -> list[KeyImageCopy]:
    """The patient's current key images for printing (referral letters, notes): caption, stored image bytes,
    their SHA-256 and whether they still match it, the date the image was taken. Never reaches the PACS."""
    return [KeyImageCopy(id=k.id, caption=k.caption, image_bytes=k.image_bytes, media_type=k.media_type,
                         sha256=k.image_sha256, is_intact=sha256_hex(k.image_bytes) == k.image_sha256,
                         taken_on=k.study_date, modality=k.modality, study_description=k.study_description,
                         study_uid=k.study_uid, series_uid=k.series_uid, instance_uid=k.instance_uid, frame=k.frame,
                         recorded_at=k.recorded_at, recorded_by_name=k.recorded_by_name)
            for k in current_key_images(session, clinic_id, patient_id)]


def key_image_copy(session: Session, clinic_id: int, patient_id: int, key_image_id: int) -> KeyImageCopy | None:
    """One current key image of the patient for printing (a letter attaches it by id); None when it is not
    this clinic's and patient's current version."""
    return next((k for k in key_images_for_patient(session, clinic_id, patient_id) if k.id == key_image_id), None)


def key_image_versions(session: Session, clinic_id: int, patient_id: int, ids: list[int]) -> list[KeyImage]:
    """The key-image versions with these ids (of this clinic's patient), in the order given: what a note attached,
    exactly as it was attached even if its caption was corrected or it was withdrawn later."""
    if not ids:
        return []
    rows = {k.id: k for k in session.scalars(scoped(KeyImage, clinic_id).where(KeyImage.patient_id == patient_id,
                                                                               KeyImage.id.in_(ids)))}
    return [rows[i] for i in ids if i in rows]


def key_image_descriptions(session: Session, clinic_id: int, patient_id: int,
                           ids: list[int]) -> dict[int, dict[str, Any]]:
    """What a printed chart says of these key-image versions (of this clinic's patient, as a note attached them),
    by id: the date taken, modality, the study's description and the caption. One query, the image bytes not
    read (the 2号紙 prints the words, not the pictures)."""
    if not ids:
        return {}
    rows = session.execute(select(KeyImage.id, KeyImage.study_date, KeyImage.modality, KeyImage.study_description,
                                  KeyImage.caption).where(KeyImage.clinic_id == clinic_id,
                                                          KeyImage.patient_id == patient_id,
                                                          KeyImage.id.in_(set(ids))))
    return {r.id: {"taken_on": r.study_date, "modality": r.modality, "description": r.study_description,
                   "caption": r.caption} for r in rows}
