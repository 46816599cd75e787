"""/admin/transfer: the administrator exports the clinic (or one patient) as FHIR bulk data, watches the jobs'
progress, downloads the files, and imports an export into this clinic while it has no patients."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import func, select

from app.core.errors import ValidationError
from app.core.security import requires
from app.core.web import committed, current_actor, current_clinic, flashed
from app.db import db_session, get_scoped
from app.patients.models import Patient
from app.transfer import bp
from app.transfer.export import MANIFEST
from app.transfer.jobs import ARCHIVE, CONTENT, jobs_of, queue_export, queue_import, transfer_root
from app.transfer.models import DONE, EXPORT, QUEUED, RUNNING, TransferJob


def _patient_id(orca_id: str) -> int:
    """The clinic's patient with this 患者番号 (ValidationError naming the field when there is none)."""
    orca_id = orca_id.strip()
    if not orca_id:
        raise ValidationError("患者番号を入力してください", field="orca_patient_id")
    found = db_session().scalar(select(Patient.id).where(Patient.clinic_id == current_user.clinic_id,
                                                         Patient.orca_patient_id == orca_id))
    if found is None:
        raise ValidationError(f"患者番号 {orca_id} の患者はいません", field="orca_patient_id")
    return found


@bp.get("/admin/transfer")
@requires("clinic.manage")
def index():
    """The jobs, newest first, and the two forms."""
    db = db_session()
    jobs = jobs_of(db, current_user.clinic_id)
    patients = db.scalar(select(func.count()).select_from(Patient).where(
        Patient.clinic_id == current_user.clinic_id)) or 0
    return render_template("transfer/index.html", jobs=jobs, patients=patients, clinic=current_clinic(),
                           files={j.id: export_files(j) for j in jobs if j.kind == EXPORT},
                           working=any(j.state in (QUEUED, RUNNING) for j in jobs))


@bp.post("/admin/transfer/export")
@requires("clinic.manage")
def start_export():
    """Queue an export of the clinic, or of one patient by 患者番号."""
    back = url_for("transfer.index")
    whole = request.form.get("scope", "clinic") != "patient"
    db = db_session()
    job = committed(lambda: queue_export(
        db, current_user.clinic_id, current_actor(), current_user.display_name,
        None if whole else _patient_id(request.form.get("orca_patient_id", ""))),
        lambda exc: flashed(exc.message, back))
    flash(f"書き出しを受け付けました（受付番号 {job.id}）。進み具合はこの画面に表示されます", "success")
    return redirect(back)


@bp.post("/admin/transfer/import")
@requires("clinic.manage")
def start_import():
    """Keep an uploaded export (ZIP) and queue its import into this clinic."""
    back = url_for("transfer.index")
    archive = request.files.get("archive")
    if archive is None or not archive.filename:
        return flashed("取り込むZIPファイルを選んでください", back)
    db = db_session()
    job = committed(lambda: queue_import(db, current_user.clinic_id, current_actor(), current_user.display_name,
                                         archive, transfer_root()),
                    lambda exc: flashed(exc.message, back))
    flash(f"取り込みを受け付けました（受付番号 {job.id}）。確認が済むまで何も書き込みません", "success")
    return redirect(back)


@bp.get("/admin/transfer/jobs/<int:job_id>/files/<path:file>")
@requires("clinic.manage")
def download(job_id: int, file: str):
    """A file of a finished export: the ZIP, the manifest, an NDJSON file, a PDF or an image."""
    job = get_scoped(db_session(), TransferJob, current_user.clinic_id, job_id)
    if job is None or job.kind != EXPORT or job.state != DONE:
        abort(404)
    root = transfer_root().resolve()
    folder = (root / job.folder).resolve()
    path = (folder / file).resolve() if file == ARCHIVE else (folder / CONTENT / file).resolve()
    if not path.is_relative_to(folder) or not path.is_file():
        abort(404)
    download_name = f"kamikarte-export-{job.id}.zip" if file == ARCHIVE else path.name
    return send_file(path, as_attachment=True, download_name=download_name, max_age=0)


def export_files(job: TransferJob) -> list[str]:
    """The top files of a finished export, manifest first (the PDFs and images are in the ZIP)."""
    content = transfer_root() / job.folder / CONTENT
    if job.state != DONE or not content.is_dir():
        return []
    names = sorted(p.name for p in content.iterdir() if p.is_file() and p.name != MANIFEST)
    return [MANIFEST, *names]
