"""The patient summary in a real browser on a tablet held both ways: one screen a doctor glances at, no sideways
scrolling of the page, every link and button of the summary a touch target, the trend arrows and H/L on screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from bench.summary import History, seed_history
from tests.e2e.conftest import screenshot
from tests.e2e.test_login_and_pwa import _login
from tests.factories import make_clinic, make_user

pytestmark = pytest.mark.e2e

SIZES = {"portrait": (820, 1180), "landscape": (1180, 820)}

#: Links and buttons of the summary and its navigation smaller than 44 px either way (the header's and banner's
#: are another screen's business).
TARGETS = ", ".join(f"{area} {what}" for area in ("#patient-links", "#patient-summary")
                    for what in ("a", "button", "summary"))
SMALL_TARGETS = """() => [...document.querySelectorAll('""" + TARGETS + """')]
  .map(e => [e.textContent.trim().slice(0, 20), e.getBoundingClientRect()])
  .filter(([, b]) => b.width > 0 && (b.height < 44 || b.width < 44)).map(([t, b]) => `${t} ${b.width}x${b.height}`)"""


@pytest.fixture
def chart(live_app):
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        clinic = make_clinic(session, name="ブラウザ内科")
        doctor = make_user(session, clinic, role="doctor", display_name="医師 一")
        patient_id = seed_history(session, clinic.id, History(results=200, prescriptions=30, letters=8, vitals=24))
        data = {"doctor": (doctor.login_id, doctor.totp_secret), "patient_id": patient_id}
        session.close()
    return data


@pytest.mark.parametrize("size", SIZES)
def test_the_summary_fits_the_tablet(page, live_server, chart, size):
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    _login(page, live_server.url, *chart["doctor"])
    page.goto(f"{live_server.url}/patients/{chart['patient_id']}")
    expect(page.locator("#summary-vitals")).to_contain_text("前回より低下")
    expect(page.locator("#summary-labs .flag-H").first).to_have_text("H")
    screenshot(page, f"patient-summary-{size}")
    assert page.evaluate("document.scrollingElement.scrollWidth <= document.documentElement.clientWidth")
    assert page.evaluate(SMALL_TARGETS) == []
