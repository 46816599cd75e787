"""POST /oauth/token and /oauth/revoke (RFC 6749 client credentials, RFC 7009 revocation), secrets and tokens kept
hashed, rotation with two valid secrets, deactivation."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.core.audit import Actor
from app.core.models import AuditEntry
from app.db import utcnow
from app.partners.models import PartnerApp, PartnerSecret, PartnerToken
from app.partners.services import rotate_secret, set_active
from tests.factories import make_clinic, make_patient
from tests.partners.helpers import basic_auth, bearer, issue_token, register_partner, token_for


def _setup(session):
    clinic = make_clinic(session)
    patient = make_patient(session, clinic)
    session.commit()
    return clinic, patient


def test_token_by_basic_and_by_post_and_stored_hashed(client, session):
    clinic, patient = _setup(session)
    creds = register_partner(client, clinic.institution_code, ["patient.read", "diagnosis.read"])
    response = client.raw.post("/oauth/token", data={"grant_type": "client_credentials", "scope": "patient.read"},
                               headers=basic_auth(creds.client_id, creds.client_secret))
    assert response.status_code == 200
    body = response.json
    assert body["token_type"] == "Bearer" and body["expires_in"] == 600 and body["scope"] == "patient.read"
    assert response.headers["Cache-Control"] == "no-store"
    posted = client.raw.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": creds.client_id,
                                                   "client_secret": creds.client_secret})
    assert posted.status_code == 200 and posted.json["scope"] == "patient.read diagnosis.read"  # all granted
    # Neither the secret nor a token is stored in clear.
    stored = [row for (row,) in session.execute(select(PartnerToken.token_hash))]
    assert body["access_token"] not in stored and len(stored) == 2
    secrets = [row for (row,) in session.execute(select(PartnerSecret.secret_hash))]
    assert creds.client_secret not in secrets
    assert client.raw.get(f"/api/patients/{patient.id}", headers=bearer(body["access_token"])).status_code == 200
    issued = session.scalars(select(AuditEntry).where(AuditEntry.action == "partner.token_issued")).all()
    assert len(issued) == 2 and issued[0].actor_login.startswith("app:")


def test_token_errors_are_rfc6749_bodies(client, session):
    clinic, _ = _setup(session)
    creds = register_partner(client, clinic.institution_code, ["patient.read"])
    post = client.raw.post
    wrong = post("/oauth/token", data={"grant_type": "client_credentials"},
                 headers=basic_auth(creds.client_id, "wrong-secret"))
    assert wrong.status_code == 401 and wrong.json["error"] == "invalid_client"
    assert wrong.headers["WWW-Authenticate"].startswith("Basic") and "シークレット" in wrong.json["message"]
    assert post("/oauth/token", data={"grant_type": "client_credentials"}).json["error"] == "invalid_client"
    both = post("/oauth/token", data={"grant_type": "client_credentials", "client_secret": creds.client_secret},
                headers=basic_auth(creds.client_id, creds.client_secret))
    assert both.status_code == 400 and both.json["error"] == "invalid_request"
    assert post("/oauth/token", data={}, headers=basic_auth(creds.client_id, creds.client_secret)).json["error"] \
        == "invalid_request"
    grant = post("/oauth/token", data={"grant_type": "password"}, headers=basic_auth(creds.client_id,
                                                                                      creds.client_secret))
    assert grant.status_code == 400 and grant.json["error"] == "unsupported_grant_type"
    for scope in ("diagnosis.read", "no.such.scope", "patient.read fhir.read"):
        refused = post("/oauth/token", data={"grant_type": "client_credentials", "scope": scope},
                       headers=basic_auth(creds.client_id, creds.client_secret))
        assert refused.status_code == 400 and refused.json["error"] == "invalid_scope", scope
    garbled = post("/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": "Basic !!"})
    assert garbled.status_code == 400 and garbled.json["error"] == "invalid_request"
    assert set(wrong.json) == {"error", "error_description", "message"}
    assert wrong.json["error_description"].isascii()


def test_a_token_is_limited_to_the_scopes_it_asked_for(client, session):
    clinic, patient = _setup(session)
    creds = register_partner(client, clinic.institution_code, ["patient.read", "diagnosis.read"])
    token = token_for(client, creds, ["diagnosis.read"])
    assert client.raw.get(f"/api/patients/{patient.id}/diagnoses", headers=bearer(token)).status_code == 200
    refused = client.raw.get(f"/api/patients/{patient.id}", headers=bearer(token))
    assert refused.status_code == 403 and refused.json["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]


def test_revocation_by_the_client_and_only_its_own_tokens(client, session):
    clinic, patient = _setup(session)
    creds = register_partner(client, clinic.institution_code, ["patient.read"])
    other = register_partner(client, clinic.institution_code, ["patient.read"])
    token = token_for(client, creds)
    url = f"/api/patients/{patient.id}"
    # Another application cannot revoke it (and is not told whether the token exists).
    assert client.raw.post("/oauth/revoke", data={"token": token},
                           headers=basic_auth(other.client_id, other.client_secret)).status_code == 200
    assert client.raw.get(url, headers=bearer(token)).status_code == 200
    assert client.raw.post("/oauth/revoke", data={"token": token},
                           headers=basic_auth(creds.client_id, creds.client_secret)).status_code == 200
    revoked = client.raw.get(url, headers=bearer(token))
    assert revoked.status_code == 401 and revoked.json["error"] == "invalid_token"
    assert "取り消" in revoked.json["message"]
    assert client.raw.post("/oauth/revoke", data={"token": token},
                           headers=basic_auth(creds.client_id, "bad")).status_code == 401


def test_rotation_keeps_two_secrets_valid_then_one(client, session, app):
    clinic, _ = _setup(session)
    first = register_partner(client, clinic.institution_code, ["patient.read"])
    actor = Actor(user_id=None, login_id="admin", clinic_id=clinic.id)
    with app.app_context():
        partner_app = session.get(PartnerApp, first.app.id)
        second = rotate_secret(session, actor, partner_app)
        session.commit()
    for secret in (first.client_secret, second.client_secret):  # both work during the rotation
        assert client.raw.post("/oauth/token", data={"grant_type": "client_credentials"},
                               headers=basic_auth(first.client_id, secret)).status_code == 200
    with app.app_context():
        third = rotate_secret(session, actor, session.get(PartnerApp, first.app.id))
        session.commit()
    codes = [client.raw.post("/oauth/token", data={"grant_type": "client_credentials"},
                             headers=basic_auth(first.client_id, s)).status_code
             for s in (first.client_secret, second.client_secret, third.client_secret)]
    assert codes == [401, 200, 200]
    # The grace period ends: only the newest works.
    session.execute(PartnerSecret.__table__.update().where(PartnerSecret.expires_at.is_not(None))
                    .values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    codes = [client.raw.post("/oauth/token", data={"grant_type": "client_credentials"},
                             headers=basic_auth(first.client_id, s)).status_code
             for s in (second.client_secret, third.client_secret)]
    assert codes == [401, 200]


def test_expired_tokens_and_deactivated_apps_are_refused(client, session, app):
    clinic, patient = _setup(session)
    creds = register_partner(client, clinic.institution_code, ["patient.read"])
    token = token_for(client, creds)
    url = f"/api/patients/{patient.id}"
    session.execute(PartnerToken.__table__.update().values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    expired = client.raw.get(url, headers=bearer(token))
    assert expired.status_code == 401 and "有効期限" in expired.json["message"]
    fresh = token_for(client, creds)
    with app.app_context():
        set_active(session, Actor(user_id=None, login_id="admin", clinic_id=clinic.id),
                   session.get(PartnerApp, creds.app.id), False)
        session.commit()
    assert client.raw.get(url, headers=bearer(fresh)).status_code == 401
    assert client.raw.post("/oauth/token", data={"grant_type": "client_credentials"},
                           headers=basic_auth(creds.client_id, creds.client_secret)).status_code == 401


def test_issue_token_helper(client, session):
    clinic, patient = _setup(session)
    token = issue_token(client, clinic.institution_code, ["patient.read"])
    assert client.raw.get(f"/api/patients/{patient.id}", headers=bearer(token)).json["id"] == patient.id
