"""A doctor hands the tablet to a patient, in Chromium at 820×1180 and 1180×820: the patient reads large plain
Japanese with furigana, medicine pictograms and trend charts — the page fits, every target takes a finger, axe-core
finds nothing serious — no staff screen opens, and the doctor's password takes the tablet back."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_login_and_pwa import _login
from tests.e2e.test_tablet_screens import AXE, AXE_JS, MEASURE_JS, SIZES, TOUCH
from tests.factories import DEMO_PASSWORD
from tests.patient_view.records import seed_ward

pytestmark = pytest.mark.e2e


@pytest.fixture
def ward(live_app):
    return seed_ward(live_app)


def _problems(page, label: str) -> list[str]:
    (ARTIFACTS / "tablet").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "tablet" / f"{label}.png"), full_page=True)
    found = page.evaluate(MEASURE_JS, TOUCH)
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")  # not a <script> tag: the app's CSP refuses those
    found["axe"] = page.evaluate(AXE_JS)
    return [f"{label} {kind}: {value}" for kind, value in found.items() if value]


def test_a_doctor_hands_the_tablet_over_and_takes_it_back(page, live_server, ward):
    url = live_server.url
    page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})
    _login(page, url, *ward["doctor"])
    page.goto(f"{url}/patients/{ward['patient_id']}")
    page.click("#patient-view-link")
    page.wait_for_url("**/patient-view")
    problems = []
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        problems += _problems(page, f"patient-view-setup-{width}x{height}")
    page.check("input[value=letter]")
    page.click("#hand-over")
    page.wait_for_url("**/patient-view")
    expect(page.locator("h1")).to_contain_text("さんの")
    expect(page.locator("#pv-diagnoses ruby").first).to_be_visible()
    expect(page.locator("#pv-medicines .picto").first).to_be_visible()
    expect(page.locator("#pv-labs svg.pv-trend")).to_have_count(1)
    expect(page.locator("#pv-letter")).to_contain_text("みなと総合病院")
    assert page.locator("header.topbar").count() == 0 and page.locator("#lock-overlay").count() == 0
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{url}/patient-view")
        problems += _problems(page, f"patient-view-{width}x{height}")
    assert not problems, "\n".join(problems)

    # Nothing else: a staff screen, another URL typed in, goes back to the patient's screen.
    page.goto(f"{url}/reception")
    page.wait_for_url("**/patient-view")
    page.goto(f"{url}/patients")
    page.wait_for_url("**/patient-view")

    # The way out: the staff member's password (a wrong one first).
    page.click("#pv-finish")
    page.wait_for_url("**/patient-view/locked")
    assert not _problems(page, f"patient-view-locked-{SIZES[1][0]}x{SIZES[1][1]}")
    page.fill("#password", "wrong-password")
    page.click("button[type=submit]")
    expect(page.locator(".flash-error")).to_contain_text("パスワードが正しくありません")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**/patients/{ward['patient_id']}")
    expect(page.locator(".flash-success")).to_contain_text("終了しました")
    expect(page.locator("header.topbar")).to_be_visible()
