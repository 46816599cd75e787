"""The administrator's データの書き出し・取り込み screen on a tablet (820×1180, 1180×820): the export is asked for with
a finger, runs in the background, and the page shows it done with its files; no sideways scrolling, every tap
target at least 44×44 px, no text cut off; screenshots kept for a reviewer."""

from __future__ import annotations

import pytest

from app.transfer.jobs import run_pending
from tests.e2e.conftest import screenshot
from tests.e2e.test_login_and_pwa import _login
from tests.e2e.test_staff_logs_browser import SIZES
from tests.e2e.test_tablet_screens import MEASURE_JS
from tests.transfer.world import build

pytestmark = pytest.mark.e2e


@pytest.fixture
def clinic_admin(live_app, tmp_path):
    live_app.config["TRANSFER_DIR"] = str(tmp_path / "transfer")
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        world = build(session)
        data = (world["admin"].login_id, world["admin"].totp_secret)
        session.close()
    return data


@pytest.mark.parametrize("orientation", list(SIZES))
def test_the_export_is_asked_for_and_downloaded_on_a_tablet(page, live_server, live_app, clinic_admin, tmp_path,
                                                             orientation):
    page.set_viewport_size(SIZES[orientation])
    _login(page, live_server.url, *clinic_admin)
    page.goto(f"{live_server.url}/admin/transfer")
    page.click("button:has-text('書き出す')")
    page.wait_for_selector("text=書き出しを受け付けました")
    assert "待機中" in page.locator("#jobs").inner_text()
    run_pending(live_app.extensions["db_sessionmaker"], tmp_path / "transfer")
    page.goto(f"{live_server.url}/admin/transfer")
    jobs = page.locator("#jobs").inner_text()
    assert "完了" in jobs and "100%" in jobs and "Condition.ndjson" in jobs
    with page.expect_download() as download:
        page.click("text=ZIPでダウンロード")
    assert download.value.suggested_filename.endswith(".zip")
    measured = page.evaluate(MEASURE_JS, 44)  # tap targets (a radio by its label), sideways scroll, cut text
    assert measured == {"small": [], "sideways": None, "cut": [], "headings": None}, (orientation, measured)
    screenshot(page, f"transfer-{orientation}")
