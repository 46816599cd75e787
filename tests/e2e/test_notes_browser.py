"""In a real browser on a tablet: the doctor writes today's SOAP note from the patient page and reads it back in
the chart; the saved note keeps its line breaks."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.notes.models import ProgressNote
from tests.e2e.conftest import screenshot
from tests.e2e.test_login_and_pwa import _login
from tests.factories import make_clinic, make_patient, make_user

pytestmark = pytest.mark.e2e


def test_doctor_writes_todays_note_on_a_tablet(page, live_server, live_app):
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        clinic = make_clinic(session, name="みなと内科", is_full_chart_mode=True)
        doctor = make_user(session, clinic, role="doctor", display_name="上野 誠")
        patient = make_patient(session, clinic, name="山田　太郎", kana="ヤマダ　タロウ")
        session.commit()
        login, patient_id = (doctor.login_id, doctor.totp_secret), patient.id
        session.close()
    page.set_viewport_size({"width": 800, "height": 1280})
    _login(page, live_server.url, *login)
    page.goto(f"{live_server.url}/patients/{patient_id}")
    page.click("text=経過記録（SOAP）")
    page.click("text=本日の記録を書く")
    page.fill("#f-subjective", "3日前から咳。夜間に悪化")
    page.fill("#f-objective", "体温 37.6℃\n咽頭発赤あり")
    page.fill("#f-assessment", "急性気管支炎")
    page.fill("#f-plan", "鎮咳薬。5日後再診")
    screenshot(page, "note-edit-tablet")
    page.click("form.note-form button[type=submit]")
    page.wait_for_url(f"**/patients/{patient_id}/notes#note-*")
    note = page.locator("article.note").first
    expect(note).to_contain_text("急性気管支炎")
    expect(note).to_contain_text("上野 誠")
    assert "体温 37.6℃\n咽頭発赤あり" in note.locator(".soap dd").nth(1).inner_text()
    screenshot(page, "notes-chart-tablet")
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        saved = session.scalars(select(ProgressNote)).one()
        assert (saved.version, saved.plan) == (1, "鎮咳薬。5日後再診")
        session.close()
