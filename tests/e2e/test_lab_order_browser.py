"""In a real browser on a tablet: a nurse orders tests by typing kana and tapping the set and an item; the order
comes out grouped into numbered specimens with its labels."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.labs.masters import load_shipped_subset
from tests.e2e.conftest import screenshot
from tests.e2e.test_login_and_pwa import _login
from tests.factories import make_clinic, make_patient, make_user

pytestmark = pytest.mark.e2e


@pytest.fixture
def desk(live_app):
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        clinic = make_clinic(session, name="ブラウザ内科")
        nurse = make_user(session, clinic, role="nurse", display_name="看護 花")
        patient = make_patient(session, clinic, name="山田　太郎", kana="ヤマダ　タロウ")
        load_shipped_subset(session)
        session.commit()
        data = {"nurse": (nurse.login_id, nurse.totp_secret), "patient_id": patient.id}
        session.close()
    return data


def test_nurse_orders_a_set_and_an_item_found_as_she_types(page, live_server, desk):
    page.set_viewport_size({"width": 1024, "height": 768})
    _login(page, live_server.url, *desk["nurse"])
    page.goto(f"{live_server.url}/patients/{desk['patient_id']}/labs/orders/new")
    page.fill("#q", "かんきのう")
    page.locator("[data-results] li", has_text="肝機能セット").click()
    page.fill("#q", "hba1c")
    page.locator("[data-results] li", has_text="HbA1c").click()
    chosen = page.locator("[data-chosen] input:checked")
    expect(chosen).to_have_count(2)
    # The set shows its tube and tests at once, as the server lists them.
    expect(page.locator("[data-chosen] li", has_text="肝機能セット").locator(".set-tubes")).to_have_text(
        "検体1: 生化学（分離剤入り）（血清） TP・ALB・A/G・AST・ALT・γ-GT")
    screenshot(page, "lab-order-form")
    page.get_by_role("button", name="依頼する").click()
    expect(page.locator(".flash-success")).to_contain_text("検体 2本")
    rows = page.locator("#lab-order tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("生化学（分離剤入り）")
    expect(rows.nth(1)).to_contain_text("HbA1c(NGSP)")
    expect(page.get_by_role("link", name="検体ラベルを印刷（2枚）")).to_be_visible()
