"""In a real browser on a tablet (portrait and landscape): a doctor records in-house tests and sees them marked 院内
in the result table, reads a received 退院時サマリー and a 健康診断結果報告書 with its trends; an administrator sets up
the 電子カルテ情報共有サービス connection and tests it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app.core.timeutil import japan_today
from tests.e2e.conftest import screenshot
from tests.e2e.test_login_and_pwa import _login
from tests.factories import make_user
from tests.sharing.records import MEMBER, arrange, connect

pytestmark = pytest.mark.e2e
SIZES = [(820, 1180), (1180, 820)]


@pytest.fixture
def desk(live_app, sharing):
    sharing.seed_patient(MEMBER, consent_until=(japan_today() + timedelta(days=30)).isoformat())
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        found = arrange(session, integrations=connect(sharing=sharing), records=False)
        admin = make_user(session, found["clinic"], role="admin")
        session.commit()
        data = {"doctor": (found["doctor"].login_id, found["doctor"].totp_secret),
                "admin": (admin.login_id, admin.totp_secret), "patient_id": found["patient"].id}
        session.close()
    return data


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_a_doctor_records_in_house_tests_and_reads_received_documents(page, live_server, desk, sharing, width,
                                                                       height):
    discharge_id = sharing.seed_discharge_summary(MEMBER, "山田 太郎", "ヤマダ タロウ")
    checkup_ids = sharing.seed_checkup_reports(MEMBER, "山田 太郎", years=5)
    page.set_viewport_size({"width": width, "height": height})
    _login(page, live_server.url, *desk["doctor"])
    base = f"{live_server.url}/patients/{desk['patient_id']}"
    page.goto(f"{base}/labs/in-house")
    page.get_by_role("radiogroup", name="尿蛋白（定性）").get_by_text("1+").click()
    page.get_by_role("radiogroup", name="インフルエンザA抗原（迅速）").get_by_text("陰性").click()
    page.get_by_label("血糖（mg/dL）").fill("5000")
    page.get_by_role("button", name="記録する").click()
    expect(page.locator("#in-house-error")).to_contain_text("血糖は10〜600mg/dLの範囲で入力してください")
    screenshot(page, f"in-house-refused-{width}x{height}")
    page.get_by_label("血糖（mg/dL）").fill("132")
    page.get_by_role("button", name="記録する").click()
    expect(page.locator(".flash")).to_contain_text("院内検査の結果を記録しました（3項目）")
    expect(page.locator("#lab-results")).to_contain_text("院内")
    screenshot(page, f"in-house-table-{width}x{height}")
    page.goto(f"{base}/letters")
    expect(page.locator("#received-letters")).to_contain_text("退院時サマリー")
    screenshot(page, f"received-list-{width}x{height}")
    page.goto(f"{base}/letters/received/{discharge_id}")
    expect(page.locator("#discharge-summary")).to_contain_text("タケキャブ錠２０ｍｇ")
    screenshot(page, f"discharge-summary-{width}x{height}")
    page.goto(f"{base}/letters/received/{checkup_ids[-1]}")
    expect(page.locator("#checkup-report")).to_contain_text("問診結果セクション")
    screenshot(page, f"checkup-report-{width}x{height}")


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_an_administrator_connects_the_sharing_service(page, live_server, desk, sharing, width, height):
    page.set_viewport_size({"width": width, "height": height})
    _login(page, live_server.url, *desk["admin"])
    page.goto(f"{live_server.url}/admin/sharing")
    page.get_by_label("接続先（FHIRのベースURL）").fill(sharing.base_url("1310123458"))
    page.get_by_label("アクセストークン").fill(sharing.token("1310123458"))
    page.get_by_role("button", name="保存して接続テスト").click()
    expect(page.locator("#sharing-test-result")).to_contain_text("医療機関コード 1310123458 として認証しました")
    screenshot(page, f"sharing-connection-{width}x{height}")
