"""Export and import jobs: queued in the database, claimed by one process (a compare-and-set on the state, so
several web or worker processes never run one job twice), progress and a heartbeat written as they run, the
outcome kept. `TransferWorker` is the loop that runs them (a thread of the app, or `flask transfer-worker`)."""

from __future__ import annotations

import logging
import shutil
import zipfile
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.core.audit import SYSTEM, Actor, record_audit
from app.core.errors import ValidationError
from app.core.loop import BackgroundLoop
from app.db import scoped, utcnow
from app.transfer.export import export_clinic
from app.transfer.importing import ImportRefused, import_export
from app.transfer.models import DONE, EXPORT, FAILED, IMPORT, QUEUED, RUNNING, TransferJob

log = logging.getLogger(__name__)
#: A running job whose heartbeat is older than this is taken to be orphaned (its process died).
STALE = timedelta(minutes=10)
ARCHIVE = "export.zip"
UPLOAD = "upload.zip"
CONTENT = "content"


def transfer_root() -> Path:
    """Where job folders live (TRANSFER_DIR)."""
    return Path(current_app.config["TRANSFER_DIR"])


def job_folder(root: Path, job: TransferJob) -> Path:
    """The job's own folder."""
    return root / f"clinic-{job.clinic_id}" / f"job-{job.id}"


def queue_export(session: Session, clinic_id: int, actor: Actor, actor_name: str,
                 patient_id: int | None = None) -> TransferJob:
    """Queue an export of the clinic (or one patient); audited."""
    job = TransferJob(clinic_id=clinic_id, kind=EXPORT, patient_id=patient_id, created_by_id=actor.user_id,
                      created_by_name=actor_name)
    session.add(job)
    session.flush()
    record_audit(session, actor, "transfer.export", clinic_id=clinic_id, entity_type="transfer_job",
                 entity_id=job.id, patient_id=patient_id, summary={"scope": "patient" if patient_id else "clinic"})
    return job


def queue_import(session: Session, clinic_id: int, actor: Actor, actor_name: str, archive: Any,
                 root: Path) -> TransferJob:
    """Keep an uploaded export (ZIP) and queue its import; refused at once when it is not a ZIP."""
    job = TransferJob(clinic_id=clinic_id, kind=IMPORT, created_by_id=actor.user_id, created_by_name=actor_name)
    session.add(job)
    session.flush()
    folder = job_folder(root, job)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / UPLOAD
    archive.save(path)
    if not zipfile.is_zipfile(path):
        shutil.rmtree(folder, ignore_errors=True)
        raise ValidationError("ZIPファイルではありません。書き出しの「ZIPでダウンロード」で得たファイルを"
                              "選んでください", field="archive")
    job.folder = str(folder.relative_to(root))
    record_audit(session, actor, "transfer.import", clinic_id=clinic_id, entity_type="transfer_job",
                 entity_id=job.id, summary={"file": str(getattr(archive, "filename", ""))[:100]})
    return job


def claim(session: Session) -> int | None:
    """Take the oldest queued (or orphaned) job for this process, or None."""
    now = utcnow()
    due = or_(TransferJob.state == QUEUED,
              (TransferJob.state == RUNNING) & (TransferJob.heartbeat_at < now - STALE))
    for job_id in session.scalars(select(TransferJob.id).where(due).order_by(TransferJob.id).limit(5)):
        taken = session.execute(update(TransferJob).where(TransferJob.id == job_id, due).values(
            state=RUNNING, started_at=now, heartbeat_at=now, done=0, error=""))
        session.commit()
        if taken.rowcount == 1:
            return job_id
    return None


