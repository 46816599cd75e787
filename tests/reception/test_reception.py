"""The 受付一覧 synced from ORCA (the simulator over HTTP), status changes, registration through the outbox."""

from __future__ import annotations

import re
import time
from datetime import date

import pytest
from sqlalchemy import select

from app.core.timeutil import japan_today
from app.outbox import services as outbox
from app.outbox.models import DELIVERED, OutboxMessage
from app.patients.models import Patient
from app.reception.models import Visit
from app.reception.orca_sync import sync_all_clinics

FIXED = ["山田", "髙橋", "佐々木", "渡邉", "齋藤"]


def _sync(app):
    sync_all_clinics(app.extensions["db_sessionmaker"])


def _names_in_order(html: str) -> list[str]:
    """The names of the list's rows, top to bottom, family and given name joined by a full-width space."""
    return ["\u3000".join(re.findall(r'<span class="name-part">([^<]+)</span>', link))
            for link in re.findall(r'<a href="/patients/\d+">(.+?)</a><span class="kana">', html)]


def test_todays_list_shows_the_orca_receptions(app, client, orca_clinic):
    _sync(app)
    _clinic, clerk = orca_clinic
    client.login(clerk.login_id, clerk.totp_secret)
    html = client.get("/reception").get_data(as_text=True)
    names = _names_in_order(html)
    assert [n.split("\u3000")[0] for n in names[:5]] == FIXED
    assert '<span class="name-part">ヤマダ</span>\u3000<span class="name-part">タロウ</span>' in html
    assert "協会けんぽ 本人 3割" in html and "上野\u3000誠" in html
    assert len(names) == 25


@pytest.mark.backends("sqlite", "postgresql")  # sorting is the database's: both
@pytest.mark.parametrize("sort,order", [("kana", "asc"), ("kana", "desc"), ("doctor", "asc"), ("status", "desc"),
                                        ("time", "desc")])
def test_sorting(app, client, orca_clinic, session, sort, order):
    _sync(app)
    client.login(orca_clinic[1].login_id, orca_clinic[1].totp_secret)
    html = client.get(f"/reception?sort={sort}&order={order}").get_data(as_text=True)
    visits = session.scalars(select(Visit).where(Visit.visit_date == japan_today())).all()
    key = {"kana": lambda v: v.patient.kana_key, "doctor": lambda v: v.physician_name,
           "status": lambda v: v.status, "time": lambda v: v.accepted_at}[sort]
    shown = _names_in_order(html)
    expected_keys = sorted((key(v) for v in visits), reverse=order == "desc")
    by_name = {v.patient.name: key(v) for v in visits}
    if sort != "status":
        assert [by_name[n] for n in shown] == expected_keys


def test_filter_by_doctor_and_status(app, client, orca_clinic):
    _sync(app)
    client.login(orca_clinic[1].login_id, orca_clinic[1].totp_secret)
    html = client.get("/reception?doctor=10002").get_data(as_text=True)
    assert "佐々木" in html and "山田\u3000太郎" not in html
    paid = client.get("/reception?status=paid").get_data(as_text=True)
    assert "山田\u3000太郎" not in paid


def test_other_day(app, client, orca_clinic):
    client.login(orca_clinic[1].login_id, orca_clinic[1].totp_secret)
    html = client.get("/reception?date=2020-01-05").get_data(as_text=True)
    assert "この日の受付はありません" in html and "令和2年1月5日" in html
    bad = client.get("/reception?date=2020-13-45").get_data(as_text=True)
    assert "YYYY-MM-DD" in bad


def test_one_touch_status_change_changes_the_revision(app, client, orca_clinic, session):
    _sync(app)
    client.login(orca_clinic[1].login_id, orca_clinic[1].totp_secret)
    before = client.get("/reception/revision").json["revision"]
    visit = session.scalars(select(Visit).order_by(Visit.accepted_at)).first()
    response = client.post(f"/reception/visits/{visit.id}/status", {"status": "in_exam"}, form_page="/reception")
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Visit, visit.id).status == "in_exam"
    assert client.get("/reception/revision").json["revision"] != before
    assert "診察中" in client.get("/reception").get_data(as_text=True)


def test_bad_status_is_refused(app, client, orca_clinic, session):
    _sync(app)
    client.login(orca_clinic[1].login_id, orca_clinic[1].totp_secret)
    visit = session.scalars(select(Visit)).first()
    client.post(f"/reception/visits/{visit.id}/status", {"status": "teleported"}, form_page="/reception")
    assert "受付状態の指定が正しくありません" in client.get("/reception").get_data(as_text=True)


def test_orca_down_keeps_the_last_list_and_shows_a_banner(app, client, orca, orca_clinic):
    _sync(app)
    orca.set_fault("down")
    _sync(app)
    client.login(orca_clinic[1].login_id, orca_clinic[1].totp_secret)
    html = client.get("/reception").get_data(as_text=True)
    assert 'id="sync-banner"' in html and "ORCAと通信できません" in html
    assert all(name in html for name in FIXED)


