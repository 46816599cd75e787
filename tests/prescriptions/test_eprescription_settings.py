"""The administrator connects the clinic to the 電子処方箋管理サービス through its 資格確認端末 and tests it: the
service's own answer is shown, the token is sealed at rest and kept out of the audit trail, bad values are refused
in Japanese, and only an administrator may do it."""

from __future__ import annotations

import json

from sqlalchemy import select, text

from app.clinics.models import Clinic
from app.core.models import AuditEntry
from tests.factories import make_clinic, make_user

CLINIC = "1310123458"
PAGE = "/clinic/eprescription"


def _admin(session, client, **clinic):
    clinic = make_clinic(session, institution_code=CLINIC, **clinic)
    admin = make_user(session, clinic, role="admin")
    session.commit()
    client.login(admin.login_id, admin.totp_secret)
    return clinic


def test_admin_connects_and_the_test_shows_the_services_answer(client, session, eprescription):
    clinic = _admin(session, client)
    assert "電子処方箋接続" in client.get(PAGE).get_data(as_text=True)
    html = client.post(PAGE, {"base_url": eprescription.base_url(CLINIC), "token": eprescription.token(CLINIC),
                              "signer": "test", "signer_command": "", "action": "test"},
                       form_page=PAGE).get_data(as_text=True)
    assert "電子処方箋管理サービスが応答しました: SIMP0003E 該当する処方箋がありません。" in html
    session.expire_all()
    saved = session.get(Clinic, clinic.id).integrations
    assert saved["eprescription"] == {"signer": "test", "signer_command": "", "remote_url": ""}
    # The 資格確認端末 connection is the clinic's one, shared with オンライン資格確認's histories.
    assert saved["national_gateway"] == {"url": eprescription.base_url(CLINIC), "token": eprescription.token(CLINIC)}
    raw = session.execute(text("SELECT integrations FROM clinic WHERE id = :id"), {"id": clinic.id}).scalar_one()
    raw = raw if isinstance(raw, str) else json.dumps(raw)
    assert eprescription.token(CLINIC) not in raw and "enc:v1:" in raw  # sealed at rest
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "clinic.eprescription_settings")).one()
    assert eprescription.token(CLINIC) not in json.dumps(entry.summary, ensure_ascii=False)


def test_a_wrong_token_and_a_terminal_that_is_down_are_said_in_japanese(client, session, eprescription):
    _admin(session, client)
    html = client.post(PAGE, {"base_url": eprescription.base_url(CLINIC), "token": "wrong", "signer": "",
                              "action": "test"}, form_page=PAGE).get_data(as_text=True)
    assert "認証に失敗しました" in html
    eprescription.set_fault("down")
    html = client.post(PAGE, {"base_url": eprescription.base_url(CLINIC), "token": eprescription.token(CLINIC),
                              "signer": "", "action": "test"}, form_page=PAGE).get_data(as_text=True)
    assert "HTTP 503" in html


def test_bad_values_are_refused(client, session):
    _admin(session, client)
    html = client.post(PAGE, {"base_url": "http://relay.example.jp", "signer": ""}, form_page=PAGE
                       ).get_data(as_text=True)
    assert "https://" in html and "暗号化" in html
    html = client.post(PAGE, {"base_url": "file:///mnt/oqs", "signer": "command", "signer_command": "sign.sh"},
                       form_page=PAGE).get_data(as_text=True)
    assert "絶対パス" in html
    html = client.post(PAGE, {"base_url": "file:///mnt/oqs", "signer": "remote", "remote_url": ""},
                       form_page=PAGE).get_data(as_text=True)
    assert "リモート署名サービスのURLを入力してください" in html
    html = client.post(PAGE, {"base_url": "file:///mnt/oqs", "signer": "remote", "remote_url": "http://sign.example.jp"},
                       form_page=PAGE).get_data(as_text=True)
    assert "https://" in html
    assert client.post(PAGE, {"base_url": "file:///mnt/oqs", "signer": "nope"}, form_page=PAGE).status_code == 200


def test_only_an_administrator(client, session):
    clinic = make_clinic(session, institution_code=CLINIC)
    doctor = make_user(session, clinic, role="doctor")
    session.commit()
    client.login(doctor.login_id, doctor.totp_secret)
    assert client.get(PAGE).status_code == 403
