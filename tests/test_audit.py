"""The audit trail's hash chain, its append-only guard in the database, the access log, the review screens."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from app.core.audit import SYSTEM, iter_chain_breaks, record_audit
from app.core.models import AccessLogEntry, AuditEntry
from tests.factories import make_clinic, make_patient, make_user

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaves differently on SQLite: see tests/conftest.py


def test_chain_links_each_entry_to_the_previous_one_of_its_clinic(session):
    clinic = make_clinic(session)
    first = record_audit(session, SYSTEM, "test.one", clinic_id=clinic.id)
    second = record_audit(session, SYSTEM, "test.two", clinic_id=clinic.id, summary={"after": {"x": "髙橋"}})
    session.commit()
    assert first.prev_hash == "" and second.prev_hash == first.entry_hash
    assert list(iter_chain_breaks(session)) == []


def test_tampering_is_detected_and_the_first_broken_link_named(app, session, backend):
    clinic = make_clinic(session)
    entries = [record_audit(session, SYSTEM, f"test.{i}", clinic_id=clinic.id) for i in range(5)]
    session.commit()
    target = entries[2].id
    # An attacker with database access bypasses the guard (here: dropping the trigger) and edits a row.
    with session.bind.begin() as conn:
        if backend == "sqlite":
            conn.execute(text("DROP TRIGGER audit_entry_no_update"))
        else:
            conn.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_no_update"))
        conn.execute(update(AuditEntry).where(AuditEntry.id == target).values(action="test.forged"))
    try:
        session.expire_all()
        breaks = list(iter_chain_breaks(session))
        assert [b.entry_id for b in breaks] == [target]
        result = app.test_cli_runner().invoke(args=["audit", "verify"])
        assert result.exit_code == 1
        assert f"#{target}" in result.output
    finally:
        if backend == "postgresql":  # the schema is shared by the whole run: put the guard back
            with session.bind.begin() as conn:
                conn.execute(text("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_no_update"))


def test_audit_verify_passes_on_an_intact_chain(app, session):
    clinic = make_clinic(session)
    for i in range(3):
        record_audit(session, SYSTEM, f"test.{i}", clinic_id=clinic.id)
    session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "正常" in result.output


@pytest.mark.parametrize("statement", [
    "UPDATE audit_entry SET action = 'x'",
    "DELETE FROM audit_entry",
    "UPDATE access_log SET action = 'x'",
    "DELETE FROM access_log",
])
def test_logs_cannot_be_changed_or_deleted_in_the_database(session, statement):
    clinic = make_clinic(session)
    user = make_user(session, clinic)
    record_audit(session, SYSTEM, "test.row", clinic_id=clinic.id)
    session.add(AccessLogEntry(clinic_id=clinic.id, user_id=user.id, patient_id=None, action="view", resource="x"))
    session.commit()
    with pytest.raises(DBAPIError):
        session.execute(text(statement))
        session.flush()
    session.rollback()


def test_patient_page_view_writes_access_log(client, session):
    clinic = make_clinic(session)
    user = make_user(session, clinic, role="nurse")
    patient = make_patient(session, clinic)
    session.commit()
    client.login(user.login_id, user.totp_secret)
    assert client.get(f"/patients/{patient.id}").status_code == 200
    entry = session.scalars(select(AccessLogEntry).where(AccessLogEntry.patient_id == patient.id)).one()
    assert entry.user_id == user.id and entry.action == "view" and entry.ip_address == "127.0.0.1"


def test_admin_filters_logs_by_patient_and_exports_csv(client, session):
    clinic = make_clinic(session)
    admin = make_user(session, clinic, role="admin")
    nurse = make_user(session, clinic, role="nurse", display_name="看護 次郎")
    patient = make_patient(session, clinic)
    other = make_patient(session, clinic, name="別人 花子", kana="ベツジン ハナコ")
    session.commit()
    client.login(nurse.login_id, nurse.totp_secret)
    client.get(f"/patients/{patient.id}")
    client.get(f"/patients/{other.id}")
    client.raw.delete_cookie("kamikarte_session")
    client.login(admin.login_id, admin.totp_secret)
    page = client.get(f"/admin/audit?tab=access&patient_id={patient.id}").get_data(as_text=True)
    assert "看護 次郎" in page and f"/patients/{patient.id}" in page and f"/patients/{other.id}" not in page
    csv_response = client.get(f"/admin/access-log.csv?patient_id={patient.id}&user_id={nurse.id}")
    assert csv_response.mimetype == "text/csv"
    body = csv_response.get_data(as_text=True)
    assert body.startswith("\ufeff") and "看護 次郎" in body and "patient.page" in body
    assert len(body.strip().splitlines()) == 2  # header + the one look at this patient
    audit_csv = client.get("/admin/audit.csv").get_data(as_text=True)
    assert "auth.login" in audit_csv


def test_audit_filter_accepts_wareki_dates_and_reports_bad_ones(client, session):
    clinic = make_clinic(session)
    admin = make_user(session, clinic, role="admin")
    session.commit()
    client.login(admin.login_id, admin.totp_secret)
    assert client.get("/admin/audit?date_from=R8.11.1").status_code == 200
    page = client.get("/admin/audit?date_from=2026-13-45").get_data(as_text=True)
    assert "開始日" in page and 'class="error"' in page
