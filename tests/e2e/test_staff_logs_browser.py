"""The 送信状況 and 操作・閲覧記録 screens on a 10-inch tablet (820×1180 portrait, 1180×820 landscape): no sideways
scrolling, every tap target in the main content at least 44×44 px; screenshots kept for a reviewer."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.core.audit import Actor, log_access, record_audit
from app.db import utcnow
from app.outbox import services as outbox
from app.outbox.models import DEAD, DELIVERED
from tests.e2e.conftest import screenshot
from tests.e2e.test_login_and_pwa import _login
from tests.factories import make_clinic, make_patient, make_user

pytestmark = pytest.mark.e2e

SIZES = {"portrait": {"width": 820, "height": 1180}, "landscape": {"width": 1180, "height": 820}}
#: Tap targets of the main content smaller than 44×44 px (visible ones only).
SMALL_TARGETS = """() => [...document.querySelectorAll(
    '#main a, #main button, #main select, #main input:not([type=hidden])')]
  .filter(e => e.offsetParent !== null)
  .map(e => [e.getBoundingClientRect(), e.textContent.trim() || e.name || e.id])
  .filter(([r]) => r.width < 44 || r.height < 44)
  .map(([r, label]) => `${label} ${Math.round(r.width)}×${Math.round(r.height)}`)"""


@pytest.fixture
def logs(live_app):
    """A clinic with 30 outgoing messages in every state and 40 looks at its patients' records."""
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        clinic = make_clinic(session, name="タブレット内科")
        admin = make_user(session, clinic, role="admin", display_name="管理 花子")
        doctor = make_user(session, clinic, role="doctor", display_name="上野 誠")
        patients = [make_patient(session, clinic, name=name, kana=kana, orca_patient_id=f"{n:05d}")
                    for n, (name, kana) in enumerate([("山田　太郎", "ヤマダ　タロウ"),
                                                      ("長谷川　久美子", "ハセガワ　クミコ")], start=1)]
        kinds = ["orca.reception", "lab.order", "sharing.register", "orca.prescription_billing", "sharing.document"]
        for n in range(30):
            message = outbox.enqueue(session, clinic_id=clinic.id, kind=kinds[n % 5], payload={},
                                     patient_id=patients[n % 2].id, created_by_id=doctor.id if n % 3 else None)
            if n % 4 == 1:
                message.attempts, message.next_attempt_at = 3, utcnow() + timedelta(minutes=4)
                message.last_error = "DeliveryError: 送信先が応答しません（HTTP 503）"
            elif n % 4 == 2:
                message.status, message.attempts = DEAD, 8
                message.last_error = ("PermanentDeliveryError: 電子カルテ情報共有サービスが受け付けませんでした: "
                                      "被保険者番号（http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID）が "
                                      "保険者番号:記号:番号:枝番 の形ではありません: 06139999:１２:３４５６７８９０:00")
            elif n % 4 == 3:
                message.status, message.delivered_at = DELIVERED, utcnow()
        actor = Actor(doctor.id, doctor.login_id, clinic.id, "doctor", "127.0.0.1")
        for n in range(40):
            log_access(session, actor, patient_id=patients[n % 2].id, action=("view", "print")[n % 7 == 0],
                       resource=("patient.page", "patient.labs", f"prescription:{n}")[n % 3])
        for n in range(30):
            record_audit(session, actor, ("diagnosis.create", "prescription.issue", "profile.allergies.correct")[n % 3],
                         clinic_id=clinic.id, entity_type="x", entity_id=n, patient_id=patients[n % 2].id,
                         summary={"reason": "用量の入力誤りを訂正"} if n % 3 == 2 else {})
        session.commit()
        data = (admin.login_id, admin.totp_secret)
        session.close()
    return data


@pytest.mark.parametrize("orientation", list(SIZES))
def test_the_logs_fit_a_tablet_and_are_worked_with_a_finger(page, live_server, logs, orientation):
    page.set_viewport_size(SIZES[orientation])
    _login(page, live_server.url, *logs)
    for name, path in (("outbox", "/outbox"), ("outbox-failed", "/outbox?state=failed"),
                       ("audit", "/admin/audit"), ("access-log", "/admin/audit?tab=access")):
        page.goto(f"{live_server.url}{path}")
        assert re.match(r"\d+件中 1〜\d+件目", page.locator(".list-count").inner_text()), name
        width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], (name, orientation, width)
        assert page.evaluate(SMALL_TARGETS) == [], (name, orientation)
        screenshot(page, f"staff-logs-{name}-{orientation}")
