"""Imaging screens: the patient's studies, the tablet viewer, rendered images and thumbnails (through Kamikarte,
same origin, clinic- and patient-checked, never straight from the PACS), key images, the PACS settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import Optional

from app.clinics.models import Clinic
from app.core.errors import ValidationError
from app.core.forms import CleanForm, max_chars
from app.core.security import requires, role_may
from app.core.timeutil import japan_today
from app.core.web import (
    committed,
    connection_settings_page,
    current_actor,
    current_clinic,
    flashed,
    log_look,
    patient_view,
    versions_page,
)
from app.db import db_session
from app.imaging import bp, importing, pacs, services
from app.integrations.pacs.client import PacsError, PacsNotFound, valid_uid
from app.notes import services as notes
from app.patients.models import Patient

#: Window presets (WL, WW) offered for CT, in Hounsfield units.
CT_PRESETS = [("肺野", -600, 1500), ("縦隔", 40, 400), ("骨", 500, 2000), ("腹部", 40, 350)]




def _uid_or_404(*uids: str) -> None:
    if not all(valid_uid(u) for u in uids):
        abort(404)


def _image_error(exc: PacsError | ValidationError) -> Response:
    """An image route's failure as a short Japanese text (the page shows it where the image would be)."""
    status = exc.status if isinstance(exc, PacsError) else 400
    message = exc.message_ja if isinstance(exc, PacsError) else exc.message
    return Response(message, status=status, mimetype="text/plain")



def _pacs_image(patient: Patient, look: str, fetch: Callable[[], tuple[bytes, str]]) -> Response:
    """An image the PACS gives — `fetch()`'s bytes and media type — with the look at it logged as `look`; a PACS
    error or a bad window answers as `_image_error`."""
    try:
        data, media_type = fetch()
    except (PacsError, ValidationError) as exc:
        return _image_error(exc)
    log_look(patient.id, look)
    return Response(data, mimetype=media_type)


@bp.get("/patients/<int:patient_id>/images")
@patient_view("patient.read", look="patient.images")
def index(patient: Patient):
    """The patient's studies (newest first, with thumbnails) and key images."""
    db = db_session()
    studies, error = [], None
    try:
        studies = pacs.list_studies(current_clinic(), patient)
    except PacsError as exc:
        error = exc.message_ja
    key_images = services.current_key_images(db, current_user.clinic_id, patient.id)
    return render_template("imaging/index.html", patient=patient, today=japan_today(), studies=studies,
                           error=error, key_images=key_images, in_todays_note=_in_todays_note(patient))


def _in_todays_note(patient) -> set[int]:
    """Ids of the key images today's notes already show (full-chart mode), so the page says 添付済み."""
    if not current_clinic().is_full_chart_mode:
        return set()
    return notes.key_images_in_notes(db_session(), current_user.clinic_id, patient.id, japan_today())


@bp.get("/patients/<int:patient_id>/images/<study_uid>")
@patient_view("patient.read")
def viewer(patient: Patient, study_uid: str):
    """The tablet viewer of one study: swipe through images and frames, pinch to zoom, windows."""
    _uid_or_404(study_uid)
    try:
        study, series, images = pacs.study_detail(current_clinic(), patient, study_uid)
        facts = pacs.series_facts(current_clinic(), patient, study_uid)
    except PacsNotFound as exc:
        return render_template("error.html", status=404, message=exc.message_ja), 404
    except PacsError as exc:
        return render_template("imaging/unavailable.html", patient=patient, today=japan_today(),
                               message=exc.message_ja), exc.status
    log_look(patient.id, f"patient.images.study:{study_uid}")
    series_by_uid = {s.series_uid: s for s in series}
    frames = [{"series": img.series_uid, "instance": img.instance_uid, "frame": n, "frames": img.frames,
               "number": img.number, "modality": series_by_uid.get(img.series_uid).modality
               if img.series_uid in series_by_uid else "",
               "wc": img.window_center, "ww": img.window_width,
               "url": url_for("imaging.rendered", patient_id=patient.id, study_uid=study_uid,
                              series_uid=img.series_uid, instance_uid=img.instance_uid, frame=n)}
              for s in series for img in images if img.series_uid == s.series_uid
              for n in range(1, img.frames + 1)]
    try:  # ?i=N shows the N-th image first: the ◀ ▶ links work without JavaScript too
        index = min(max(int(request.args.get("i", "1")), 1), max(len(frames), 1)) - 1
    except ValueError:
        index = 0
    return render_template("imaging/viewer.html", patient=patient, today=japan_today(), study=study, series=series,
                           index=index,
                           frames=frames, presets=CT_PRESETS, has_ct=any(s.modality == "CT" for s in series),
                           facts=facts, note_targets=_note_targets(patient))


