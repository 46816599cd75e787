"""The 操作・閲覧記録 screen in staff language: who (name and role), what in Japanese, which patient (name and number),
when; filters by staff, patient, kind of action and dates; pages with a count; no codes or JSON; administrators
only; the audit chain itself unchanged."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.core.audit import Actor, iter_chain_breaks, log_access
from app.db import utcnow
from app.diagnoses.masters import load_shipped_subsets
from tests.factories import make_clinic, make_patient, make_user
from tests.helpers import HTMLClient
from tests.sharing.test_registration import _add_diagnosis

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaves differently on SQLite: see tests/conftest.py

INTERNAL = re.compile(r"diagnosis\.create|auth\.login|patient\.page|\{&#34;|\{\"|&#34;after")


def _what(html: str) -> list[str]:
    return re.findall(r'<strong class="log-what">([^<]+)</strong>', html)


@pytest.fixture
def clinic_day(app, session):
    """A clinic where a doctor recorded a diagnosis and a nurse looked at two patients, over HTTP."""
    load_shipped_subsets(session)
    clinic = make_clinic(session)
    admin = make_user(session, clinic, role="admin", display_name="管理 花子")
    doctor = make_user(session, clinic, role="doctor", display_name="上野 誠")
    nurse = make_user(session, clinic, role="nurse", display_name="看護 次郎")
    yamada = make_patient(session, clinic, orca_patient_id="00031")
    sato = make_patient(session, clinic, name="佐藤 花子", kana="サトウ ハナコ", orca_patient_id="00032")
    session.commit()
    as_doctor = HTMLClient(app.test_client())
    as_doctor.login(doctor.login_id, doctor.totp_secret)
    assert _add_diagnosis(as_doctor, yamada).status_code == 302
    as_nurse = HTMLClient(app.test_client())
    as_nurse.login(nurse.login_id, nurse.totp_secret)
    as_nurse.get(f"/patients/{yamada.id}")
    as_nurse.get(f"/patients/{sato.id}/labs")
    return {"clinic": clinic, "admin": admin, "doctor": doctor, "nurse": nurse, "yamada": yamada, "sato": sato}


def test_the_audit_trail_reads_as_staff_say_it(client, clinic_day):
    client.login(clinic_day["admin"].login_id, clinic_day["admin"].totp_secret)
    html = client.get("/admin/audit").get_data(as_text=True)
    rows = html[html.index('id="audit-list"'):]
    entry = rows[rows.index("傷病名を登録"):]
    entry = entry[:entry.index("</li>")]
    assert "上野 誠（医師）" in entry and "山田 太郎" in entry and "患者番号 00031" in entry
    assert "ログイン" in _what(html)
    assert not INTERNAL.search(html), INTERNAL.search(html)


def test_the_access_log_says_which_screen_of_which_patient(client, clinic_day):
    client.login(clinic_day["admin"].login_id, clinic_day["admin"].totp_secret)
    html = client.get("/admin/audit?tab=access").get_data(as_text=True)
    assert "閲覧：患者の基本画面" in _what(html) and "閲覧：検査結果" in _what(html)
    labs = html[html.index("閲覧：検査結果"):]
    labs = labs[:labs.index("</li>")]
    assert "看護 次郎（看護師）" in labs and "佐藤 花子" in labs and "患者番号 00032" in labs
    assert not INTERNAL.search(html)


def test_filters_staff_patient_action_and_dates(client, clinic_day, session):
    client.login(clinic_day["admin"].login_id, clinic_day["admin"].totp_secret)
    doctor, nurse = clinic_day["doctor"], clinic_day["nurse"]
    assert set(_what(client.get(f"/admin/audit?user_id={doctor.id}").get_data(as_text=True))) == {
        "ログイン", "傷病名を登録"}
    assert _what(client.get("/admin/audit?action=create").get_data(as_text=True)) == ["傷病名を登録"]
    assert "傷病名を登録" not in _what(client.get("/admin/audit?action=account").get_data(as_text=True))
    access = client.get(f"/admin/audit?tab=access&user_id={nurse.id}&patient=サトウ").get_data(as_text=True)
    assert _what(access) == ["閲覧：検査結果"]
    assert _what(client.get(f"/admin/audit?tab=access&patient=00031&action=view&user_id={nurse.id}")
                 .get_data(as_text=True)) == ["閲覧：患者の基本画面"]
    assert _what(client.get("/admin/audit?tab=access&action=print").get_data(as_text=True)) == []
    today = (utcnow() + timedelta(hours=9)).date()
    assert "傷病名を登録" in _what(client.get(f"/admin/audit?date_from={today}&date_to={today}")
                                  .get_data(as_text=True))
    assert _what(client.get(f"/admin/audit?date_to={today - timedelta(days=1)}").get_data(as_text=True)) == []
    nobody = client.get("/admin/audit?patient=存在しない人").get_data(as_text=True)
    assert "該当する患者はいません" in nobody and "0件" in nobody
    assert next(iter_chain_breaks(session), None) is None  # reading changed nothing in the chain


def test_paging_with_a_count(client, session):
    clinic = make_clinic(session)
    admin = make_user(session, clinic, role="admin")
    nurse = make_user(session, clinic, role="nurse")
    patient = make_patient(session, clinic)
    actor = Actor(nurse.id, nurse.login_id, clinic.id, "nurse", "127.0.0.1")
    for _ in range(60):
        log_access(session, actor, patient_id=patient.id, action="view", resource="patient.page")
    session.commit()
    client.login(admin.login_id, admin.totp_secret)
    first = client.get("/admin/audit?tab=access").get_data(as_text=True)
    assert "60件中 1〜25件目" in first and first.count('class="log-row"') == 25 and "1 / 3ページ" in first
    last = client.get("/admin/audit?tab=access&page=3").get_data(as_text=True)
    assert "60件中 51〜60件目" in last and last.count('class="log-row"') == 10
    assert 'rel="next"' in first and "page=2" in first and "tab=access" in first
    assert client.get("/admin/audit?tab=access&page=-1").status_code == 200


@pytest.mark.parametrize("role", ["doctor", "nurse", "clerk"])
def test_only_administrators_see_the_records(client, session, role):
    clinic = make_clinic(session)
    user = make_user(session, clinic, role=role)
    session.commit()
    client.login(user.login_id, user.totp_secret)
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit?tab=access").status_code == 403


def test_another_clinics_records_are_not_shown(client, session):
    mine, theirs = make_clinic(session), make_clinic(session)
    admin = make_user(session, mine, role="admin")
    stranger = make_user(session, theirs, role="nurse", display_name="他院 職員")
    secret = make_patient(session, theirs, name="他院 患者", kana="タイン カンジャ")
    log_access(session, Actor(stranger.id, stranger.login_id, theirs.id, "nurse"), patient_id=secret.id,
               action="view", resource="patient.page")
    session.commit()
    client.login(admin.login_id, admin.totp_secret)
    html = client.get(f"/admin/audit?tab=access&patient_id={secret.id}").get_data(as_text=True)
    assert "他院" not in html and "0件" in html