def test_malformed_orca_reply_leaves_local_data_as_it_was(app, orca, orca_clinic, session):
    _sync(app)
    before = {(p.orca_patient_id, p.name, p.birth_date) for p in session.scalars(select(Patient))}
    orca.set_fault("malformed")
    _sync(app)
    session.expire_all()
    after = {(p.orca_patient_id, p.name, p.birth_date) for p in session.scalars(select(Patient))}
    assert before == after


def test_demographics_change_in_orca_is_synced_and_audited(app, orca, orca_clinic, session):
    _sync(app)
    import requests

    requests.post(f"{orca.root}/_sim/clinic/1310123458/patients/00001", json={"WholeName": "山田　太朗"}, timeout=5)
    from app.patients.models import Patient as P

    patient = session.scalars(select(P).where(P.orca_patient_id == "00001")).one()
    patient.orca_synced_at = None  # due for a refresh
    session.commit()
    _sync(app)
    session.expire_all()
    assert session.get(P, patient.id).name == "山田　太朗"
    from app.core.models import AuditEntry

    # The first full fetch filled in the 負担割合 the list API lacks; the rename is the one change after it.
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "patient.update_from_orca",
                                                     AuditEntry.patient_id == patient.id)
                            .order_by(AuditEntry.id.desc())).first()
    assert entry.summary == {"before": {"name": "山田　太郎"}, "after": {"name": "山田　太朗"}}


def test_registration_in_kamikarte_reaches_orca_through_the_outbox(app, client, orca, orca_clinic, session):
    _sync(app)
    client.login(orca_clinic[1].login_id, orca_clinic[1].totp_secret)
    patient = session.scalars(select(Patient).where(Patient.orca_patient_id == "00001")).one()
    hino = session.scalars(select(Patient).where(Patient.orca_patient_id == "00006")).first()
    if hino is None:  # not in today's list: the clerk finds the patient through ORCA first
        from app.reception.orca_sync import orca_client_for, sync_patient

        hino = sync_patient(session, orca_clinic[0], orca_client_for(orca_clinic[0]), "00006")
        session.commit()
    page = client.get(f"/patients/{hino.id}").get_data(as_text=True)
    assert "受付登録" in page and "田端" in page
    orca.set_fault("down")
    response = client.post(f"/patients/{hino.id}/visits", {"department_code": "01", "physician_code": "10002"},
                           form_page=f"/patients/{hino.id}")
    assert response.status_code == 302
    factory = app.extensions["db_sessionmaker"]
    outbox.run_once(factory, base_delay=0)  # ORCA is down: the message waits, nothing is lost
    session.expire_all()
    message = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "orca.reception")).one()
    assert message.status == "pending" and "HTTP 503" in message.last_error
    html = client.get("/reception").get_data(as_text=True)
    assert "日野" in html and "送信待ち" in html
    orca.clear_faults()
    outbox.run_once(factory, base_delay=0)
    session.expire_all()
    message = session.get(OutboxMessage, message.id)
    assert message.status == DELIVERED
    visit = session.scalars(select(Visit).where(Visit.patient_id == hino.id)).one()
    assert visit.orca_acceptance_id == message.response["acceptance_id"]
    _sync(app)  # ORCA's list now holds it too: still one visit, not two
    session.expire_all()
    assert len(session.scalars(select(Visit).where(Visit.patient_id == hino.id)).all()) == 1
    assert patient is not None


def test_registration_needs_department_and_doctor(app, client, orca_clinic, session):
    _sync(app)
    client.login(orca_clinic[1].login_id, orca_clinic[1].totp_secret)
    patient = session.scalars(select(Patient)).first()
    client.post(f"/patients/{patient.id}/visits", {"department_code": "77"}, form_page=f"/patients/{patient.id}")
    assert "診療科と医師を選んでください" in client.get(f"/patients/{patient.id}").get_data(as_text=True)


def test_cancelled_in_orca_shows_as_cancelled(app, orca, orca_clinic, session):
    _sync(app)
    from app.integrations.orca import OrcaClient

    client = OrcaClient(orca.base_url("1310123458"), "ormaster-a", "orca-demo-a")
    client.cancel_reception("00005", "00005", japan_today())  # ORCA's day is Japan's (not the machine's UTC)
    _sync(app)
    session.expire_all()
    visit = session.scalars(select(Visit).where(Visit.orca_acceptance_id == "00005")).one()
    assert visit.status == "cancelled"


def test_all_orca_patients_are_searchable_not_only_todays(app, client, orca_clinic, session):
    _sync(app)
    assert len(session.scalars(select(Patient)).all()) == 200
    client.login(orca_clinic[1].login_id, orca_clinic[1].totp_secret)
    html = client.get("/patients", query_string={"q": "ひの ちよ"}).get_data(as_text=True)
    assert "日野　ちよ" in html  # 00006 is not in today's list


