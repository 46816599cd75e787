"""The bulk export: a clinic (or one patient) as FHIR NDJSON in the Bulk Data layout — one file per resource type,
the referral letters' PDFs under documents/, the key images under images/, and manifest.json listing the files
with their counts and SHA-256 and every local code system used (docs/standards/fhir-bulk-data.md).

Streamed: patients are read a batch at a time (their records with them, a few queries a kind) and written out at
once; the session is emptied after each batch, so memory stays flat whatever the clinic's size."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.core.audit import Actor
from app.core.models import AccessLogEntry
from app.db import utcnow
from app.documents.models import ReferralLetter
from app.documents.printing import letter_pdf
from app.fhir.kinds import KINDS, Kind, load_env, options_for, rid
from app.fhir.records import with_record
from app.imaging.models import KeyImage
from app.patients.models import Patient
from app.sharing.fhir import systems as S
from app.sharing.sources import key_images_by_id

#: Patients per batch: the records of this many are in memory at once.
BATCH = 200
MANIFEST = "manifest.json"
FORMAT_VERSION = 1
#: Code systems of our own or a lab's own, with what they are (listed in the manifest when used).
LOCAL_SYSTEMS = {
    S.LAB_LOCAL: "検査会社・院内の検査項目コード（JLAC10 があれば併記）",
    S.PROFILE_ITEM: "Kamikarte のプロフィール項目の種類（血液型・既往歴・障害・要介護度・妊娠授乳）",
    S.DOCUMENT_KIND: "Kamikarte の文書の種類（経過記録・キー画像）",
    S.RECORD_EXTENSION: "Kamikarte の記録全体（FHIR に要素のない列。Kamikarte への取り込みに使う拡張）",
    S.DRUG_NOCODED: "標準コードのない医薬品（JP-CLINS の NOCODED）",
}
IMAGE_SUFFIX = {"image/png": ".png", "image/jpeg": ".jpg"}


class _HashedFile:
    """A file written once, its SHA-256 and size kept as it is written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: IO[bytes] = path.open("wb")
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.count = 0

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.sha256.update(data)
        self.size += len(data)

    def close(self) -> None:
        self.handle.close()


@dataclass
class ExportResult:
    """What an export wrote."""

    folder: Path
    manifest: dict[str, Any]
    patients: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def image_path(resource_id: str, media_type: str) -> str:
    """Where a key image goes inside an export."""
    return f"images/{resource_id}{IMAGE_SUFFIX.get(media_type, '.bin')}"


def _file_url(resource_id: str, row: Any) -> str:
    if isinstance(row, KeyImage):
        return image_path(resource_id, row.media_type)
    return f"documents/{resource_id}.pdf"


def _rows(session: Session, kind: Kind, clinic_id: int, patient_ids: list[int]) -> list[Any]:
    model = kind.model
    key = model.id if model is Patient else model.patient_id
    return list(session.scalars(select(model).where(model.clinic_id == clinic_id, key.in_(patient_ids))
                                .order_by(model.id).options(*options_for(kind))))