def _note_targets(patient) -> list:
    """Today's notes (and visits without one) a kept key image may go to, when the writer may write notes."""
    if not current_clinic().is_full_chart_mode or not role_may(current_user.role, "note.write"):
        return []
    return notes.note_targets(db_session(), current_user.clinic_id, patient.id, japan_today())


@bp.get("/patients/<int:patient_id>/images/<study_uid>/thumbnail")
@patient_view("patient.read")
def thumbnail(patient: Patient, study_uid: str):
    """A small JPEG of the study's first image."""
    _uid_or_404(study_uid)
    return _pacs_image(patient, f"patient.images.thumbnail:{study_uid}",
                       lambda: pacs.thumbnail(current_clinic(), patient, study_uid))


@bp.get("/patients/<int:patient_id>/images/<study_uid>/series/<series_uid>/instances/<instance_uid>"
        "/frames/<int:frame>/rendered")
@patient_view("patient.read")
def rendered(patient: Patient, study_uid: str, series_uid: str, instance_uid: str, frame: int):
    """One image or frame as PNG (or ?format=jpeg), with an optional window ?wc=&ww=."""
    _uid_or_404(study_uid, series_uid, instance_uid)
    media_type = "image/jpeg" if request.args.get("format") == "jpeg" else "image/png"

    def fetch() -> tuple[bytes, str]:
        window = services.parse_window(request.args.get("wc"), request.args.get("ww"))
        return pacs.render_image(current_clinic(), patient, study_uid, series_uid, instance_uid, frame=frame,
                                 window=window, media_type=media_type)

    return _pacs_image(patient, f"patient.images.image:{instance_uid}#{frame}", fetch)


@bp.post("/patients/<int:patient_id>/images/<study_uid>/key-images")
@patient_view("clinical.write")
def add_key_image(patient: Patient, study_uid: str):
    """Keep the image on screen as a key image with a caption."""
    _uid_or_404(study_uid)
    db = db_session()
    form = request.form

    def keep():
        frame = int(form.get("frame") or "1")
        window = services.parse_window(form.get("wc"), form.get("ww"))
        item = services.add_key_image(db, current_clinic(), current_actor(), patient, study_uid=study_uid,
                                      series_uid=form.get("series_uid", ""), instance_uid=form.get("instance_uid", ""),
                                      frame=frame, window=window, caption=form.get("caption", ""))
        return item, (_attach_to_todays_note(patient, item) if form.get("attach_to_note") else None)

    def refused(exc: Exception):
        if isinstance(exc, PacsError):
            message = f"キー画像を保存できませんでした: {exc.message_ja}"
        else:
            message = exc.message if isinstance(exc, ValidationError) else "フレーム番号が正しくありません"
        return flashed(message, url_for("imaging.viewer", patient_id=patient.id, study_uid=study_uid))

    item, attached = committed(keep, refused, (ValueError, ValidationError, PacsError))
    flash(f"キー画像「{item.caption}」を保存しました" + ("（本日の経過記録に添付）" if attached else ""), "success")
    if attached is not None and not attached:
        flash("経過記録には添付できませんでした。キー画像の一覧から添付し直してください", "error")
    return redirect(url_for("imaging.index", patient_id=patient.id) + "#key-images")


def _attach_to_todays_note(patient, item) -> bool:
    """Attach a just-kept key image to today's note (the one chosen when the day has several) in the same save
    (full-chart mode, a doctor or nurse); False when the note refused it — the key image is kept either way."""
    if not role_may(current_user.role, "note.write"):
        return False
    db = db_session()
    try:
        with db.begin_nested():
            notes.attach_key_image(db, current_clinic(), current_actor(), patient, item.id, today=japan_today(),
                                   target=request.form.get("note_target", "")[:40])
    except ValidationError:
        return False
    return True


@bp.post("/patients/<int:patient_id>/images/import")
@patient_view("clinical.write")
def import_files(patient: Patient):
    """Import DICOM files the patient brought (持参CD) into the clinic's PACS under this patient's PatientID."""
    db = db_session()
    uploads = [(f.filename or "（名前なし）", f.read()) for f in request.files.getlist("files") if f and f.filename]
    back = url_for("imaging.index", patient_id=patient.id)
    result = committed(lambda: importing.import_dicom_files(db, current_clinic(), current_actor(), patient, uploads),
                       lambda exc: flashed(f"取り込めませんでした: {_message(exc)}", back),
                       (ValidationError, PacsError))
    flash(f"{len(result.study_uids)}件の検査（{result.images}枚）を取り込みました", "success")
    return redirect(back)


