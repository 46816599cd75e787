"""The administrator connects the clinic to its WebORCA and tests the connection."""

from __future__ import annotations

import json

from sqlalchemy import select

from app.clinics.models import Clinic
from app.core.models import AuditEntry
from tests.factories import make_clinic, make_user


def test_admin_connects_to_orca_and_the_test_says_so(client, session, orca):
    clinic = make_clinic(session, institution_code="1310123458")
    admin = make_user(session, clinic, role="admin")
    session.commit()
    client.login(admin.login_id, admin.totp_secret)
    response = client.post("/admin/orca", {"base_url": orca.base_url("1310123458"), "user": "ormaster-a",
                                           "password": "orca-demo-a", "verify_tls": "y", "action": "test"},
                           form_page="/admin/orca")
    html = response.get_data(as_text=True)
    assert "ORCAに接続できました（診療科: 内科）" in html
    session.expire_all()
    saved = session.get(Clinic, clinic.id).integrations["orca"]
    assert saved["password"] == "orca-demo-a" and saved["verify"] is True
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "clinic.orca_settings")).one()
    assert "orca-demo-a" not in json.dumps(entry.summary, ensure_ascii=False)


def test_wrong_password_is_reported_in_japanese(client, session, orca):
    clinic = make_clinic(session, institution_code="1310123458")
    admin = make_user(session, clinic, role="admin")
    session.commit()
    client.login(admin.login_id, admin.totp_secret)
    html = client.post("/admin/orca", {"base_url": orca.base_url("1310123458"), "user": "ormaster-a",
                                       "password": "wrong", "action": "test"}, form_page="/admin/orca"
                       ).get_data(as_text=True)
    assert "認証に失敗しました" in html


def test_blank_password_keeps_the_current_one(client, session, orca):
    clinic = make_clinic(session, integrations={"orca": {"base_url": "", "user": "u", "password": "kept-secret"}})
    admin = make_user(session, clinic, role="admin")
    session.commit()
    client.login(admin.login_id, admin.totp_secret)
    client.post("/admin/orca", {"base_url": "https://orca.example.jp/api", "user": "u", "password": ""},
                form_page="/admin/orca")
    session.expire_all()
    assert session.get(Clinic, clinic.id).integrations["orca"]["password"] == "kept-secret"


def test_plain_http_to_a_remote_orca_is_refused(client, session):
    clinic = make_clinic(session)
    admin = make_user(session, clinic, role="admin")
    session.commit()
    client.login(admin.login_id, admin.totp_secret)
    html = client.post("/admin/orca", {"base_url": "http://orca.example.jp/api", "user": "u"},
                       form_page="/admin/orca").get_data(as_text=True)
    assert "https://" in html and "暗号化" in html