def export_clinic(session: Session, clinic: Any, folder: Path, *, patient_id: int | None = None,
                  actor: Actor | None = None, request: str = "",
                  progress: Callable[[int, int], None] | None = None) -> ExportResult:
    """Write the clinic's (or one patient's) records into `folder` (created; must be empty). Every patient
    exported is in the access log under `actor` when a staff member asked for it; the session is committed after
    each batch (those entries), so a progress callback may write from another connection."""
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise FileExistsError(f"{folder} is not empty")
    (folder / "documents").mkdir()
    (folder / "images").mkdir()
    where = [Patient.clinic_id == clinic.id] + ([Patient.id == patient_id] if patient_id else [])
    total = session.scalar(select(func.count()).select_from(Patient).where(*where)) or 0
    started = datetime.now(UTC)
    writers: dict[str, _HashedFile] = {}
    files: list[dict[str, Any]] = []
    used: set[str] = set()
    done, last_id = 0, 0
    while True:
        ids = list(session.scalars(select(Patient.id).where(*where, Patient.id > last_id).order_by(Patient.id)
                                   .limit(BATCH)))
        if not ids:
            break
        batch = {kind.prefix: _rows(session, kind, clinic.id, ids) for kind in KINDS}
        env = load_env(session, clinic, [r for rows in batch.values() for r in rows], _file_url)
        for kind in KINDS:
            for row in batch[kind.prefix]:
                for resource in with_record(kind, row, kind.build(row, env)):
                    _write(folder, writers, resource, used)
                if kind.primary and isinstance(row, KeyImage | ReferralLetter):
                    files.append(_write_file(session, folder, clinic, env, kind, row))
        if actor is not None and actor.user_id is not None:
            session.execute(insert(AccessLogEntry), [
                {"clinic_id": clinic.id, "user_id": actor.user_id, "patient_id": pid, "action": "export",
                 "resource": "FHIR一括書き出し", "ip_address": actor.ip_address, "accessed_at": utcnow()}
                for pid in ids])
        done += len(ids)
        last_id = ids[-1]
        session.commit()  # the batch's access-log rows; the progress is written by another connection
        clinic_id = clinic.id
        session.expunge_all()  # the batch leaves memory
        clinic = session.get(Clinic, clinic_id)
        if progress is not None:
            progress(done, total)
    for writer in writers.values():
        writer.close()
    manifest = _manifest(clinic, started, request, writers, files, used, patient_id)
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return ExportResult(folder, manifest, done, {t: w.count for t, w in writers.items()})


def _write(folder: Path, writers: dict[str, _HashedFile], resource: dict[str, Any], used: set[str]) -> None:
    kind = resource["resourceType"]
    if kind not in writers:
        writers[kind] = _HashedFile(folder / f"{kind}.ndjson")
    line = json.dumps(resource, ensure_ascii=False, separators=(",", ":"))
    used.update(system for system in LOCAL_SYSTEMS if system in line)
    writers[kind].write(line.encode() + b"\n")
    writers[kind].count += 1


def _write_file(session: Session, folder: Path, clinic: Any, env: Any, kind: Kind, row: Any) -> dict[str, Any]:
    """A key image's stored bytes, or a referral letter rendered as PDF (with the images it attached)."""
    resource_id = rid(kind.prefix, row.id)
    path = _file_url(resource_id, row)
    if isinstance(row, KeyImage):
        data = row.image_bytes
    else:
        images = key_images_by_id(session, clinic.id, row.patient_id, list(row.key_image_ids or []))
        data = letter_pdf(row, env.patients[row.patient_id], clinic, images=images)
    (folder / path).write_bytes(data)
    return {"path": path, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _manifest(clinic: Any, started: datetime, request: str, writers: dict[str, _HashedFile],
              files: list[dict[str, Any]], used: set[str], patient_id: int | None) -> dict[str, Any]:
    """The Bulk Data manifest (transactionTime, request, requiresAccessToken, output, error) and, in its
    `extension`, what Kamikarte checks on import: every file's size and SHA-256, the local code systems."""
    ndjson = [{"path": f"{kind}.ndjson", "bytes": w.size, "sha256": w.sha256.hexdigest()}
              for kind, w in writers.items()]
    return {
        "transactionTime": started.isoformat(timespec="seconds"),
        "request": request or f"Kamikarte export of clinic {clinic.institution_code}",
        "requiresAccessToken": True,
        "output": [{"type": kind, "url": f"{kind}.ndjson", "count": w.count} for kind, w in writers.items()],
        "error": [],
        "extension": {"kamikarte": {
            "format": FORMAT_VERSION, "institutionCode": clinic.institution_code, "clinicName": clinic.name,
            "scope": "patient" if patient_id else "clinic",
            "files": ndjson + files,
            "localSystems": [{"system": s, "description": LOCAL_SYSTEMS[s]} for s in LOCAL_SYSTEMS if s in used],
        }},
    }
