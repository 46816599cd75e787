"""The 送信状況 screen in staff language: what happened, for which patient, by whom, when, its state with the reason
and what to do; filters, paging with a count; a failed message re-queued (audited); roles and other clinics."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from app.core.models import AuditEntry
from app.db import utcnow
from app.outbox import services as outbox
from app.outbox.models import DEAD, PENDING, OutboxMessage
from tests.factories import make_clinic, make_patient, make_user
from tests.helpers import HTMLClient
from tests.labs.helpers import make_desk, place_order

INTERNAL = re.compile(r"DeliveryError|lab\.order|orca\.reception|outbox_message|\{&#34;|\{\"")


def _message(session, clinic, *, kind="orca.reception", patient=None, by=None, status=PENDING, attempts=0,
             error=None, created_at=None):
    message = outbox.enqueue(session, clinic_id=clinic.id, kind=kind, payload={"visit_id": 1},
                             patient_id=patient.id if patient else None, created_by_id=by.id if by else None)
    message.status, message.attempts, message.last_error = status, attempts, error
    if created_at is not None:
        message.created_at = created_at
    return message


def test_a_message_from_an_order_reads_as_staff_say_it(app, client, session, lab_center):
    desk = make_desk(session, lab_center)
    lab_center.set_fault("down", times=5)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    place_order(client, desk["patient"], items=["K0161"])
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=60)
    html = client.get("/outbox").get_data(as_text=True)
    row = html[html.index('class="log-row"'):]
    assert "検査会社へ検査依頼を送信" in row
    assert "山田 太郎" in row and f"患者番号 {desk['patient'].orca_patient_id}" in row
    assert "上野 誠（医師）" in row
    assert re.search(r"再試行待ち（次回 \d\d:\d\d）", row)
    assert "検査会社が応答しません（HTTP 503）" in row and "自動で再送します" in row
    assert not INTERNAL.search(html), INTERNAL.search(html)


def test_states_reasons_and_what_to_do(client, session):
    clinic = make_clinic(session)
    admin = make_user(session, clinic, role="admin", display_name="管理 花子")
    patient = make_patient(session, clinic, name="佐藤 一郎", kana="サトウ イチロウ", orca_patient_id="00077")
    _message(session, clinic, patient=patient, by=admin)
    _message(session, clinic, kind="sharing.register", status=DEAD, attempts=3,
             error="PermanentDeliveryError: 電子カルテ情報共有サービスが受け付けませんでした: 被保険者番号が違います")
    session.commit()
    client.login(admin.login_id, admin.totp_secret)
    html = client.get("/outbox").get_data(as_text=True)
    assert "ORCAへ受付を送信" in html and "送信待ち" in html and "佐藤 一郎" in html and "管理 花子（管理者）" in html
    assert "電子カルテ情報共有サービスへ6情報を登録" in html and "システム（自動）" in html
    assert "被保険者番号が違います" in html and "PermanentDeliveryError" not in html
    assert "管理者が「もう一度送る」を押してください" in html
    assert html.count("もう一度送る</button>") == 1  # only the failed one


def test_filters_by_state_destination_day_and_patient(client, session):
    clinic = make_clinic(session)
    clerk = make_user(session, clinic, role="clerk")
    sato = make_patient(session, clinic, name="佐藤 一郎", kana="サトウ イチロウ", orca_patient_id="00077")
    kato = make_patient(session, clinic, name="加藤 次郎", kana="カトウ ジロウ", orca_patient_id="00078")
    _message(session, clinic, patient=sato)
    _message(session, clinic, kind="lab.order", patient=kato, status=DEAD, attempts=2, error="x: 拒否")
    _message(session, clinic, kind="lab.order", patient=sato, created_at=utcnow() - timedelta(days=3))
    session.commit()
    client.login(clerk.login_id, clerk.totp_secret)

    def rows(query: str) -> list[str]:
        html = client.get(f"/outbox?{query}").get_data(as_text=True)
        return re.findall(r'<strong class="log-what">([^<]+)</strong>', html)

    assert len(rows("")) == 3
    assert rows("state=failed") == ["検査会社へ検査依頼を送信"]
    assert rows("destination=orca") == ["ORCAへ受付を送信"]
    assert len(rows("destination=lab")) == 2
    day = (utcnow() + timedelta(hours=9)).date()
    assert len(rows(f"day={day.isoformat()}")) == 2
    assert len(rows("patient=サトウ")) == 2 and rows("patient=00078") == ["検査会社へ検査依頼を送信"]
    html = client.get("/outbox?patient=存在しない人").get_data(as_text=True)
    assert "該当する患者はいません" in html and "0件" in html
    bad = client.get("/outbox?day=2026-13-45")
    assert bad.status_code == 200 and "日付:" in bad.get_data(as_text=True)
    assert "送信待ち（2件）" in client.get("/outbox").get_data(as_text=True)


def test_paging_with_a_count(client, session):
    clinic = make_clinic(session)
    nurse = make_user(session, clinic, role="nurse")
    for _ in range(30):
        _message(session, clinic)
    session.commit()
    client.login(nurse.login_id, nurse.totp_secret)
    first = client.get("/outbox").get_data(as_text=True)
    assert "30件中 1〜25件目" in first and first.count('class="log-row"') == 25 and "1 / 2ページ" in first
    second = client.get("/outbox?page=2").get_data(as_text=True)
    assert "30件中 26〜30件目" in second and second.count('class="log-row"') == 5
    assert client.get("/outbox?page=abc").status_code == 200
    assert "26〜30件目" in client.get("/outbox?page=99999999999999999999").get_data(as_text=True)


def test_a_failed_message_is_requeued_by_an_administrator_and_audited(app, session):
    clinic = make_clinic(session)
    admin = make_user(session, clinic, role="admin")
    nurse = make_user(session, clinic, role="nurse")
    failed = _message(session, clinic, status=DEAD, attempts=8, error="x: ORCAに接続できません")
    session.commit()
    as_nurse = HTMLClient(app.test_client())
    as_nurse.login(nurse.login_id, nurse.totp_secret)
    assert "もう一度送る</button>" not in as_nurse.get("/outbox").get_data(as_text=True)
    assert as_nurse.post(f"/outbox/{failed.id}/retry", {}, form_page="/outbox").status_code == 403
    as_admin = HTMLClient(app.test_client())
    as_admin.login(admin.login_id, admin.totp_secret)
    response = as_admin.post(f"/outbox/{failed.id}/retry?state=failed", {}, form_page="/outbox?state=failed")
    assert response.status_code == 302 and "state=failed" in response.location
    session.expire_all()
    assert session.get(OutboxMessage, failed.id).status == PENDING
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "outbox.retry")).one()
    assert entry.actor_id == admin.id and entry.entity_id == str(failed.id)
    assert "「ORCAへ受付を送信」をもう一度送ります" in as_admin.get("/outbox").get_data(as_text=True)


def test_another_clinics_messages_are_neither_shown_nor_requeued(client, session):
    mine, theirs = make_clinic(session), make_clinic(session)
    admin = make_user(session, mine, role="admin")
    other = _message(session, theirs, status=DEAD, attempts=8, error="x: y")
    secret = make_patient(session, theirs, name="他院 患者", kana="タイン カンジャ")
    _message(session, theirs, patient=secret)
    session.commit()
    client.login(admin.login_id, admin.totp_secret)
    html = client.get("/outbox").get_data(as_text=True)
    assert "他院 患者" not in html and "0件" in html
    assert client.post(f"/outbox/{other.id}/retry", {}, form_page="/outbox").status_code == 404