def run_job(session_factory: Callable[[], Session], job_id: int, root: Path) -> None:
    """Run one claimed job to its end (done or failed, with the reason)."""
    with session_factory() as meta:
        job = meta.get(TransferJob, job_id)
        kind, clinic_id, patient_id = job.kind, job.clinic_id, job.patient_id
        folder = job_folder(root, job)
        actor = Actor(job.created_by_id, None, clinic_id) if job.created_by_id else None

    def progress(done: int, total: int) -> None:
        with session_factory() as side:
            side.execute(update(TransferJob).where(TransferJob.id == job_id).values(
                done=done, total=total, heartbeat_at=utcnow()))
            side.commit()

    try:
        with session_factory() as work:
            clinic = work.get(Clinic, clinic_id)
            if kind == EXPORT:
                content = folder / CONTENT
                shutil.rmtree(content, ignore_errors=True)
                result = export_clinic(work, clinic, content, patient_id=patient_id, actor=actor,
                                       request=f"/admin/transfer job {job_id}", progress=progress)
                work.commit()
                _zip(content, folder / ARCHIVE)
                summary, done = result.counts, result.patients
            else:
                content = _unpacked(folder)
                summary = import_export(work, clinic, content, progress)
                record_audit(work, actor or SYSTEM, "transfer.imported", clinic_id=clinic_id,
                             entity_type="transfer_job", entity_id=job_id, summary=summary)
                work.commit()
                done = summary.get("patient", 0)
        _finish(session_factory, job_id, DONE, summary=summary, done=done, folder=str(folder.relative_to(root)))
    except ImportRefused as exc:
        _finish(session_factory, job_id, FAILED, error="\n".join(exc.problems))
    except Exception as exc:  # noqa: BLE001 — a job that breaks is marked failed with its reason, never left running
        log.exception("transfer job %s failed", job_id)
        _finish(session_factory, job_id, FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])


def _finish(session_factory: Callable[[], Session], job_id: int, state: str, **values: Any) -> None:
    with session_factory() as side:
        job = side.get(TransferJob, job_id)
        job.state = state
        job.finished_at = utcnow()
        for name, value in values.items():
            setattr(job, name, value)
        if state == DONE:
            job.total = job.done
        side.commit()


def _zip(content: Path, target: Path) -> None:
    """The export as one ZIP (what an administrator downloads and another clinic uploads)."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for path in sorted(content.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(content).as_posix())


def _unpacked(folder: Path) -> Path:
    """An uploaded ZIP unpacked (names that would leave the folder are refused)."""
    content = folder / CONTENT
    shutil.rmtree(content, ignore_errors=True)
    content.mkdir(parents=True)
    try:
        with zipfile.ZipFile(folder / UPLOAD) as archive:
            for name in archive.namelist():
                target = (content / name).resolve()
                if not target.is_relative_to(content.resolve()):
                    raise ImportRefused([f"ZIP の中に不正なファイル名があります: {name}"])
            archive.extractall(content)
    except zipfile.BadZipFile as exc:
        raise ImportRefused(["ZIP が壊れています（途中で切れています）"]) from exc
    return content


def run_pending(session_factory: Callable[[], Session], root: Path) -> int:
    """Run every job waiting now, one after another (the worker's pass; tests). How many ran."""
    ran = 0
    while True:
        with session_factory() as session:
            job_id = claim(session)
        if job_id is None:
            return ran
        run_job(session_factory, job_id, root)
        ran += 1


def jobs_of(session: Session, clinic_id: int, limit: int = 20) -> list[TransferJob]:
    """The clinic's newest jobs."""
    return list(session.scalars(scoped(TransferJob, clinic_id).order_by(TransferJob.id.desc()).limit(limit)))


class TransferWorker(BackgroundLoop):
    """Runs queued export and import jobs (each pass: everything waiting, one job after another)."""

    thread_name, what = "transfer-worker", "transfer pass"

    def __init__(self, session_factory: Callable[[], Session], interval: float, root: Path) -> None:
        super().__init__(interval)
        self.pending = partial(run_pending, session_factory, root)

    def work(self) -> bool:
        """Run what is waiting; True when a job ran (more may have come meanwhile)."""
        return self.pending() > 0
