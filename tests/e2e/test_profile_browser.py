"""In a real browser on a tablet-sized screen: vitals intake by keypad alone, drug allergy picked from the
drug master as you type."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.patients.profile_models import Allergy, VitalSign
from app.prescriptions.drug_master import load_shipped_subset
from tests.e2e.conftest import screenshot
from tests.e2e.test_login_and_pwa import _login
from tests.factories import make_clinic, make_patient, make_user

pytestmark = pytest.mark.e2e


@pytest.fixture
def ward(live_app):
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        clinic = make_clinic(session, name="ブラウザ内科")
        nurse = make_user(session, clinic, role="nurse", display_name="看護 花")
        doctor = make_user(session, clinic, role="doctor", display_name="医師 一")
        patient = make_patient(session, clinic, name="山田　太郎", kana="ヤマダ　タロウ")
        load_shipped_subset(session)
        session.commit()
        data = {"nurse": (nurse.login_id, nurse.totp_secret), "doctor": (doctor.login_id, doctor.totp_secret),
                "patient_id": patient.id}
        session.close()
    return data


def test_nurse_enters_vitals_with_the_keypad_and_enter_alone(page, live_server, live_app, ward):
    page.set_viewport_size({"width": 800, "height": 1280})
    _login(page, live_server.url, *ward["nurse"])
    page.goto(f"{live_server.url}/patients/{ward['patient_id']}/vitals")
    # The cursor starts in 収縮期; each Enter moves to the next measure: no tapping between fields.
    expect(page.locator('input[name="systolic"]')).to_be_focused()
    for value in ("132", "84", "72", "36.6", "98", "65.5"):
        page.keyboard.type(value)
        page.keyboard.press("Enter")
    page.keyboard.type("170")
    expect(page.locator("[data-bmi]")).to_have_text("22.7")  # BMI as the nurse types
    screenshot(page, "vitals-intake-tablet")
    page.keyboard.press("Enter")  # Enter in the last field saves: 7 values and 7 Enters, nothing else
    page.wait_for_url("**/profile#vitals")
    expect(page.locator(".vitals-latest")).to_contain_text("BMI 22.7")
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        saved = session.scalars(select(VitalSign)).one()
        assert (saved.systolic, saved.diastolic, saved.pulse, saved.temperature_c, saved.spo2, saved.weight_kg,
                saved.height_cm) == (132, 84, 72, 36.6, 98, 65.5, 170)
        session.close()


def test_doctor_picks_the_allergy_drug_from_the_master_as_they_type(page, live_server, live_app, ward):
    page.set_viewport_size({"width": 1280, "height": 800})
    _login(page, live_server.url, *ward["doctor"])
    page.goto(f"{live_server.url}/patients/{ward['patient_id']}/profile/allergies/new")
    expect(page.locator('[data-shown-when="category"]').first).to_be_hidden()
    page.locator("form.profile-form").locator("text=薬剤").first.click()  # the form's choice, not the banner's
    page.click("text=同じ成分（一般名）すべて")
    page.fill('input[name="substance"]', "ふろもっくす")
    option = page.locator(".drug-results li", has_text="フロモックス錠").first
    option.click()
    page.click("text=重度")
    page.fill('input[name="reaction"]', "薬疹")
    screenshot(page, "allergy-form-desktop")
    page.click("form.profile-form button[type=submit]")
    page.wait_for_url("**/profile#allergies")
    expect(page.locator("#allergies")).to_contain_text("薬疹")
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        allergy = session.scalars(select(Allergy)).one()
        assert allergy.drug_scope == "ingredient" and len(allergy.drug_match_code) == 7
        session.close()


def test_doctor_finds_a_disease_as_they_type_and_adds_it(page, live_server, live_app, ward):
    from app.diagnoses.masters import load_shipped_subsets
    from app.diagnoses.models import Diagnosis

    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        load_shipped_subsets(session)
        session.commit()
        session.close()
    page.set_viewport_size({"width": 800, "height": 1280})
    _login(page, live_server.url, *ward["doctor"])
    page.goto(f"{live_server.url}/patients/{ward['patient_id']}/diagnoses")
    page.fill("#disease_query", "こうけつあつしょう")
    page.locator(".drug-results li", has_text="高血圧症").first.click()
    page.check('input[name="is_main"]')
    page.click("form.diagnosis-form button.button-primary")
    page.wait_for_url("**/diagnoses")
    expect(page.locator("#active-diagnoses")).to_contain_text("高血圧症")
    expect(page.locator("#active-diagnoses")).to_contain_text("I10")
    screenshot(page, "diagnoses-tablet")
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        assert session.scalars(select(Diagnosis)).one().is_main
        session.close()
