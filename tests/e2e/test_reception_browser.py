"""The 受付一覧 with a finger, in a real browser on a 10-inch tablet held both ways (820×1180 and 1180×820): every
row a tap target at least 44 px tall that opens the patient, names broken only between family and given name,
the status change a large control on screen, at least 10 patients in portrait, no sideways scrolling of the page,
and the place in the list kept when the live refresh brings a new reception in above it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import expect

from app.clinics.models import Clinic
from app.core.jp import format_wareki
from app.core.timeutil import japan_today
from app.reception.models import Visit
from tests.e2e.conftest import screenshot
from tests.e2e.test_login_and_pwa import _login
from tests.factories import make_clinic, make_patient, make_user

pytestmark = pytest.mark.e2e

#: Long names (family, given, their kana): the ones that broke mid-word in portrait.
NAMES = [("勅使河原", "五十鈴", "テシガワラ", "イスズ"), ("長谷川", "久美子", "ハセガワ", "クミコ"),
         ("山田", "太郎", "ヤマダ", "タロウ"), ("小比類巻", "美智子", "コヒルイマキ", "ミチコ"),
         ("髙橋", "美咲", "タカハシ", "ミサキ"), ("渡邉", "さくら", "ワタナベ", "サクラ")]
SIZES = {"portrait": (820, 1180), "landscape": (1180, 820)}


def _visit(session, clinic, patient, n: int, at: datetime) -> Visit:
    visit = Visit(clinic_id=clinic.id, patient_id=patient.id, visit_date=japan_today(), accepted_at=at,
                  orca_acceptance_id=f"{n:05d}", department_code="01", department_name="内科",
                  physician_code="10001", physician_name="上野　誠", insurance_summary="協会けんぽ 本人 3割",
                  status="accepted", source="kamikarte")
    session.add(visit)
    return visit


@pytest.fixture
def desk(live_app):
    """30 receptions today, from 08:30 a minute apart."""
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        clinic = make_clinic(session, name="ブラウザ内科")
        clerk = make_user(session, clinic, role="clerk")
        start = datetime.combine(japan_today(), datetime.min.time(), tzinfo=UTC) - timedelta(hours=1)
        for n in range(30):
            family, given, kana_family, kana_given = NAMES[n % len(NAMES)]
            patient = make_patient(session, clinic, name=f"{family}　{given}", kana=f"{kana_family}　{kana_given}",
                                   birth_date=date(1940 + n, 1, 1), orca_patient_id=f"{n + 1:05d}")
            _visit(session, clinic, patient, n + 1, start + timedelta(minutes=n))
        session.commit()
        data = {"clerk": (clerk.login_id, clerk.totp_secret), "clinic_id": clinic.id, "start": start}
        session.close()
    return data


#: Measured in the page: rows on screen, their heights, names that wrapped inside a part, the status buttons.
MEASURE = """() => {
  const rows = [...document.querySelectorAll('#reception-table tbody tr[data-visit]')];
  const box = (e) => e.getBoundingClientRect();
  const inView = rows.filter(r => box(r).top >= 0 && box(r).bottom <= innerHeight);
  // A name part that wrapped has more than one line box.
  const parts = [...document.querySelectorAll('#reception-table .name-part')];
  const broken = parts.filter(p => p.getClientRects().length > 1);
  const buttons = [...document.querySelectorAll('#reception-table .status-step')].map(box);
  return {rows: rows.length, inView: inView.length, minHeight: Math.min(...rows.map(r => box(r).height)),
          broken: broken.map(p => p.textContent), buttonHeight: Math.min(...buttons.map(b => b.height)),
          buttonWidth: Math.min(...buttons.map(b => b.width)), buttonRight: Math.max(...buttons.map(b => b.right)),
          pageWidth: document.scrollingElement.scrollWidth, viewWidth: document.documentElement.clientWidth};
}"""


@pytest.mark.parametrize("size", SIZES)
def test_the_list_works_with_a_finger(page, live_server, desk, size):
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    _login(page, live_server.url, *desk["clerk"])
    expect(page.locator("#reception-table tbody tr[data-visit]")).to_have_count(30)
    measured = page.evaluate(MEASURE)
    screenshot(page, f"reception-list-{size}")
    assert measured["minHeight"] >= 44, measured
    assert measured["broken"] == [], measured
    assert measured["buttonHeight"] >= 44 and measured["buttonWidth"] >= 88, measured
    assert measured["buttonRight"] <= width, measured  # the status change is on screen, not off to the side
    assert measured["pageWidth"] <= measured["viewWidth"], measured  # no sideways scrolling of the page
    if size == "portrait":
        assert measured["inView"] >= 10, measured
    # The day filter shows its day in 和暦 beside the date entry itself, on the same line, as every date field does.
    label, field = page.locator("#date-wareki"), page.locator("#date")
    expect(label).to_have_text(format_wareki(japan_today()))
    assert abs(label.bounding_box()["y"] + label.bounding_box()["height"] / 2
               - field.bounding_box()["y"] - field.bounding_box()["height"] / 2) < 12
    # A touch anywhere on a row (here its insurance cell) opens the patient.
    page.locator("#reception-table tbody tr[data-visit]").nth(2).locator("td").nth(4).click()
    page.wait_for_url("**/patients/*")
    expect(page.locator("#patient-header")).to_be_visible()


def test_the_live_refresh_keeps_the_place_in_the_list(page, live_server, live_app, desk):
    page.set_viewport_size({"width": 820, "height": 1180})
    _login(page, live_server.url, *desk["clerk"])
    rows = page.locator("#reception-table tbody tr[data-visit]")
    expect(rows).to_have_count(30)
    watched = rows.nth(15)
    watched.scroll_into_view_if_needed()
    page.evaluate("(y) => window.scrollBy(0, y)", 300)
    visit_id = watched.get_attribute("data-visit")
    before = watched.bounding_box()["y"]
    # Another tablet registers a patient who came in earlier: the new row lands above the one being looked at.
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        clinic = session.get(Clinic, desk["clinic_id"])
        patient = make_patient(session, clinic, name="早川　一番", kana="ハヤカワ　イチバン", orca_patient_id="09999")
        _visit(session, clinic, patient, 9999, desk["start"] - timedelta(minutes=5))
        session.commit()
        session.close()
    expect(rows).to_have_count(31, timeout=8000)
    after = page.locator(f'#reception-table tr[data-visit="{visit_id}"]').bounding_box()["y"]
    assert abs(after - before) <= 2, (before, after)
    screenshot(page, "reception-list-after-refresh")
