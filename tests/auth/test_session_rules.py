"""Idle screen lock, the 12-hour session limit, logout, CSRF."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from app.core.models import AuditEntry
from tests.factories import DEMO_PASSWORD, make_clinic, make_user

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaves differently on SQLite: see tests/conftest.py


def _age_session(client, **changes):
    with client.raw.session_transaction() as sess:
        for key, seconds in changes.items():
            sess[key] = time.time() - seconds


def test_idle_session_is_locked_and_unlocked_by_password(client, session):
    user = make_user(session, make_clinic(session, idle_lock_minutes=10))
    session.commit()
    client.login(user.login_id, user.totp_secret)
    _age_session(client, last_seen=11 * 60)
    response = client.get("/reception")
    assert response.status_code == 302 and "/lock" in response.location
    assert client.get("/lock").status_code == 200
    bad = client.post_json("/session/unlock", {"password": "wrong"})
    assert bad.status_code == 403 and bad.json["message"] == "パスワードが正しくありません"
    assert client.post_json("/session/unlock", {"password": DEMO_PASSWORD}).status_code == 200
    assert client.get("/reception").status_code == 200


def test_locked_session_refuses_scripts_with_json(client, session):
    user = make_user(session, make_clinic(session, idle_lock_minutes=5))
    session.commit()
    client.login(user.login_id, user.totp_secret)
    _age_session(client, last_seen=6 * 60)
    response = client.raw.get("/reception/revision", headers={"Accept": "application/json"})
    assert response.status_code == 401 and response.json["error"] == "locked"


def test_session_ends_after_12_hours_whatever_happens(client, session):
    user = make_user(session, make_clinic(session))
    session.commit()
    client.login(user.login_id, user.totp_secret)
    _age_session(client, auth_at=12 * 3600 + 5)
    response = client.get("/reception")
    assert response.status_code == 302 and "/login" in response.location


def test_logout_ends_session_and_clears_site_cache(client, session):
    user = make_user(session, make_clinic(session))
    session.commit()
    client.login(user.login_id, user.totp_secret)
    response = client.post("/logout", {}, form_page="/reception")
    assert response.headers["Clear-Site-Data"] == '"cache"'
    assert client.get("/reception").status_code == 302


def test_forged_csrf_token_is_refused_and_audited(client, session):
    user = make_user(session, make_clinic(session), role="admin")
    session.commit()
    client.login(user.login_id, user.totp_secret)
    response = client.raw.post("/admin/staff/new", data={"csrf_token": "forged", "login_id": "evil1",
                                                          "display_name": "x", "role": "admin"})
    assert response.status_code == 400
    assert "正しくない送信" in response.get_data(as_text=True)
    actions = [e.action for e in session.scalars(select(AuditEntry))]
    assert "security.csrf_rejected" in actions and "staff.create" not in actions


def test_login_without_csrf_token_is_refused(client):
    response = client.raw.post("/login", data={"login_id": "a", "password": "b"})
    assert response.status_code == 400


def _last_seen(client) -> float:
    with client.raw.session_transaction() as sess:
        return sess["last_seen"]


def test_live_refresh_polling_does_not_keep_the_screen_awake(client, session):
    """A tablet left on the reception list polls its revision (and fetches the refreshed table) by itself: that is
    no user activity, so the idle lock still comes after the clinic's idle time; a page the user opens is."""
    user = make_user(session, make_clinic(session, idle_lock_minutes=10))
    session.commit()
    client.login(user.login_id, user.totp_secret)
    _age_session(client, last_seen=9 * 60)
    before = _last_seen(client)
    assert client.raw.get("/reception/revision", headers={"Accept": "application/json"}).status_code == 200
    refreshed = client.raw.get("/reception", headers={"X-Kamikarte-Background": "1"})
    assert refreshed.status_code == 200
    assert _last_seen(client) == before
    _age_session(client, last_seen=10 * 60 + 5)
    polled = client.raw.get("/reception/revision", headers={"Accept": "application/json"})
    assert polled.status_code == 401 and polled.json["error"] == "locked"


def test_the_users_own_request_extends_the_idle_time(client, session):
    user = make_user(session, make_clinic(session, idle_lock_minutes=10))
    session.commit()
    client.login(user.login_id, user.totp_secret)
    _age_session(client, last_seen=9 * 60)
    assert client.get("/reception").status_code == 200
    assert time.time() - _last_seen(client) < 5
