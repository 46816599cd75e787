"""An administrator exports the clinic on /admin/transfer (a background job, progress on the page, files to
download), another clinic's administrator imports the ZIP into their empty clinic, and an export of that clinic
equals the first (ids aside): every patient, profile item, diagnosis, prescription, result, note and document."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.core.models import AccessLogEntry
from app.fhir.kinds import KINDS
from app.transfer.export import export_clinic
from app.transfer.jobs import run_pending
from app.transfer.models import TransferJob
from tests.factories import make_clinic, make_user
from tests.transfer.canonical import canonical
from tests.transfer.world import build

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaves differently on SQLite: see tests/conftest.py

PAGE = "/admin/transfer"


def _run(app, root: Path) -> int:
    return run_pending(app.extensions["db_sessionmaker"], root)


def _export_zip(client, app, session, root: Path) -> tuple[TransferJob, bytes]:
    response = client.post(f"{PAGE}/export", {"scope": "clinic"}, form_page=PAGE)
    assert response.status_code == 302
    assert "待機中" in client.get(PAGE).get_data(as_text=True)
    assert _run(app, root) == 1
    job = session.scalars(select(TransferJob).order_by(TransferJob.id.desc())).first()
    session.refresh(job)
    assert job.state == "done", job.error
    html = client.get(PAGE).get_data(as_text=True)
    assert "完了" in html and "ZIPでダウンロード" in html and "Patient.ndjson" in html
    archive = client.get(f"{PAGE}/jobs/{job.id}/files/export.zip")
    assert archive.status_code == 200
    return job, archive.data


def test_export_import_export_compares_equal(client, app, session, tmp_path):
    root = tmp_path / "transfer"
    app.config["TRANSFER_DIR"] = str(root)
    world = build(session)
    client.login(world["admin"].login_id, world["admin"].totp_secret)
    job, data = _export_zip(client, app, session, root)

    manifest = client.get(f"{PAGE}/jobs/{job.id}/files/manifest.json").get_json()
    counts = {o["type"]: o["count"] for o in manifest["output"]}
    assert counts["Patient"] == 2 and counts["MedicationRequest"] == 2 and counts["DiagnosticReport"] == 1
    assert counts["Observation"] == 8  # vitals, blood type, infection, 障害, 要介護度, 妊娠, two lab results
    ours = manifest["extension"]["kamikarte"]
    assert {s["system"] for s in ours["localSystems"]} >= {
        "http://jpfhir.jp/fhir/clins/CodeSystem/JP_CLINS_ObsLabResult_LocalCode_CS",
        "http://kamikarte.jp/fhir/CodeSystem/profile-item"}
    assert all(len(f["sha256"]) == 64 for f in ours["files"])
    looked = session.scalar(select(func.count()).select_from(AccessLogEntry).where(
        AccessLogEntry.action == "export", AccessLogEntry.user_id == world["admin"].id))
    assert looked == 2  # every patient exported is in the access log

    target = make_clinic(session, institution_code="1310156789")
    other_admin = make_user(session, target, role="admin")
    session.commit()
    client.logout()
    client.login(other_admin.login_id, other_admin.totp_secret)
    response = client.post(f"{PAGE}/import", {"archive": (io.BytesIO(data), "export.zip")}, form_page=PAGE)
    assert response.status_code == 302
    assert _run(app, root) == 1
    html = client.get(PAGE).get_data(as_text=True)
    assert "完了" in html and "patient_diagnosis 1件" in html and "取り込みは患者のいない医療機関にだけ" in html

    first = tmp_path / "first"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(first)
    second = tmp_path / "second"
    session.expire_all()
    export_clinic(session, target, second)
    session.commit()
    a, b = canonical(first, "1310123458"), canonical(second, "1310156789")
    assert sorted(a) == sorted(b)
    for name in a:
        assert a[name] == b[name], name
    assert a["images"] and a["documents"]["count"] == 1
    tables = {json.loads(json.loads(line)["extension"][-1]["valueString"])["table"]
              for lines in (a[n] for n in a if n.endswith(".ndjson")) for line in lines
              if "kamikarte.jp/fhir/StructureDefinition/record" in line}
    assert tables == {k.model.__tablename__ for k in KINDS if k.primary}


def test_one_patient_export_holds_only_that_patient(client, app, session, tmp_path):
    root = tmp_path / "transfer"
    app.config["TRANSFER_DIR"] = str(root)
    world = build(session)
    client.login(world["admin"].login_id, world["admin"].totp_secret)
    refused = client.post(f"{PAGE}/export", {"scope": "patient", "orca_patient_id": "99999"}, form_page=PAGE,
                          follow_redirects=True).get_data(as_text=True)
    assert "患者番号 99999 の患者はいません" in refused
    client.post(f"{PAGE}/export", {"scope": "patient", "orca_patient_id": "00002"}, form_page=PAGE)
    _run(app, root)
    job = session.scalars(select(TransferJob)).one()
    session.refresh(job)
    assert job.state == "done" and job.patient_id == world["other"].id
    patients = client.get(f"{PAGE}/jobs/{job.id}/files/Patient.ndjson").get_data(as_text=True).splitlines()
    assert len(patients) == 1 and "佐藤" in patients[0]
