"""In a real browser on a tablet (portrait and landscape): a doctor marks a lab order and a prescription 共有しない on
their own pages with a reason, sees the mark with who and why, and sets the lab order back to 共有する."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app.core.timeutil import japan_today
from app.labs.models import LabOrder
from tests.e2e.conftest import screenshot
from tests.e2e.test_login_and_pwa import _login
from tests.sharing.records import arrange

pytestmark = pytest.mark.e2e


@pytest.fixture
def desk(live_app):
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        found = arrange(session)
        order = LabOrder(clinic_id=found["clinic"].id, patient_id=found["patient"].id, order_number="L0000001018",
                         ordered_on=japan_today() - timedelta(days=2), status="accepted", ordered_by_name="医師 一郎")
        session.add(order)
        session.commit()
        data = {"doctor": (found["doctor"].login_id, found["doctor"].totp_secret),
                "patient_id": found["patient"].id, "order_id": order.id,
                "prescription_id": found["prescription"].id}
        session.close()
    return data


@pytest.mark.parametrize(("width", "height"), [(820, 1180), (1180, 820)])
def test_a_doctor_withholds_an_order_and_a_prescription_and_shares_the_order_again(page, live_server, desk, width,
                                                                                    height):
    page.set_viewport_size({"width": width, "height": height})
    _login(page, live_server.url, *desk["doctor"])
    base = f"{live_server.url}/patients/{desk['patient_id']}"
    for path, name in ((f"labs/orders/{desk['order_id']}", "order"),
                       (f"prescriptions/{desk['prescription_id']}", "prescription")):
        page.goto(f"{base}/{path}")
        mark = page.locator("#sharing-mark")
        mark.get_by_label("共有しない理由").fill("患者の希望")
        mark.get_by_role("button", name="共有しない").click()
        page.wait_for_url(f"**/{path}")
        expect(page.locator(".flash")).to_contain_text("「共有しない」にしました")
        expect(mark).to_contain_text("共有しない")
        expect(mark).to_contain_text("医師 一郎：患者の希望")
        screenshot(page, f"withheld-{name}-{width}x{height}")
    page.goto(f"{base}/labs/orders/{desk['order_id']}")
    page.locator("#sharing-mark").get_by_role("button", name="共有するに戻す").click()
    expect(page.locator(".flash")).to_contain_text("「共有する」に戻しました")
    expect(page.locator("#sharing-mark")).to_contain_text("登録します")
