"""The administrator registers a partner application in the browser on a tablet (820×1180 and 1180×820): the
client id and secret are shown once, the application's page offers rotation, webhooks, revocation and
deactivation; no sideways scrolling, tap targets of at least 44×44 px (a check box counts by its label)."""

from __future__ import annotations

import pytest

from tests.e2e import test_staff_logs_browser as staff_logs
from tests.e2e.conftest import screenshot
from tests.e2e.test_login_and_pwa import _login
from tests.e2e.test_staff_logs_browser import SIZES
from tests.factories import make_clinic, make_user

pytestmark = pytest.mark.e2e

#: As the logs' check, but a check box counts by its label (the box itself is drawn 24 px inside a 44 px label).
SMALL_TARGETS = staff_logs.SMALL_TARGETS.replace(
    "#main input:not([type=hidden])", "#main input:not([type=hidden]):not([type=checkbox]), #main label.check")


@pytest.fixture
def administrator(live_app):
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        clinic = make_clinic(session, name="タブレット内科")
        admin = make_user(session, clinic, role="admin", display_name="管理 花子")
        session.commit()
        data = (admin.login_id, admin.totp_secret)
        session.close()
    return data


def _fits(page, name: str, orientation: str) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], (name, orientation, width)
    assert page.evaluate(SMALL_TARGETS) == [], (name, orientation)
    screenshot(page, f"partners-{name}-{orientation}")


@pytest.mark.parametrize("orientation", list(SIZES))
def test_register_a_partner_application_on_a_tablet(page, live_server, administrator, orientation):
    page.set_viewport_size(SIZES[orientation])
    _login(page, live_server.url, *administrator)
    page.goto(f"{live_server.url}/admin/partners")
    _fits(page, "list-empty", orientation)
    page.fill("#name", "Web予約システム")
    page.get_by_label("患者基本情報の参照・検索").check()
    page.get_by_label("受付の登録（Web予約など）").check()
    page.click("text=登録してシークレットを発行する")
    page.wait_for_selector("#client-secret")
    assert page.locator("#client-id").inner_text().startswith("kk-")
    assert len(page.locator("#client-secret").inner_text()) >= 40
    _fits(page, "credentials", orientation)
    page.click("text=アプリケーションの画面へ")
    page.wait_for_selector("text=シークレットを切り替える")
    assert page.get_by_label("患者基本情報の参照・検索").is_checked()
    _fits(page, "detail", orientation)
    page.goto(f"{live_server.url}/admin/partners")
    assert page.locator("table.list").inner_text().count("Web予約システム") == 1
    _fits(page, "list", orientation)
