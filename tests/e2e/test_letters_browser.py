"""In a real browser on a tablet: a doctor writes a referral letter with the record pulled in, confirms it and
prints it; the 6-information screen says why nothing national is shown without consent."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.diagnoses.masters import load_shipped_subsets
from app.diagnoses.models import Diagnosis
from app.documents.models import ReferralDestination
from app.patients.models import Patient
from tests.e2e.test_login_and_pwa import _login
from tests.factories import make_clinic, make_patient, make_user

pytestmark = pytest.mark.e2e


@pytest.fixture
def desk(live_app):
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        load_shipped_subsets(session)
        clinic = make_clinic(session, name="ブラウザ内科")
        doctor = make_user(session, clinic, role="doctor", display_name="医師 一")
        patient = make_patient(session, clinic, name="山田　太郎", kana="ヤマダ　タロウ")
        item = Diagnosis(clinic_id=clinic.id, patient_id=patient.id, version=1, disease_code="8833421",
                         display_name="高血圧症", icd10="I10", started_on=date(2020, 4, 1))
        session.add(item)
        session.flush()
        item.lineage_id = item.id
        session.commit()
        data = {"doctor": (doctor.login_id, doctor.totp_secret), "patient_id": patient.id}
        session.close()
    return data


def test_doctor_writes_confirms_and_prints_a_letter(page, live_server, desk):
    page.set_viewport_size({"width": 768, "height": 1024})
    _login(page, live_server.url, *desk["doctor"])
    base = f"{live_server.url}/patients/{desk['patient_id']}"
    page.goto(f"{base}/letters/new")
    expect(page.locator("#f-diagnoses")).to_have_value("高血圧症（2020-04-01〜、継続）")  # 自動引用
    page.fill("#f-to_institution", "みなと総合病院")
    page.fill("#f-to_doctor", "港 一郎 先生")
    page.fill("#f-purpose", "狭心症の精査をお願いします。")
    page.click("button:has-text('下書き保存')")
    expect(page.locator(".flash")).to_contain_text("下書き保存しました")
    page.click("button:has-text('確定する')")
    expect(page.locator(".flash")).to_contain_text("確定しました")
    href = page.locator("a:has-text('PDFで印刷')").get_attribute("href")
    pdf = page.request.get(f"{live_server.url}{href}")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.body()[:5] == b"%PDF-"
    page.reload()
    expect(page.locator("#letter")).to_contain_text("印刷済")
    page.goto(f"{base}/sharing")
    expect(page.locator("#sharing-problem")).to_contain_text("同意が記録されていません")


def test_choosing_from_the_address_book_fills_the_destination_and_it_stays_editable(page, live_app, live_server,
                                                                                     desk):
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        clinic_id = session.scalar(select(Patient.clinic_id).where(Patient.id == desk["patient_id"]))
        session.add(ReferralDestination(clinic_id=clinic_id, institution="みなと総合病院",
                                        institution_code="1310000009", department="循環器内科", doctor="港 一郎"))
        session.commit()
        session.close()
    _login(page, live_server.url, *desk["doctor"])
    page.goto(f"{live_server.url}/patients/{desk['patient_id']}/letters/new")
    page.select_option("#f-destination", label="みなと総合病院 循環器内科 港 一郎 医師")
    expect(page.locator("#f-to_institution")).to_have_value("みなと総合病院")
    expect(page.locator("#f-to_institution_code")).to_have_value("1310000009")
    expect(page.locator("#f-to_doctor")).to_have_value("港 一郎")
    page.fill("#f-to_department", "心臓血管外科")  # still editable after choosing
    page.check("input[name='honorific'][value='御侍史']")
    page.fill("#f-purpose", "精査をお願いします。")
    page.click("button:has-text('下書き保存')")
    expect(page.locator("#letter")).to_contain_text("みなと総合病院 心臓血管外科 港 一郎 御侍史")
