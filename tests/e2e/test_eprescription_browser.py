"""In a real browser on a tablet (820×1180 and 1180×820): the order form's issue choices and consent, the
電子処方箋管理サービス's duplicate-check hit with the other drug, its dispensing date, institution and pharmacy and
the 投与理由 field, the issued prescription with its 引換番号, and the administrator's connection screen."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from app.core.audit import Actor
from app.integrations.eprescription.signing import TestSigner
from app.prescriptions import checking
from app.prescriptions import services as rx
from app.prescriptions.drug_master import load_shipped_subset
from tests.e2e.conftest import screenshot
from tests.e2e.test_login_and_pwa import _login
from tests.factories import make_clinic, make_patient, make_user
from tests.prescriptions.test_prescriptions import AMLODIPINE

pytestmark = pytest.mark.e2e
CLINIC = "1310123458"
CARD = ["01130012", "75131378", "7812312", "00"]


@pytest.fixture
def desk(live_app, eprescription):
    """A connected clinic, 山田 太郎 with an earlier paper prescription, and another institution's アムロジピン."""
    eprescription.trust(TestSigner(live_app.instance_path).ca_pem)
    eprescription.add_history(patient=CARD, date=date.today().strftime("%Y%m%d"), code="2171022F1ZZZ",
                              name="アムロジピン錠５ｍｇ「他院」", institution="神田内科医院", pharmacy="神田薬局")
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        load_shipped_subset(session)
        clinic = make_clinic(session, institution_code=CLINIC, name="かみかるて内科", integrations={
            "eprescription": {"signer": "test"},
            "national_gateway": {"url": eprescription.base_url(CLINIC), "token": eprescription.token(CLINIC)}})
        doctor = make_user(session, clinic, role="doctor", display_name="医師 一郎")
        admin = make_user(session, clinic, role="admin")
        patient = make_patient(session, clinic, name="山田　太郎", kana="ヤマダ　タロウ", birth_date=date(1958, 3, 2),
                               insurances=[{"insurer_number": CARD[0], "symbol": CARD[1], "number": CARD[2],
                                            "branch": CARD[3], "relation": "本人", "burden_percent": 30}])
        draft = rx.Draft(rps=[rx.DraftRp(form="1", usage_code="1011000400000000", quantity="28", lines=[
            rx.DraftLine(drug_code=AMLODIPINE, dose="1", by_generic_name=True)])])
        rx.validate_draft(session, draft)
        actor = Actor(user_id=doctor.id, login_id=doctor.login_id, clinic_id=clinic.id)
        report = checking.check_prescription(session, clinic, patient, draft)
        earlier = checking.issue_prescription(session, clinic, actor, patient, draft,
                                              {r.key: "既往の処方" for r in report.results})
        session.commit()
        data = {"doctor": (doctor.login_id, doctor.totp_secret), "admin": (admin.login_id, admin.totp_secret),
                "patient_id": patient.id, "earlier": earlier.id}
        session.close()
    return data


def test_duplicate_check_reason_and_exchange_number_on_a_tablet(page, live_server, desk):
    page.set_viewport_size({"width": 820, "height": 1180})
    _login(page, live_server.url, *desk["doctor"])
    page.goto(f"{live_server.url}/patients/{desk['patient_id']}/prescriptions/new?from={desk['earlier']}")
    page.get_by_text("紙の処方箋（引換番号あり）").click()
    page.get_by_text("カードリーダーで同意").click()
    page.get_by_role("button", name="チェック").click()
    checks = page.locator("#rx-checks")
    expect(checks).to_contain_text("【重複投薬】")
    expect(checks).to_contain_text("神田内科医院")
    expect(checks).to_contain_text("神田薬局")
    expect(page.get_by_label("投与理由").first).to_be_visible()
    screenshot(page, "erx-check-portrait")
    page.set_viewport_size({"width": 1180, "height": 820})
    screenshot(page, "erx-check-landscape")
    for box in page.locator("input[name=ack]").all():
        box.check()
    for field in page.get_by_label("投与理由").all():
        field.fill("他院処方の中止を確認済み")
    for field in page.get_by_label("それでも処方する理由").all():
        field.fill("確認済み")
    page.get_by_role("button", name="確認して発行").click()
    state = page.locator("#eprescription-state")
    expect(state).to_contain_text("引換番号")
    page.set_viewport_size({"width": 820, "height": 1180})
    screenshot(page, "erx-issued-portrait")


def test_the_connection_screen_on_a_tablet(page, live_server, desk, eprescription):
    page.set_viewport_size({"width": 1180, "height": 820})
    _login(page, live_server.url, *desk["admin"])
    page.goto(f"{live_server.url}/clinic/eprescription")
    page.get_by_label("中継のトークン").fill(eprescription.token(CLINIC))
    page.get_by_role("button", name="保存して接続テスト").click()
    expect(page.locator("#eprescription-test-result")).to_contain_text("電子処方箋管理サービスが応答しました")
    screenshot(page, "erx-settings-landscape")
    page.set_viewport_size({"width": 820, "height": 1180})
    screenshot(page, "erx-settings-portrait")
