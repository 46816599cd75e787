"""The administrator connects the clinic to the 電子カルテ情報共有サービス and tests the connection: the test shows
the service's own answer, the token is sealed at rest and never written to the audit trail."""

from __future__ import annotations

import json

from sqlalchemy import select, text

from app.clinics.models import Clinic
from app.core.models import AuditEntry
from tests.factories import make_clinic, make_user

PAGE = "/admin/sharing"


def _admin(client, session, **clinic_fields):
    clinic = make_clinic(session, institution_code="1310123458", **clinic_fields)
    admin = make_user(session, clinic, role="admin")
    session.commit()
    client.login(admin.login_id, admin.totp_secret)
    return clinic


def test_admin_connects_and_the_test_shows_the_services_answer(client, session, sharing):
    clinic = _admin(client, session)
    html = client.post(PAGE, {"base_url": sharing.base_url("1310123458"), "institution_code": "1310123458",
                              "token": sharing.token("1310123458"), "action": "test"}, form_page=PAGE
                       ).get_data(as_text=True)
    assert "電子カルテ情報共有サービスに接続できました" in html
    assert "医療機関コード 1310123458 として認証しました" in html  # the CapabilityStatement's own words
    session.expire_all()
    saved = session.get(Clinic, clinic.id).integrations["sharing"]
    assert saved["token"] == "demo-sharing-a" and saved["institution_code"] == "1310123458"
    stored = session.execute(text("SELECT integrations FROM clinic WHERE id = :id"), {"id": clinic.id}).scalar_one()
    assert "demo-sharing-a" not in str(stored)  # sealed at rest
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "clinic.sharing_settings")).one()
    assert "demo-sharing-a" not in json.dumps(entry.summary, ensure_ascii=False)


def test_a_wrong_token_shows_the_services_refusal(client, session, sharing):
    _admin(client, session)
    html = client.post(PAGE, {"base_url": sharing.base_url("1310123458"), "token": "wrong", "action": "test"},
                       form_page=PAGE).get_data(as_text=True)
    assert "認証に失敗しました" in html and "接続できました" not in html


def test_a_service_that_is_down_is_reported(client, session, sharing):
    _admin(client, session)
    sharing.set_fault("down")
    html = client.post(PAGE, {"base_url": sharing.base_url("1310123458"), "token": sharing.token("1310123458"),
                              "action": "test"}, form_page=PAGE).get_data(as_text=True)
    assert "サービス停止中です" in html


def test_an_unreadable_client_certificate_is_named(client, session, sharing):
    _admin(client, session)
    html = client.post(PAGE, {"base_url": sharing.base_url("1310123458"), "client_cert": "/nonexistent/c.pem",
                              "client_key": "/nonexistent/k.pem", "action": "test"}, form_page=PAGE
                       ).get_data(as_text=True)
    assert "クライアント証明書または秘密鍵のファイルを読めません" in html


def test_blank_token_keeps_the_current_one(client, session):
    clinic = _admin(client, session, integrations={"sharing": {"base_url": "https://s.example.jp/fhir",
                                                               "token": "kept-secret"}})
    client.post(PAGE, {"base_url": "https://s.example.jp/fhir", "token": ""}, form_page=PAGE)
    session.expire_all()
    assert session.get(Clinic, clinic.id).integrations["sharing"]["token"] == "kept-secret"


def test_bad_input_is_refused_in_japanese(client, session):
    clinic = _admin(client, session)
    html = client.post(PAGE, {"base_url": "http://sharing.example.jp/fhir", "token": "t"},
                       form_page=PAGE).get_data(as_text=True)
    assert "https://" in html and "暗号化" in html
    html = client.post(PAGE, {"base_url": "https://sharing.example.jp/fhir", "institution_code": "13101",
                              "token": "t"}, form_page=PAGE).get_data(as_text=True)
    assert "医療機関コードは10桁の数字で入力してください" in html
    html = client.post(PAGE, {"base_url": "https://sharing.example.jp/fhir"}, form_page=PAGE).get_data(as_text=True)
    assert "アクセストークンかクライアント証明書のどちらかを指定してください" in html
    session.expire_all()
    assert "sharing" not in (session.get(Clinic, clinic.id).integrations or {})


def test_only_administrators_see_the_screen(client, session):
    clinic = make_clinic(session)
    doctor = make_user(session, clinic, role="doctor")
    session.commit()
    client.login(doctor.login_id, doctor.totp_secret)
    assert client.get(PAGE).status_code == 403
