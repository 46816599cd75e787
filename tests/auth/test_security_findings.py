"""The holes a security review found (issue: run it for real), each tried as the reviewer did, through HTTP."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from app.auth.models import LoginSession
from app.clinics.models import StaffUser
from app.core.models import AuditEntry
from app.core.web import safe_local_path
from tests.factories import DEMO_PASSWORD, make_clinic, make_patient, make_user
from tests.helpers import HTMLClient, totp_code

LOCKED = "アカウントをロックしています"


def _session_cookie(client: HTMLClient) -> str:
    cookie = client.raw.get_cookie("kamikarte_session")
    assert cookie is not None
    return cookie.value


def test_an_old_session_cookie_is_refused_after_logout(app, client, session):
    user = make_user(session, make_clinic(session), role="nurse")
    session.commit()
    client.login(user.login_id, user.totp_secret)
    stolen = _session_cookie(client)
    assert client.logout().status_code == 302
    other = HTMLClient(app.test_client())
    other.raw.set_cookie("kamikarte_session", stolen)
    response = other.get("/reception")
    assert response.status_code == 302 and "/login" in response.location
    ended = session.scalars(select(LoginSession).where(LoginSession.user_id == user.id)).one()
    assert ended.ended_at is not None and ended.ended_reason == "logout"


def test_logging_out_one_browser_leaves_the_other_logged_in(app, client, session):
    user = make_user(session, make_clinic(session), role="nurse")
    session.commit()
    client.login(user.login_id, user.totp_secret)
    second = HTMLClient(app.test_client())
    second.login(user.login_id, user.totp_secret, offset_steps=1)
    client.logout()
    assert second.get("/reception").status_code == 200


def test_logout_answers_post_only(client, session):
    user = make_user(session, make_clinic(session))
    session.commit()
    client.login(user.login_id, user.totp_secret)
    assert client.raw.get("/logout").status_code == 405
    assert client.get("/reception").status_code == 200  # a link or an image elsewhere cannot log the user out


def test_a_one_time_code_is_accepted_once_per_step_whatever_the_address(app, session):
    user = make_user(session, make_clinic(session), role="admin")  # administrators always give the code
    session.commit()
    code = totp_code(user.totp_secret)
    first = HTMLClient(app.test_client())
    first.post("/login", {"login_id": user.login_id, "password": DEMO_PASSWORD}, form_page="/login")
    first.get("/login/verify")
    assert first.post("/login/verify", {"code": code}).status_code == 302
    for address in ("192.0.2.10", "127.0.0.1"):  # another address, then the same one
        replay = HTMLClient(app.test_client())
        replay.post("/login", {"login_id": user.login_id, "password": DEMO_PASSWORD}, form_page="/login",
                    environ_base={"REMOTE_ADDR": address})
        replay.get("/login/verify")
        response = replay.post("/login/verify", {"code": code}, environ_base={"REMOTE_ADDR": address})
        assert response.status_code == 401 and "既に使われています" in response.get_data(as_text=True)


def test_unlock_counts_failures_and_locks_the_account_at_the_login_limit(app, client, session):
    user = make_user(session, make_clinic(session), role="doctor")
    session.commit()
    client.login(user.login_id, user.totp_secret)
    client.get("/reception")  # the page whose script posts the unlock (its CSRF token)
    limit = app.config["LOCKOUT_THRESHOLD"]
    for _ in range(limit - 1):
        response = client.post_json("/session/unlock", {"password": "wrong-password"})
        assert response.status_code == 403
    response = client.post_json("/session/unlock", {"password": "wrong-password"})
    assert response.status_code == 401 and LOCKED in response.get_json()["message"]
    session.expire_all()
    assert session.get(StaffUser, user.id).locked_until is not None
    assert client.get("/reception").status_code == 302  # the session ended with the lock
    # The right password does not help while the account is locked.
    response = client.post("/login", {"login_id": user.login_id, "password": DEMO_PASSWORD}, form_page="/login")
    assert LOCKED in response.get_data(as_text=True)


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "/\\evil.example/", "\\\\evil.example", "/\t/evil.example",
    "/%2f%2fevil.example", "/%5cevil.example", "/%2Fevil", "javascript:alert(1)", "/\n/evil.example", "",
])
def test_next_never_leads_off_the_site(target):
    assert safe_local_path(target) == ""


def test_next_keeps_a_path_of_this_site():
    assert safe_local_path("/patients/12/labs?before=2026-01-01") == "/patients/12/labs?before=2026-01-01"


@pytest.mark.parametrize("target", ["//evil.example/", "/\\evil.example/", "/%2f%2fevil.example", "/\t/evil"])
def test_unlock_form_with_a_foreign_next_lands_on_the_reception_list(client, session, target):
    user = make_user(session, make_clinic(session), role="nurse")
    session.commit()
    client.login(user.login_id, user.totp_secret)
    response = client.post("/session/unlock", {"password": DEMO_PASSWORD, "next": target}, form_page="/lock")
    assert response.status_code == 302 and response.location.endswith("/reception")


def test_lockout_does_not_tell_whether_a_login_id_exists(app, client, session):
    user = make_user(session, make_clinic(session), role="nurse")
    session.commit()
    limit = app.config["LOCKOUT_THRESHOLD"]

    def answers(login_id: str) -> list[str]:
        texts = []
        for _ in range(limit + 1):
            page = client.post("/login", {"login_id": login_id, "password": "wrong-password"}, form_page="/login")
            texts.append(LOCKED if LOCKED in page.get_data(as_text=True) else "wrong")
        return texts

    real, unknown = answers(user.login_id), answers("nobody-here")
    assert real == unknown and real[-1] == LOCKED and real[0] == "wrong"


def test_a_locked_account_answers_as_slowly_as_an_open_one(app, client, session):
    # Timing: every path checks one password hash, so a locked or unknown ID is not answered faster.
    user = make_user(session, make_clinic(session), role="nurse")
    session.commit()
    calls = []
    from app.auth import services

    original = services.verify_password
    services.verify_password = lambda *a: calls.append(1) or original(*a)
    try:
        for login_id in (user.login_id, "nobody-at-all"):
            for _ in range(app.config["LOCKOUT_THRESHOLD"] + 2):
                client.post("/login", {"login_id": login_id, "password": "x"}, form_page="/login")
    finally:
        services.verify_password = original
    assert len(calls) == 2 * (app.config["LOCKOUT_THRESHOLD"] + 2)


def test_resetting_a_colleague_asks_the_administrators_own_password(client, session):
    clinic = make_clinic(session)
    admin = make_user(session, clinic, role="admin")
    doctor = make_user(session, clinic, role="doctor")
    session.commit()
    client.login(admin.login_id, admin.totp_secret)
    page = f"/admin/staff/{doctor.id}"
    response = client.post(f"{page}/reset", {"admin_password": "not-my-password"}, form_page=page)
    assert response.status_code == 302
    session.expire_all()
    assert session.get(StaffUser, doctor.id).totp_secret is not None  # nothing reset
    assert "ご自身（管理者）のパスワードが正しくありません" in client.get(page).get_data(as_text=True)
    response = client.post(f"{page}/reset", {"admin_password": DEMO_PASSWORD}, form_page=page)
    assert response.status_code == 200 and 'id="initial-password"' in response.get_data(as_text=True)
    actions = [e.action for e in session.scalars(select(AuditEntry))]
    assert actions.count("staff.reset_credentials") == 1


@pytest.mark.parametrize("path", ["/patients/{big}", "/patients/{big}/profile", "/patients/{big}/labs",
                                  "/admin/staff/{big}"])
def test_ids_past_the_id_columns_answer_404(client, session, path):
    clinic = make_clinic(session)
    admin = make_user(session, clinic, role="admin")
    session.commit()
    client.login(admin.login_id, admin.totp_secret)
    assert client.get(path.format(big=2**64 + 5)).status_code == 404
    assert client.get(path.format(big=2**63)).status_code == 404
    assert client.get(path.format(big=2**31)).status_code == 404  # past PostgreSQL's INTEGER: no database error


@pytest.mark.parametrize("fields", [{"rp_count": "abc"}, {"rp_count": "1", "rp0_line_count": "x1"},
                                    {"rp_count": "99999999999999999999"}, {}])
def test_non_numeric_counters_and_missing_fields_answer_the_form(client, session, fields):
    clinic = make_clinic(session)
    doctor = make_user(session, clinic, role="doctor")
    patient = make_patient(session, clinic)
    session.commit()
    client.login(doctor.login_id, doctor.totp_secret)
    form_page = f"/patients/{patient.id}/prescriptions/new"
    response = client.post(f"/patients/{patient.id}/prescriptions/new", {"action": "check", **fields},
                           form_page=form_page)
    assert response.status_code in (200, 422)
    assert "処方" in response.get_data(as_text=True)


def test_session_cookie_without_a_login_session_is_refused(app, session):
    # A cookie made before server-side sessions existed (or forged with the key) names no login session.
    user = make_user(session, make_clinic(session), role="nurse")
    session.commit()
    client = HTMLClient(app.test_client())
    with client.raw.session_transaction() as sess:
        sess["_user_id"] = f"{user.id}:{user.session_epoch}"
        sess["auth_at"] = sess["last_seen"] = time.time()
    response = client.get("/reception")
    assert response.status_code == 302 and "/login" in response.location
