"""In a real browser on a tablet (portrait 820×1180 and landscape 1180×820): a nurse records 妊娠中 on the profile
(the expected delivery date asked only for 妊娠中), the safety banner turns red with it, and the doctor's check page
shows a caution for each drug; the doctor's allergy form offers 共有しない."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from app.core.timeutil import japan_today
from app.prescriptions.check_master import load_demo_edition
from app.prescriptions.drug_master import load_shipped_subset
from tests.e2e.conftest import screenshot
from tests.e2e.test_login_and_pwa import _login
from tests.factories import make_clinic, make_patient, make_user

pytestmark = pytest.mark.e2e


@pytest.fixture
def ward(live_app):
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        load_shipped_subset(session)
        load_demo_edition(session)
        clinic = make_clinic(session, name="ブラウザ内科")
        doctor = make_user(session, clinic, role="doctor", display_name="医師 一")
        nurse = make_user(session, clinic, role="nurse", display_name="看護 花子")
        patient = make_patient(session, clinic, name="髙橋　美咲", kana="タカハシ　ミサキ", sex="F",
                               birth_date=date(1994, 11, 20), orca_patient_id="00002")
        session.commit()
        data = {"doctor": (doctor.login_id, doctor.totp_secret), "nurse": (nurse.login_id, nurse.totp_secret),
                "patient_id": patient.id}
        session.close()
    return data


@pytest.mark.parametrize(("width", "height"), [(820, 1180), (1180, 820)])
def test_a_pregnancy_recorded_turns_the_banner_red_and_cautions_every_drug(page, live_server, ward, width, height):
    page.set_viewport_size({"width": width, "height": height})
    base = f"{live_server.url}/patients/{ward['patient_id']}"
    _login(page, live_server.url, *ward["nurse"])
    page.goto(f"{base}/profile/pregnancy/new")
    due = page.locator("[name=due_on]")
    page.check("[name=status][value=lactating]")
    expect(due).to_be_hidden()  # 分娩予定日 only for 妊娠中
    page.check("[name=status][value=pregnant]")
    expect(due).to_be_visible()
    today = japan_today()
    page.fill("[name=since]", (today - timedelta(days=90)).isoformat())
    due.fill((today + timedelta(days=180)).isoformat())
    screenshot(page, f"pregnancy-form-{width}x{height}")
    page.get_by_role("button", name="登録").click()
    page.wait_for_url("**/profile#pregnancy")
    banner = page.locator("#safety-banner")
    expect(banner.locator("[data-banner=pregnancy]")).to_contain_text("妊娠・授乳：妊娠中")
    color = banner.locator("[data-banner=pregnancy]").evaluate("e => getComputedStyle(e).color")
    assert color.startswith("rgb(") and int(color[4:].split(",")[0]) > 150  # red text
    screenshot(page, f"pregnancy-profile-{width}x{height}")
    page.context.clear_cookies()
    _login(page, live_server.url, *ward["doctor"])
    page.goto(f"{base}/prescriptions/new")
    page.fill("[name=rp0_l0_query]", "ロキソニン")
    page.locator(".drug-results li").first.click()
    page.fill("[name=rp0_l0_dose]", "3")
    page.fill("[name=rp0_quantity]", "5")
    page.select_option("#rp0_usage_code", index=1)
    page.get_by_role("button", name="チェック").click()
    checks = page.locator("#rx-checks")
    expect(checks).to_contain_text("妊娠中（分娩予定日")
    expect(checks).to_contain_text("妊婦への投与は添付文書で確認してください")
    screenshot(page, f"pregnancy-check-{width}x{height}")
    page.goto(f"{base}/profile/allergies/new")
    expect(page.locator("#withhold-on-add")).to_be_visible()
