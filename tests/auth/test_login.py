"""Login with password and TOTP, the risk check, lockout, first login, recovery codes."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from app.auth.models import TrustedDevice
from app.core.models import AuditEntry
from app.db import utcnow
from tests.factories import DEMO_PASSWORD, make_clinic, make_user
from tests.helpers import totp_code

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaves differently on SQLite: see tests/conftest.py


def _actions(session) -> list[str]:
    session.expire_all()
    return [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_login_form_has_autocomplete_attributes_and_csrf(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'autocomplete="username"' in html
    assert 'autocomplete="current-password"' in html
    assert 'name="csrf_token"' in html


def test_new_device_is_asked_for_totp_then_lands_on_reception(client, session):
    user = make_user(session, make_clinic(session))
    session.commit()
    response = client.post("/login", {"login_id": user.login_id, "password": DEMO_PASSWORD}, form_page="/login")
    assert response.status_code == 302 and response.location.endswith("/login/verify")
    page = client.get("/login/verify").get_data(as_text=True)
    assert 'autocomplete="one-time-code"' in page
    response = client.post("/login/verify", {"code": totp_code(user.totp_secret)})
    assert response.status_code == 302 and response.location.endswith("/reception")
    assert "auth.login" in _actions(session)


def test_wrong_totp_is_refused_with_japanese_message(client, session):
    user = make_user(session, make_clinic(session))
    session.commit()
    client.post("/login", {"login_id": user.login_id, "password": DEMO_PASSWORD}, form_page="/login")
    client.get("/login/verify")
    wrong = "000000" if totp_code(user.totp_secret) != "000000" else "111111"
    response = client.post("/login/verify", {"code": wrong})
    assert response.status_code == 401
    assert "ワンタイムコードが正しくないか" in response.get_data(as_text=True)
    assert client.get("/reception").status_code == 302


def test_expired_totp_is_refused(client, session):
    user = make_user(session, make_clinic(session))
    session.commit()
    client.post("/login", {"login_id": user.login_id, "password": DEMO_PASSWORD}, form_page="/login")
    client.get("/login/verify")
    old = pyotp.TOTP(user.totp_secret).at(utcnow() - timedelta(minutes=5))
    assert client.post("/login/verify", {"code": old}).status_code == 401


def test_trusted_device_skips_second_factor_for_non_admin(client, session):
    user = make_user(session, make_clinic(session), role="nurse")
    session.commit()
    client.login(user.login_id, user.totp_secret)
    client.logout()
    response = client.post("/login", {"login_id": user.login_id, "password": DEMO_PASSWORD}, form_page="/login")
    assert response.location.endswith("/reception")


def test_administrator_always_gives_second_factor(client, session):
    user = make_user(session, make_clinic(session), role="admin")
    session.commit()
    client.login(user.login_id, user.totp_secret)
    client.logout()
    response = client.post("/login", {"login_id": user.login_id, "password": DEMO_PASSWORD}, form_page="/login")
    assert response.location.endswith("/login/verify")


def test_trusted_device_asks_again_after_30_days(client, session):
    user = make_user(session, make_clinic(session), role="clerk")
    session.commit()
    client.login(user.login_id, user.totp_secret)
    client.logout()
    for device in session.scalars(select(TrustedDevice).where(TrustedDevice.user_id == user.id)):
        device.verified_at = utcnow() - timedelta(days=31)
    session.commit()
    response = client.post("/login", {"login_id": user.login_id, "password": DEMO_PASSWORD}, form_page="/login")
    assert response.location.endswith("/login/verify")


def test_trusted_device_asks_again_after_password_change(client, session):
    user = make_user(session, make_clinic(session), role="doctor")
    session.commit()
    client.login(user.login_id, user.totp_secret)
    response = client.post("/account", {"current_password": DEMO_PASSWORD, "password": "Harukaze2026x",
                                         "confirmation": "Harukaze2026x"}, form_page="/account")
    assert response.status_code == 302 and response.location.endswith("/login")
    response = client.post("/login", {"login_id": user.login_id, "password": "Harukaze2026x"}, form_page="/login")
    assert response.location.endswith("/login/verify")


def test_five_wrong_passwords_lock_the_account_for_everyone(client, app, session):
    user = make_user(session, make_clinic(session))
    session.commit()
    for _ in range(5):
        response = client.post("/login", {"login_id": user.login_id, "password": "wrong-pass-1"}, form_page="/login")
        assert response.status_code == 401
    assert "ロック" in response.get_data(as_text=True)
    # The right password is refused too while locked, from any browser (the lock is in the database).
    other = app.test_client()
    from tests.helpers import HTMLClient

    response = HTMLClient(other).post("/login", {"login_id": user.login_id, "password": DEMO_PASSWORD},
                                      form_page="/login")
    assert response.status_code == 401 and "ロック" in response.get_data(as_text=True)
    actions = _actions(session)
    assert actions.count("auth.login_failed") == 5
    assert "auth.locked" in actions and "auth.login_refused_locked" in actions


def test_lock_ends_after_15_minutes(client, session):
    user = make_user(session, make_clinic(session), locked_until=utcnow() - timedelta(seconds=1))
    session.commit()
    response = client.login(user.login_id, user.totp_secret)
    assert response.location.endswith("/reception")


def test_unknown_login_id_gives_same_message_and_is_audited(client, session):
    response = client.post("/login", {"login_id": "nobody", "password": "whatever1"}, form_page="/login")
    assert response.status_code == 401
    assert "ログインIDまたはパスワードが正しくありません" in response.get_data(as_text=True)
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.login_failed")).one()
    assert entry.actor_login == "nobody" and entry.summary["reason"] == "unknown_login_id"


def test_overlong_login_fields_get_a_message_and_write_nothing_but_the_attempt(client, session):
    response = client.post("/login", {"login_id": "x" * 500, "password": "y" * 500}, form_page="/login")
    assert response.status_code == 401
    assert "ログインIDとパスワードを入力してください" in response.get_data(as_text=True)


def test_first_login_forces_new_password_then_totp_enrolment(client, session):
    clinic = make_clinic(session)
    user = make_user(session, clinic, must_change_password=True, totp_secret=None, totp_enrolled_at=None,
                     display_name="佐藤 花子", display_kana="サトウ ハナコ")
    session.commit()
    response = client.post("/login", {"login_id": user.login_id, "password": DEMO_PASSWORD}, form_page="/login")
    assert response.location.endswith("/login/new-password")
    # The rules: mixed letters and digits, not the login ID or name, not on the deny-list.
    for bad, message in [("short1", "8文字以上"), ("abcdefghij", "英字と数字"), (user.login_id + "9x", "ログインID"),
                         ("hanako2026", "氏名"), ("password123", "よく使われる")]:
        page = client.post("/login/new-password", {"password": bad, "confirmation": bad},
                           form_page="/login/new-password").get_data(as_text=True)
        assert message in page, bad
    response = client.post("/login/new-password", {"password": "Sakuranbo77x", "confirmation": "Sakuranbo77x"},
                           form_page="/login/new-password")
    assert response.location.endswith("/login/enrol")
    page = client.get("/login/enrol").get_data(as_text=True)
    assert "data:image/svg+xml" in page
    import re

    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    response = client.post("/login/enrol", {"code": pyotp.TOTP(secret).now()})
    assert response.location.endswith("/login/recovery-codes")
    codes_page = client.get("/login/recovery-codes").get_data(as_text=True)
    codes = re.findall(r"<li>([a-z0-9]{4}-[a-z0-9]{4})</li>", codes_page)
    assert len(codes) == 10
    # Shown once only.
    assert client.get("/login/recovery-codes").status_code == 302


def test_recovery_code_works_once(client, session, app):
    from app.auth.services import replace_recovery_codes

    user = make_user(session, make_clinic(session))
    codes = replace_recovery_codes(session, user)
    session.commit()
    client.post("/login", {"login_id": user.login_id, "password": DEMO_PASSWORD}, form_page="/login")
    client.get("/login/verify")
    assert client.post("/login/verify", {"code": codes[0].upper()}).location.endswith("/reception")
    client.logout()
    from tests.helpers import HTMLClient

    fresh = HTMLClient(app.test_client())
    fresh.post("/login", {"login_id": user.login_id, "password": DEMO_PASSWORD}, form_page="/login")
    fresh.get("/login/verify")
    response = fresh.post("/login/verify", {"code": codes[0]})
    assert response.status_code == 401 and "既に使用済み" in response.get_data(as_text=True)
    assert "auth.recovery_code_used" in _actions(session)


def test_totp_code_replayed_from_another_address_is_refused(client, session, app):
    user = make_user(session, make_clinic(session))
    session.commit()
    code = totp_code(user.totp_secret)
    client.post("/login", {"login_id": user.login_id, "password": DEMO_PASSWORD}, form_page="/login")
    client.get("/login/verify")
    assert client.post("/login/verify", {"code": code}).status_code == 302
    from tests.helpers import HTMLClient

    other = HTMLClient(app.test_client())
    env = {"REMOTE_ADDR": "10.9.9.9"}
    other.raw.environ_base.update(env)
    other.post("/login", {"login_id": user.login_id, "password": DEMO_PASSWORD}, form_page="/login")
    other.get("/login/verify")
    response = other.post("/login/verify", {"code": code})
    assert response.status_code == 401 and "既に使われています" in response.get_data(as_text=True)


def test_deactivated_account_loses_its_session(client, session):
    user = make_user(session, make_clinic(session))
    session.commit()
    client.login(user.login_id, user.totp_secret)
    assert client.get("/reception").status_code == 200
    user.is_active = False
    user.session_epoch += 1
    session.commit()
    assert client.get("/reception").status_code == 302
