"""The 指導料・管理料 picker and the visit summary in a real browser on a tablet held both ways: no sideways scroll
of the page, what applies first, a greyed fee with its reason, choosing a fee, ORCA's trial calculation, 初診/再診
from ORCA's 初診算定日 and the button that adds the day's images."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.core.timeutil import japan_today
from app.patients.models import Patient
from app.prescriptions.models import Prescription, PrescriptionLine, PrescriptionRp
from app.reception.models import Visit
from app.reception.orca_sync import sync_all_clinics
from tests.billing.helpers import BASEDOW, CODE, add_diagnosis, earlier_visit, load_masters
from tests.e2e.conftest import screenshot
from tests.e2e.test_login_and_pwa import _login
from tests.factories import make_clinic, make_user

pytestmark = pytest.mark.e2e

SIZES = {"portrait": (820, 1180), "landscape": (1180, 820)}


@pytest.fixture
def visit(live_app, orca):
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        clinic = make_clinic(session, institution_code=CODE, integrations={"orca": {
            "base_url": orca.base_url(CODE), "user": "ormaster-a", "password": "orca-demo-a"}})
        doctor = make_user(session, clinic, role="doctor", display_name="医師 一")
        load_masters(session)
        session.commit()
        sync_all_clinics(live_app.extensions["db_sessionmaker"])
        patient = session.scalars(select(Patient).where(Patient.orca_patient_id == "00001")).one()
        add_diagnosis(session, patient, *BASEDOW)
        earlier_visit(session, clinic, patient, japan_today())
        rx = Prescription(clinic_id=clinic.id, patient_id=patient.id, doctor_name="医師 一", issued_on=japan_today(),
                          valid_until=japan_today(), orca_billing_status="sending")  # rides in the visit's data
        rx.rps.append(PrescriptionRp(number=1, form=1, usage_text="１日３回毎食後", quantity=28, lines=[
            PrescriptionLine(seq=1, drug_receipt_code="620098801", drug_name="ロキソニン錠６０ｍｇ", dose=3, unit="錠",
                             by_generic_name=True)]))
        session.add(rx)
        visit_id = session.scalars(select(Visit.id).where(Visit.patient_id == patient.id)
                                   .order_by(Visit.visit_date.desc())).first()
        session.commit()
        data = {"doctor": (doctor.login_id, doctor.totp_secret), "visit_id": visit_id}
        session.close()
    return data


@pytest.mark.parametrize("size", SIZES)
def test_fees_and_summary_fit_the_tablet(page, live_server, visit, size):
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    _login(page, live_server.url, *visit["doctor"])
    page.goto(f"{live_server.url}/billing/visits/{visit['visit_id']}/fees")
    first = page.locator("table.fee-options tbody tr").first
    expect(first).to_contain_text("特定疾患療養管理料")
    expect(page.locator("tr.fee-greyed").first).to_be_visible()
    first.get_by_role("button", name="算定").click()
    expect(page.locator("#chosen-fees")).to_contain_text("特定疾患療養管理料")
    screenshot(page, f"billing-fees-{size}")
    assert page.evaluate("document.scrollingElement.scrollWidth <= document.documentElement.clientWidth")
    page.goto(f"{live_server.url}/billing/visits/{visit['visit_id']}")
    expect(page.locator("#orca-points")).to_contain_text("点")
    expect(page.locator("#summary-lines")).to_contain_text("113001810")
    expect(page.locator("#visit-kind")).to_contain_text("再診（ORCAの初診算定日")
    expect(page.locator("#summary-lines")).to_contain_text("処方箋料")
    expect(page.locator("#no-differences")).to_be_visible()
    images = page.get_by_role("button", name="本日の画像（PACS）を算定に加える")
    assert images.bounding_box()["height"] >= 44
    screenshot(page, f"billing-summary-{size}")
    assert page.evaluate("document.scrollingElement.scrollWidth <= document.documentElement.clientWidth")
