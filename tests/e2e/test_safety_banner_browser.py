"""In a real browser on a 10-inch tablet in portrait (820×1180): the safety banner stays on screen while a long
patient page scrolls, and one touch opens its details (with the 他院 entry's source and the doctor's buttons)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from app.diagnoses.masters import load_shipped_subsets
from app.diagnoses.models import Diagnosis
from app.patients.profile_models import Allergy
from app.sharing.models import NationalEntryCopy, SharingConsent
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_login_and_pwa import _login
from tests.factories import make_clinic, make_patient, make_user

pytestmark = pytest.mark.e2e


@pytest.fixture
def ward(live_app):
    """髙橋 美咲 with a drug allergy, a long list of diagnoses and another institution's food allergy."""
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        load_shipped_subsets(session)
        clinic = make_clinic(session, name="ブラウザ内科")
        doctor = make_user(session, clinic, role="doctor", display_name="医師 一")
        patient = make_patient(session, clinic, name="髙橋　美咲", kana="タカハシ　ミサキ", sex="F",
                               birth_date=date(1990, 11, 20), orca_patient_id="00002")
        session.add(Allergy(clinic_id=clinic.id, patient_id=patient.id, version=1, category="drug",
                            substance="ロキソニン錠６０ｍｇ", reaction="蕁麻疹", severity="severe",
                            drug_scope="product", drug_receipt_code="620098801", drug_yj_code="1149019F1560"))
        diagnoses = [Diagnosis(clinic_id=clinic.id, patient_id=patient.id, version=1, disease_code="8833421",
                               display_name="高血圧症", icd10="I10", started_on=date(2020, 4, 1) + timedelta(days=n))
                     for n in range(40)]
        session.add_all(diagnoses)
        session.flush()
        for item in diagnoses:
            item.lineage_id = item.id
        session.add(SharingConsent(clinic_id=clinic.id, patient_id=patient.id, given_on=date.today(),
                                   valid_until=date.today() + timedelta(days=365)))
        session.add(NationalEntryCopy(clinic_id=clinic.id, patient_id=patient.id, kind="other_allergy",
                                      entry_key="1310000017-e2e-alg", title="そば", detail="口唇の腫れ",
                                      day="2026-02-01", institution_code="1310000017",
                                      institution_name="かもめ循環器クリニック", codes={"category": "food"}))
        session.commit()
        data = {"doctor": (doctor.login_id, doctor.totp_secret), "patient_id": patient.id}
        session.close()
    return data


def test_the_banner_stays_on_screen_while_scrolling_and_opens_with_one_touch(page, live_server, ward):
    page.set_viewport_size({"width": 820, "height": 1180})
    _login(page, live_server.url, *ward["doctor"])
    page.goto(f"{live_server.url}/patients/{ward['patient_id']}/diagnoses")
    banner = page.locator("#safety-banner")
    expect(banner).to_contain_text("薬剤アレルギー：ロキソニン錠６０ｍｇ")
    expect(banner).to_contain_text("その他アレルギー：そば他院")
    assert page.evaluate("document.documentElement.scrollHeight") > 2 * 1180  # a long page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "safety-banner-tablet-top.png"))
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    page.wait_for_function("window.scrollY > 1000")
    box = banner.bounding_box()
    assert box is not None and 0 <= box["y"] <= 1 and box["height"] < 200  # pinned at the top, compact
    expect(banner.locator(".sb-alert").first).to_be_in_viewport()
    page.screenshot(path=str(ARTIFACTS / "safety-banner-tablet-scrolled.png"))
    banner.locator("summary").click()  # one touch opens the details
    details = banner.locator(".sb-details")
    expect(details).to_be_visible()
    expect(details).to_contain_text("かもめ循環器クリニック（2026-02-01）")
    expect(details.get_by_role("button", name="取り込む")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "safety-banner-tablet-open.png"))
