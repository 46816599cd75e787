"""The administrator sets the clinic up and manages staff accounts."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.clinics.models import Clinic, StaffUser
from app.clinics.services import validate_institution_code
from app.core.errors import ValidationError
from app.core.models import AuditEntry
from tests.factories import DEMO_PASSWORD, make_clinic, make_user


@pytest.mark.parametrize("code", ["1310123458", "1310156789", "１３１０１２３４５８"])
def test_valid_institution_codes(code):
    assert validate_institution_code(code) in {"1310123458", "1310156789"}


@pytest.mark.parametrize("code,message", [
    ("131012345", "10桁"), ("13101234589", "10桁"), ("13101a3458", "10桁"), ("4810123458", "都道府県"),
    ("0010123458", "都道府県"), ("1320123458", "点数表"), ("1310123457", "検証番号"),
])
def test_malformed_institution_codes(code, message):
    with pytest.raises(ValidationError) as info:
        validate_institution_code(code)
    assert message in info.value.message


def _admin(session):
    clinic = make_clinic(session)
    admin = make_user(session, clinic, role="admin")
    session.commit()
    return clinic, admin


def _settings(**overrides):
    data = {"name": "新宿さくら内科", "institution_code": "1310123458", "postal_code": "160-0022",
            "address": "東京都新宿区新宿1-1", "phone": "03-1111-2222", "departments": "01 内科\n09 小児科",
            "is_full_chart_mode": "y", "idle_lock_minutes": "5"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_admin_saves_clinic_settings_and_it_is_audited(client, session):
    clinic, admin = _admin(session)
    client.login(admin.login_id, admin.totp_secret)
    response = client.post("/admin/clinic", _settings(), form_page="/admin/clinic")
    assert response.status_code == 302
    session.expire_all()
    saved = session.get(Clinic, clinic.id)
    assert saved.name == "新宿さくら内科" and saved.is_full_chart_mode and saved.idle_lock_minutes == 5
    assert saved.departments == [{"code": "01", "name": "内科"}, {"code": "09", "name": "小児科"}]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "clinic.update")).one()
    assert entry.summary["after"]["name"] == "新宿さくら内科"


@pytest.mark.parametrize("field,value,message", [
    ("institution_code", "1310123457", "検証番号"),
    ("institution_code", "12345", "10桁"),
    ("name", "あ" * 101, "100文字以内"),
    ("idle_lock_minutes", "0", "1〜60"),
    ("departments", "内科", "2桁のコード"),
])
def test_bad_clinic_settings_are_refused_and_nothing_saved(client, session, field, value, message):
    clinic, admin = _admin(session)
    before = clinic.name
    client.login(admin.login_id, admin.totp_secret)
    response = client.post("/admin/clinic", _settings(**{field: value}), form_page="/admin/clinic")
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Clinic, clinic.id).name == before


def test_admin_creates_staff_who_must_set_password_and_totp(client, session):
    clinic, admin = _admin(session)
    client.login(admin.login_id, admin.totp_secret)
    response = client.post("/admin/staff/new", {"login_id": "suzuki-ns", "display_name": "鈴木 文",
                                                "display_kana": "スズキ アヤ", "role": "nurse"},
                           form_page="/admin/staff/new")
    html = response.get_data(as_text=True)
    initial = re.search(r'id="initial-password">([^<]+)<', html).group(1)
    user = session.scalars(select(StaffUser).where(StaffUser.login_id == "suzuki-ns")).one()
    assert user.role == "nurse" and user.must_change_password and not user.has_totp
    from tests.helpers import HTMLClient

    newcomer = HTMLClient(client.raw.application.test_client())
    response = newcomer.post("/login", {"login_id": "suzuki-ns", "password": initial}, form_page="/login")
    assert response.location.endswith("/login/new-password")


@pytest.mark.parametrize("data,message", [
    ({"login_id": "ab", "display_name": "x", "role": "nurse"}, "3〜64文字"),
    ({"login_id": "valid-id", "display_name": "x", "role": "surgeon"}, "職種の指定が正しくありません"),
    ({"login_id": "valid-id", "display_name": "x" * 101, "role": "nurse"}, "100文字以内"),
])
def test_bad_staff_input_is_refused(client, session, data, message):
    _clinic, admin = _admin(session)
    client.login(admin.login_id, admin.totp_secret)
    response = client.post("/admin/staff/new", data, form_page="/admin/staff/new")
    assert message in response.get_data(as_text=True)
    assert session.scalars(select(StaffUser).where(StaffUser.login_id == data["login_id"])).first() is None


def test_duplicate_login_id_across_clinics_is_refused(client, session):
    _clinic, admin = _admin(session)
    make_user(session, make_clinic(session), login_id="taken-id")
    session.commit()
    client.login(admin.login_id, admin.totp_secret)
    response = client.post("/admin/staff/new", {"login_id": "TAKEN-id", "display_name": "x", "role": "clerk"},
                           form_page="/admin/staff/new")
    assert "既に使われています" in response.get_data(as_text=True)


def test_admin_changes_role_and_deactivates(client, session):
    clinic, admin = _admin(session)
    clerk = make_user(session, clinic, role="clerk")
    session.commit()
    client.login(admin.login_id, admin.totp_secret)
    response = client.post(f"/admin/staff/{clerk.id}", {"display_name": "受付 二郎", "role": "nurse"},
                           form_page=f"/admin/staff/{clerk.id}")
    assert response.status_code == 302
    session.expire_all()
    changed = session.get(StaffUser, clerk.id)
    assert changed.role == "nurse" and not changed.is_active


def test_admin_reset_issues_new_initial_password(client, session):
    clinic, admin = _admin(session)
    doctor = make_user(session, clinic, role="doctor")
    session.commit()
    client.login(admin.login_id, admin.totp_secret)
    html = client.post(f"/admin/staff/{doctor.id}/reset", {"admin_password": DEMO_PASSWORD},
                       form_page=f"/admin/staff/{doctor.id}").get_data(as_text=True)
    assert re.search(r'id="initial-password">([^<]+)<', html)
    session.expire_all()
    reset = session.get(StaffUser, doctor.id)
    assert reset.must_change_password and reset.totp_secret is None
