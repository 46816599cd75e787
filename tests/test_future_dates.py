"""Dates of clinical events too far in the future are refused with a message naming the field (app/core/dates.py),
through every form where staff type one: the profile's dates and measured times, the diagnosis' start and 転帰 dates,
the lab order's collection day, the day of a progress note; and the reception's date in its service. A date inside its
window is accepted."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.core.audit import Actor
from app.core.dates import FUTURE_WINDOW_DAYS, future_date_error
from app.core.errors import ValidationError
from app.core.timeutil import JST, japan_today
from app.db import utcnow
from app.diagnoses.masters import load_shipped_subsets
from app.diagnoses.models import Diagnosis
from app.notes.models import ProgressNote
from app.patients.profile_models import CareLevel
from app.reception.models import Visit
from app.reception.services import register_visit
from tests.factories import make_clinic, make_patient, make_user
from tests.labs.helpers import latest_order, make_desk

BRONCHITIS = "4900009"  # 気管支炎 J40


def _ahead(days: int) -> str:
    return (japan_today() + timedelta(days=days)).isoformat()


@pytest.fixture
def ward(session):
    clinic = make_clinic(session, is_full_chart_mode=True)
    doctor = make_user(session, clinic, role="doctor")
    patient = make_patient(session, clinic)
    load_shipped_subsets(session)
    session.commit()
    return {"clinic": clinic, "doctor": doctor, "patient": patient}


def test_each_kind_has_its_window():
    today = date(2026, 12, 7)
    assert future_date_error(today, "diagnosis", "開始日", today=today) is None
    assert "開始日が未来の日付になっています" in future_date_error(today + timedelta(days=1), "diagnosis", "開始日",
                                                           today=today)
    assert future_date_error(today + timedelta(days=90), "lab_collection", "採取日", today=today) is None
    too_far = future_date_error(today + timedelta(days=91), "lab_collection", "採取日", today=today)
    assert "採取日は90日先まで" in too_far
    end = FUTURE_WINDOW_DAYS["certification_end"]
    assert future_date_error(today + timedelta(days=end), "certification_end", "終了", today=today) is None
    assert future_date_error(today + timedelta(days=end + 1), "certification_end", "終了", today=today)


@pytest.mark.parametrize(("slug", "data", "field", "label"), [
    ("blood-type", {"abo": "A", "rh": "+", "confirmed_by": "当院", "confirmed_on": _ahead(1)}, "confirmed_on",
     "確認日"),
    ("allergies", {"category": "food", "substance": "そば", "severity": "mild", "onset_on": _ahead(1)}, "onset_on",
     "発現日"),
    ("infections", {"kind": "hbs_ag", "result": "negative", "tested_on": _ahead(1)}, "tested_on", "検査日"),
    ("vaccinations", {"vaccine": "BCG", "administered_on": _ahead(1)}, "administered_on", "接種日"),
    ("care-level", {"level": "care1", "valid_from": _ahead(61)}, "valid_from", "認定有効期間（開始）"),
    ("care-level", {"level": "care1", "valid_to": _ahead(FUTURE_WINDOW_DAYS["certification_end"] + 1)}, "valid_to",
     "認定有効期間（終了）"),
])
def test_profile_dates_beyond_their_window_are_refused(client, ward, session, slug, data, field, label):
    client.login(ward["doctor"].login_id, ward["doctor"].totp_secret)
    patient = ward["patient"]
    page = f"/patients/{patient.id}/profile/{slug}/new"
    response = client.post(f"/patients/{patient.id}/profile/{slug}", data, form_page=page)
    assert response.status_code == 422
    assert label in response.get_data(as_text=True) and data[field] in response.get_data(as_text=True)


def test_a_care_level_period_ending_years_ahead_is_accepted(client, ward, session):
    client.login(ward["doctor"].login_id, ward["doctor"].totp_secret)
    patient = ward["patient"]
    page = f"/patients/{patient.id}/profile/care-level/new"
    response = client.post(f"/patients/{patient.id}/profile/care-level",
                           {"level": "care1", "valid_from": _ahead(30), "valid_to": _ahead(3 * 365)}, form_page=page)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert session.scalar(select(CareLevel.valid_to)).isoformat() == _ahead(3 * 365)


def test_a_measured_time_ahead_of_now_is_refused(client, ward):
    client.login(ward["doctor"].login_id, ward["doctor"].totp_secret)
    patient = ward["patient"]
    later = (utcnow() + timedelta(hours=2)).astimezone(JST).strftime("%Y-%m-%dT%H:%M")
    page = f"/patients/{patient.id}/vitals"
    response = client.post(page, {"measured_at": later, "pulse": "70"}, form_page=page)
    assert response.status_code == 422 and "測定日時が未来になっています" in response.get_data(as_text=True)


@pytest.mark.parametrize(("fields", "label"), [({"started_on": _ahead(1)}, "開始日"),
                                               ({"outcome": "cured", "ended_on": _ahead(1)}, "転帰日")])
def test_diagnosis_dates_in_the_future_are_refused(client, ward, session, fields, label):
    client.login(ward["doctor"].login_id, ward["doctor"].totp_secret)
    page = f"/patients/{ward['patient'].id}/diagnoses"
    data = {"disease_code": BRONCHITIS, "started_on": "2026-04-01", "outcome": "continuing", **fields}
    response = client.post(page, data, form_page=page)
    assert response.status_code == 422
    assert f"{label}が未来の日付になっています" in response.get_data(as_text=True)
    assert session.scalar(select(Diagnosis.id)) is None


def test_a_lab_collection_day_past_the_window_is_refused_and_one_inside_accepted(client, session):
    desk = make_desk(session)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    page = f"/patients/{desk['patient'].id}/labs/orders/new"
    response = client.post(f"/patients/{desk['patient'].id}/labs/orders",
                           {"lab_code": ["K0161"], "ordered_on": _ahead(91), "comment": ""}, form_page=page)
    assert response.status_code == 422 and "採取日は90日先までの日付にしてください" in response.get_data(as_text=True)
    assert latest_order(session) is None
    response = client.post(f"/patients/{desk['patient'].id}/labs/orders",
                           {"lab_code": ["K0161"], "ordered_on": _ahead(90), "comment": ""}, form_page=page)
    assert response.status_code == 302 and latest_order(session).ordered_on.isoformat() == _ahead(90)


def test_a_progress_note_of_a_future_day_is_refused(client, ward, session):
    client.login(ward["doctor"].login_id, ward["doctor"].totp_secret)
    patient, day = ward["patient"], _ahead(1)
    form = {"subjective": "頭痛", "objective": "", "assessment": "", "plan": "", "base_version": "0"}
    response = client.post(f"/patients/{patient.id}/notes/{day}", form,
                           form_page=f"/patients/{patient.id}/notes/{japan_today().isoformat()}/edit")
    assert response.status_code == 422 and "経過記録の日付が未来の日付になっています" in response.get_data(as_text=True)
    assert session.scalar(select(ProgressNote.id)) is None


def test_a_reception_for_a_future_day_is_refused_by_the_service(ward, session):
    clinic, patient = ward["clinic"], ward["patient"]
    actor = Actor(user_id=ward["doctor"].id, login_id=ward["doctor"].login_id, clinic_id=clinic.id, role="clerk")
    with pytest.raises(ValidationError, match="受付日が未来の日付になっています"):
        register_visit(session, clinic.id, patient, actor, department_code="01", department_name="内科",
                       physician_code="10001", physician_name="医師", at=utcnow(),
                       day=japan_today() + timedelta(days=1))
    assert session.scalar(select(Visit.id)) is None