def _message(exc: ValidationError | PacsError) -> str:
    return exc.message_ja if isinstance(exc, PacsError) else exc.message


def _key_image_or_404(patient_id: int, key_image_id: int, *, current: bool = False):
    item = services.get_key_image(db_session(), current_user.clinic_id, patient_id, key_image_id)
    if item is None or (current and (item.superseded_at is not None or item.retracted)):
        abort(404)
    return item


def _key_image_changed(patient: Patient, key_image_id: int, change: Callable[[Any, Any], Any], done: str):
    """`change(db, item)` made to a current key image and committed (a new version, or its withdrawal), then back
    to the patient's key images saying `done` — or saying the service's refusal, nothing changed."""
    item = _key_image_or_404(patient.id, key_image_id, current=True)
    back = url_for("imaging.index", patient_id=patient.id) + "#key-images"
    committed(lambda: change(db_session(), item), lambda exc: flashed(exc.message, back))
    flash(done, "success")
    return redirect(back)


@bp.get("/patients/<int:patient_id>/key-images/<int:key_image_id>/image")
@patient_view("patient.read")
def key_image(patient: Patient, key_image_id: int):
    """The stored bytes of a key image (what letters print), not the PACS's current rendering."""
    item = _key_image_or_404(patient.id, key_image_id)
    log_look(patient.id, f"patient.key_image:{item.id}")
    response = Response(item.image_bytes, mimetype=item.media_type)
    response.headers["X-Content-SHA256"] = item.image_sha256
    return response


@bp.get("/patients/<int:patient_id>/key-images/<int:key_image_id>/history")
@patient_view("patient.read")
def key_image_history(patient: Patient, key_image_id: int):
    """Every version of one key image with who, when and why."""
    item = _key_image_or_404(patient.id, key_image_id)
    return versions_page("imaging/history.html", patient, services.history(
        db_session(), current_user.clinic_id, patient.id, item.lineage_id or item.id), "patient.key_image.history")


@bp.post("/patients/<int:patient_id>/key-images/<int:key_image_id>/caption")
@patient_view("clinical.write")
def correct_key_image(patient: Patient, key_image_id: int):
    """Change a key image's caption (a new version; the old one stays in the history)."""
    return _key_image_changed(patient, key_image_id, lambda db, item: services.correct_caption(
        db, current_user.clinic_id, current_actor(), item, request.form.get("caption", ""),
        request.form.get("change_reason", "")), "キー画像の説明を修正しました（修正前は履歴に残ります）")


@bp.post("/patients/<int:patient_id>/key-images/<int:key_image_id>/retract")
@patient_view("clinical.write")
def retract_key_image(patient: Patient, key_image_id: int):
    """Withdraw a key image kept in error (it stays in the history)."""
    return _key_image_changed(patient, key_image_id, lambda db, item: services.retract_key_image(
        db, current_user.clinic_id, current_actor(), item, request.form.get("reason", "")),
        "キー画像を取り消しました（履歴に残ります）")


class PacsSettingsForm(CleanForm):
    """The clinic's PACS connection."""

    base_url = StringField("DICOMwebのURL", validators=[Optional(), max_chars(300)])
    username = StringField("ユーザー名", validators=[Optional(), max_chars(100)])
    password = PasswordField("パスワード", validators=[Optional(), max_chars(200)])
    id_source = SelectField("PACSの患者ID（PatientID）に使う番号",
                            choices=[SelectChoice(*pair) for pair in pacs.ID_SOURCES.items()], validate_choice=False)
    id_prefix = StringField("患者IDの接頭辞（あれば）", validators=[Optional(), max_chars(16)])


@bp.route("/clinic/pacs", methods=["GET", "POST"])
@requires("clinic.manage")
def pacs_settings():
    """The clinic's PACS connection, with a connection test."""
    clinic = current_clinic()
    raw = clinic.integration("pacs")
    form = PacsSettingsForm(data={"base_url": raw.get("base_url", ""), "username": raw.get("username", ""),
                                  "id_source": raw.get("id_source", "orca"), "id_prefix": raw.get("id_prefix", "")})
    return connection_settings_page(
        form, lambda db, data: pacs.update_pacs_settings(db, clinic, current_actor(), data),
        lambda: _test_connection(clinic), "PACSの接続設定を保存しました", "imaging.pacs_settings",
        "imaging/pacs_settings.html", has_password=bool(raw.get("password")))


def _test_connection(clinic: Clinic) -> tuple[bool, str]:
    try:
        pacs.settings_or_error(clinic).client().check()
    except PacsError as exc:
        return False, exc.message_ja
    return True, "PACSに接続できました"
