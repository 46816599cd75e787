"""In a real browser: log in with TOTP, the idle lock, install criteria, the offline page."""

from __future__ import annotations

import pyotp
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.factories import DEMO_PASSWORD, make_clinic, make_user

pytestmark = pytest.mark.e2e


@pytest.fixture
def nurse(live_app):
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        clinic = make_clinic(session, name="ブラウザ内科", idle_lock_minutes=1)
        user = make_user(session, clinic, role="nurse", display_name="看護 花")
        session.commit()
        data = (user.login_id, user.totp_secret)
        session.close()
    return data


def _login(page, url, login_id, secret):
    page.goto(f"{url}/login")
    page.fill("input[autocomplete=username]", login_id)
    page.fill("input[autocomplete=current-password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("input[autocomplete=one-time-code]")
    page.fill("input[autocomplete=one-time-code]", pyotp.TOTP(secret).now())
    page.click("button[type=submit]")
    page.wait_for_url("**/reception")


def test_login_with_totp_lands_on_reception(page, live_server, nurse):
    _login(page, live_server.url, *nurse)
    assert page.locator("h1").first.inner_text().startswith("受付一覧")
    screenshot(page, "reception-desktop")
    page.set_viewport_size({"width": 800, "height": 1280})
    screenshot(page, "reception-tablet-portrait")


def test_idle_screen_locks_and_unlocks_without_losing_the_page(page, live_server, nurse):
    page.clock.install()
    _login(page, live_server.url, *nurse)
    page.goto(f"{live_server.url}/patients")
    page.fill("#q", "ヤマダ")
    page.clock.fast_forward("01:05")
    page.wait_for_selector("#lock-overlay:not([hidden])")
    screenshot(page, "idle-lock")
    page.fill("#lock-password", "wrong-password")
    page.click("#lock-form button[type=submit]")
    expect(page.locator("#lock-error")).to_contain_text("正しくありません")
    page.fill("#lock-password", DEMO_PASSWORD)
    page.click("#lock-form button[type=submit]")
    page.wait_for_selector("#lock-overlay", state="hidden")
    assert page.input_value("#q") == "ヤマダ"  # what was typed is still there


def test_installable_pwa(profile_context, live_server, nurse):
    page = profile_context.new_page()
    _login(page, live_server.url, *nurse)
    page.wait_for_function("window.swReady === true || window.swError !== undefined")
    assert page.evaluate("window.swReady") is True
    cdp = profile_context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert not manifest.get("errors"), manifest.get("errors")
    installability = cdp.send("Page.getInstallabilityErrors")
    assert installability["installabilityErrors"] == [], installability


def test_offline_page_when_server_is_down(page, live_server, nurse):
    _login(page, live_server.url, *nurse)
    page.wait_for_function("window.swReady === true")
    page.reload()  # now controlled by the service worker
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    live_server.stop()
    page.goto(f"{live_server.url}/reception")
    page.wait_for_selector("#offline-message")
    assert "サーバーに接続できません" in page.inner_text("#offline-message")
    screenshot(page, "offline")
