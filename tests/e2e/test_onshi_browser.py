"""In a real browser on a 10-inch tablet (820×1180 and 1180×820): the consent block on the patient page, and the
medication history by month with its tabs and filters — every control at least 44 px — screenshots kept."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from playwright.sync_api import expect

from app.core.timeutil import JST
from app.onshi.models import HistoryConsent
from simulators.onshi.demo_data import yamada_history
from simulators.onshi.testing import start_onshi
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_login_and_pwa import _login
from tests.e2e.test_tablet_screens import AXE, AXE_JS, MEASURE_JS, TOUCH
from tests.factories import make_clinic, make_patient, make_user
from tests.onshi.conftest import IDENTITY
from tests.sharing.records import CLINIC_A, INSURANCE

pytestmark = pytest.mark.e2e


@pytest.fixture
def history(live_app):
    """山田 太郎 of clinic A with today's consent (薬剤・診療・特定健診) and his demo history at the service."""
    service = start_onshi()
    now = datetime.now(JST)
    service.state.add_person(IDENTITY, name="山田　太郎", kana="ヤマダ　タロウ", birth=date(1958, 3, 2), sex="1",
                             consent_until={k: now + timedelta(hours=20) for k in ("drug", "diagnosis", "checkup")},
                             **yamada_history(now.date()))
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        clinic = make_clinic(session, name="かみかるて内科クリニック", institution_code=CLINIC_A,
                             integrations={"national_gateway": service.connection(CLINIC_A)})
        doctor = make_user(session, clinic, role="doctor", display_name="医師 一")
        patient = make_patient(session, clinic, name="山田　太郎", kana="ヤマダ　タロウ", birth_date=date(1958, 3, 2),
                               insurances=INSURANCE, orca_patient_id="00001")
        for kind, flag in (("drug", "1"), ("diagnosis", "1"), ("checkup", "1"), ("operation", "0")):
            session.add(HistoryConsent(clinic_id=clinic.id, patient_id=patient.id, kind=kind, flag=flag,
                                       given_at=now - timedelta(hours=4) if flag == "1" else None,
                                       available_until=now + timedelta(hours=20) if flag == "1" else None))
        session.commit()
        data = {"doctor": (doctor.login_id, doctor.totp_secret), "patient_id": patient.id}
        session.close()
    yield data
    service.stop()


def _targets_are_touch_sized(page, selector: str) -> None:
    for box in page.locator(selector).evaluate_all("els => els.map(e => e.getBoundingClientRect().height)"):
        assert box >= 44, f"{selector}: a target of {box}px"


@pytest.mark.parametrize("width, height", [(820, 1180), (1180, 820)])
def test_consent_block_and_the_history_on_a_tablet(page, live_server, history, width, height):
    page.set_viewport_size({"width": width, "height": height})
    _login(page, live_server.url, *history["doctor"])
    patient = f"{live_server.url}/patients/{history['patient_id']}"
    page.goto(patient)
    block = page.locator("#onshi-consent")
    expect(block).to_contain_text("薬剤情報")
    expect(block).to_contain_text("まで閲覧可")
    expect(block).to_contain_text("手術情報")
    block.screenshot(path=str(ARTIFACTS / f"onshi_consent_{width}x{height}.png"))
    block.get_by_role("link", name="薬剤情報（オンライン資格確認）").click()
    expect(page.locator("#onshi-medication")).to_contain_text("アムロジピンＯＤ錠２．５ｍｇ「トーワ」")
    expect(page.locator("#onshi-medication")).to_contain_text("電子処方箋の調剤")
    _targets_are_touch_sized(page, ".onshi-tabs a, .onshi-filters select, .onshi-filters button, "
                                   ".onshi-filters input[type=text], #onshi-source ~ form button")
    page.screenshot(path=str(ARTIFACTS / f"onshi_medication_{width}x{height}.png"))
    page.select_option("#months", "12")
    page.fill("#drug", "アレグラ")
    page.get_by_role("button", name="表示").click()
    expect(page.locator("#onshi-medication")).to_contain_text("にしぐち耳鼻咽喉科")
    expect(page.locator("#onshi-medication")).not_to_contain_text("アムロジピン")
    page.get_by_role("link", name="特定健診情報").click()
    expect(page.locator("#onshi-checkups")).to_contain_text("ＨｂＡ１ｃ（ＮＧＳＰ）")
    page.screenshot(path=str(ARTIFACTS / f"onshi_checkups_{width}x{height}.png"), full_page=True)
    page.get_by_role("link", name="診療情報").click()
    expect(page.locator("#onshi-procedures")).to_contain_text("再診料")
    page.screenshot(path=str(ARTIFACTS / f"onshi_procedures_{width}x{height}.png"))


def _fits_and_passes_axe(page) -> list[str]:
    """What the tablet screens' check finds on this page: small targets, sideways scrolling, cut text, and
    axe-core's serious or critical findings."""
    found = page.evaluate(MEASURE_JS, TOUCH)
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    found["axe"] = page.evaluate(AXE_JS)
    return [f"{kind}: {value}" for kind, value in found.items() if value]


@pytest.mark.parametrize("width, height", [(820, 1180), (1180, 820)])
def test_every_tab_and_the_pdfs_fit_the_tablet_and_pass_axe(page, live_server, history, width, height):
    page.set_viewport_size({"width": width, "height": height})
    _login(page, live_server.url, *history["doctor"])
    base = f"{live_server.url}/patients/{history['patient_id']}/onshi"
    problems = []
    for tab in ("medication", "procedures", "checkups"):
        page.goto(f"{base}?tab={tab}&months=36")
        if tab == "checkups":  # the 特定健診 as PDF: asked for, kept, listed with who asked and opened in the viewer
            page.get_by_role("button", name="PDFで取得").click()
            expect(page.locator("#onshi-pdf")).to_contain_text("医師 一")
            expect(page.locator("#onshi-pdf").get_by_role("link", name="PDFを開く")).to_have_count(1)
            expect(page.locator("#checkup-report, #onshi-checkups .checkup-items").first).to_be_visible()
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(ARTIFACTS / f"onshi_{tab}_full_{width}x{height}.png"), full_page=True)
        problems += [f"{tab} {width}×{height} {p}" for p in _fits_and_passes_axe(page)]
    assert not problems, "\n".join(problems)
