"""The administrator's screen of partner applications through HTTP: register with scopes, the secret shown once and
usable at once, rotate, revoke, deactivate, webhooks — every change audited; other roles cannot reach it."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.core.models import AuditEntry
from app.partners.models import PartnerApp
from tests.factories import make_user
from tests.partners.helpers import basic_auth, bearer, register_partner, token_for


def _shown(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">([^<]+)<', html)
    assert match, f"{element_id} not shown"
    return match.group(1).strip()


def _token(client, client_id: str, secret: str):
    return client.raw.post("/oauth/token", data={"grant_type": "client_credentials"},
                           headers=basic_auth(client_id, secret))


def test_register_use_rotate_revoke_deactivate(client, session, partner_clinic):
    clinic, patient = partner_clinic
    admin = make_user(session, clinic, role="admin")
    session.commit()
    client.login(admin.login_id, admin.totp_secret)
    page = client.get("/admin/partners")
    assert page.status_code == 200 and "連携アプリケーション" in page.get_data(as_text=True)
    response = client.post("/admin/partners", {"name": "Web予約", "rate_limit_per_minute": "120",
                                               "scopes": ["patient.read", "reception.write"]})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "一度だけ表示" in html
    client_id, secret = _shown(html, "client-id"), _shown(html, "client-secret")
    assert _shown(html, "webhook-secret")
    app_row = session.scalar(select(PartnerApp).where(PartnerApp.client_id == client_id))
    assert app_row.scopes == ["reception.write", "patient.read"]  # in the registry's order
    assert app_row.rate_limit_per_minute == 120
    token = _token(client, client_id, secret).json["access_token"]
    assert client.raw.get(f"/api/patients/{patient.id}", headers=bearer(token)).status_code == 200
    detail = client.get(f"/admin/partners/{app_row.id}").get_data(as_text=True)
    assert client_id in detail and secret not in detail  # shown once, never again

    rotated = client.post(f"/admin/partners/{app_row.id}/rotate", {}, form_page=f"/admin/partners/{app_row.id}")
    new_secret = _shown(rotated.get_data(as_text=True), "client-secret")
    assert new_secret != secret
    assert _token(client, client_id, secret).status_code == 200  # the old one still works for a while
    assert _token(client, client_id, new_secret).status_code == 200
    assert "切替中" in client.get(f"/admin/partners/{app_row.id}").get_data(as_text=True)

    revoked = client.post(f"/admin/partners/{app_row.id}/revoke", {}, form_page=f"/admin/partners/{app_row.id}")
    assert revoked.status_code == 302
    assert client.raw.get(f"/api/patients/{patient.id}", headers=bearer(token)).status_code == 401

    client.post(f"/admin/partners/{app_row.id}/active", {}, form_page=f"/admin/partners/{app_row.id}")
    assert _token(client, client_id, new_secret).status_code == 401
    client.post(f"/admin/partners/{app_row.id}/active", {}, form_page=f"/admin/partners/{app_row.id}")
    assert _token(client, client_id, new_secret).status_code == 200

    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "partner_app",
                                                              AuditEntry.actor_id == admin.id)
                              .order_by(AuditEntry.id)).all()
    assert actions == ["partner.register", "partner.rotate_secret", "partner.revoke_tokens", "partner.deactivate",
                       "partner.activate"]


def test_scopes_webhook_and_refusals(client, session, partner_clinic):
    clinic, _patient = partner_clinic
    admin = make_user(session, clinic, role="admin")
    session.commit()
    client.login(admin.login_id, admin.totp_secret)
    no_scope = client.post("/admin/partners", {"name": "空のアプリ"}, form_page="/admin/partners")
    assert no_scope.status_code == 422 and "スコープを1つ以上" in no_scope.get_data(as_text=True)
    no_name = client.post("/admin/partners", {"name": "", "scopes": ["patient.read"]}, form_page="/admin/partners")
    assert no_name.status_code == 422 and "アプリケーション名を入力" in no_name.get_data(as_text=True)
    bad_rate = client.post("/admin/partners", {"name": "x", "rate_limit_per_minute": "多い",
                                               "scopes": ["patient.read"]}, form_page="/admin/partners")
    assert bad_rate.status_code == 422 and "整数で" in bad_rate.get_data(as_text=True)
    assert session.scalar(select(PartnerApp)) is None  # nothing kept
    client.post("/admin/partners", {"name": "検査連携", "scopes": ["lab.read"]}, form_page="/admin/partners")
    app_row = session.scalar(select(PartnerApp))
    page = f"/admin/partners/{app_row.id}"
    plain = client.post(f"{page}/webhook", {"webhook_url": "http://partner.example/hook", "events": ["lab.results"]},
                        form_page=page)
    assert plain.status_code == 422 and "https://" in plain.get_data(as_text=True)
    unscoped = client.post(f"{page}/webhook", {"webhook_url": "https://partner.example/hook",
                                               "events": ["reception.created"]}, form_page=page)
    assert unscoped.status_code == 302 and "reception.read スコープが必要" in client.get(page).get_data(as_text=True)
    saved = client.post(f"{page}/webhook", {"webhook_url": "https://partner.example/hook",
                                            "events": ["lab.results"]}, form_page=page)
    assert saved.status_code == 302
    session.refresh(app_row)
    assert (app_row.webhook_url, app_row.webhook_events) == ("https://partner.example/hook", ["lab.results"])
    client.post(f"{page}/scopes", {"scopes": ["lab.read", "patient.read"], "rate_limit_per_minute": "30"},
                form_page=page)
    session.refresh(app_row)
    assert set(app_row.scopes) == {"lab.read", "patient.read"} and app_row.rate_limit_per_minute == 30


def test_only_administrators_reach_the_screen(client, session, partner_clinic):
    clinic, _ = partner_clinic
    doctor = make_user(session, clinic, role="doctor")
    session.commit()
    client.login(doctor.login_id, doctor.totp_secret)
    assert client.get("/admin/partners").status_code == 403


def test_the_audit_screens_name_the_application(client, session, partner_clinic):
    clinic, patient = partner_clinic
    admin = make_user(session, clinic, role="admin")
    session.commit()
    creds = register_partner(client, clinic.institution_code, ["patient.read"], name="Web予約")
    token = token_for(client, creds)
    assert client.raw.get(f"/api/patients/{patient.id}", headers=bearer(token)).status_code == 200
    client.login(admin.login_id, admin.totp_secret)
    looks = client.get("/admin/audit?tab=access").get_data(as_text=True)
    assert "連携アプリ「Web予約」" in looks and "連携API" in looks and "予約 花子" in looks
    trail = client.get("/admin/audit").get_data(as_text=True)
    assert "連携アプリケーションがトークンを取得" in trail
    csv = client.get("/admin/access-log.csv").get_data(as_text=True)
    assert "app:Web予約" in csv
