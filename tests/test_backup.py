"""The restore drill (`flask backup` / `flask restore`) on both databases: seed, back up, wipe everything (the database
and the PACS), restore — the audit chain verifies and every patient, referral letter, key image and outbox message is
back by id, with every image in the PACS. A damaged backup (one byte flipped) and a partial one (a file missing) are
refused, naming the problem, and change nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from app.cli import upgrade_database
from app.core.audit import Actor, iter_chain_breaks, record_audit
from app.core.models import AuditEntry
from app.db import utcnow
from app.documents.models import ReferralLetter
from app.imaging.models import KeyImage
from app.outbox.models import OutboxMessage
from app.outbox.services import enqueue
from app.patients.models import Patient
from tests.factories import make_clinic, make_patient, make_user
from tests.imaging.pacs_data import new_patient_id, upload_study
from tests.imaging.world import configure

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaves differently on SQLite: see tests/conftest.py


@pytest.fixture(scope="module")
def own_orthanc():
    """An Orthanc of the drill's own (it is wiped), or None when Orthanc is not installed here."""
    from app.integrations.pacs.orthanc_process import orthanc_missing_reason, start_orthanc

    if orthanc_missing_reason():
        yield None
        return
    server = start_orthanc()
    yield server
    server.stop()


def _seed(session, orthanc) -> dict:
    clinic, other = make_clinic(session), make_clinic(session)
    doctor = make_user(session, clinic, "doctor")
    actor = Actor(user_id=doctor.id, login_id=doctor.login_id, clinic_id=clinic.id, role="doctor")
    patients = [make_patient(session, clinic) for _ in range(3)] + [make_patient(session, other)]
    for patient in patients[:3]:
        record_audit(session, actor, "patient.view_test", clinic_id=clinic.id, entity_type="patient",
                     entity_id=patient.id, patient_id=patient.id)
    for n in range(2):
        letter = ReferralLetter(clinic_id=clinic.id, patient_id=patients[n].id, author_name="医師",
                                written_on=utcnow().date(), to_institution=f"みなと総合病院{n}", purpose="精査")
        session.add(letter)
        session.flush()
        record_audit(session, actor, "letter.create", clinic_id=clinic.id, entity_type="referral_letter",
                     entity_id=letter.id, patient_id=letter.patient_id)
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    image = KeyImage(clinic_id=clinic.id, patient_id=patients[0].id, study_uid="1.2.3", series_uid="1.2.3.1",
                     instance_uid="1.2.3.1.1", frame=1, caption="右下葉結節", image_bytes=png,
                     image_sha256=hashlib.sha256(png).hexdigest(), recorded_at=utcnow())
    session.add(image)
    session.flush()
    image.lineage_id = image.id
    for n, patient in enumerate(patients[:2]):
        enqueue(session, clinic_id=clinic.id, kind="orca.reception", payload={"n": n}, patient_id=patient.id,
                idempotency_key=f"drill:{n}")
    studies = 0
    if orthanc is not None:
        configure(session, clinic, orthanc)
        upload_study(orthanc, new_patient_id())
        studies = len(requests.get(f"{orthanc.url}/instances", auth=orthanc.auth, timeout=10).json())
    session.commit()
    return _snapshot(session) | {"instances": studies}


def _snapshot(session) -> dict:
    return {
        "patients": sorted(session.scalars(select(Patient.id))),
        "letters": sorted(session.scalars(select(ReferralLetter.id))),
        "key_images": sorted(session.execute(select(KeyImage.id, KeyImage.image_sha256)).all()),
        "outbox": sorted(session.execute(select(OutboxMessage.id, OutboxMessage.idempotency_key)).all()),
        "audit": sorted(session.scalars(select(AuditEntry.entry_hash))),
    }


def _wipe(app, backend: str, database_url: str, orthanc) -> None:
    app.extensions["db_engine"].dispose()
    if backend == "postgresql":
        engine = create_engine(database_url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        path = Path(make_url(database_url).database)
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
    if orthanc is not None:
        for orthanc_id in requests.get(f"{orthanc.url}/instances", auth=orthanc.auth, timeout=10).json():
            requests.delete(f"{orthanc.url}/instances/{orthanc_id}", auth=orthanc.auth, timeout=10)


def _cli(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def test_restore_drill_brings_everything_back(app, session, backend, database_url, own_orthanc, tmp_path):
    before = _seed(session, own_orthanc)
    session.close()
    result = _cli(app, "backup", str(tmp_path / "b"))
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["database"]["dialect"] == backend and manifest["database"]["schema_heads"]
    assert manifest["database"]["row_counts"]["patient"] == 4
    assert all(len(f["sha256"]) == 64 and f["size"] > 0 for f in manifest["files"])
    if own_orthanc is not None:
        assert manifest["pacs"][0]["instances"] == before["instances"] > 0

    _wipe(app, backend, database_url, own_orthanc)
    try:
        result = _cli(app, "restore", str(tmp_path / "b"), "--yes")
        assert result.exit_code == 0, result.output
        assert "監査証跡検証済み" in result.output
    finally:
        upgrade_database(database_url)  # a failed drill leaves a usable schema for the tests after it
    with app.extensions["db_sessionmaker"]() as fresh:
        assert _snapshot(fresh) == {k: v for k, v in before.items() if k != "instances"}
        assert list(iter_chain_breaks(fresh)) == []
        image = fresh.scalar(select(KeyImage))
        assert hashlib.sha256(image.image_bytes).hexdigest() == image.image_sha256
    if own_orthanc is not None:
        back = requests.get(f"{own_orthanc.url}/instances", auth=own_orthanc.auth, timeout=10).json()
        assert len(back) == before["instances"]
    assert _cli(app, "audit", "verify").exit_code == 0


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["flipped_database", "missing_file", "missing_manifest", "edited_manifest"])
def test_a_damaged_or_partial_backup_is_refused_and_nothing_changes(app, session, backend, tmp_path, damage):
    clinic = make_clinic(session)
    make_patient(session, clinic)
    session.commit()
    assert _cli(app, "backup", str(tmp_path / "b"), "--without-pacs").exit_code == 0
    later = make_patient(session, clinic, name="復元 されない")  # made after the backup: a restore would drop it
    session.commit()
    manifest_path = tmp_path / "b" / "manifest.json"
    database_file = tmp_path / "b" / json.loads(manifest_path.read_text(encoding="utf-8"))["files"][0]["path"]
    expected = {"flipped_database": f"ファイル {database_file.name} が壊れています",
                "missing_file": f"ファイル {database_file.name} がありません",
                "missing_manifest": "manifest.json がありません",
                "edited_manifest": "manifest.json が壊れています"}[damage]
    if damage == "flipped_database":
        _flip_byte(database_file)
    elif damage == "missing_file":
        database_file.unlink()
    elif damage == "missing_manifest":
        manifest_path.unlink()
    else:
        manifest_path.write_text(manifest_path.read_text(encoding="utf-8").replace('"size": ', '"size": 1'),
                                 encoding="utf-8")
    result = _cli(app, "restore", str(tmp_path / "b"), "--yes")
    assert result.exit_code == 1
    assert "何も変更していません" in result.output and expected in result.output, result.output
    with app.extensions["db_sessionmaker"]() as fresh:
        assert fresh.get(Patient, later.id) is not None


def test_a_backup_goes_only_into_an_empty_directory(app, tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "other.txt").write_text("x", encoding="utf-8")
    result = _cli(app, "backup", str(tmp_path / "b"))
    assert result.exit_code == 1 and "空ではありません" in result.output
