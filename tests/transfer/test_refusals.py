"""Every exported resource is valid FHIR R4 on its JP Core profile; an export cut short or changed is refused
whole (nothing written), also through the command line; the commands work end to end."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import func, select

from app.patients.models import Patient
from app.sharing.fhir.validation import resource_problems
from app.transfer.export import export_clinic
from app.transfer.importing import ImportRefused, import_export
from tests.factories import make_clinic
from tests.transfer.world import build

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaves differently on SQLite: see tests/conftest.py


def _export(session, tmp_path):
    world = build(session)
    folder = tmp_path / "export"
    export_clinic(session, world["clinic"], folder)
    session.commit()
    return world, folder


def _patients(session, clinic) -> int:
    return session.scalar(select(func.count()).select_from(Patient).where(Patient.clinic_id == clinic.id))


def test_every_exported_resource_is_valid_fhir_on_its_profile(session, tmp_path):
    _world, folder = _export(session, tmp_path)
    checked = 0
    for path in folder.glob("*.ndjson"):
        for line in path.read_text(encoding="utf-8").splitlines():
            resource = json.loads(line)
            assert resource_problems(resource) == [], (path.name, resource["id"])
            assert resource["meta"]["profile"][0].startswith("http://jpfhir.jp/fhir/")
            checked += 1
    assert checked > 20


def test_a_tampered_or_truncated_export_is_refused_whole(session, tmp_path):
    _world, folder = _export(session, tmp_path)
    target = make_clinic(session, institution_code="1310156789")
    session.commit()
    conditions = folder / "Condition.ndjson"
    original = conditions.read_bytes()
    conditions.write_bytes(original.replace("高血圧症".encode(), "低血圧症".encode()))
    try:
        import_export(session, target, folder)
        raise AssertionError("a tampered export was imported")
    except ImportRefused as refused:
        assert any("Condition.ndjson: SHA-256 が manifest と違います" in p for p in refused.problems)
    conditions.write_bytes(original[: len(original) // 2])
    try:
        import_export(session, target, folder)
        raise AssertionError("a truncated export was imported")
    except ImportRefused as refused:
        assert any("途中で切れています" in p for p in refused.problems)
    session.rollback()
    assert _patients(session, target) == 0


def test_a_record_that_cannot_be_read_back_writes_nothing(session, tmp_path):
    _world, folder = _export(session, tmp_path)
    target = make_clinic(session, institution_code="1310156789")
    session.commit()
    # A consistent export (manifest rewritten) whose last file names a patient that is not in it.
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    path = folder / "MedicationRequest.ndjson"
    text = path.read_text(encoding="utf-8").replace('"Patient/pt-', '"Patient/pt-9')
    path.write_text(text, encoding="utf-8")
    for entry in manifest["extension"]["kamikarte"]["files"]:
        if entry["path"] == path.name:
            entry["bytes"], entry["sha256"] = path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    try:
        import_export(session, target, folder)
        raise AssertionError("imported")
    except ImportRefused as refused:
        assert "参照先" in refused.problems[0]
    session.commit()
    assert _patients(session, target) == 0  # the patients read before the broken record are gone too


def test_cli_export_and_import(app, session, tmp_path):
    world = build(session)
    target = make_clinic(session, institution_code="1310156789")
    session.commit()
    runner = app.test_cli_runner()
    out = tmp_path / "cli-export"
    result = runner.invoke(args=["export", "--clinic", world["clinic"].institution_code, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Patient.ndjson: 2" in result.output and (out / "manifest.json").is_file()
    one = runner.invoke(args=["export", "--clinic", world["clinic"].institution_code, "--patient", "00002",
                              "--out", str(tmp_path / "one")])
    assert one.exit_code == 0 and "Patient.ndjson: 1" in one.output, one.output
    unknown = runner.invoke(args=["export", "--clinic", world["clinic"].institution_code, "--patient", "77777",
                                  "--out", str(tmp_path / "none")])
    assert unknown.exit_code == 2 and "患者番号 77777 の患者はいません" in unknown.output
    refused = runner.invoke(args=["import", "--clinic", world["clinic"].institution_code, str(out)])
    assert refused.exit_code == 1 and "すでに患者がいます" in refused.output
    done = runner.invoke(args=["import", "--clinic", "1310156789", str(out)])
    assert done.exit_code == 0, done.output
    session.expire_all()
    assert _patients(session, target) == 2
    (out / "Patient.ndjson").write_text("", encoding="utf-8")
    again = make_clinic(session, institution_code="1310000009")
    session.commit()
    broken = runner.invoke(args=["import", "--clinic", again.institution_code, str(out)])
    assert broken.exit_code == 1 and "何も書き込んでいません" in broken.output, broken.output
    assert _patients(session, again) == 0