def test_opening_a_patient_fetches_orca_details(app, client, orca_clinic, session):
    _sync(app)
    hino = session.scalars(select(Patient).where(Patient.orca_patient_id == "00006")).one()
    assert hino.orca_synced_at is None  # from the list API: no 負担割合 yet
    client.login(orca_clinic[1].login_id, orca_clinic[1].totp_secret)
    html = client.get(f"/patients/{hino.id}").get_data(as_text=True)
    assert "後期高齢者医療" in html and "1割" in html and "更生" in html


def test_opening_a_patient_while_orca_is_down_shows_the_last_data_with_a_warning(app, client, orca, orca_clinic,
                                                                                   session):
    _sync(app)
    hino = session.scalars(select(Patient).where(Patient.orca_patient_id == "00006")).one()
    orca.set_fault("down")
    client.login(orca_clinic[1].login_id, orca_clinic[1].totp_secret)
    html = client.get(f"/patients/{hino.id}").get_data(as_text=True)
    assert "ORCAから最新の患者情報を取得できませんでした" in html and "日野　ちよ" in html


def test_opening_a_patient_while_orca_is_slow_waits_a_second_at_most(app, client, orca, orca_clinic, session):
    _sync(app)
    hino = session.scalars(select(Patient).where(Patient.orca_patient_id == "00006")).one()
    orca.set_fault("slow", delay=5, api="patientgetv2")
    client.login(orca_clinic[1].login_id, orca_clinic[1].totp_secret)
    started = time.monotonic()
    html = client.get(f"/patients/{hino.id}").get_data(as_text=True)
    assert time.monotonic() - started < 2.5
    assert "ORCAから最新の患者情報を取得できませんでした" in html and "タイムアウト" in html and "日野　ちよ" in html
    assert 'id="summary-today"' in html


def test_a_period_with_a_thousand_patients_is_split():
    from app.integrations.orca import OrcaApiError
    from app.reception.orca_sync import _changed_patient_ids

    class FakeOrca:
        """Refuses periods longer than 10 days, as ORCA refuses 1,000+ patients (code 10)."""

        def list_patients_changed(self, start, end):
            if (end - start).days > 10:
                raise OrcaApiError("該当患者が１０００件以上となります", code="10")
            return [d.isoformat() for d in (start, end)]

    ids = _changed_patient_ids(FakeOrca(), date(2026, 1, 1), date(2026, 3, 1))
    assert ids[0] == "2026-01-01" and ids[-1] == "2026-03-01"


def test_one_touch_button_in_the_list_moves_the_visit_on(app, client, orca_clinic, session):
    _sync(app)
    client.login(orca_clinic[1].login_id, orca_clinic[1].totp_secret)
    html = client.get("/reception?sort=kana").get_data(as_text=True)
    visit = session.scalars(select(Visit).where(Visit.status == "accepted").order_by(Visit.id)).first()
    assert f'value="{visit.id}:in_exam"' in html and 'form="status-form"' in html
    response = client.post("/reception/status", {"transition": f"{visit.id}:in_exam", "back": "/reception?sort=kana"})
    assert response.status_code == 302 and response.location.endswith("/reception?sort=kana")
    session.expire_all()
    assert session.get(Visit, visit.id).status == "in_exam"
    assert client.post("/reception/status", {"transition": "junk"}).status_code == 400


def test_the_patient_page_says_when_the_patient_is_already_in_todays_list(app, client, orca_clinic, session):
    _sync(app)
    client.login(orca_clinic[1].login_id, orca_clinic[1].totp_secret)
    yamada = session.scalars(select(Patient).where(Patient.orca_patient_id == "00001")).one()
    visit = session.scalars(select(Visit).where(Visit.patient_id == yamada.id)).one()
    html = client.get(f"/patients/{yamada.id}").get_data(as_text=True)
    assert "本日受付済み" in html and f"受付番号 {visit.orca_acceptance_id}" in html
    from app.reception.orca_sync import orca_client_for, sync_patient

    hino = sync_patient(session, orca_clinic[0], orca_client_for(orca_clinic[0]), "00006")  # not in today's list
    session.commit()
    assert "本日受付済み" not in client.get(f"/patients/{hino.id}").get_data(as_text=True)


def test_a_tablet_polling_with_the_etag_gets_an_empty_304_until_the_list_changes(app, client, orca_clinic, session):
    _sync(app)
    client.login(orca_clinic[1].login_id, orca_clinic[1].totp_secret)
    first = client.get("/reception/revision")
    etag = first.headers["ETag"]
    assert first.status_code == 200 and first.json["revision"] in etag
    unchanged = client.get("/reception/revision", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.get_data() == b""
    visit = session.scalars(select(Visit).order_by(Visit.accepted_at)).first()
    client.post(f"/reception/visits/{visit.id}/status", {"status": "in_exam"}, form_page="/reception")
    changed = client.get("/reception/revision", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
